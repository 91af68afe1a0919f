// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build integration

package integration

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// fleetOf3 starts two daemons on unix sockets and one on tcp with mutual
// TLS, in parallel, and returns them with the open_params that name them.
func fleetOf3(t *testing.T) (unixA, unixB, tlsC *dockerd.Daemon, params string) {
	t.Helper()
	var wg sync.WaitGroup
	ds := make([]*dockerd.Daemon, 3)
	for i, opts := range []dockerd.Options{{Name: "unix-a"}, {Name: "unix-b"}, {Name: "tls-c", TLS: true}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := dockerd.Launch(opts)
			if err != nil {
				t.Error(err)
				return
			}
			ds[i] = d
		}()
	}
	wg.Wait()
	for _, d := range ds {
		if d != nil {
			t.Cleanup(func() {
				if err := d.Close(); err != nil {
					t.Errorf("closing %s: %v", d, err)
				}
			})
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	params = fmt.Sprintf("%s?name=unix-a, %s?name=unix-b , %s?name=tls-c&certdir=%s",
		ds[0].Endpoint(), ds[1].Endpoint(), ds[2].Endpoint(), ds[2].CertDir())
	return ds[0], ds[1], ds[2], params
}

// workload makes real events of every kind on d: an image import, a volume
// and a network created and removed, a labelled container that exits with
// code 3, one exec'd into and killed by a signal.
func workload(t *testing.T, d *dockerd.Daemon, team string) {
	t.Helper()
	must := func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	must(d.ImportBusybox("fleet-test:" + team))
	must(d.Docker("volume", "create", "vol-"+team))
	must(d.Docker("volume", "rm", "vol-"+team))
	must(d.Docker("network", "create", "--internal", "net-"+team))
	must(d.Docker("network", "rm", "net-"+team))
	exited := must(d.Run("--label", "com.example.team="+team, "--name", "exit3-"+team, "fleet-test:"+team, "sh", "-c", "exit 3"))
	must(d.Docker("wait", exited))
	sleeper := must(d.Run("--label", "com.example.team="+team, "--name", "sleeper-"+team, "fleet-test:"+team, "sleep", "300"))
	must(d.Exec(sleeper, "id"))
	if err := d.KillContainer(sleeper, "KILL"); err != nil {
		t.Fatal(err)
	}
	must(d.Docker("wait", sleeper))
	for _, c := range []string{exited, sleeper} {
		if err := d.RemoveContainer(c); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFleetDeliversEveryEventOnceWithItsHost checks, against the daemons'
// own record of their events, that one instance receives every event of
// three daemons (two unix, one mutual TLS) exactly once, tagged with the
// right host, with the right field values and timestamps.
func TestFleetDeliversEveryEventOnceWithItsHost(t *testing.T) {
	dockerd.Require(t)
	unixA, unixB, tlsC, params := fleetOf3(t)
	daemons := map[string]*dockerd.Daemon{"unix-a": unixA, "unix-b": unixB, "tls-c": tlsC}

	p := loadPlugin(t, "")
	inst, err := p.Open(params)
	if err != nil {
		t.Fatalf("open(%q): %v", params, err)
	}
	defer inst.Close()
	c := newCollector(t, p, inst)
	for host := range daemons {
		c.until(30*time.Second, host+" stream_up", hasHealth(host, "stream_up"))
	}

	since := time.Now().UnixNano()
	var wg sync.WaitGroup
	for host, d := range daemons {
		wg.Add(1)
		go func() {
			defer wg.Done()
			workload(t, d, host)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	until := time.Now().UnixNano()

	// What each daemon itself says happened, keyed like the records.
	want := map[string]truthEvent{}
	for host, d := range daemons {
		evs := daemonEvents(t, d, since, until)
		if len(evs) < 20 {
			t.Fatalf("%s reports only %d events for the workload", host, len(evs))
		}
		for _, ev := range evs {
			want[fmt.Sprintf("%s|%d|%s|%s|%s", host, ev.TimeNano, ev.Type, ev.Action, ev.Actor.ID)] = ev
		}
	}
	inWindow := func(r record) bool {
		return r.get("docker.type") != "dockerfleet" && int64(r.Timestamp) >= since && int64(r.Timestamp) <= until
	}
	c.until(60*time.Second, "every event the daemons report", func(rs []record) bool {
		seen := 0
		for _, r := range rs {
			if _, ok := want[r.key()]; ok && inWindow(r) {
				seen++
			}
		}
		return seen >= len(want)
	})
	c.drain(500 * time.Millisecond)
	t.Logf("%d events reported by the daemons, %d delivered in all; sample:\n%s", len(want), len(c.got), dump(c.got[len(c.got)-8:]))

	count := map[string]int{}
	for _, r := range c.got {
		if !inWindow(r) {
			continue
		}
		count[r.key()]++
		ev, ok := want[r.key()]
		if !ok {
			t.Errorf("event not reported by its daemon (wrong host or made up): %s", r.String)
			continue
		}
		checkFields(t, r, ev)
	}
	for k := range want {
		if count[k] != 1 {
			t.Errorf("event %s delivered %d times, want exactly once", k, count[k])
		}
	}

	// Spot checks of what rules rely on, per host.
	for host := range daemons {
		var die3, kill9, exec bool
		for _, r := range c.got {
			if r.get("docker.host") != host || !inWindow(r) {
				continue
			}
			switch {
			case r.get("docker.action") == "die" && r.get("docker.attributes.name") == "exit3-"+host:
				die3 = r.get("docker.attributes.exitcode") == "3" && r.get("docker.attributes[com.example.team]") == host
			case r.get("docker.action") == "kill" && r.get("docker.attributes.name") == "sleeper-"+host:
				kill9 = r.get("docker.attributes.signal") == "9"
			case strings.HasPrefix(r.get("docker.action"), "exec_start"):
				exec = r.get("docker.attributes[execID]") != "" && strings.Contains(r.get("docker.action"), "id")
			}
		}
		if !die3 || !kill9 || !exec {
			t.Errorf("%s: die with exitcode 3 and team label: %v, kill with signal 9: %v, exec_start with execID: %v", host, die3, kill9, exec)
		}
	}
}

// checkFields compares the fields extracted from one record with the
// daemon's own account of the event.
func checkFields(t *testing.T, r record, ev truthEvent) {
	t.Helper()
	expect := map[string]string{
		"docker.type":     ev.Type,
		"docker.action":   ev.Action,
		"docker.actor.id": ev.Actor.ID,
		"docker.scope":    ev.Scope,
	}
	for _, attr := range []struct{ field, key string }{
		{"docker.attributes.name", "name"}, {"docker.attributes.image", "image"},
		{"docker.attributes.exitcode", "exitCode"}, {"docker.attributes.signal", "signal"},
		{"docker.attributes.container", "container"}, {"docker.attributes.type", "type"},
		{"docker.attributes[com.example.team]", "com.example.team"}, {"docker.attributes[execID]", "execID"},
	} {
		expect[attr.field] = ev.Actor.Attributes[attr.key]
	}
	// status, id and from: what engines before API 1.52 sent for container
	// and image events, derived the same way from newer ones.
	if ev.Type == "container" || ev.Type == "image" {
		expect["docker.status"] = ev.Action
		expect["docker.id"] = ev.Actor.ID
		if ev.Type == "container" {
			expect["docker.from"] = ev.Actor.Attributes["image"]
		}
	}
	for field, want := range expect {
		if got := r.get(field); got != want {
			t.Errorf("%s: %s = %q, want %q", r.String, field, got, want)
		}
	}
	if int64(r.Timestamp) != ev.TimeNano {
		t.Errorf("%s: timestamp %d, want the daemon's timeNano %d", r.String, r.Timestamp, ev.TimeNano)
	}
	host := r.get("docker.host")
	ts := time.Unix(0, ev.TimeNano).UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
	if !strings.HasPrefix(r.String, ts+" "+host+" "+ev.Type+" "+ev.Action+" ") {
		t.Errorf("string form %q does not start with %q", r.String, ts+" "+host+" "+ev.Type+" "+ev.Action+" ")
	}
}
