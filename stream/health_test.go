// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// fakeClock is an Options.Now that only moves when the test sets it.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) now() time.Time  { return time.Unix(0, c.ns.Load()) }

func TestStreamUpCarriesDaemonIdentity(t *testing.T) {
	srv := fakedocker.New("daemon-one")
	defer srv.Close()
	f := startFleet(t, unixHosts(t, srv, t.TempDir(), "h", 1), testOptions())
	up := collect(t, f).waitUp(1)
	want := map[string]string{
		AttrDaemonID:   srv.ID(),
		AttrDaemonName: "daemon-one",
		AttrAPIVersion: fakedocker.APIVersion,
	}
	for _, g := range up {
		if g.action == ActionStreamUp && !maps.Equal(g.attrs, want) {
			t.Fatalf("stream_up attributes %v, want %v", g.attrs, want)
		}
	}
}

// TestStillDownRepeatsWhileUnreachable follows a host through two
// outages with a fake clock: down at Open, up, down again. It checks every
// health event's attributes exactly.
func TestStillDownRepeatsWhileUnreachable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "late.sock")
	clock := &fakeClock{}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	clock.set(t0)
	o := testOptions()
	o.Now = clock.now
	o.StillDownInterval = 150 * time.Millisecond
	f := startFleet(t, []hosts.Endpoint{unixEndpoint("late", "unix://"+path, path)}, o)
	c := collect(t, f)

	// Outage 1: nobody listens yet. The first attempt started at t0.
	all := c.until(5*time.Second, func(all []got) bool { return count(all, "late", ActionStreamDown) == 1 })
	down := all[len(all)-1]
	if down.attrs[AttrSince] != "2026-01-02T03:04:05.123456789Z" || !strings.HasPrefix(down.attrs[AttrReason], "ping: ") || !strings.HasSuffix(down.attrs[AttrReason], "connect: no such file or directory") || len(down.attrs) != 2 {
		t.Fatalf("stream_down attributes %v: want since t0 and the failed ping", down.attrs)
	}
	t1 := t0.Add(125*time.Second + 900*time.Millisecond)
	clock.set(t1)
	all = append(all, c.until(5*time.Second, func(more []got) bool {
		for _, g := range more {
			if g.action == ActionStreamStillDown && g.timeNano == t1.UnixNano() {
				return true
			}
		}
		return false
	})...)
	for _, g := range all {
		if g.action != ActionStreamStillDown {
			continue
		}
		wantFor := "0" // stamped before the clock moved
		if g.timeNano == t1.UnixNano() {
			wantFor = "125" // whole seconds, rounded down
		}
		want := map[string]string{AttrReason: down.attrs[AttrReason], AttrSince: down.attrs[AttrSince], AttrDownFor: wantFor}
		if !maps.Equal(g.attrs, want) {
			t.Fatalf("stream_still_down attributes %v, want %v", g.attrs, want)
		}
	}
	if all[0].action != ActionStreamDown {
		t.Fatalf("first event %s, want stream_down: %s", all[0].action, summary(all))
	}

	// The host comes up: still_down stops.
	srv := fakedocker.New("late")
	defer srv.Close()
	if _, err := srv.ListenUnix(path); err != nil {
		t.Fatal(err)
	}
	all = c.waitUp(1)
	time.Sleep(4 * o.StillDownInterval)
	publish(srv, 1)
	all = append(all, c.until(5*time.Second, func(more []got) bool { return len(seqs(more, "late")) == 1 })...)
	if n := count(all, "late", ActionStreamStillDown); n != 0 {
		t.Fatalf("%d stream_still_down after stream_up: %s", n, summary(all))
	}

	// Outage 2: the stream was up, so the outage starts when it ends.
	t2 := t1.Add(time.Hour)
	clock.set(t2)
	srv.Close()
	all = c.until(5*time.Second, func(all []got) bool { return count(all, "late", ActionStreamStillDown) >= 2 })
	if all[0].action != ActionStreamDown || all[0].attrs[AttrSince] != formatRFC3339(t2.UnixNano()) || all[0].attrs[AttrReason] == "" {
		t.Fatalf("want stream_down since t2 first: %s", summary(all))
	}
	for _, g := range all[1:] {
		want := map[string]string{AttrSince: formatRFC3339(t2.UnixNano()), AttrDownFor: "0"}
		reason := g.attrs[AttrReason]
		delete(g.attrs, AttrReason)
		// The reason is the latest attempt's: a failed ping of the
		// vanished socket, not the end of the stream.
		if g.action != ActionStreamStillDown || !maps.Equal(g.attrs, want) || !strings.HasPrefix(reason, "ping: ") {
			t.Fatalf("event %s %v (reason %q), want stream_still_down %v with a ping error", g.action, g.attrs, reason, want)
		}
	}
}

func TestStillDownIntervalMustNotBeNegative(t *testing.T) {
	ep := unixEndpoint("a", "unix:///nonexistent.sock", "/nonexistent.sock")
	if f, err := Start(t.Context(), []hosts.Endpoint{ep}, Options{StillDownInterval: -time.Second}); err == nil {
		f.Close()
		t.Fatal("no error")
	} else if !strings.Contains(err.Error(), "StillDownInterval") {
		t.Fatalf("error %q does not name StillDownInterval", err)
	}
}

// TestShortConsumerPausesLoseNothing: a burst larger than Events, read by
// a consumer that pauses briefly between batches, arrives whole: the
// reader waits for room out of its budget instead of dropping, and not
// long enough for the daemon to skip anything.
func TestShortConsumerPausesLoseNothing(t *testing.T) {
	srv := fakedocker.New("d1")
	defer srv.Close()
	o := testOptions()
	o.Buffer = 16
	f := startFleet(t, unixHosts(t, srv, t.TempDir(), "h", 1), o)
	r := &eventReader{f: f}
	for decode(t, r.mustNext(t)).action != ActionStreamUp {
	}
	const n = 64
	publish(srv, n)
	var all []got
	for len(seqs(all, "h-0")) < n {
		for range 16 {
			ev, ok := r.next(5 * time.Second)
			if !ok {
				t.Fatalf("timed out: %s", summary(all))
			}
			all = append(all, decode(t, ev))
		}
		time.Sleep(time.Millisecond)
	}
	if s := seqs(all, "h-0"); !slices.Equal(s, seqRange(1, n)) || count(all, "", ActionEventsLost) != 0 {
		t.Fatalf("got %s, want 1..%d and no loss", summary(all), n)
	}
	if st := f.Stats()[0]; st.Dropped != 0 || srv.Stats().SlowDrops != 0 {
		t.Fatalf("stats %+v, daemon skipped %d", st, srv.Stats().SlowDrops)
	}
}
