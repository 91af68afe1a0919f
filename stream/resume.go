// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// daemonRingSize is how many past events dockerd keeps for since replays.
const daemonRingSize = 256

// maxBoundary bounds the hashes kept for one nanosecond.
const maxBoundary = 64

// resumePoint is where a host's next connection resumes (see "Resume
// without duplicates" in the package doc): the highest daemon timeNano
// processed and the hashes of the lines processed at it, so that the
// inclusive since of the replay drops them.
type resumePoint struct {
	seed     maphash.Seed
	last     int64    // highest daemon timeNano processed; 0: none yet
	boundary []uint64 // hashes of the lines processed at last
	// unhashed is the payload of the last event processed at last while
	// its hash is not in boundary yet (nil: none); see settle.
	unhashed []byte
	start    int64 // daemon time the first stream started at; 0: none yet
}

// started reports whether a stream was opened before: a reconnection
// replays from from().
func (r *resumePoint) started() bool { return r.last != 0 || r.start != 0 }

// from is the since of the replay: the last event's time, else the start
// of the first stream.
func (r *resumePoint) from() int64 {
	if r.last == 0 {
		return r.start
	}
	return r.last
}

// advance takes a later event, at ts, as the resume point. Its hash is
// only needed if another event of the same nanosecond follows, or at a
// reconnection: it is worked out then (settle), not for every event of a
// flood.
func (r *resumePoint) advance(ts int64, p []byte) {
	r.last = ts
	r.boundary = r.boundary[:0]
	r.unhashed = p
}

// sameNano takes the line of an event at the resume point's nanosecond
// and reports whether it was processed before (a replayed duplicate).
func (r *resumePoint) sameNano(line []byte) (dup bool) {
	r.settle()
	h := maphash.Bytes(r.seed, line)
	if slices.Contains(r.boundary, h) {
		return true
	}
	if len(r.boundary) < maxBoundary {
		r.boundary = append(r.boundary, h)
	}
	return false
}

// settle adds the hash of the unhashed payload's line to boundary. It
// runs before that payload's memory may change hands (flushBatch) and
// before boundary is read. The line is hashed, not the payload: the
// payload's enrichment context may differ when the line is replayed (an
// inspect that came too late the first time).
func (r *resumePoint) settle() {
	if r.unhashed == nil {
		return
	}
	if len(r.boundary) < maxBoundary {
		if ev, err := payload.Parse(r.unhashed); err == nil {
			r.boundary = append(r.boundary, maphash.Bytes(r.seed, ev.JSON()))
		}
	}
	r.unhashed = nil
}

// restart forgets the resume point: the daemon's time starts again at now.
func (r *resumePoint) restart(now int64) {
	r.last, r.start = 0, now
	r.boundary, r.unhashed = r.boundary[:0], nil
}

// replayState follows the replay of a reconnection.
type replayState struct {
	count   int   // daemon events in the replay
	first   int64 // timeNano of the first one
	matched bool  // the first one is our last event
}

// replay reads what the daemon still holds from our last event up to now,
// and reports a loss when our last event is not where the replay starts.
// It returns the since of the live stream that follows.
func (w *watcher) replay(ctx context.Context, now int64, restarted bool) (liveSince int64, err error) {
	from := w.resume.from()
	if from > now {
		return w.clockBack(from, now), nil
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.CallTimeout)
	defer cancel()
	resp, err := w.get(ctx, "/events", w.eventsQuery(from, now))
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	defer resp.Body.Close()
	var st replayState
	hadBoundary := w.resume.last != 0
	if err := w.readLines(resp.Body, &st); err != io.EOF {
		return 0, fmt.Errorf("replay: %w", err)
	}
	full := st.count >= daemonRingSize
	if (hadBoundary && !st.matched) || restarted || full {
		until := st.first
		if st.count == 0 {
			until = now
		}
		r := reasonOverrun
		if restarted || (!full && w.opts.Filters.empty()) {
			r = reasonRestarted
		}
		w.addLoss(r, from, until, 0)
	}
	return now, nil
}

// clockBack handles a daemon whose clock is now behind our resume point
// from (stepped back by NTP, a restored VM): asking since=from&until=now
// would ask for a window in its future, and what it produced meanwhile is
// dated before from, where a replay cannot tell it from what we had. The
// outage is reported lost, in the daemon's new time: from when the stream
// ended until the live stream is surely subscribed (within CallTimeout).
// The live stream asks since=from+1, so that the events it holds dated
// after its new now, which we had, are not sent again (live events are
// not filtered by since); the resume point starts again from now.
func (w *watcher) clockBack(from, now int64) (liveSince int64) {
	lostFrom := now
	if !w.streamEnd.IsZero() {
		lostFrom = now - int64(time.Since(w.streamEnd))
	}
	w.addLoss(reasonClockBack, lostFrom, now+int64(w.opts.CallTimeout), 0)
	w.resume.restart(now)
	return from + 1
}
