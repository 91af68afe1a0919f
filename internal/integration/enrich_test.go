// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build integration

package integration

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/abihost"
	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// enrichFields are extracted through the C ABI from every event.
var enrichFields = []string{
	"docker.action", "docker.actor.id", "docker.type",
	"docker.container.inspected", "docker.container.privileged", "docker.container.user",
	"docker.container.mount.sources", "docker.container.mount.source[/host]", "docker.container.cap_add",
	"docker.container.host_pid", "docker.exec.user", "docker.exec.privileged", "docker.daemon.id",
	"docker.daemon.version",
}

// enrichedRecords opens the plugin with initConfig on d and returns a
// function that polls until it saw an event of id whose action starts with
// action, and gives its fields as Falco prints them.
func enrichedRecords(t *testing.T, d *dockerd.Daemon, initConfig string) func(id, action string) map[string]string {
	p := loadPlugin(t, initConfig)
	inst, err := p.Open(d.Endpoint() + "?name=enrich")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inst.Close)
	reqs := make([]abihost.FieldRequest, len(enrichFields))
	for i, f := range enrichFields {
		if reqs[i], err = p.Request(f); err != nil {
			t.Fatal(err)
		}
	}
	x, err := inst.NewExtractor(reqs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Close)
	var seen []map[string]string
	return func(id, action string) map[string]string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; ; i++ {
			for ; i < len(seen); i++ {
				r := seen[i]
				if (id == "" || r["docker.actor.id"] == id) && strings.HasPrefix(r["docker.action"], action) {
					seen = seen[i+1:]
					return r
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s of %q", action, id)
			}
			evts, err := inst.NextBatch()
			if err != nil && !errors.Is(err, abihost.ErrTimeout) {
				t.Fatal(err)
			}
			for j := range evts {
				vals, err := x.ExtractAll(&evts[j])
				if err != nil {
					t.Fatal(err)
				}
				r := map[string]string{}
				for k, v := range vals {
					r[enrichFields[k]] = v.String()
				}
				seen = append(seen, r)
			}
			i = -1
		}
	}
}

// TestEnrichedFieldsThroughTheABI: with the default init_config
// (enrichment on), the built plugin gives Falco the posture of containers
// and execs of a real daemon on their events; with enrichment turned off,
// none.
func TestEnrichedFieldsThroughTheABI(t *testing.T) {
	d := dockerd.Start(t, dockerd.Options{Name: "enrich-abi"})
	if _, err := d.ImportBusybox("abi-test:1"); err != nil {
		t.Fatal(err)
	}
	next := enrichedRecords(t, d, "") // on by default
	up := next("enrich", "stream_up")
	if up["docker.daemon.id"] != d.ID() || up["docker.daemon.version"] == "<NA>" {
		t.Errorf("stream_up daemon fields %v, want id %s", up, d.ID())
	}

	priv, err := d.Create("--privileged", "abi-test:1", "sleep", "60")
	if err != nil {
		t.Fatal(err)
	}
	defer d.RemoveContainer(priv)
	r := next(priv, "create")
	if r["docker.container.inspected"] != "true" || r["docker.container.privileged"] != "true" || r["docker.container.user"] != "root" || r["docker.daemon.id"] != d.ID() {
		t.Errorf("privileged create: %v", r)
	}

	mounted, err := d.Run("-v", "/:/host:ro", "--pid", "host", "--cap-add", "SYS_ADMIN", "-u", "1000", "abi-test:1", "sleep", "60")
	if err != nil {
		t.Fatal(err)
	}
	defer d.RemoveContainer(mounted)
	r = next(mounted, "create")
	if r["docker.container.mount.sources"] != "(/)" || r["docker.container.mount.source[/host]"] != "/" ||
		r["docker.container.cap_add"] != "(CAP_SYS_ADMIN)" || r["docker.container.host_pid"] != "true" || r["docker.container.privileged"] != "false" {
		t.Errorf("mounted create: %v", r)
	}
	if _, err := d.Docker("exec", "-u", "0", mounted, "true"); err != nil {
		t.Fatal(err)
	}
	r = next(mounted, "exec_start")
	if r["docker.exec.user"] != "0" || r["docker.exec.privileged"] != "false" || r["docker.container.user"] != "1000" {
		t.Errorf("exec_start: %v", r)
	}

	off := enrichedRecords(t, d, `{"enrich": {"containers": false, "execs": false, "images": false, "daemon": false}}`)
	off("enrich", "stream_up")
	plain, err := d.Create("--privileged", "abi-test:1", "sleep", "60")
	if err != nil {
		t.Fatal(err)
	}
	defer d.RemoveContainer(plain)
	r = off(plain, "create")
	if r["docker.container.inspected"] != "<NA>" || r["docker.container.privileged"] != "<NA>" || r["docker.daemon.id"] != "<NA>" {
		t.Errorf("enrichment off: %v", r)
	}
}
