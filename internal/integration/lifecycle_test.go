// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/falcosecurity/plugin-sdk-go/pkg/loader"

	"github.com/dockerfleet/dockerfleet/internal/abihost"
)

// TestLoadsAsFalcoWould checks the plugin with the SDK's own loader, which
// validates what Falco validates (API version, symbols, capabilities, fields)
// and checks init_config against the plugin's schema before Init.
func TestLoadsAsFalcoWould(t *testing.T) {
	p, err := loader.NewValidPlugin(soPath)
	if err != nil {
		t.Fatalf("the SDK's loader refuses the plugin: %v", err)
	}
	defer p.Unload()
	info := p.Info()
	if info.Name != "dockerfleet" || info.EventSource != "docker" || info.ID < 1073741824 || info.ID > 2147483647 {
		t.Errorf("info = %+v: want name dockerfleet, source docker, an ID of the unregistered range", info)
	}
	if !p.HasCapSourcing() || !p.HasCapExtraction() {
		t.Errorf("capabilities: sourcing %v, extraction %v", p.HasCapSourcing(), p.HasCapExtraction())
	}
	if err := p.Init(`{"filters": {"types": ["container"]}, "reconnect": {"maxBackoff": "5s"}}`); err != nil {
		t.Fatalf("init with a valid config: %v", err)
	}
}

// TestSchemaRefusesWhatInitRefuses: the same bad configs are refused by the
// schema (what Falco checks) and by Init itself (hosts that do not check).
func TestSchemaRefusesWhatInitRefuses(t *testing.T) {
	for _, cfg := range []string{`{"tsl": {}}`, `{"filters": {"types": ["containers"]}}`, `{"batchSize": 0}`} {
		p, err := loader.NewValidPlugin(soPath)
		if err != nil {
			t.Fatal(err)
		}
		err = p.Init(cfg)
		p.Unload()
		if err == nil || !strings.Contains(err.Error(), "invalid plugin config") {
			t.Errorf("loader init(%s) = %v: want the schema to refuse it", cfg, err)
		}
		a, err := abihost.Load(soPath)
		if err != nil {
			t.Fatal(err)
		}
		err = a.Init(cfg)
		a.Close()
		if err == nil || !strings.Contains(err.Error(), "init_config") {
			t.Errorf("init(%s) = %v: want Init itself to refuse it, naming init_config", cfg, err)
		}
	}
	// And an empty init_config, as Falco passes it, is the defaults.
	for _, cfg := range []string{"", "{}", "null"} {
		a, err := abihost.Load(soPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Init(cfg); err != nil {
			t.Errorf("init(%q): %v", cfg, err)
		}
		a.Close()
	}
}

// TestFailedInitAfterACycleDoesNotCrash: Falco destroys the state of a
// failed init (e.g. a hot reload with a broken init_config). With
// plugin-sdk-go v0.8.3 that panics once a first init/destroy cycle has run
// in the process, unless the plugin balances it (plugin.balanceFailedInit).
// A crash here kills the test binary, which fails the run.
func TestFailedInitAfterACycleDoesNotCrash(t *testing.T) {
	for round := 0; round < 3; round++ {
		good, err := abihost.Load(soPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := good.Init(""); err != nil {
			t.Fatal(err)
		}
		good.Close()

		bad, err := abihost.Load(soPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := bad.Init(`{"unknown": true}`); err == nil {
			t.Fatal("init with an unknown key succeeded")
		}
		bad.Close() // destroy of the failed state
	}
	// Still usable afterwards, with async extraction asked for as well.
	p := loadPlugin(t, `{"useAsync": true}`)
	if _, err := p.Open("unix:///nonexistent.sock?name=x"); err != nil {
		t.Fatalf("open after the cycles: %v", err)
	}
}

// TestListOpenParamsSuggestsDockerHost: with DOCKER_HOST set in Falco's
// environment, list_open_params suggests it. The Go runtime inside the .so
// copies the environment when the library loads, so the check runs in a
// child process started with DOCKER_HOST set.
func TestListOpenParamsSuggestsDockerHost(t *testing.T) {
	if os.Getenv("DOCKERFLEET_CHILD") == "list-open-params" {
		p := loadPlugin(t, "")
		params, err := p.ListOpenParams()
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range params {
			fmt.Printf("suggested: %s\n", op.Value)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestListOpenParamsSuggestsDockerHost$", "-test.v")
	cmd.Env = append(os.Environ(), "DOCKERFLEET_CHILD=list-open-params", "DOCKER_HOST=tcp://10.1.2.3:2376", "DOCKERFLEET_SO="+soPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "suggested: tcp://10.1.2.3:2376") {
		t.Errorf("list_open_params with DOCKER_HOST set suggests:\n%s", out)
	}
}
