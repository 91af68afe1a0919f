// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// lossReason indexes lossBook.pending.
type lossReason int

const (
	reasonRestarted lossReason = iota
	reasonOverrun
	reasonBackpressure
	reasonMalformed
	reasonClockBack
	numReasons
)

var reasonNames = [numReasons]string{ReasonDaemonRestarted, ReasonBufferOverrun, ReasonDroppedBackpressure, ReasonMalformed, ReasonClockSteppedBack}

// loss is a window of lost events not yet reported.
type loss struct {
	from, until int64 // Unix nanoseconds
	count       uint64
	known       bool // count is exact
	pending     bool
}

func (l *loss) merge(o loss) {
	if !l.pending {
		*l = o
		return
	}
	l.from, l.until = min(l.from, o.from), max(l.until, o.until)
	l.count += o.count
	l.known = l.known && o.known
}

// lossBook holds a host's losses not reported yet, one window per
// reason. The reader records them, and so does the liveness ping's timer
// (which also flushes them when the host is quiet): hence the lock.
type lossBook struct {
	mu      sync.Mutex
	pending [numReasons]loss
	any     atomic.Bool // some window is pending: the reader's cheap check
}

// add records lost events; count 0 means unknown.
func (b *lossBook) add(r lossReason, from, until int64, count uint64) {
	b.mu.Lock()
	b.pending[r].merge(loss{from: from, until: until, count: count, known: count > 0, pending: true})
	b.mu.Unlock()
	b.any.Store(true)
}

// take removes and returns the window of r.
func (b *lossBook) take(r lossReason) loss {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.pending[r]
	b.pending[r] = loss{}
	return l
}

// putBack merges a window that could not be reported back into r's.
func (b *lossBook) putBack(r lossReason, l loss) {
	b.mu.Lock()
	b.pending[r].merge(l)
	b.mu.Unlock()
}

// settle updates any after a flush.
func (b *lossBook) settle() {
	b.mu.Lock()
	left := false
	for _, l := range b.pending {
		left = left || l.pending
	}
	b.any.Store(left)
	b.mu.Unlock()
}

// addLoss records lost events of the host; count 0 means unknown.
func (w *watcher) addLoss(r lossReason, from, until int64, count uint64) {
	w.losses.add(r, from, until, count)
}

// flushLoss tries to deliver the pending loss reports, waiting at most
// wait for room. The lock is not held while waiting, so the reader, which
// records drops, never waits for a flush by another goroutine.
func (w *watcher) flushLoss(wait time.Duration) {
	if wait <= 0 && len(w.f.events) == cap(w.f.events) {
		// No room: building reports only to throw them away costs a
		// flooding reader (docs/PERFORMANCE.md).
		return
	}
	for r := range numReasons {
		l := w.losses.take(r)
		if !l.pending {
			continue
		}
		attrs := map[string]string{
			AttrReason: reasonNames[r],
			AttrFrom:   formatRFC3339(l.from),
			AttrUntil:  formatRFC3339(l.until),
		}
		if l.known {
			attrs[AttrCount] = strconv.FormatUint(l.count, 10)
		}
		ev, ok := w.healthEvent(ActionEventsLost, w.opts.Now().UnixNano(), attrs)
		if ok && w.send(ev, wait) {
			w.reported.Add(1)
			continue
		}
		if ok {
			w.losses.putBack(r, l)
		}
	}
	w.losses.settle()
}
