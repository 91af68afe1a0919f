// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// containerEventsOf counts the container events of host.
func containerEventsOf(rs []record, host, name string) int {
	n := 0
	for _, r := range rs {
		if r.get("docker.host") == host && r.get("docker.type") == "container" && r.get("docker.attributes.name") == name {
			n++
		}
	}
	return n
}

// TestTLSClientWithoutValidCertificateIsRefused: the TLS daemon refuses a
// client certificate from another CA and the plugin refuses a daemon its CA
// did not sign; both show up as a stream_down naming the cause, while the
// unix host of the same instance streams on.
func TestTLSClientWithoutValidCertificateIsRefused(t *testing.T) {
	dockerd.Require(t)
	good := dockerd.Start(t, dockerd.Options{Name: "good"})
	secure := dockerd.Start(t, dockerd.Options{Name: "secure", TLS: true})
	certs := secure.Certs()
	// One daemon listed twice is refused at Open, so the two TLS faults
	// reach it under two names (not resolved by the plugin), and plain
	// HTTP in an instance of its own below.
	params := strings.Join([]string{
		good.Endpoint() + "?name=good",
		// A client certificate from an unrelated CA: the daemon refuses it.
		secure.Endpoint() + "?name=wrong-client&ca=" + certs.CA + "&cert=" + certs.OtherCert + "&key=" + certs.OtherKey,
		// A CA that did not sign the daemon: the plugin refuses the daemon.
		strings.Replace(secure.Endpoint(), "127.0.0.1", "localhost", 1) + "?name=wrong-ca&ca=" + certs.OtherCA + "&cert=" + certs.Cert + "&key=" + certs.Key,
	}, ",")
	p := loadPlugin(t, "")
	inst, err := p.Open(params)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer inst.Close()
	c := newCollector(t, p, inst)
	for _, host := range []string{"wrong-client", "wrong-ca"} {
		c.until(30*time.Second, host+" stream_down", hasHealth(host, "stream_down"))
	}
	c.until(30*time.Second, "good stream_up", hasHealth("good", "stream_up"))

	wantReason := map[string][]string{
		"wrong-client": {"certificate"},
		"wrong-ca":     {"certificate", "unknown authority"},
	}
	for host, fragments := range wantReason {
		reason := health(c.got, host, "stream_down")[0].get("docker.attributes[reason]")
		ok := false
		for _, f := range fragments {
			ok = ok || strings.Contains(reason, f)
		}
		if !ok {
			t.Errorf("%s: stream_down reason %q names none of %q", host, reason, fragments)
		}
		if len(health(c.got, host, "stream_up")) != 0 {
			t.Errorf("%s: the plugin reports its stream up with invalid TLS material", host)
		}
	}

	// The good host is unaffected.
	if _, err := good.ImportBusybox("tls-test:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := good.Create("--name", "still-here", "tls-test:1", "true"); err != nil {
		t.Fatal(err)
	}
	c.until(30*time.Second, "the good host's container create", func(rs []record) bool {
		return containerEventsOf(rs, "good", "still-here") == 1
	})
	inst.Close()

	// Plain HTTP to a TLS port.
	plainInst, err := p.Open(secure.Endpoint() + "?name=plain&tls=off")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer plainInst.Close()
	plain := newCollector(t, p, plainInst)
	plain.until(30*time.Second, "plain stream_down", hasHealth("plain", "stream_down"))
	reason := health(plain.got, "plain", "stream_down")[0].get("docker.attributes[reason]")
	if !strings.Contains(reason, "HTTP") && !strings.Contains(reason, "TLS") && !strings.Contains(reason, "tls") {
		t.Errorf("plain: stream_down reason %q names neither HTTP nor TLS", reason)
	}
	if len(health(plain.got, "plain", "stream_up")) != 0 {
		t.Errorf("plain: the plugin reports its stream up over plain HTTP to a TLS port")
	}
}

// TestBadCertificateFilesFailOpen: unusable TLS material is refused at Open,
// with the endpoint and the file named.
func TestBadCertificateFilesFailOpen(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := loadPlugin(t, "")
	for _, c := range []struct{ params, want string }{
		{"tcp://127.0.0.1:1?name=x&ca=" + filepath.Join(dir, "missing.pem"), "missing.pem"},
		{"tcp://127.0.0.1:1?name=x&ca=" + garbage, "garbage.pem"},
		{"tcp://127.0.0.1:1?name=x&key=" + garbage, "key"},
		{"tcp://127.0.0.1:1?name=x&certdir=" + filepath.Join(dir, "nope"), "nope"},
	} {
		inst, err := p.Open(c.params)
		if err == nil {
			inst.Close()
			t.Errorf("open(%q) succeeded", c.params)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("open(%q) = %q: want the endpoint and %q named", c.params, err, c.want)
		}
	}
}

// TestHostDownAtOpenDoesNotStopOthers: an endpoint nobody listens on does
// not block Open, does not stop the others, and is reported down.
func TestHostDownAtOpenDoesNotStopOthers(t *testing.T) {
	dockerd.Require(t)
	up := dockerd.Start(t, dockerd.Options{Name: "up"})
	ghost := "unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	p := loadPlugin(t, `{"reconnect": {"minBackoff": "100ms", "maxBackoff": "200ms"}}`)
	start := time.Now()
	inst, err := p.Open(fmt.Sprintf("%s?name=ghost, %s?name=up, tcp://127.0.0.1:1?name=refused&tls=off", ghost, up.Endpoint()))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("open took %s with a dead host in the list", d)
	}
	defer inst.Close()
	c := newCollector(t, p, inst)
	c.until(30*time.Second, "ghost and refused stream_down, up stream_up", func(rs []record) bool {
		return len(health(rs, "ghost", "stream_down")) > 0 && len(health(rs, "refused", "stream_down")) > 0 &&
			len(health(rs, "up", "stream_up")) > 0
	})
	if _, err := up.ImportBusybox("down-test:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := up.Create("--name", "alive", "down-test:1", "true"); err != nil {
		t.Fatal(err)
	}
	c.until(30*time.Second, "the live host's container create", func(rs []record) bool {
		return containerEventsOf(rs, "up", "alive") == 1
	})
	// The dead ones keep being retried without flooding Falco: one
	// stream_down per outage, not one per attempt.
	c.drain(time.Second)
	if n := len(health(c.got, "ghost", "stream_down")); n != 1 {
		t.Errorf("ghost: %d stream_down events, want 1 per outage", n)
	}
}

// TestCloseIsPromptAndLeavesNoConnection: Close of an instance watching
// three live daemons returns promptly and closes every connection; repeated
// open/close and init/destroy cycles work in one process, as on Falco's hot
// reload.
func TestCloseIsPromptAndLeavesNoConnection(t *testing.T) {
	dockerd.Require(t)
	_, _, _, params := fleetOf3(t)
	before := socketCount(t)
	for cycle := 0; cycle < 3; cycle++ {
		p := loadPlugin(t, "")
		for round := 0; round < 2; round++ {
			inst, err := p.Open(params)
			if err != nil {
				t.Fatalf("cycle %d round %d: open: %v", cycle, round, err)
			}
			c := newCollector(t, p, inst)
			for _, host := range []string{"unix-a", "unix-b", "tls-c"} {
				c.until(30*time.Second, host+" stream_up", hasHealth(host, "stream_up"))
			}
			// At least the three streams (what was open before, the test's
			// own, may have closed meanwhile: an idle keep-alive).
			if during := socketCount(t); during < 3 {
				t.Errorf("cycle %d: %d sockets while streaming from 3 hosts, %d before", cycle, during, before)
			}
			start := time.Now()
			inst.Close()
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("cycle %d round %d: close took %s", cycle, round, d)
			}
		}
		p.Close()
	}
	// Connections close asynchronously in the kernel's view only for a
	// moment; give it that moment, without hiding a leak.
	deadline := time.Now().Add(2 * time.Second)
	for socketCount(t) > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if after := socketCount(t); after > before {
		t.Errorf("%d sockets open after close, %d before open", after, before)
	}
}
