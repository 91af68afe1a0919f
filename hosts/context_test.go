// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dockerCLI runs the docker CLI with its own config directory. The CLI
// writes the context store, so the test reads what the real tool wrote.
func dockerCLI(t *testing.T, config string, args ...string) {
	t.Helper()
	docker, err := exec.LookPath("docker")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("docker CLI not found in CI (docker.io installs it): %v", err)
		}
		t.Skipf("SKIPPED: no docker CLI on PATH to write a context store: %v", err)
	}
	cmd := exec.Command(docker, args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+config)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// contextStore writes a context store with the real CLI: "prod" (tcp with
// a CA and a client pair), "local" (a unix socket) and one more context,
// name with its --docker argument; it returns a getenv pointing at it.
func contextStore(t *testing.T, name, docker string) func(string) string {
	t.Helper()
	config := t.TempDir()
	ca := newCA(t, "context-ca")
	client := ca.client(t)
	dir := certDir(t, ca.pem, &client)
	dockerCLI(t, config, "context", "create", "prod", "--docker", "host=tcp://127.0.0.1:2376,ca="+
		filepath.Join(dir, caFile)+",cert="+filepath.Join(dir, certFile)+",key="+filepath.Join(dir, keyFile))
	dockerCLI(t, config, "context", "create", "local", "--docker", "host=unix:///run/other.sock")
	dockerCLI(t, config, "context", "create", name, "--docker", docker)
	return func(k string) string {
		if k == "DOCKER_CONFIG" {
			return config
		}
		return ""
	}
}

func TestLoadContextWrittenByTheCLI(t *testing.T) {
	getenv := contextStore(t, "lax", "host=tcp://127.0.0.1:2376,skip-tls-verify=true")

	prod, err := loadContext("prod", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if prod.Host != "tcp://127.0.0.1:2376" || prod.TLSDir == "" {
		t.Fatalf("prod = %+v", prod)
	}
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if _, err := os.Stat(filepath.Join(prod.TLSDir, f)); err != nil {
			t.Errorf("prod's TLS directory lacks %s: %v", f, err)
		}
	}
	local, err := loadContext("local", getenv)
	if err != nil || local.Host != "unix:///run/other.sock" || local.TLSDir != "" {
		t.Fatalf("local = %+v, %v", local, err)
	}

	for name, want := range map[string]string{
		"lax":     "skip-tls-verify",
		"missing": "not found",
		"default": "built-in",
		"":        "empty context name",
	} {
		if _, err := loadContext(name, getenv); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("loadContext(%q) = %v, want an error saying %q", name, err, want)
		}
	}
}

// TestParseContextEndpoints: context://NAME in open_params takes the
// context's address and TLS files, as `docker --context NAME` does; the
// label is what was written; an endpoint's own options still apply.
func TestParseContextEndpoints(t *testing.T) {
	getenv := contextStore(t, "plain", "host=tcp://10.0.0.9:2375")
	eps, err := Parse("context://prod, context://local?name=mine, context://plain", Defaults{}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	prod, local, plain := eps[0], eps[1], eps[2]
	if prod.Name != "context://prod" || prod.URL != "tcp://127.0.0.1:2376" || prod.TLS == nil ||
		!strings.HasSuffix(prod.TLS.CA, "ca.pem") || !strings.HasSuffix(prod.TLS.Cert, "cert.pem") {
		t.Errorf("prod = %+v (TLS %+v)", prod, prod.TLS)
	}
	if local.Name != "mine" || local.URL != "unix:///run/other.sock" || local.TLS != nil {
		t.Errorf("local = %+v", local)
	}
	if plain.URL != "tcp://10.0.0.9:2375" || plain.TLS != nil {
		t.Errorf("a tcp context without TLS material is plain tcp, as for the docker CLI: %+v", plain)
	}
	if _, err := Parse("context://nope", Defaults{}, getenv); err == nil || !strings.Contains(err.Error(), `context "nope" not found`) {
		t.Errorf("unknown context: %v", err)
	}
}
