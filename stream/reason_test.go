// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// TestStreamDownNamesTheCause: the reason of stream_down is what went
// wrong (the README's troubleshooting table quotes these), not the docker
// client's generic "Is the docker daemon running?".
func TestStreamDownNamesTheCause(t *testing.T) {
	dir := shortTemp(t)
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A port nobody listens on: one that was just free.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().String()
	l.Close()
	missing := filepath.Join(dir, "missing.sock")
	eps := []hosts.Endpoint{
		unixEndpoint("missing", "unix://"+missing, missing),
		unixEndpoint("file", "unix://"+file, file),
		unixEndpoint("dir", "unix://"+dir, dir),
		{Name: "closed", URL: "tcp://" + port, Scheme: "tcp", Address: port},
	}
	want := map[string]string{
		"missing": "dial unix " + missing + ": connect: no such file or directory",
		"file":    file + " is not a socket: dial unix " + file + ": connect: connection refused",
		"dir":     dir + " is not a socket: dial unix " + dir + ": connect: connection refused",
		"closed":  "dial tcp " + port + ": connect: connection refused",
	}
	c := collect(t, startFleet(t, eps, testOptions()))
	all := c.until(10*time.Second, func(all []got) bool { return count(all, "", ActionStreamDown) == len(eps) })
	for _, g := range all {
		if g.action != ActionStreamDown {
			continue
		}
		r := g.attrs[AttrReason]
		if !strings.HasPrefix(r, "ping: ") || !strings.HasSuffix(r, want[g.host]) || strings.Contains(r, "Is the docker daemon running") {
			t.Errorf("%s: reason %q, want ping: ...%s", g.host, r, want[g.host])
		}
	}
}

// TestStreamDownNamesTheCauseOfAStoppedDaemon: a real dockerd stopped
// cleanly removes its socket; the reasons say so.
func TestStreamDownNamesTheCauseOfAStoppedDaemon(t *testing.T) {
	d := dockerd.Start(t, dockerd.Options{})
	eps, err := hosts.Parse(d.Endpoint()+"?name=real", hosts.Defaults{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := testOptions()
	o.StillDownInterval = 300 * time.Millisecond
	c := collect(t, startFleet(t, eps, o))
	c.waitUp(1)
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	all := c.until(20*time.Second, func(all []got) bool { return count(all, "real", ActionStreamStillDown) >= 1 })
	var reasons []string
	for _, g := range all {
		if g.action == ActionStreamDown || g.action == ActionStreamStillDown {
			reasons = append(reasons, g.action+": "+g.attrs[AttrReason])
		}
	}
	last := reasons[len(reasons)-1]
	if !strings.HasSuffix(last, "connect: no such file or directory") && !strings.HasSuffix(last, "connect: connection refused") {
		t.Fatalf("reasons %q: the latest attempt should name the missing socket", reasons)
	}
}
