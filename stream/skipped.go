// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

// skipLine counts a line that is not a usable event. Its events_lost
// report takes its place in the host's order: the events read before it
// are handed over first, and the report, dated by the daemon events
// around the skipped lines, goes out before the next one (endSkipped).
func (w *watcher) skipLine() {
	w.malformed.Add(1)
	if w.skipped.count == 0 {
		w.flushBatch()
		w.skipped.from = w.skipped.prev
		if w.skipped.from == 0 {
			w.skipped.from = w.clock.now()
		}
	}
	w.skipped.count++
}

// endSkipped records the run of skipped lines, if any, as lost up to
// until: the time of the daemon event that follows them, or the daemon's
// clock when none has yet. The report is pending, and deliver sends
// pending reports before the batch that holds the next event.
func (w *watcher) endSkipped(until int64) {
	r := w.skipped
	if r.count == 0 {
		return
	}
	w.skipped = skippedRun{prev: r.prev}
	// The lines came after the event before them: our reading of the
	// daemon's clock may lag it by a call's latency.
	w.addLoss(reasonMalformed, r.from, max(until, r.from), r.count)
}

// skippedRun is a run of skipped lines not reported yet.
type skippedRun struct {
	prev  int64 // daemon time of the last event read
	from  int64 // prev when the run began
	count uint64
}
