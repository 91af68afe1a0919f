// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"strconv"
	"sync"
	"time"
)

// ActionInspectFailed: inspects of a host's containers, execs or daemon
// failed or came too late (see Enrich); their events went out without the
// summary, saying why. Attributes: reason (the latest error), count, from
// and until (the window of the failures, RFC 3339 with nanoseconds).
const ActionInspectFailed = "inspect_failed"

// inspectReportInterval is the shortest time between two inspect_failed
// events of a host: a daemon that answers nothing would otherwise make one
// per read.
const inspectReportInterval = time.Second

// failureReport gathers inspect failures not reported yet. Inspect
// goroutines add to it; the reader and the drainer report it as they go,
// and a timer does when neither comes by (a host that sends no more
// events).
type failureReport struct {
	mu          sync.Mutex
	count       uint64
	from, until int64 // plugin clock, Unix ns
	reason      string
	lastSent    time.Time // monotonic; zero: never
	timerSet    bool      // a reportLater is due
}

// fail counts one failed inspect.
func (e *enricher) fail(err error) {
	e.failures.Add(1)
	now := e.w.opts.Now().UnixNano()
	r := &e.report
	r.mu.Lock()
	if r.count == 0 {
		r.from = now
	}
	r.count++
	r.until = now
	r.reason = err.Error()
	r.mu.Unlock()
	e.scheduleReport()
}

// scheduleReport arms the timer of reportLater, unless it is armed or no
// failure is pending.
func (e *enricher) scheduleReport() {
	r := &e.report
	r.mu.Lock()
	arm := r.count > 0 && !r.timerSet
	r.timerSet = r.timerSet || arm
	r.mu.Unlock()
	if arm {
		time.AfterFunc(inspectReportInterval, e.reportLater)
	}
}

// reportLater reports the failures still pending a while after they came,
// and again while some stay pending (Batches full) and the watcher runs.
// It runs on a timer goroutine, registered with the Fleet's timed work
// that Close waits for.
func (e *enricher) reportLater() {
	r := &e.report
	if !e.w.f.startTimed() {
		return
	}
	defer e.w.f.timed.Done()
	r.mu.Lock()
	r.timerSet = false
	r.mu.Unlock()
	if e.ctx.Err() != nil {
		return
	}
	e.mu.Lock()
	e.w.reportFailures()
	e.mu.Unlock()
	e.scheduleReport()
}

// reportNow reports the failures gathered, from the watcher's goroutine
// outside of a read (after stream_up: a failed /info of a host that then
// sends nothing).
func (w *watcher) reportNow() {
	if w.enr == nil {
		return
	}
	w.enr.mu.Lock()
	w.reportFailures()
	w.enr.mu.Unlock()
}

// reportFailures sends the failures gathered as one inspect_failed event,
// at most one per inspectReportInterval, without waiting for room: a report
// that finds Batches full stays pending and grows. The batch being built
// goes first, so that the report does not overtake it. Called under the
// enricher's mu.
func (w *watcher) reportFailures() {
	r := &w.enr.report
	r.mu.Lock()
	if r.count == 0 || (!r.lastSent.IsZero() && time.Since(r.lastSent) < inspectReportInterval) {
		r.mu.Unlock()
		return
	}
	n, until := r.count, r.until
	attrs := map[string]string{
		AttrReason: capText(r.reason, MaxReasonLen),
		AttrCount:  strconv.FormatUint(n, 10),
		AttrFrom:   formatRFC3339(r.from),
		AttrUntil:  formatRFC3339(until),
	}
	r.mu.Unlock()
	ev, ok := w.healthEvent(ActionInspectFailed, w.opts.Now().UnixNano(), attrs)
	if !ok {
		return
	}
	w.flushBatch()
	if !w.send(ev, 0) {
		return
	}
	r.mu.Lock()
	r.count -= n
	r.from = until // failures added meanwhile came at or after it
	r.lastSent = time.Now()
	r.mu.Unlock()
}
