// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bytes"
	"sync"
)

// A host that floods is read by one goroutine and indexed by another.
//
// Inline, one goroutine reads a host's lines and builds their payloads,
// and a flood from one host is bound by that goroutine: payload.Build is
// most of its time, reading the rest (docs/PERFORMANCE.md). While a
// host's lines keep coming without a pause, and a work token is free
// (a core has nothing to do: other hosts are quiet), the reader hands
// whole lines to an indexer goroutine instead, which runs handle on them
// exactly as the reader would have, in the same order; the reader goes on
// reading meanwhile. At the first pause (the reader about to wait for the
// daemon) or at the end of the stream, the reader waits for the indexer
// to finish and the host goes back inline. A quiet host never starts one:
// an idle fleet keeps one goroutine per host.
//
// While the indexer runs it owns what handle, flushBatch and deliver use
// (batch, lastTS, boundary, unhashed, working, the replay state); the
// reader owns the line reader, long and the pipeline's own fields. The
// hand-over both ways is a goroutine start and a channel close followed
// by a wait, so each side sees what the other did.

// floodLines is how many lines a host sends without a pause before its
// reader tries to start an indexer (a variable for tests; 0: never).
var floodLines = 256

// Raw line batches: what one read brings, or up to rawBatchSize of it;
// rawQueue of them may wait for the indexer before the reader waits.
const (
	rawBatchSize = 64 << 10
	rawQueue     = 3
)

// rawPool holds the raw line batches of every pipeline: a pipeline lives
// for one burst of a host, its buffers for as long as there are bursts.
var rawPool = sync.Pool{New: func() any {
	b := make([]byte, 0, rawBatchSize)
	return &b
}}

// pipeline is the reader's side of a flooding host's indexer.
type pipeline struct {
	lines   int           // lines read since the host last paused
	in      chan *[]byte  // whole lines, each ending in '\n'; nil: inline
	done    chan struct{} // closed when the indexer has handled every line
	raw     *[]byte       // lines read but not sent yet
	working bool          // the reader holds a token of its own
}

// active reports whether an indexer runs.
func (p *pipeline) active() bool { return p.in != nil }

// maybeStartIndexer starts an indexer after floodLines lines without a pause,
// when a work token is free: the indexer takes over the token the reader
// worked under, and the reader keeps the free one.
func (w *watcher) maybeStartIndexer(st *replayState) {
	p := &w.pipe
	p.lines++
	if p.active() || floodLines <= 0 || p.lines < floodLines {
		return
	}
	select {
	case w.f.work <- struct{}{}:
	default:
		p.lines = 0 // every core is busy: look again after as many lines
		return
	}
	p.working = true
	w.indexers.Add(1)
	p.in = make(chan *[]byte, rawQueue)
	p.done = make(chan struct{})
	p.raw = rawPool.Get().(*[]byte)
	go w.index(p.in, p.done, st)
}

// passLine queues line (newline included) for the indexer.
func (w *watcher) passLine(line []byte) {
	p := &w.pipe
	if len(*p.raw)+len(line) > cap(*p.raw) {
		w.sendLines()
	}
	if len(line) > cap(*p.raw) {
		// A line longer than a raw batch (up to MaxLineSize): a batch
		// of its own, which the indexer does not give to the pool.
		big := append(make([]byte, 0, len(line)), line...)
		empty := p.raw // sent above: nothing in it
		p.raw = &big
		w.sendLines()
		rawPool.Put(empty)
		return
	}
	*p.raw = append(*p.raw, line...)
}

// sendLines hands the lines read so far to the indexer. The reader waits
// here, without its token, when rawQueue batches are already waiting.
func (w *watcher) sendLines() {
	p := &w.pipe
	if len(*p.raw) == 0 {
		return
	}
	select {
	case p.in <- p.raw:
	default:
		w.releaseReadToken()
		p.in <- p.raw
		w.acquireReadToken()
	}
	p.raw = rawPool.Get().(*[]byte)
}

// stopIndexer hands the last lines over and waits until the indexer has handled
// them all: the host goes back inline.
func (w *watcher) stopIndexer() {
	p := &w.pipe
	if !p.active() {
		return
	}
	w.sendLines()
	*p.raw = (*p.raw)[:0]
	rawPool.Put(p.raw)
	close(p.in)
	w.releaseReadToken()
	<-p.done
	p.in, p.done, p.raw, p.lines = nil, nil, nil, 0
}

func (w *watcher) acquireReadToken() {
	if !w.pipe.working {
		w.f.work.acquire()
		w.pipe.working = true
	}
}

func (w *watcher) releaseReadToken() {
	if w.pipe.working {
		w.f.work.release()
		w.pipe.working = false
	}
}

// index is the indexer: it handles the lines of in, as the inline reader
// does, and hands the batch over whenever it has nothing more to do. It
// works under the watcher's token (see Fleet.work), released while it
// waits.
func (w *watcher) index(in <-chan *[]byte, done chan<- struct{}, st *replayState) {
	defer close(done)
	// What the reader left pending is this goroutine's to hand over, and
	// the token it worked under is this one's to give back.
	defer w.releaseWork()
	defer w.flushBatch()
	for raw := range in {
		w.acquireWork()
		lines := *raw
		for len(lines) > 0 {
			n := bytes.IndexByte(lines, '\n') + 1
			if n == 0 {
				n = len(lines) // cannot happen: the reader passes whole lines
			}
			w.handle(lines[:n], st)
			lines = lines[n:]
		}
		if cap(*raw) == rawBatchSize {
			*raw = (*raw)[:0]
			rawPool.Put(raw)
		}
		if len(in) == 0 {
			// Nothing more right now: what was built goes out, as the
			// inline reader does before it waits.
			w.flushBatch()
			if w.lossPending.Load() {
				w.flushLoss(0)
			}
			w.releaseWork()
		}
	}
}
