// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// testOptions are quick to reconnect and to give up on a silent daemon.
func testOptions() Options {
	return Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, CallTimeout: 500 * time.Millisecond, PingInterval: 200 * time.Millisecond}
}

// unixHosts makes srv listen on n sockets and returns their endpoints,
// named prefix-0, prefix-1...
func unixHosts(t testing.TB, srv *fakedocker.Server, dir, prefix string, n int) []hosts.Endpoint {
	t.Helper()
	eps := make([]hosts.Endpoint, n)
	for i := range eps {
		path := filepath.Join(dir, fmt.Sprintf("%s-%d.sock", prefix, i))
		url, err := srv.ListenUnix(path)
		if err != nil {
			t.Fatal(err)
		}
		eps[i] = unixEndpoint(fmt.Sprintf("%s-%d", prefix, i), url, path)
	}
	return eps
}

func unixEndpoint(name, url, path string) hosts.Endpoint {
	return hosts.Endpoint{Name: name, URL: url, Scheme: "unix", Address: path}
}

// got is one event as the tests look at it.
type got struct {
	host, typ, action string
	seq               int // 0 for events without "seq"
	attrs             map[string]string
	timeNano          int64
}

func decode(t testing.TB, ev Event) got {
	t.Helper()
	p, err := payload.Parse(ev.Payload)
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	g := got{host: p.Host(), typ: p.Type(), action: p.Action(), attrs: map[string]string{}, timeNano: ev.TimeNano}
	for k, v := range p.Attrs() {
		g.attrs[k] = v
	}
	if s, ok := g.attrs["seq"]; ok {
		g.seq, err = strconv.Atoi(s)
		if err != nil {
			t.Fatalf("seq %q: %v", s, err)
		}
	}
	return g
}

// collector reads a fleet's events in the background.
type collector struct {
	t  testing.TB
	ch chan got
}

func collect(t testing.TB, f *Fleet) *collector {
	c := &collector{t: t, ch: make(chan got, 1<<16)}
	go func() {
		for b := range f.Batches() {
			for _, ev := range b.Events {
				c.ch <- decode(t, ev)
			}
		}
		close(c.ch)
	}()
	return c
}

// until gathers events until done says so, failing after timeout.
func (c *collector) until(timeout time.Duration, done func(all []got) bool) []got {
	c.t.Helper()
	var all []got
	deadline := time.After(timeout)
	for !done(all) {
		select {
		case g, ok := <-c.ch:
			if !ok {
				c.t.Fatalf("events closed after %d events", len(all))
			}
			all = append(all, g)
		case <-deadline:
			c.t.Fatalf("timed out after %d events: %s", len(all), summary(all))
		}
	}
	return all
}

// waitUp waits until n stream_up events were seen.
func (c *collector) waitUp(n int) []got {
	c.t.Helper()
	return c.until(10*time.Second, func(all []got) bool { return count(all, "", ActionStreamUp) >= n })
}

func count(all []got, host, action string) int {
	n := 0
	for _, g := range all {
		if (host == "" || g.host == host) && g.action == action {
			n++
		}
	}
	return n
}

// seqs returns the sequence numbers of host's Docker events, in order.
func seqs(all []got, host string) []int {
	var s []int
	for _, g := range all {
		if g.host == host && g.typ != HealthType {
			s = append(s, g.seq)
		}
	}
	return s
}

func summary(all []got) string {
	// Health events in full, Docker events as runs of sequence numbers.
	var b strings.Builder
	run := map[string][2]int{}
	end := func(h string) {
		if r, ok := run[h]; ok {
			fmt.Fprintf(&b, " %s#%d-%d", h, r[0], r[1])
			delete(run, h)
		}
	}
	for _, g := range all {
		if g.typ == HealthType {
			end(g.host)
			fmt.Fprintf(&b, " [%s %s %v]", g.host, g.action, g.attrs)
			continue
		}
		r, ok := run[g.host]
		if ok && g.seq == r[1]+1 {
			run[g.host] = [2]int{r[0], g.seq}
			continue
		}
		end(g.host)
		run[g.host] = [2]int{g.seq, g.seq}
	}
	for h := range run {
		end(h)
	}
	if b.Len() > 6000 {
		return b.String()[:6000] + " ..."
	}
	return b.String()
}

func publish(srv *fakedocker.Server, n int) {
	for range n {
		srv.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: "c0ffee", Attributes: map[string]string{"image": "alpine", "name": "web"}})
	}
}

// seqRange is from..to inclusive.
func seqRange(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func startFleet(t testing.TB, eps []hosts.Endpoint, o Options) *Fleet {
	t.Helper()
	f, err := Start(context.Background(), eps, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// eventReader reads the events of a Fleet one at a time, batch by batch.
type eventReader struct {
	f   *Fleet
	cur []Event
}

// next returns the next event; false when none came within timeout or
// Batches is closed.
func (r *eventReader) next(timeout time.Duration) (Event, bool) {
	for len(r.cur) == 0 {
		select {
		case b, ok := <-r.f.Batches():
			if !ok {
				return Event{}, false
			}
			r.cur = b.Events
		case <-time.After(timeout):
			return Event{}, false
		}
	}
	ev := r.cur[0]
	r.cur = r.cur[1:]
	return ev, true
}

// mustNext is next that fails t.
func (r *eventReader) mustNext(t testing.TB) Event {
	t.Helper()
	ev, ok := r.next(10 * time.Second)
	if !ok {
		t.Fatal("no event within 10 s")
	}
	return ev
}
