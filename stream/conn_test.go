// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/dockerd"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// shortTemp is a temporary directory with a path short enough for a socket.
func shortTemp(t *testing.T) string {
	d, err := os.MkdirTemp("", "dfc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// stacksWith counts the goroutines whose stack mentions fn.
func stacksWith(fn string) int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte(fn)) {
			n++
		}
	}
	return n
}

// TestIdleHostHoldsOneConnectionAndOneGoroutine: once up, a host holds its
// live stream's connection and nothing else (no connection of the setup
// calls kept alive, replay included, none of the liveness pings), read by
// the watcher's own goroutine: no net/http connection goroutines.
func TestIdleHostHoldsOneConnectionAndOneGoroutine(t *testing.T) {
	const n = 20
	srv := fakedocker.New("d")
	defer srv.Close()
	eps := unixHosts(t, srv, shortTemp(t), "h", n)
	o := testOptions()
	// Long enough for the checks below to end before the first ping, which
	// would take (and close) a connection left idle.
	o.PingInterval = 1500 * time.Millisecond
	f := startFleet(t, eps, o)
	c := collect(t, f)
	c.waitUp(n)
	// Conns counts what the server has not seen closed yet.
	settled := func(when string) {
		t.Helper()
		deadline := time.Now().Add(500 * time.Millisecond)
		for srv.Stats().Conns != n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d connections for %d idle hosts", when, srv.Stats().Conns, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	settled("before any liveness ping")
	// A reconnection replays what was missed first (a GET that ends by
	// itself, whose connection net/http would keep alive).
	srv.DropStreams()
	c.waitUp(n)
	settled("after a reconnection")
	// Past two liveness pings, each on a connection closed after it.
	time.Sleep(3200 * time.Millisecond)
	settled("after liveness pings")
	if g := stacksWith("net/http.(*persistConn)"); g > 1 { // 0, or a ping under way
		t.Errorf("%d goroutines of net/http client connections", g)
	}
	if g := stacksWith("stream.(*watcher).run"); g != n {
		t.Errorf("%d watcher goroutines for %d hosts", g, n)
	}
	publish(srv, 5)
	c.until(5*time.Second, func(all []got) bool { return len(seqs(all, "h-0")) == 5 })
}

// TestTLSHostStreams: a host on tcp with mutual TLS streams its events on
// the direct connection; one whose CA does not verify the daemon is down,
// with the TLS error as the reason.
func TestTLSHostStreams(t *testing.T) {
	certs, err := dockerd.GenerateCerts(shortTemp(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := fakedocker.New("tls")
	defer srv.Close()
	cfg, err := certs.ServerTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	u, err := srv.ListenTCP("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The bad host on a socket of its own: one daemon listed twice is
	// refused at Open.
	u2, err := srv.ListenTCP("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := hosts.Parse(u+"?name=good&certdir="+certs.Dir+", "+u2+"?name=bad&certdir="+certs.OtherDir, hosts.Defaults{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := startFleet(t, eps, testOptions())
	c := collect(t, f)
	all := c.until(10*time.Second, func(all []got) bool {
		return count(all, "good", ActionStreamUp) == 1 && count(all, "bad", ActionStreamDown) == 1
	})
	for _, g := range all {
		if g.host == "bad" && g.action == ActionStreamDown && !strings.Contains(g.attrs[AttrReason], "x509: certificate signed by unknown authority") {
			t.Errorf("bad host down for %q", g.attrs[AttrReason])
		}
	}
	publish(srv, 3)
	c.until(5*time.Second, func(all []got) bool { return len(seqs(all, "good")) == 3 })
	srv.DropStreams()
	publish(srv, 2)
	all = c.until(10*time.Second, func(all []got) bool {
		return len(seqs(all, "good")) == 2 && count(all, "good", ActionStreamUp) >= 1
	})
	if n := count(all, "good", ActionStreamUp); n != 1 {
		t.Errorf("%d more stream_up after the drop, want 1: %s", n, summary(all))
	}
}
