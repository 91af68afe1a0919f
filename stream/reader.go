// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bufio"
	"bytes"
	"hash/maphash"
	"io"
	"slices"
	"time"
	"unsafe"

	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// slabSize is the block payloads are carved from while a host sends a
// burst: one allocation for a dozen events instead of one each. A payload
// never shares memory that is written again, so the consumer may keep it.
const slabSize = 8 << 10

// readLines reads event lines from body until it fails (io.EOF at a clean
// end), handing each to handle. st is non-nil for a replay. A line cut by
// the end of the stream is dropped: it is replayed on the next connection.
func (w *watcher) readLines(body io.Reader, st *replayState) error {
	if w.br == nil {
		w.br = bufio.NewReaderSize(body, readBufferSize)
	} else {
		w.br.Reset(body)
	}
	br := w.br
	defer br.Reset(nil) // drop the reference to the body
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			line, err = w.readLong(br, line)
		}
		if err != nil {
			return err
		}
		if line != nil {
			w.handle(line, st, br.Buffered() > 0)
		}
		if br.Buffered() == 0 {
			// About to wait for the daemon: release the slab (an idle
			// host keeps no payload memory) and report losses.
			w.slab = nil
			if w.lossPending.Load() {
				w.flushLoss(0)
			}
		}
	}
}

// readLong assembles a line longer than the read buffer, up to
// MaxLineSize. A longer one is consumed to its end and counted as
// malformed; it then returns a nil line.
func (w *watcher) readLong(br *bufio.Reader, part []byte) ([]byte, error) {
	w.long = append(w.long[:0], part...)
	oversized := false
	for {
		part, err := br.ReadSlice('\n')
		if !oversized {
			if len(w.long)+len(part) > w.opts.MaxLineSize+1 { // +1: the newline
				oversized = true
				w.long = w.long[:0]
			} else {
				w.long = append(w.long, part...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, err
		}
		if oversized {
			w.skipLine()
			return nil, nil
		}
		if cap(w.long) > 4*readBufferSize {
			// Give a rare huge line's buffer back after use.
			line := w.long
			w.long = nil
			return line, nil
		}
		return w.long, nil
	}
}

// handle turns one line into an Event.
func (w *watcher) handle(line []byte, st *replayState, burst bool) {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		return
	}
	need := 10 + len(w.host) + len(line) + 74 + len(line)/2
	var dst []byte
	if cap(w.slab)-len(w.slab) >= need {
		dst = w.slab[len(w.slab):]
	} else if burst && need <= slabSize/4 {
		w.slab = make([]byte, 0, slabSize)
		dst = w.slab
	} else {
		w.slab = nil
	}
	out, meta, err := payload.Build(dst, w.host, line)
	if err != nil {
		w.skipLine()
		return
	}
	ts := meta.TimeNano
	h := maphash.Bytes(w.seed, line)
	dup := ts == w.lastTS && slices.Contains(w.boundary, h)
	if st != nil {
		if st.count == 0 {
			st.first, st.matched = ts, dup
		}
		st.count++
	}
	if dup {
		w.duplicates.Add(1)
		return // the slab is not advanced: its bytes are reused
	}
	if ts > w.lastTS {
		w.lastTS = ts
		w.boundary = w.boundary[:0]
	}
	if ts == w.lastTS && len(w.boundary) < maxBoundary {
		w.boundary = append(w.boundary, h)
	}
	if dst != nil && unsafe.SliceData(out) == unsafe.SliceData(dst) {
		// Built in place: advance the slab, and cap the payload so that
		// an append by the consumer cannot run into the next one.
		w.slab = w.slab[:len(w.slab)+len(out)]
		out = out[:len(out):len(out)]
	}
	if w.deliver(Event{Payload: out, TimeNano: ts}) {
		w.delivered.Add(1)
	} else {
		w.dropped.Add(1)
		w.addLoss(reasonBackpressure, ts, ts, 1)
	}
}

// skipLine counts a line that is not a usable event.
func (w *watcher) skipLine() {
	w.malformed.Add(1)
	now := w.opts.Now().UnixNano()
	w.addLoss(reasonMalformed, now, now, 1)
}

// Backpressure budget (see "Backpressure" in the package doc): a reader
// that finds Events full may wait for room, at most maxDeliverWait at a
// stretch, and in all at most one part in deliverWaitShare of the time it
// spent not waiting.
var maxDeliverWait = 20 * time.Millisecond

const (
	deliverWaitShare = 5
	// minDeliverWait: a budget below this is not worth a timer.
	minDeliverWait = 100 * time.Microsecond
)

// deliver hands ev over; false when Events stayed full (see deliverWait).
// A pending loss report goes first, so that it is not overtaken for long.
func (w *watcher) deliver(ev Event) bool {
	if w.lossPending.Load() {
		w.flushLoss(0)
	}
	select {
	case w.f.events <- ev:
		return true
	default:
		return w.deliverWait(ev)
	}
}

// deliverWait waits for room in Events out of the host's wait budget.
// Only the slow path (a full channel) looks at the clock.
func (w *watcher) deliverWait(ev Event) bool {
	if maxDeliverWait <= 0 {
		return false
	}
	start := time.Now()
	if w.waitAt.IsZero() {
		w.waitBudget = maxDeliverWait
	} else {
		w.waitBudget = min(maxDeliverWait, w.waitBudget+start.Sub(w.waitAt)/deliverWaitShare)
	}
	w.waitAt = start
	if w.waitBudget < minDeliverWait {
		return false
	}
	if w.waitTimer == nil {
		w.waitTimer = time.NewTimer(w.waitBudget)
	} else {
		w.waitTimer.Reset(w.waitBudget)
	}
	ok := false
	select {
	case w.f.events <- ev:
		ok = true
	case <-w.waitTimer.C:
	case <-w.done:
	}
	w.waitTimer.Stop()
	// Time spent waiting is spent, and does not refill the budget.
	w.waitAt = time.Now()
	w.waitBudget -= w.waitAt.Sub(start)
	return ok
}
