// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

func TestEveryEventOnceFromEveryHost(t *testing.T) {
	srv := fakedocker.New("d1")
	defer srv.Close()
	eps := unixHosts(t, srv, t.TempDir(), "h", 3)
	f := startFleet(t, eps, testOptions())
	c := collect(t, f)
	c.waitUp(3)
	const n = 500
	publish(srv, n)
	all := c.until(10*time.Second, func(all []got) bool {
		for _, ep := range eps {
			if len(seqs(all, ep.Name)) < n {
				return false
			}
		}
		return true
	})
	for _, ep := range eps {
		if s := seqs(all, ep.Name); !slices.Equal(s, seqRange(1, n)) {
			t.Errorf("%s: got %d events, want 1..%d in order", ep.Name, len(s), n)
		}
	}
	for _, g := range all {
		if g.typ == "container" && (g.action != "start" || g.attrs["name"] != "web" || g.timeNano == 0) {
			t.Fatalf("event %+v", g)
		}
	}
}

func TestResumeAfterDroppedConnections(t *testing.T) {
	srv := fakedocker.New("d1")
	defer srv.Close()
	eps := unixHosts(t, srv, t.TempDir(), "h", 2)
	srv.SetDropAfter(7) // every stream and replay breaks after 7 events
	f := startFleet(t, eps, testOptions())
	c := collect(t, f)
	c.waitUp(2)
	const n = 200
	for i := range n {
		publish(srv, 1)
		if i%10 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	all := c.until(20*time.Second, func(all []got) bool {
		return len(seqs(all, "h-0")) >= n && len(seqs(all, "h-1")) >= n
	})
	for _, ep := range eps {
		if s := seqs(all, ep.Name); !slices.Equal(s, seqRange(1, n)) {
			t.Errorf("%s: got %v, want 1..%d exactly once", ep.Name, s, n)
		}
	}
	if k := count(all, "", ActionEventsLost); k != 0 {
		t.Errorf("%d events_lost, want none: %s", k, summary(all))
	}
	st := f.Stats()
	if st[0].Duplicates < 10 {
		t.Errorf("stats %+v: want many reconnects, each with its boundary duplicate dropped", st[0])
	}
}

// Several events of one nanosecond at the resume boundary: the replay
// starts with all of them (since is inclusive), and only those already
// delivered are dropped.
func TestResumeWithEventsOfTheSameNanosecond(t *testing.T) {
	srv := fakedocker.New("d1")
	defer srv.Close()
	eps := unixHosts(t, srv, t.TempDir(), "h", 1)
	// Streams break after 5 events: inside a group of 3 events of one
	// nanosecond as often as between two groups.
	srv.SetDropAfter(5)
	f := startFleet(t, eps, testOptions())
	c := collect(t, f)
	c.waitUp(1)
	const groups = 40
	base := time.Now().UnixNano()
	for g := range groups {
		for range 3 {
			srv.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: "c0ffee", TimeNano: base + int64(g)*1000})
		}
		time.Sleep(time.Millisecond)
	}
	all := c.until(20*time.Second, func(all []got) bool { return len(seqs(all, "h-0")) >= 3*groups })
	if s := seqs(all, "h-0"); !slices.Equal(s, seqRange(1, 3*groups)) {
		t.Errorf("got %v, want 1..%d exactly once", s, 3*groups)
	}
	if k := count(all, "", ActionEventsLost); k != 0 {
		t.Errorf("%d events_lost, want none: %s", k, summary(all))
	}
	if st := f.Stats(); st[0].Duplicates < 10 {
		t.Errorf("stats %+v: want many reconnects, each dropping the replayed events of its boundary", st[0])
	}
}

func TestDaemonRestartReportsLoss(t *testing.T) {
	for _, newID := range []bool{true, false} {
		t.Run(fmt.Sprintf("newID=%v", newID), func(t *testing.T) {
			srv := fakedocker.New("d1")
			defer srv.Close()
			eps := unixHosts(t, srv, t.TempDir(), "h", 1)
			f := startFleet(t, eps, testOptions())
			c := collect(t, f)
			c.waitUp(1)
			publish(srv, 5)
			all := c.until(5*time.Second, func(all []got) bool { return len(seqs(all, "h-0")) == 5 })
			srv.Stall(true)
			publish(srv, 5) // 6..10: never sent, lost with the restart
			srv.Restart(newID)
			srv.Stall(false)
			all = append(all, c.waitUp(1)...)
			publish(srv, 5)
			all = append(all, c.until(5*time.Second, func(more []got) bool { return len(seqs(more, "h-0")) == 5 })...)
			want := append(seqRange(1, 5), seqRange(11, 15)...)
			if s := seqs(all, "h-0"); !slices.Equal(s, want) {
				t.Fatalf("got %v, want %v", s, want)
			}
			lost := lossEvents(all, ReasonDaemonRestarted)
			if len(lost) != 1 {
				t.Fatalf("want one events_lost daemon_restarted: %s", summary(all))
			}
			if lost[0].attrs["from"] == "" || lost[0].attrs["until"] == "" || lost[0].attrs["count"] != "" {
				t.Errorf("loss attributes %v: want from and until, no count (unknown)", lost[0].attrs)
			}
			if count(all, "h-0", ActionStreamDown) != 1 {
				t.Errorf("want one stream_down: %s", summary(all))
			}
		})
	}
}

func lossEvents(all []got, reason string) []got {
	var out []got
	for _, g := range all {
		if g.action == ActionEventsLost && g.attrs["reason"] == reason {
			out = append(out, g)
		}
	}
	return out
}

func TestFullReplayReportsOverrun(t *testing.T) {
	srv := fakedocker.New("d1")
	defer srv.Close()
	eps := unixHosts(t, srv, t.TempDir(), "h", 1)
	f := startFleet(t, eps, testOptions())
	c := collect(t, f)
	c.waitUp(1)
	publish(srv, 3)
	all := c.until(5*time.Second, func(all []got) bool { return len(seqs(all, "h-0")) == 3 })
	srv.Stall(true)
	publish(srv, 300) // 4..303; the daemon keeps 48..303
	srv.DropStreams()
	srv.Stall(false)
	all = append(all, c.until(10*time.Second, func(more []got) bool {
		return len(seqs(more, "h-0")) == 256 && len(lossEvents(more, ReasonBufferOverrun)) == 1
	})...)
	want := append(seqRange(1, 3), seqRange(48, 303)...)
	if s := seqs(all, "h-0"); !slices.Equal(s, want) {
		t.Fatalf("got %d events %v..., want 1..3 and 48..303", len(s), s[:min(10, len(s))])
	}
	if len(lossEvents(all, ReasonBufferOverrun)) != 1 {
		t.Fatalf("want one buffer_overrun loss: %s", summary(all))
	}
}

func TestGarbageLinesSkippedAndCounted(t *testing.T) {
	srv := fakedocker.New("d1")
	defer srv.Close()
	eps := unixHosts(t, srv, t.TempDir(), "h", 1)
	o := testOptions()
	o.MaxLineSize = 64 << 10
	f := startFleet(t, eps, o)
	c := collect(t, f)
	c.waitUp(1)
	publish(srv, 1)
	srv.PublishRaw([]byte("garbage"))
	srv.PublishRaw([]byte(`{"Type":"container","Action":`))
	srv.PublishRaw(bytes.Repeat([]byte("x"), 200<<10)) // oversized
	srv.PublishRaw([]byte(`{"Action":"start"}`))       // no Type
	// A daemon may not forge the plugin's own health events.
	srv.PublishRaw([]byte(`{"Type":"dockerfleet","Action":"stream_up","Actor":{"ID":"h-0","Attributes":{}},"timeNano":1}`))
	srv.PublishRaw(nil) // empty line: ignored
	publish(srv, 1)
	all := c.until(5*time.Second, func(all []got) bool {
		lost := lossEvents(all, ReasonMalformed)
		n := 0
		for _, l := range lost {
			k, _ := strconv.Atoi(l.attrs["count"])
			n += k
		}
		return len(seqs(all, "h-0")) == 2 && n >= 5
	})
	if s := seqs(all, "h-0"); !slices.Equal(s, []int{1, 2}) {
		t.Fatalf("got %v", s)
	}
	if st := f.Stats()[0]; st.Malformed != 5 || st.Connects != 1 {
		t.Fatalf("stats %+v: want 5 malformed on one connection", st)
	}
	ups := 0
	for _, g := range all {
		if g.action == ActionStreamUp {
			ups++
		}
	}
	if ups != 0 { // the real one was taken by waitUp
		t.Errorf("%d stream_up events after the first: a forged one got through", ups)
	}
}

func TestStalledAndHungHostsDoNotAffectOthers(t *testing.T) {
	dir := t.TempDir()
	good, stalled, hung := fakedocker.New("good"), fakedocker.New("stalled"), fakedocker.New("hung")
	for _, s := range []*fakedocker.Server{good, stalled, hung} {
		defer s.Close()
	}
	eps := append(unixHosts(t, good, dir, "good", 2), unixHosts(t, stalled, dir, "stalled", 1)...)
	eps = append(eps, unixHosts(t, hung, dir, "hung", 1)...)
	eps = append(eps, unixEndpoint("absent", "unix://"+filepath.Join(dir, "absent.sock"), filepath.Join(dir, "absent.sock")))
	hung.Hang(true)
	stalled.Stall(true)
	f, err := Start(context.Background(), eps, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	c := collect(t, f)
	early := c.waitUp(3)
	publish(good, 50)
	publish(stalled, 50)
	all := c.until(10*time.Second, func(all []got) bool {
		all = append(early, all...)
		return len(seqs(all, "good-0")) == 50 && len(seqs(all, "good-1")) == 50 &&
			count(all, "hung-0", ActionStreamDown) == 1 && count(all, "absent", ActionStreamDown) == 1
	})
	if len(seqs(all, "stalled-0")) != 0 {
		t.Fatalf("stalled host delivered events")
	}
	start := time.Now()
	f.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestThousandHostsATenthFailing(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 sockets")
	}
	dir := t.TempDir()
	good, hung := fakedocker.New("good"), fakedocker.New("hung")
	defer good.Close()
	defer hung.Close()
	hung.Hang(true)
	eps := unixHosts(t, good, dir, "g", 900)
	eps = append(eps, unixHosts(t, hung, dir, "x", 50)...)
	for i := range 50 {
		p := filepath.Join(dir, fmt.Sprintf("absent-%d.sock", i))
		eps = append(eps, unixEndpoint(fmt.Sprintf("absent-%d", i), "unix://"+p, p))
	}
	o := testOptions()
	// 2 cores, -race, 1,000 connections at once: slower retries, so that
	// the failing tenth does not take the machine from the others.
	o.CallTimeout = 3 * time.Second
	o.MinBackoff, o.MaxBackoff = time.Second, 5*time.Second
	o.PingInterval = 10 * time.Second
	o.Buffer = 16 << 10 // 900 hosts × 5 events at once: backpressure is tested elsewhere
	begin := time.Now()
	f := startFleet(t, eps, o)
	c := collect(t, f)
	early := c.until(60*time.Second, func(all []got) bool { return count(all, "", ActionStreamUp) >= 900 })
	t.Logf("900 hosts up after %v", time.Since(begin))
	const n = 5
	publish(good, n)
	all := c.until(60*time.Second, func(all []got) bool {
		all = append(early, all...)
		k := 0
		for _, g := range all {
			if g.typ == "container" {
				k++
			}
		}
		return k >= 900*n && count(all, "", ActionStreamDown) >= 100
	})
	perHost := map[string][]int{}
	for _, g := range all {
		if g.typ == "container" {
			perHost[g.host] = append(perHost[g.host], g.seq)
		}
	}
	for i := range 900 {
		h := fmt.Sprintf("g-%d", i)
		if !slices.Equal(perHost[h], seqRange(1, n)) {
			t.Fatalf("%s: %v", h, perHost[h])
		}
	}
	if len(perHost) != 900 {
		t.Fatalf("%d hosts delivered events, want 900", len(perHost))
	}
	start := time.Now()
	f.Close()
	t.Logf("Close of 1,000 hosts: %v", time.Since(start))
}

func TestSlowConsumerLossCountedAndReported(t *testing.T) {
	srv := fakedocker.New("d1")
	defer srv.Close()
	eps := unixHosts(t, srv, t.TempDir(), "h", 2)
	o := testOptions()
	o.Buffer = 64
	f := startFleet(t, eps, o)
	// Wait for both streams without a collector: the consumer is us.
	ups := 0
	r := &eventReader{f: f}
	for ups < 2 {
		if decode(t, r.mustNext(t)).action == ActionStreamUp {
			ups++
		}
	}
	const n = 2000
	for i := range n {
		publish(srv, 1)
		if i%100 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(2 * time.Second) // the consumer does not read
	if l := len(f.Batches()); l > 64/MaxBatch {
		t.Fatalf("channel holds %d batches, more than Buffer 64 allows", l)
	}
	c := collect(t, f)
	delivered := map[string]int{}
	reported := map[string]int{}
	c.until(10*time.Second, func(all []got) bool {
		for k := range delivered {
			delete(delivered, k)
			delete(reported, k)
		}
		for _, g := range all {
			switch {
			case g.typ == "container":
				delivered[g.host]++
			case g.action == ActionEventsLost:
				if g.attrs["reason"] != ReasonDroppedBackpressure {
					t.Fatalf("loss %v", g.attrs)
				}
				k, err := strconv.Atoi(g.attrs["count"])
				if err != nil {
					t.Fatalf("count %q", g.attrs["count"])
				}
				reported[g.host] += k
			}
		}
		return delivered["h-0"]+reported["h-0"] == n && delivered["h-1"]+reported["h-1"] == n
	})
	for _, h := range []string{"h-0", "h-1"} {
		if reported[h] == 0 {
			t.Errorf("%s: nothing dropped, the test did not stall the consumer", h)
		}
		t.Logf("%s: delivered %d, dropped and reported %d", h, delivered[h], reported[h])
	}
	if d := srv.Stats().SlowDrops; d != 0 {
		t.Errorf("the daemon skipped %d events: the reader stalled", d)
	}
}

func TestCloseLeavesNothingBehind(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	good, hung := fakedocker.New("good"), fakedocker.New("hung")
	defer good.Close()
	defer hung.Close()
	hung.Hang(true)
	eps := append(unixHosts(t, good, dir, "g", 20), unixHosts(t, hung, dir, "x", 5)...)
	serverGoroutines := runtime.NumGoroutine() - before
	for round := range 3 {
		f, err := Start(context.Background(), eps, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		c := collect(t, f)
		c.waitUp(20)
		publish(good, 10)
		c.until(5*time.Second, func(all []got) bool { return len(seqs(all, "g-19")) == 10 })
		start := time.Now()
		f.Close()
		if d := time.Since(start); d > time.Second {
			t.Errorf("round %d: Close took %v", round, d)
		}
		for range c.ch { // the collector ends when Events is closed
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		extra := runtime.NumGoroutine() - before - serverGoroutines
		conns := good.Stats().Conns + hung.Stats().Conns
		if extra <= 0 && conns == 0 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines and %d connections left\n%s", extra, conns, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStartRefusesBadInput(t *testing.T) {
	ep := unixEndpoint("a", "unix:///nonexistent.sock", "/nonexistent.sock")
	for name, tc := range map[string]struct {
		eps []hosts.Endpoint
		o   Options
	}{
		"duplicate name":   {[]hosts.Endpoint{ep, ep}, Options{}},
		"empty name":       {[]hosts.Endpoint{unixEndpoint("", ep.URL, ep.Address)}, Options{}},
		"negative timeout": {[]hosts.Endpoint{ep}, Options{CallTimeout: -1}},
		"min above max":    {[]hosts.Endpoint{ep}, Options{MinBackoff: time.Minute, MaxBackoff: time.Second}},
		"huge lines":       {[]hosts.Endpoint{ep}, Options{MaxLineSize: 1 << 30}},
		"negative workers": {[]hosts.Endpoint{ep}, Options{Workers: -1}},
		"negative room":    {[]hosts.Endpoint{ep}, Options{Headroom: -1}},
		"huge room":        {[]hosts.Endpoint{ep}, Options{Headroom: MaxHeadroom + 1}},
		"empty filter":     {[]hosts.Endpoint{ep}, Options{Filters: Filters{Types: []string{""}}}},
	} {
		if f, err := Start(context.Background(), tc.eps, tc.o); err == nil {
			f.Close()
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// Workers is how many readers may work at once: the fleet's tokens.
func TestWorkersBoundTheWorkingReaders(t *testing.T) {
	ep := unixEndpoint("a", "unix:///nonexistent.sock", "/nonexistent.sock")
	for _, tc := range []struct{ workers, want int }{
		{0, max(1, runtime.GOMAXPROCS(0)-1)},
		{1, 1},
		{3, 3},
	} {
		f, err := Start(context.Background(), []hosts.Endpoint{ep}, Options{Workers: tc.workers, PingInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		if got := cap(f.work); got != tc.want {
			t.Errorf("Workers %d: %d tokens, want %d", tc.workers, got, tc.want)
		}
		f.Close()
	}
}

func TestFiltersReachTheDaemon(t *testing.T) {
	srv := fakedocker.New("d1")
	defer srv.Close()
	eps := unixHosts(t, srv, t.TempDir(), "h", 1)
	o := testOptions()
	o.Filters = Filters{Types: []string{"container"}, Actions: []string{"die"}}
	f := startFleet(t, eps, o)
	c := collect(t, f)
	c.waitUp(1)
	srv.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: "a"})
	srv.Publish(fakedocker.Event{Type: "image", Action: "die", ActorID: "b"})
	srv.Publish(fakedocker.Event{Type: "container", Action: "die", ActorID: "c", Attributes: map[string]string{"exitCode": "1"}})
	all := c.until(5*time.Second, func(all []got) bool { return len(seqs(all, "h-0")) == 1 })
	if s := seqs(all, "h-0"); !slices.Equal(s, []int{3}) {
		t.Fatalf("got %v, want only seq 3", s)
	}
}

// With Headroom, every payload built in a batch has that many bytes of its
// own right before it, which Frame writes in the reader: a consumer can
// hand the payload over where it lies, framed (the plugin does, with
// Falco's event header). The plugin's own events are not framed.
func TestHeadroomFramesPayloadsInPlace(t *testing.T) {
	srv := fakedocker.New("d1")
	defer srv.Close()
	eps := unixHosts(t, srv, t.TempDir(), "h", 2)
	const room = 38
	var framed atomic.Int64
	var misplaced atomic.Int64
	o := testOptions()
	o.Headroom = room
	o.Frame = func(r []byte, ev Event) {
		if len(r) != room || unsafe.Pointer(unsafe.SliceData(ev.Payload)) != unsafe.Add(unsafe.Pointer(unsafe.SliceData(r)), room) {
			misplaced.Add(1)
		}
		for i := range r {
			r[i] = byte(len(ev.Payload) + i)
		}
		framed.Add(1)
	}
	f := startFleet(t, eps, o)
	r := &eventReader{f: f}
	for range len(eps) { // stream_up of each host
		if ev := r.mustNext(t); ev.Framed || decode(t, ev).typ != HealthType {
			t.Fatalf("a health event %+v came framed, or before the hosts were up", decode(t, ev))
		}
	}
	const n = 300
	publish(srv, n)
	seen := map[string]int{}
	for range len(eps) * n {
		ev := r.mustNext(t)
		g := decode(t, ev)
		seen[g.host]++
		if !ev.Framed {
			t.Fatalf("event %d of %s not framed", seen[g.host], g.host)
		}
		before := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(ev.Payload)), -room)), room)
		for i, c := range before {
			if c != byte(len(ev.Payload)+i) {
				t.Fatalf("event %d of %s: byte %d of its room is %d, not what Frame wrote: the room is not its own", seen[g.host], g.host, i, c)
			}
		}
	}
	if misplaced.Load() != 0 {
		t.Errorf("%d rooms given to Frame are not right before their payload", misplaced.Load())
	}
	if framed.Load() < int64(len(eps)*n) {
		t.Errorf("Frame called %d times for %d events", framed.Load(), len(eps)*n)
	}
}
