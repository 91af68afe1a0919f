// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// resilienceConfig reconnects quickly and repeats stream_still_down every
// second, so that the faults below play out in seconds.
const resilienceConfig = `{"reconnect": {"minBackoff": "100ms", "maxBackoff": "500ms"}, "stillDownInterval": "1s"}`

// producer makes volume events on a daemon (create, then destroy) until
// stopped: cheap, real events, two per iteration.
type producer struct {
	stop func()
	wg   sync.WaitGroup
}

func produce(t *testing.T, prefix string, ds ...*dockerd.Daemon) *producer {
	ctx, cancel := context.WithCancel(context.Background())
	p := &producer{stop: cancel}
	for _, d := range ds {
		p.wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("%s-%s-%d", prefix, d.Name(), i)
				if _, err := d.Docker("volume", "create", name); err != nil {
					t.Errorf("%s: %v", d, err)
					return
				}
				if _, err := d.Docker("volume", "rm", name); err != nil {
					t.Errorf("%s: %v", d, err)
					return
				}
			}
		})
	}
	return p
}

// halt stops the producer and returns the daemon time after its last event.
func (p *producer) halt() int64 {
	p.stop()
	p.wg.Wait()
	return time.Now().UnixNano()
}

// checkExactlyOnce checks that every event host's daemon reports between
// since and until was delivered exactly once, and that nothing else of
// that host in the window was.
func checkExactlyOnce(t *testing.T, c *collector, host string, d *dockerd.Daemon, since, until int64) {
	t.Helper()
	want := map[string]bool{}
	for _, ev := range daemonEvents(t, d, since, until) {
		want[fmt.Sprintf("%s|%d|%s|%s|%s", host, ev.TimeNano, ev.Type, ev.Action, ev.Actor.ID)] = true
	}
	if len(want) < 4 {
		t.Fatalf("%s: only %d events between since and until: the producer did not run", host, len(want))
	}
	c.until(60*time.Second, fmt.Sprintf("the %d events %s reports", len(want), host), func(rs []record) bool {
		seen := 0
		for _, r := range rs {
			if want[r.key()] {
				seen++
			}
		}
		return seen >= len(want)
	})
	got := map[string]int{}
	for _, r := range c.got {
		if r.get("docker.host") == host && r.get("docker.type") != "dockerfleet" && int64(r.Timestamp) >= since && int64(r.Timestamp) <= until {
			got[r.key()]++
		}
	}
	for k, n := range got {
		if !want[k] || n != 1 {
			t.Errorf("%s: event %s delivered %d times, reported by the daemon: %v", host, k, n, want[k])
		}
	}
	t.Logf("%s: %d events of the daemon's record delivered exactly once", host, len(want))
}

// checkNoDuplicates: no Docker event delivered twice, across every fault.
func checkNoDuplicates(t *testing.T, rs []record) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range rs {
		if r.get("docker.type") != "dockerfleet" {
			seen[r.key()]++
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("event %s delivered %d times", k, n)
		}
	}
}

// TestDaemonFaults inflicts real faults on a fleet of three daemons while
// one instance streams them through the C ABI: a SIGKILL and a restart on
// the same data, a graceful restart of the TLS daemon, a daemon stopped
// for good. The others' events all arrive exactly once (against the
// daemons' own record), the restarted ones resume without duplicates, and
// the health events name the right hosts.
func TestDaemonFaults(t *testing.T) {
	dockerd.Require(t)
	unixA, unixB, tlsC, params := fleetOf3(t)
	p := loadPlugin(t, resilienceConfig)
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
	for host, d := range map[string]*dockerd.Daemon{"unix-a": unixA, "unix-b": unixB, "tls-c": tlsC} {
		c.until(30*time.Second, host+" stream_up", hasHealth(host, "stream_up"))
		up := health(c.got, host, "stream_up")[0].String
		for _, attr := range []string{"daemon_id=" + d.ID(), "daemon_name=" + d.Name(), "api_version=1.41"} {
			if !strings.Contains(up, attr) {
				t.Errorf("%s: stream_up %q lacks %s", host, up, attr)
			}
		}
	}

	// 1. SIGKILL unix-a mid-stream, restart it on the same data.
	since := time.Now().UnixNano()
	pre := produce(t, "pre", unixA)
	time.Sleep(time.Second)
	others := produce(t, "kill", unixB, tlsC)
	pre.halt()
	preUntil := time.Now().UnixNano()
	checkExactlyOnce(t, c, "unix-a", unixA, since, preUntil) // before the kill erases the record
	if err := unixA.Kill(); err != nil {
		t.Fatal(err)
	}
	c.until(30*time.Second, "unix-a stream_down", hasHealth("unix-a", "stream_down"))
	if err := unixA.Restart(); err != nil {
		t.Fatal(err)
	}
	// A restarted dockerd keeps its ID (key.json) but not its events,
	// which it holds in memory only: the replay since our last event no
	// longer starts with it, and the plugin reports events_lost with
	// reason daemon_restarted, from that event to the first one it
	// still has (or the time it reconnected).
	c.until(30*time.Second, "unix-a up again and events_lost", func(rs []record) bool {
		return len(health(rs, "unix-a", "stream_up")) == 2 && hasLoss(rs, "unix-a", "daemon_restarted")
	})
	after := time.Now().UnixNano()
	post := produce(t, "post", unixA)
	time.Sleep(time.Second)
	postUntil := post.halt()
	until := others.halt()
	checkExactlyOnce(t, c, "unix-b", unixB, since, until)
	checkExactlyOnce(t, c, "tls-c", tlsC, since, until)
	checkExactlyOnce(t, c, "unix-a", unixA, after, postUntil)
	if id := unixA.ID(); !strings.Contains(health(c.got, "unix-a", "stream_up")[1].String, "daemon_id="+id) {
		t.Errorf("unix-a: second stream_up does not carry the daemon ID %s", id)
	}

	// 2. Restart the TLS daemon gracefully.
	since = time.Now().UnixNano()
	others = produce(t, "restart", unixA, unixB)
	if err := tlsC.Restart(); err != nil {
		t.Fatal(err)
	}
	c.until(30*time.Second, "tls-c down, up again and events_lost", func(rs []record) bool {
		return len(health(rs, "tls-c", "stream_down")) == 1 && len(health(rs, "tls-c", "stream_up")) == 2 &&
			hasLoss(rs, "tls-c", "daemon_restarted")
	})
	after = time.Now().UnixNano()
	post = produce(t, "post", tlsC)
	time.Sleep(time.Second)
	postUntil = post.halt()
	until = others.halt()
	checkExactlyOnce(t, c, "unix-a", unixA, since, until)
	checkExactlyOnce(t, c, "unix-b", unixB, since, until)
	checkExactlyOnce(t, c, "tls-c", tlsC, after, postUntil)

	// 3. Stop unix-b for good: down, still down, the others stream on.
	since = time.Now().UnixNano()
	others = produce(t, "stop", unixA, tlsC)
	if err := unixB.Stop(); err != nil {
		t.Fatal(err)
	}
	c.until(30*time.Second, "unix-b stream_down, then stream_still_down", func(rs []record) bool {
		return len(health(rs, "unix-b", "stream_down")) == 1 && len(health(rs, "unix-b", "stream_still_down")) >= 2
	})
	until = others.halt()
	checkExactlyOnce(t, c, "unix-a", unixA, since, until)
	checkExactlyOnce(t, c, "tls-c", tlsC, since, until)
	for _, r := range health(c.got, "unix-b", "stream_still_down") {
		if !strings.Contains(r.String, "down_for=") || !strings.Contains(r.String, "since=") || r.get("docker.attributes[reason]") == "" {
			t.Errorf("stream_still_down without down_for, since or reason: %s", r.String)
		}
	}

	// Health events only for the hosts that had faults.
	if n := len(health(c.got, "unix-a", "stream_down")); n != 1 {
		t.Errorf("unix-a: %d stream_down, want 1 (the kill)", n)
	}
	if n := len(health(c.got, "unix-b", "stream_up")); n != 1 {
		t.Errorf("unix-b: %d stream_up, want 1", n)
	}
	for _, host := range []string{"unix-a", "unix-b", "tls-c"} {
		for _, r := range health(c.got, host, "events_lost") {
			if host == "unix-b" || r.get("docker.attributes[reason]") != "daemon_restarted" {
				t.Errorf("unexpected loss: %s", r.String)
			}
		}
	}
	c.drain(500 * time.Millisecond)
	checkNoDuplicates(t, c.got)

	start := time.Now()
	inst.Close()
	closed = true
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("close with a host down took %s", d)
	}
}

func hasLoss(rs []record, host, reason string) bool {
	for _, r := range health(rs, host, "events_lost") {
		if r.get("docker.attributes[reason]") == reason {
			return true
		}
	}
	return false
}

// TestOpenCloseCyclesLeakNothing opens and closes an instance over three
// daemons 30 times in one process (Falco reopens on every hot reload):
// the sockets return to what they were and the resident memory (which
// includes the Go runtime inside the .so) stays within a small bound.
func TestOpenCloseCyclesLeakNothing(t *testing.T) {
	dockerd.Require(t)
	_, _, _, params := fleetOf3(t)
	p := loadPlugin(t, resilienceConfig)
	cycle := func(i int) {
		inst, err := p.Open(params)
		if err != nil {
			t.Fatalf("cycle %d: open: %v", i, err)
		}
		c := newCollector(t, p, inst)
		for _, host := range []string{"unix-a", "unix-b", "tls-c"} {
			c.until(30*time.Second, host+" stream_up", hasHealth(host, "stream_up"))
		}
		c.x.Close() // the collector's C memory, not to count as the plugin's
		start := time.Now()
		inst.Close()
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("cycle %d: close took %s", i, d)
		}
	}
	// Warm up: the runtimes' heaps settle; the slope after that is what
	// tells a leak.
	for i := range 10 {
		cycle(i)
	}
	socketsBefore := settledSockets(t, -1)
	const cycles, settled = 30, 10
	var rssSettled int
	for i := range cycles {
		cycle(i)
		if i+1 == settled {
			rssSettled = rssKiB(t)
		}
	}
	socketsAfter, rssAfter := settledSockets(t, socketsBefore), rssKiB(t)
	t.Logf("%d cycles: sockets %d -> %d, RSS %d KiB after %d, %d KiB after %d", cycles, socketsBefore, socketsAfter, rssSettled, settled, rssAfter, cycles)
	if socketsAfter > socketsBefore {
		t.Errorf("%d sockets open after %d cycles, %d before", socketsAfter, cycles, socketsBefore)
	}
	// A leaked instance per cycle (its 4,096-event channel, batch
	// buffers, three clients with their read buffers, goroutines) would
	// cost well over 200 KiB a cycle.
	if grew := rssAfter - rssSettled; grew > 4<<10 {
		t.Errorf("RSS grew by %d KiB over %d cycles", grew, cycles-settled)
	}
}

// settledSockets counts this process's sockets once closing ones are
// gone: it waits up to 2 s for the count to drop to want (-1: just a
// moment).
func settledSockets(t *testing.T, want int) int {
	deadline := time.Now().Add(2 * time.Second)
	n := socketCount(t)
	for (want < 0 || n > want) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		n = socketCount(t)
		if want < 0 {
			break
		}
	}
	return n
}

// rssKiB is VmRSS of this process, the .so's Go runtime included. (No
// debug.FreeOSMemory first: the pages it returns come back at once, which
// looks like growth.)
func rssKiB(t *testing.T) int {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatalf("VmRSS line %q", line)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
