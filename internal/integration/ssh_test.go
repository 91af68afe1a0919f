// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/dockerfleet/dockerfleet/internal/dockerd"
	"github.com/dockerfleet/dockerfleet/internal/sshd"
)

// TestSSHHost: a real dockerd reached through a real OpenSSH server
// (ssh://root@127.0.0.1:PORT?socket=...): its events reach Falco, its
// stream, pings and calls share one SSH connection, a killed sshd makes
// the host go down and come back when sshd restarts; a changed host key
// and a key the server refuses are stream_down events naming the cause,
// while the good host streams on; Close leaves no connection.
func TestSSHHost(t *testing.T) {
	sshd.Require(t)
	dockerd.Require(t)
	d := dockerd.Start(t, dockerd.Options{Name: "behind-ssh"})
	s := sshd.Start(t)
	dir := t.TempDir()
	kh, err := s.WriteKnownHosts(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Another key for the same host: what a man in the middle presents.
	other, otherPEM, err := sshd.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	changedKH := filepath.Join(dir, "changed_known_hosts")
	if err := os.WriteFile(changedKH, []byte(knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, other)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	otherKey := filepath.Join(dir, "other_key")
	if err := os.WriteFile(otherKey, otherPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	socket := strings.TrimPrefix(d.Endpoint(), "unix://")
	params := strings.Join([]string{
		s.URL("root") + "?name=ssh-host&socket=" + socket + "&identity=" + s.ClientKey + "&knownhosts=" + kh,
		// Sockets of their own: the same daemon may not be listed twice.
		s.URL("root") + "?name=ssh-changed&socket=/run/changed.sock&identity=" + s.ClientKey + "&knownhosts=" + changedKH,
		s.URL("root") + "?name=ssh-wrongkey&socket=/run/wrongkey.sock&identity=" + otherKey + "&knownhosts=" + kh,
	}, ", ")

	before := socketCount(t)
	p := loadPlugin(t, `{"reconnect": {"minBackoff": "100ms", "maxBackoff": "200ms"}, "pingInterval": "1s"}`)
	inst, err := p.Open(params)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			inst.Close()
		}
	}()
	c := newCollector(t, p, inst)
	c.until(30*time.Second, "ssh-host stream_up, the others stream_down", func(rs []record) bool {
		return len(health(rs, "ssh-host", "stream_up")) > 0 && len(health(rs, "ssh-changed", "stream_down")) > 0 &&
			len(health(rs, "ssh-wrongkey", "stream_down")) > 0
	})
	for host, want := range map[string]string{
		"ssh-changed":  "CHANGED",
		"ssh-wrongkey": `authentication as "root" refused`,
	} {
		r := health(c.got, host, "stream_down")[0].get("docker.attributes[reason]")
		if !strings.Contains(r, want) {
			t.Errorf("%s: stream_down reason %q, want it to say %q", host, r, want)
		}
	}
	if up := health(c.got, "ssh-host", "stream_up")[0]; up.get("docker.actor.id") != "ssh-host" {
		t.Errorf("stream_up of %q", up.get("docker.actor.id"))
	}

	if _, err := d.ImportBusybox("ssh-test:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create("--name", "over-ssh", "ssh-test:1", "true"); err != nil {
		t.Fatal(err)
	}
	c.until(30*time.Second, "the container create through ssh", func(rs []record) bool {
		return containerEventsOf(rs, "ssh-host", "over-ssh") == 1
	})
	// A few liveness pings (every second) on top of the stream and the
	// calls of the connection: all on the one SSH connection the server
	// accepted the key of.
	c.drain(3 * time.Second)
	if n := len(health(c.got, "ssh-host", "stream_down")); n != 0 {
		t.Fatalf("ssh-host went down %d times while sshd ran:\n%s", n, dump(c.got))
	}
	if n := strings.Count(s.Log(), "Accepted publickey for root"); n != 1 {
		t.Errorf("%d SSH logins for one host's stream, calls and pings, want 1", n)
	}

	s.Kill()
	c.until(30*time.Second, "ssh-host stream_down once sshd is killed", hasHealth("ssh-host", "stream_down"))
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	c.until(30*time.Second, "ssh-host stream_up again after sshd restarted", func(rs []record) bool {
		return len(health(rs, "ssh-host", "stream_up")) == 2
	})
	if _, err := d.Create("--name", "after-restart", "ssh-test:1", "true"); err != nil {
		t.Fatal(err)
	}
	c.until(30*time.Second, "a container create after sshd restarted", func(rs []record) bool {
		return containerEventsOf(rs, "ssh-host", "after-restart") == 1
	})

	start := time.Now()
	inst.Close()
	closed = true
	if dur := time.Since(start); dur > 2*time.Second {
		t.Errorf("close took %s", dur)
	}
	// The SSH connection closes a second after its last channel.
	deadline := time.Now().Add(5 * time.Second)
	for (socketCount(t) > before || s.Connections() > 0) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if after := socketCount(t); after > before {
		t.Errorf("%d sockets open after close, %d before open", after, before)
	}
	if n := s.Connections(); n > 0 {
		t.Errorf("sshd still holds %d connections after close", n)
	}
}
