// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// publishCreates publishes n create events of distinct containers, each
// followed by a network event that needs no inspect.
func publishCreates(srv *fakedocker.Server, prefix string, n int) {
	for i := range n {
		id := fmt.Sprintf("%s%063d", prefix, i)
		srv.Publish(fakedocker.Event{Type: "container", Action: "create", ActorID: id, Attributes: map[string]string{"image": "busybox:1.36"}})
		srv.Publish(fakedocker.Event{Type: "network", Action: "connect", ActorID: "net" + prefix, Attributes: map[string]string{"container": id}})
	}
}

// gather reads events of ch until every host has want events with a seq.
func gather(t *testing.T, ch <-chan enriched, want map[string]int) map[string][]enriched {
	t.Helper()
	by := map[string][]enriched{}
	deadline := time.After(20 * time.Second)
	for {
		done := true
		for h, n := range want {
			done = done && len(by[h]) >= n
		}
		if done {
			return by
		}
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatal("events closed")
			}
			if e.seq != 0 {
				by[e.host] = append(by[e.host], e)
			}
		case <-deadline:
			t.Fatalf("timed out: %v", by)
		}
	}
}

// TestEnrichHostileDaemonsDoNotHoldOthers: one host answers inspects
// after 20 ms, the others hang, answer 404, garbage or 10 MB. Every host's
// events come in order; the good host's are enriched and prompt, the
// others' come without a summary, saying why, within the enrich timeout;
// the huge answers are not read into memory.
func TestEnrichHostileDaemonsDoNotHoldOthers(t *testing.T) {
	dir := shortTemp(t)
	modes := []struct {
		name string
		mode fakedocker.InspectMode
		err  string
	}{
		{"good", fakedocker.InspectOK, ""},
		{"hang", fakedocker.InspectHang, "inspect "}, // timed out, or not started
		{"gone", fakedocker.InspectNotFound, "No such container"},
		{"garbage", fakedocker.InspectGarbage, "bad answer"},
		{"huge", fakedocker.InspectHuge, "larger than"},
	}
	var eps []hosts.Endpoint
	srvs := map[string]*fakedocker.Server{}
	for _, m := range modes {
		srv := fakedocker.New(m.name)
		t.Cleanup(func() { srv.Close() })
		srv.SetInspect(m.mode, 20*time.Millisecond)
		srvs[m.name] = srv
		eps = append(eps, unixHosts(t, srv, dir, m.name, 1)...)
	}
	o := testOptions()
	o.CallTimeout = 2 * time.Second
	o.PingInterval = -1
	o.Enrich = Enrich{Containers: true, Execs: true, Images: true, Daemon: true, Timeout: time.Second, Concurrency: 4}
	f := startFleet(t, eps, o)
	ch := collectEnriched(t, f)
	upHosts := map[string]bool{}
	for len(upHosts) < len(modes) {
		select {
		case e := <-ch:
			if e.action == ActionStreamUp {
				upHosts[e.host] = true
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %v came up", upHosts)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	const n = 6
	want := map[string]int{}
	published := time.Now()
	for _, m := range modes {
		publishCreates(srvs[m.name], m.name[:1], n)
		want[m.name+"-0"] = 2 * n
	}
	by := gather(t, ch, want)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
		t.Errorf("heap grew by %d bytes with 10 MB answers", grew)
	}
	for _, m := range modes {
		evs := by[m.name+"-0"]
		for i, e := range evs {
			if i > 0 && e.seq <= evs[i-1].seq {
				t.Fatalf("%s: events out of order at %d", m.name, i)
			}
			if e.ctx.Daemon == nil || !e.ctx.Daemon.Inspected {
				t.Errorf("%s: event without the daemon context: %+v", m.name, e.ctx.Daemon)
			}
			if e.action != "create" {
				if e.ctx.Container != nil {
					t.Errorf("%s: %s event with a container context", m.name, e.action)
				}
				continue
			}
			c := e.ctx.Container
			switch {
			case c == nil:
				t.Errorf("%s: create without a container context", m.name)
			case m.err == "" && (!c.Inspected || !c.Privileged || c.User != "nobody" || c.ImageDigest != "sha256:abcd"):
				t.Errorf("%s: create context %+v", m.name, *c)
			case m.err != "" && (c.Inspected || !strings.Contains(c.Error, m.err)):
				t.Errorf("%s: create context %+v, want the error %q", m.name, *c, m.err)
			}
		}
		last := evs[len(evs)-1].at.Sub(published)
		t.Logf("%s: last event %v after publishing", m.name, last)
		if m.name == "good" && last > 600*time.Millisecond {
			t.Errorf("good host's last event came %v after publishing: held by the others", last)
		}
		if m.name == "hang" && (last < time.Second || last > 5*time.Second) {
			t.Errorf("hanging host's last event came %v after publishing, not bounded by its enrich timeouts", last)
		}
	}
	var failures uint64
	for _, st := range f.Stats() {
		failures += st.InspectFailures
	}
	if failures < 4*n {
		t.Errorf("%d inspect failures counted, want at least %d", failures, 4*n)
	}
}

// An answer that came after its event went out is kept for the next events
// of its container, and leaves no call behind (inflight stays bounded).
func TestEnrichPruneHarvestsLateAnswers(t *testing.T) {
	o, err := Options{Enrich: Enrich{Containers: true}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{f: &Fleet{work: make(tokens, 1)}, host: "h", opts: &o, hc: http.DefaultClient,
		ep: unixEndpoint("h", "unix:///nonexistent/docker.sock", "/nonexistent/docker.sock")}
	e := newEnricher(context.Background(), w)
	w.enr = e
	for _, id := range []string{"a", "b", "c"} {
		if _, c := e.lookup(e.containers, 'c', id, true); c == nil {
			t.Fatal("no inspect started")
		} else {
			<-c.done
		}
	}
	e.prune()
	if len(e.inflight) != 0 {
		t.Errorf("%d calls left in flight", len(e.inflight))
	}
	part, ok := e.containers.Peek("b")
	if !ok || !strings.Contains(string(part), "nonexistent") {
		t.Errorf("late answer not cached: %q, %v", part, ok)
	}
	w.f.wg.Wait()
}
