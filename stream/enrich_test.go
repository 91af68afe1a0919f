// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
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
			done = done && countSeq(by[h]) >= n
		}
		if done {
			return by
		}
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatal("events closed")
			}
			if e.seq != 0 || e.action == ActionInspectFailed {
				by[e.host] = append(by[e.host], e)
			}
		case <-deadline:
			t.Fatalf("timed out: %v", by)
		}
	}
}

func countSeq(evs []enriched) int {
	n := 0
	for _, e := range evs {
		if e.seq != 0 {
			n++
		}
	}
	return n
}

// withSeq keeps the daemon's events (those with a seq).
func withSeq(evs []enriched) []enriched {
	var out []enriched
	for _, e := range evs {
		if e.seq != 0 {
			out = append(out, e)
		}
	}
	return out
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
	// A host's inspect_failed follows the events it is about.
	for end := time.After(1500 * time.Millisecond); ; {
		var e enriched
		select {
		case e = <-ch:
		case <-end:
		}
		if e.host == "" {
			break
		}
		if e.action == ActionInspectFailed {
			by[e.host] = append(by[e.host], e)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
		t.Errorf("heap grew by %d bytes with 10 MB answers", grew)
	}
	for _, m := range modes {
		evs := withSeq(by[m.name+"-0"])
		var reported uint64
		for _, e := range by[m.name+"-0"] {
			if e.action == ActionInspectFailed {
				n, _ := strconv.ParseUint(e.attrs[AttrCount], 10, 64)
				reported += n
				if e.attrs[AttrReason] == "" || e.attrs[AttrFrom] == "" || e.attrs[AttrUntil] == "" {
					t.Errorf("%s: inspect_failed attributes %v", m.name, e.attrs)
				}
			}
		}
		if (m.err == "") != (reported == 0) {
			t.Errorf("%s: %d inspect failures reported in inspect_failed events", m.name, reported)
		}
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
		if _, c := e.lookup(&e.containers, 'c', id); c == nil {
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

// A host creating 100 containers a second over a link whose inspects take
// 20 ms keeps up: inspects overlap, every create carries its summary, and
// the last one comes about one round trip after it was published.
func TestEnrichKeepsUpWithChurnOverSlowLink(t *testing.T) {
	srv := fakedocker.New("churn")
	t.Cleanup(func() { srv.Close() })
	srv.SetInspect(fakedocker.InspectOK, 20*time.Millisecond)
	o := testOptions()
	o.PingInterval = -1
	o.Enrich = Enrich{Containers: true, Images: true, Daemon: true}
	f := startFleet(t, unixHosts(t, srv, shortTemp(t), "churn", 1), o)
	ch := collectEnriched(t, f)
	nextOf(t, ch, "churn-0", ActionStreamUp)
	const n = 200
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var last time.Time
	for i := range n {
		<-tick.C
		srv.Publish(fakedocker.Event{Type: "container", Action: "create", ActorID: fmt.Sprintf("%064d", i)})
		last = time.Now()
	}
	by := gather(t, ch, map[string]int{"churn-0": n})
	evs := by["churn-0"]
	for i, e := range evs {
		if e.seq != i+1 || e.ctx.Container == nil || !e.ctx.Container.Inspected {
			t.Fatalf("create %d (seq %d): %+v", i, e.seq, e.ctx.Container)
		}
	}
	lag := evs[n-1].at.Sub(last)
	t.Logf("last create delivered %v after it was published", lag)
	if lag > 500*time.Millisecond {
		t.Errorf("last create delivered %v after it was published: not keeping up", lag)
	}
}

// The summaries outlive a reconnection: a container inspected before the
// stream dropped is not asked again after.
func TestEnrichCacheSurvivesReconnect(t *testing.T) {
	srv := fakedocker.New("rc")
	t.Cleanup(func() { srv.Close() })
	srv.SetInspect(fakedocker.InspectOK, 0)
	o := testOptions()
	o.Enrich = Enrich{Containers: true}
	f := startFleet(t, unixHosts(t, srv, shortTemp(t), "rc", 1), o)
	ch := collectEnriched(t, f)
	nextOf(t, ch, "rc-0", ActionStreamUp)
	id := strings.Repeat("c", 64)
	srv.Publish(fakedocker.Event{Type: "container", Action: "create", ActorID: id})
	if e := nextOf(t, ch, id, "create"); e.ctx.Container == nil || !e.ctx.Container.Inspected {
		t.Fatalf("create: %+v", e.ctx.Container)
	}
	asked := srv.InspectRequests()
	srv.DropStreams()
	nextOf(t, ch, "rc-0", ActionStreamUp)
	srv.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: id})
	if e := nextOf(t, ch, id, "start"); e.ctx.Container == nil || !e.ctx.Container.Privileged {
		t.Fatalf("start after the reconnection: %+v", e.ctx.Container)
	}
	if n := srv.InspectRequests(); n != asked {
		t.Errorf("%d inspects after the reconnection, want none", n-asked)
	}
	// destroy drops the summary: the ID, if reused, is asked again.
	srv.Publish(fakedocker.Event{Type: "container", Action: "destroy", ActorID: id})
	nextOf(t, ch, id, "destroy")
	srv.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: id})
	nextOf(t, ch, id, "start")
	if n := srv.InspectRequests(); n != asked+1 {
		t.Errorf("%d inspects after destroy and a new start, want 1", n-asked)
	}
}

// Events of a reconnection's replay that wait for their inspects come in
// order, once each, enriched, and before the live stream's.
func TestEnrichReplayInOrder(t *testing.T) {
	srv := fakedocker.New("replay")
	t.Cleanup(func() { srv.Close() })
	srv.SetInspect(fakedocker.InspectOK, 10*time.Millisecond)
	o := testOptions()
	o.Enrich = Enrich{Containers: true, Images: true, Daemon: true}
	f := startFleet(t, unixHosts(t, srv, shortTemp(t), "replay", 1), o)
	ch := collectEnriched(t, f)
	nextOf(t, ch, "replay-0", ActionStreamUp)
	publishCreates(srv, "a", 1)
	for deadline := time.Now().Add(5 * time.Second); f.Stats()[0].Delivered < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first events were not delivered")
		}
	}
	srv.Hang(true)
	srv.DropStreams()
	publishCreates(srv, "b", 5) // while the host is away: replayed
	time.Sleep(100 * time.Millisecond)
	srv.Hang(false)
	time.Sleep(300 * time.Millisecond)
	publishCreates(srv, "c", 2) // live again, as a rule
	by := gather(t, ch, map[string]int{"replay-0": 2 * (1 + 5 + 2)})
	evs := by["replay-0"]
	for i, e := range evs {
		if e.seq != i+1 {
			t.Fatalf("event %d has seq %d: out of order, lost or repeated", i, e.seq)
		}
		if e.action == "create" && (e.ctx.Container == nil || !e.ctx.Container.Inspected) {
			t.Errorf("create seq %d not enriched: %+v", e.seq, e.ctx.Container)
		}
	}
	if st := f.Stats()[0]; st.Connects != 2 || st.Duplicates != 1 {
		t.Errorf("%d connections and %d duplicates, want 2 and the replay's boundary event", st.Connects, st.Duplicates)
	}
}

// The resume boundary is recognised by the event's line, not its payload:
// a create first delivered without its summary (the inspect came too late)
// and replayed with it after a reconnection is not delivered twice.
func TestEnrichReplayedBoundaryWithANewSummaryIsADuplicate(t *testing.T) {
	srv := fakedocker.New("late")
	t.Cleanup(func() { srv.Close() })
	srv.SetInspect(fakedocker.InspectOK, 300*time.Millisecond)
	o := testOptions()
	o.CallTimeout = 2 * time.Second
	o.Enrich = Enrich{Containers: true, Timeout: 50 * time.Millisecond}
	f := startFleet(t, unixHosts(t, srv, shortTemp(t), "late", 1), o)
	ch := collectEnriched(t, f)
	nextOf(t, ch, "late-0", ActionStreamUp)
	id := strings.Repeat("d", 64)
	srv.Publish(fakedocker.Event{Type: "container", Action: "create", ActorID: id})
	if e := nextOf(t, ch, id, "create"); e.ctx.Container == nil || e.ctx.Container.Inspected {
		t.Fatalf("create should have gone out without its summary: %+v", e.ctx.Container)
	}
	time.Sleep(400 * time.Millisecond) // the inspect ends meanwhile
	srv.DropStreams()
	nextOf(t, ch, "late-0", ActionStreamUp)
	srv.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: id})
	e := nextOf(t, ch, id, "")
	if e.action != "start" {
		t.Fatalf("%s after the reconnection, want the start only (seq %d)", e.action, e.seq)
	}
	if e.ctx.Container == nil || !e.ctx.Container.Inspected {
		t.Errorf("start without the summary that came late: %+v", e.ctx.Container)
	}
	// Delivered is counted once the batch is handed over: wait for it.
	st := f.Stats()[0]
	for deadline := time.Now().Add(5 * time.Second); st.Delivered < 2 && time.Now().Before(deadline); st = f.Stats()[0] {
		time.Sleep(time.Millisecond)
	}
	if st.Duplicates != 1 || st.Losses != 0 || st.Delivered != 2 {
		t.Errorf("stats %+v: want the replayed create dropped as a duplicate, no loss reported", st)
	}
}
