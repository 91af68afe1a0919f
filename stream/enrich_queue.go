// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"sync"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// Limits of the lines held back behind a pending inspect: past them the
// reader waits for the drainer to make room.
const (
	maxHeldLines = 1024
	maxHeldBytes = 1 << 20
)

// maxWaitingInspects bounds the inspects of a host waiting for a slot;
// past it an event goes out at once with the busy failure.
const maxWaitingInspects = maxHeldLines

// heldQueue is the host's lines read while an inspect they follow is
// pending, in their order. The reader appends to it; the drainer, a
// goroutine that exists only while the queue is not empty, builds their
// events as their inspects answer or time out. The reader therefore never
// waits for a daemon's inspects: only a full queue makes it wait, for room.
type heldQueue struct {
	held      []heldLine
	head      int // held[head:] are waiting
	heldBytes int
	drainer   chan struct{} // non-nil while the drainer runs; closed when it ends
}

// heldLine is a line held back, with what it waits for.
type heldLine struct {
	line      []byte
	st        *replayState
	truncated bool // the line was reduced to fit (payload.Extra.Truncated)
	readAt    time.Time
	calls     [2]*inspectCall
	parts     [2][]byte // parts found when held, without a call
}

// waiting tells whether lines are held.
func (q *heldQueue) waiting() bool { return q.head < len(q.held) }

// full tells whether the reader must wait before it holds more.
func (q *heldQueue) full() bool {
	return len(q.held)-q.head >= maxHeldLines || q.heldBytes >= maxHeldBytes
}

// hold keeps a copy of line until the drainer builds its event, starting
// the drainer if none runs. On a full queue it waits for room, its work
// token given back meanwhile. Called by the reader under mu.
func (e *enricher) hold(line []byte, st *replayState, truncated bool, calls [2]*inspectCall, parts [2][]byte) {
	h := heldLine{line: append([]byte(nil), line...), st: st, truncated: truncated, readAt: time.Now(), calls: calls}
	for i, c := range calls {
		if c == nil {
			// A part found now (cached, or a failure to start its
			// inspect) stands at drain even if the cache lets it go.
			h.parts[i] = parts[i]
		}
	}
	e.held = append(e.held, h)
	e.heldBytes += len(h.line)
	if e.drainer == nil {
		done := make(chan struct{})
		e.drainer = done
		e.w.f.wg.Go(func() { e.drain(done) })
	}
	if e.full() {
		working := e.w.working
		e.w.releaseWork()
		for e.full() {
			e.room.Wait()
		}
		if working {
			e.w.acquireWork()
		}
	}
}

// drain builds the events of the held lines in order, each once the
// inspects it waits for have answered or Timeout has passed since it was
// read, handing them over as they are ready. It waits without mu and
// without a work token, and ends when the queue is empty.
func (e *enricher) drain(done chan struct{}) {
	defer close(done)
	w := e.w
	var timer *time.Timer
	w.enter()
	for {
		took := false
		var c *inspectCall // what the first line still held waits for
		var left time.Duration
		for e.waiting() {
			h := &e.held[e.head]
			if c, left = e.waitingFor(h); c != nil {
				break
			}
			e.draining, e.drainParts = true, h.parts
			w.handle(h.line, h.st, payload.Extra{Truncated: h.truncated})
			e.draining, e.drainParts = false, [2][]byte{}
			e.heldBytes -= len(h.line)
			*h = heldLine{}
			e.head++
			took = true
		}
		if !e.waiting() {
			e.held, e.head, e.heldBytes = e.held[:0], 0, 0
			if cap(e.held) > 64 {
				e.held = nil // a burst's queue is not kept by a quiet host
			}
		}
		if took {
			e.room.Broadcast()
		}
		w.flushBatch()
		if !e.waiting() {
			e.prune()
			w.reportFailures()
			e.drainer = nil
			w.leave()
			if timer != nil {
				timer.Stop()
			}
			return
		}
		w.leave()
		if timer == nil {
			timer = time.NewTimer(left)
		} else {
			timer.Reset(left)
		}
		select {
		case <-c.done:
		case <-timer.C:
		case <-e.ctx.Done():
		}
		timer.Stop()
		w.enter()
	}
}

// waitingFor returns an inspect h waits for and how long h may still wait
// for it; nil when h's event can be built: its inspects have answered, or
// it has waited Timeout, or the watcher is stopping.
func (e *enricher) waitingFor(h *heldLine) (*inspectCall, time.Duration) {
	left := e.opts.Timeout - time.Since(h.readAt)
	if e.ctx.Err() != nil || left <= 0 {
		return nil, 0
	}
	for _, c := range h.calls {
		if c == nil {
			continue
		}
		select {
		case <-c.done:
		default:
			return c, left
		}
	}
	return nil, left
}

// finishEnrich waits for the drainer to build the held lines' events, and
// reports the inspect failures gathered. The reader calls it before it
// returns, under mu: what it read goes out before a stream_down, and
// before the live stream that follows a replay.
func (w *watcher) finishEnrich() {
	e := w.enr
	if e == nil {
		return
	}
	for e.drainer != nil {
		done := e.drainer
		w.leave()
		<-done
		w.enter()
	}
	w.reportFailures()
}

// enter takes what building events needs: the enricher's lock when
// enrichment is on (the drainer builds events too), then a work token (see
// Fleet.work). In this order only: a goroutine waiting for the lock holds
// no token, so that a holder of the lock that gives its token back for a
// while (deliverWait, hold) always gets one again.
func (w *watcher) enter() {
	if w.enr != nil {
		w.enr.mu.Lock()
	}
	w.acquireWork()
}

// leave undoes enter.
func (w *watcher) leave() {
	w.releaseWork()
	if w.enr != nil {
		w.enr.mu.Unlock()
	}
}

// slotPool bounds a host's inspects in flight (Enrich.Concurrency). A call
// that finds every slot taken waits in a queue, and the goroutine of a call
// that ends runs the next one: the reader never waits for a slot.
type slotPool struct {
	wg      *sync.WaitGroup // the Fleet's: Close waits for the inspects
	mu      sync.Mutex
	size    int
	running int
	queue   []*inspectCall
}

// start runs c on a slot of its own, or queues it for the next slot to come
// free; false when the queue is full too.
func (p *slotPool) start(c *inspectCall, run func(*inspectCall)) bool {
	p.mu.Lock()
	if p.running < p.size {
		p.running++
		p.mu.Unlock()
		p.wg.Go(func() { p.work(c, run) })
		return true
	}
	if len(p.queue) >= maxWaitingInspects {
		p.mu.Unlock()
		return false
	}
	p.queue = append(p.queue, c)
	p.mu.Unlock()
	return true
}

// work runs c, then the queued calls, until the queue is empty.
func (p *slotPool) work(c *inspectCall, run func(*inspectCall)) {
	for c != nil {
		run(c)
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.running--
			c = nil
			p.queue = nil // a burst's queue is not kept
		} else {
			c, p.queue[0] = p.queue[0], nil
			p.queue = p.queue[1:]
		}
		p.mu.Unlock()
	}
}
