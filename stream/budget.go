// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import "time"

// Backpressure budget (see "Backpressure" in the package doc): a reader
// that finds Batches full may wait for room, at most maxDeliverWait at a
// stretch, and in all at most one part in deliverWaitShare of the time it
// spent not waiting.
var maxDeliverWait = 20 * time.Millisecond

const (
	deliverWaitShare = 5
	// minDeliverWait: a budget below this is not worth a timer.
	minDeliverWait = 100 * time.Microsecond
)

// waitBudget is how long a reader may still wait for room in Batches,
// refilled by the time it spends not waiting.
type waitBudget struct {
	left  time.Duration
	at    time.Time // end of the last wait; zero: never waited
	timer *time.Timer
}

// grant refills the budget for the time since the last wait and returns
// the wait allowed from start on: 0 when not worth a timer. The timer
// returned fires when the grant runs out.
func (b *waitBudget) grant(start time.Time) (time.Duration, *time.Timer) {
	if b.at.IsZero() {
		b.left = maxDeliverWait
	} else {
		b.left = min(maxDeliverWait, b.left+start.Sub(b.at)/deliverWaitShare)
	}
	b.at = start
	if b.left < minDeliverWait {
		return 0, nil
	}
	if b.timer == nil {
		b.timer = time.NewTimer(b.left)
	} else {
		b.timer.Reset(b.left)
	}
	return b.left, b.timer
}

// spend takes a wait that began at start out of the budget: time spent
// waiting does not refill it.
func (b *waitBudget) spend(start time.Time) {
	b.timer.Stop()
	b.at = time.Now()
	b.left -= b.at.Sub(start)
}

// deliver hands batch b over; false when Batches stayed full (see
// deliverWait). A pending loss report goes first, so that it is not
// overtaken for long.
func (w *watcher) deliver(b *Batch) bool {
	if w.losses.any.Load() {
		w.flushLoss(0)
	}
	select {
	case w.f.events <- b:
		return true
	default:
		return w.deliverWait(b)
	}
}

// deliverWait waits for room in Batches out of the host's wait budget,
// its work token given back meanwhile. Only this slow path (a full
// channel) looks at the clock.
func (w *watcher) deliverWait(b *Batch) bool {
	if maxDeliverWait <= 0 {
		return false
	}
	start := time.Now()
	grant, timer := w.budget.grant(start)
	if grant == 0 {
		return false
	}
	if w.working {
		w.releaseWork()
		defer w.acquireWork()
	}
	ok := false
	select {
	case w.f.events <- b:
		ok = true
	case <-timer.C:
	case <-w.done:
	}
	w.budget.spend(start)
	return ok
}
