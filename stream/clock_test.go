// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

func publishAt(srv *fakedocker.Server, ts int64) {
	srv.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: "c0ffee", TimeNano: ts})
}

// TestEventAheadOfTheDaemonsClock: a daemon sends an event dated at the
// end of time, then goes on with its own clock. The event is delivered
// once, and the host keeps resuming: it never asks the daemon for a
// window in its future (which dockerd holds open until that time).
func TestEventAheadOfTheDaemonsClock(t *testing.T) {
	srv := fakedocker.New("ahead")
	defer srv.Close()
	eps := unixHosts(t, srv, shortTemp(t), "h", 1)
	c := collect(t, startFleet(t, eps, testOptions()))
	c.waitUp(1)

	publishAt(srv, time.Now().UnixNano())
	publishAt(srv, math.MaxInt64) // seq 2
	all := c.until(5*time.Second, func(all []got) bool { return len(seqs(all, "h-0")) == 2 })
	// The event at the end of time is the daemon's newest: the live
	// stream of the next connection (since=now) sends it again.
	srv.DropStreams()
	all = append(all, c.waitUp(1)...)
	publishAt(srv, time.Now().UnixNano()) // seq 3
	all = append(all, c.until(5*time.Second, func(more []got) bool { return len(seqs(more, "h-0")) == 1 })...)
	srv.DropStreams()
	all = append(all, c.waitUp(1)...)
	publishAt(srv, time.Now().UnixNano()) // seq 4
	all = append(all, c.until(5*time.Second, func(more []got) bool { return len(seqs(more, "h-0")) == 1 })...)

	if s := seqs(all, "h-0"); !slices.Equal(s, seqRange(1, 4)) {
		t.Fatalf("sequence %v, want 1..4 once each: %s", s, summary(all))
	}
	if n := count(all, "h-0", ActionEventsLost) + count(all, "h-0", ActionStreamDown); n != 2 {
		t.Fatalf("want two stream_down and no events_lost: %s", summary(all))
	}
}

// TestDaemonClockSteppedBack: the daemon's clock goes an hour back while
// its stream is down (NTP, a restored VM). The host comes back at once,
// reports the outage as lost (what the daemon produced meanwhile is dated
// before the last event delivered) and goes on in the daemon's new time.
func TestDaemonClockSteppedBack(t *testing.T) {
	srv := fakedocker.New("back")
	defer srv.Close()
	eps := unixHosts(t, srv, shortTemp(t), "h", 1)
	c := collect(t, startFleet(t, eps, testOptions()))
	c.waitUp(1)
	publish(srv, 2)
	all := c.until(5*time.Second, func(all []got) bool { return len(seqs(all, "h-0")) == 2 })

	srv.SetClock(-time.Hour)
	srv.DropStreams()
	more := c.waitUp(1)
	all = append(all, more...)
	lost := lossEvents(more, ReasonClockSteppedBack)
	if len(lost) != 1 {
		t.Fatalf("want one events_lost %s: %s", ReasonClockSteppedBack, summary(more))
	}
	from, _ := time.Parse(time.RFC3339Nano, lost[0].attrs[AttrFrom])
	until, _ := time.Parse(time.RFC3339Nano, lost[0].attrs[AttrUntil])
	if d := -time.Until(until); d < 59*time.Minute || d > 61*time.Minute || until.Before(from) || until.Sub(from) > 10*time.Second {
		t.Errorf("window %v..%v: want the outage in the daemon's time, an hour back", from, until)
	}
	publish(srv, 1)
	all = append(all, c.until(5*time.Second, func(more []got) bool { return len(seqs(more, "h-0")) == 1 })...)
	srv.DropStreams()
	more = c.waitUp(1)
	publish(srv, 1)
	more = append(more, c.until(5*time.Second, func(m []got) bool { return len(seqs(m, "h-0")) == 1 })...)
	all = append(all, more...)
	if s := seqs(all, "h-0"); !slices.Equal(s, seqRange(1, 4)) {
		t.Fatalf("sequence %v, want 1..4: %s", s, summary(all))
	}
	if n := count(more, "h-0", ActionEventsLost); n != 0 {
		t.Fatalf("the resume point follows the new clock, no more losses: %s", summary(more))
	}
}
