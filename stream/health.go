// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// HealthType is the Docker event Type of the plugin's own events; Docker
// itself never uses it.
const HealthType = "dockerfleet"

// Actions of health events and reasons of events_lost.
const (
	// ActionStreamUp: the live stream of a host is connected (attributes
	// daemon_id, daemon_name, api_version).
	ActionStreamUp = "stream_up"
	// ActionStreamDown: the stream of a host ended or the host could not
	// be reached, once per outage (attributes reason, since).
	ActionStreamDown = "stream_down"
	// ActionStreamStillDown repeats stream_down every
	// Options.StillDownInterval while the outage lasts (attributes reason
	// of the latest attempt, since, down_for).
	ActionStreamStillDown = "stream_still_down"
	// ActionEventsLost: events of a host could not be had (attributes
	// reason, from, until, count when known).
	ActionEventsLost = "events_lost"

	ReasonDaemonRestarted     = "daemon_restarted"
	ReasonBufferOverrun       = "buffer_overrun"
	ReasonDroppedBackpressure = "dropped_backpressure"
	ReasonMalformed           = "malformed"
	// ReasonClockSteppedBack: the daemon's clock went back behind the
	// last event delivered while its stream was down, so what it
	// produced meanwhile cannot be told apart: the outage is reported.
	ReasonClockSteppedBack = "clock_stepped_back"
)

// Attributes of health events (Actor.Attributes keys).
const (
	AttrReason     = "reason"      // why a stream is down, or why events were lost
	AttrSince      = "since"       // RFC 3339 with nanoseconds: start of the outage
	AttrDownFor    = "down_for"    // whole seconds since, as a decimal string
	AttrDaemonID   = "daemon_id"   // the daemon's ID from /info
	AttrDaemonName = "daemon_name" // the daemon's Name (its hostname) from /info
	AttrAPIVersion = "api_version" // the daemon's API version from /_ping
	AttrFrom       = "from"        // RFC 3339 with nanoseconds: first lost event's time, or earlier
	AttrUntil      = "until"       // RFC 3339 with nanoseconds: last lost event's time, or later
	AttrCount      = "count"       // number of lost events, when known
)

// formatRFC3339 writes Unix nanoseconds as the since, from and until
// attributes carry them.
func formatRFC3339(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// send hands ev over alone, waiting at most wait for room, and never past
// the Fleet's Close.
func (w *watcher) send(ev Event, wait time.Duration) bool {
	return w.f.sendAlone(ev, wait, w.done)
}

// sendAlone hands ev over in a batch of its own, waiting at most wait for
// room (not at all when wait <= 0), and not past done.
func (f *Fleet) sendAlone(ev Event, wait time.Duration, done <-chan struct{}) bool {
	b := single(ev)
	if wait <= 0 {
		select {
		case f.events <- b:
			return true
		default:
			return false
		}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case f.events <- b:
		return true
	case <-t.C:
		return false
	case <-done:
		return false
	}
}

// healthWait is how long a stream_up, stream_down or stream_still_down
// waits for room when Batches is full before it is counted as lost. They
// are rare (one per connection or per stillDownInterval), they are what
// rules on the fleet's health see, and each takes a channel slot of its own:
// when thousands of hosts connect at once (Open of a large fleet), their
// stream_up events queue up behind each other. The reader is not reading
// its stream while it waits here (the daemon holds 1024 events of a
// subscriber before it skips any), and Close ends the wait.
const healthWait = time.Second

// deliverHealth sends a stream_up, stream_down or stream_still_down event
// stamped now; when Batches stays full it is counted as lost like any other
// event. It goes out alone: the reader has handed over its batch before
// (readLines returns only after that).
func (w *watcher) deliverHealth(action string, now int64, attrs map[string]string) {
	ev, ok := w.healthEvent(action, now, attrs)
	if !ok {
		return
	}
	if w.losses.any.Load() {
		w.flushLoss(0)
	}
	if !w.send(ev, healthWait) {
		w.dropped.Add(1)
		w.addLoss(reasonBackpressure, ev.TimeNano, ev.TimeNano, 1)
	}
}

// single is a batch of ev alone. It is not taken from the pool: its
// payload has its own memory, and a fleet connecting at once sends one
// health event per host, which would hold as many pooled 16 KiB buffers
// (Recycle leaves it to the garbage collector).
func single(ev Event) *Batch {
	return &Batch{Events: []Event{ev}}
}

// healthLine is a health event as a JSON line shaped like the daemon's.
type healthLine struct {
	Type     string
	Action   string
	Actor    healthActor
	Scope    string `json:"scope"`
	Time     int64  `json:"time"`
	TimeNano int64  `json:"timeNano"`
}

type healthActor struct {
	ID         string
	Attributes map[string]string
}

// healthEvent builds a health event of the host stamped now (the plugin's
// clock), with the host's context. It cannot fail for a valid host label
// (Start and payload check those).
func (w *watcher) healthEvent(action string, now int64, attrs map[string]string) (Event, bool) {
	return healthEvent(w.host, w.healthExtra(), action, now, attrs)
}

// healthEvent builds a health event of host stamped now, carrying x.
func healthEvent(host string, x payload.Extra, action string, now int64, attrs map[string]string) (Event, bool) {
	if attrs == nil {
		attrs = map[string]string{}
	}
	// No HTML escaping: the caps of capText are on the JSON as written.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(healthLine{
		Type: HealthType, Action: action, Actor: healthActor{ID: host, Attributes: attrs},
		Scope: "local", Time: now / 1e9, TimeNano: now,
	}); err != nil {
		return Event{}, false
	}
	p, _, err := payload.BuildExtra(nil, host, bytes.TrimRight(b.Bytes(), "\n"), x)
	if err != nil {
		return Event{}, false
	}
	return Event{Payload: p, TimeNano: now}, true
}
