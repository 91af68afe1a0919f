// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bufio"
	"io"
	"unsafe"

	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// readLines reads event lines from body until it fails (io.EOF at a clean
// end), handing each to handle. st is non-nil for a replay. A line cut by
// the end of the stream is dropped: it is replayed on the next connection.
func (w *watcher) readLines(body io.Reader, st *replayState) error {
	if w.br == nil {
		w.br = newLineReader()
		w.br.around = func(reading bool) {
			if reading {
				w.leave()
			} else {
				w.enter()
			}
		}
	}
	w.br.Reset(body)
	// The reader works on what it read under a token (see Fleet.work) and
	// the enricher's lock (see enter), and gives them back whenever it
	// waits: for the daemon, or for room.
	w.enter()
	defer w.leave()
	br := w.br
	defer br.Reset(nil) // drop the reference to the body
	// What was read goes out before the reader returns (and, for the
	// live stream, before the stream_down that follows).
	defer w.flushBatch()
	defer func() { w.endSkipped(w.clock.now()) }()
	defer w.finishEnrich() // held lines go out first
	for {
		line, err := br.ReadSlice()
		var x payload.Extra
		if err == bufio.ErrBufferFull {
			line, x.Truncated, err = w.readLong(br, line)
		}
		if err != nil {
			return err
		}
		if line != nil {
			w.handle(line, st, x)
		}
		if br.Buffered() > 0 {
			continue
		}
		// About to read again, maybe to wait for the daemon: hand over
		// the batch, so that a lone event is not held back, release a
		// grown read buffer (an idle host keeps no payload memory) and
		// report losses and failed inspects.
		if w.enr != nil {
			w.reportFailures()
		}
		if w.skipped.count > 0 {
			w.endSkipped(w.clock.now())
		}
		w.flushBatch()
		br.shrink()
		if w.losses.any.Load() {
			w.flushLoss(0)
		}
	}
}

// readLong assembles a line longer than the read buffer, up to
// MaxLineSize. A longer one is reduced as it is read, in bounded memory,
// to a Docker event line of at most MaxLineSize bytes (see
// payload.Truncator): its event is delivered, flagged truncated, rather
// than lost. A longer line that is not a Docker event is counted as
// malformed; it then returns a nil line.
func (w *watcher) readLong(br *lineReader, part []byte) (line []byte, truncated bool, err error) {
	w.long = append(w.long[:0], part...)
	var tr *payload.Truncator
	defer func() {
		if tr != nil {
			putTruncator(tr)
		}
	}()
	for {
		part, err := br.ReadSlice()
		if tr == nil && len(w.long)+len(part) > w.opts.MaxLineSize+1 { // +1: the newline
			tr = getTruncator(w.opts.MaxLineSize)
			_, _ = tr.Write(w.long) // an error is Line's too
			w.long = w.long[:0]
		}
		if tr != nil {
			_, _ = tr.Write(part)
		} else {
			w.long = append(w.long, part...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if tr != nil {
			reduced, err := tr.Line()
			if err != nil {
				w.skipLine()
				return nil, false, nil
			}
			// tr goes back to the pool on return: the line is
			// copied out of it.
			line := append(w.long[:0], reduced...)
			if cap(line) > 4*readBufferSize {
				w.long = nil
			}
			return line, true, nil
		}
		if cap(w.long) > 4*readBufferSize {
			// Give a rare huge line's buffer back after use.
			line := w.long
			w.long = nil
			return line, false, nil
		}
		return w.long, false, nil
	}
}

// handle turns one daemon line into an Event of the pending batch: it
// builds the payload (x is what it carries besides the line; enrichment
// adds its context to it, keeping the truncated flag), skips what is not
// an event, drops replayed duplicates and moves the resume point.
func (w *watcher) handle(line []byte, st *replayState, x payload.Extra) {
	line = trimEOL(line)
	if len(line) == 0 {
		return
	}
	room := w.opts.Headroom
	x = w.extra(line, x)
	need := room + payload.SizeHintContext(len(w.host), len(x.Context), len(line))
	if w.batch != nil && len(w.batch.Events) > 0 && cap(w.batch.buf)-len(w.batch.buf) < need {
		w.flushBatch() // full: the payload goes into the next one
	}
	if w.batch == nil {
		w.batch = newBatch()
	}
	b := w.batch
	var dst []byte
	at := len(b.buf) + room // where a payload built in place starts
	if cap(b.buf)-len(b.buf) >= need {
		dst = b.buf[at:at]
	}
	out, meta, err := buildPayload(dst, w.host, line, x)
	if err != nil || meta.Type == HealthType {
		// A daemon line with the plugin's own type would let a host (or
		// anyone on a tls=off link) forge the fleet's health events.
		w.skipLine()
		return
	}
	// Enrichment comes before the resume point: a line it holds back (its
	// inspect pending) comes through handle again when drained, and must
	// meet the duplicate check then, in its order. Duplicates are told by
	// their line, not their payload, whose context may differ on replay.
	if w.enr != nil {
		var held bool
		if out, held = w.enr.apply(dst, line, out, meta, st, x.Truncated); held {
			return // built again when drained; the batch's room is not advanced
		}
	}
	ts := meta.TimeNano
	if w.skipped.count > 0 {
		w.endSkipped(ts)
	}
	w.skipped.prev = ts
	if st != nil && st.count == 0 {
		st.first = ts
	}
	switch {
	case w.clock.isAhead(ts):
		// Delivered, but not a resume point: see aheadTolerance. Sent
		// again by the daemon with every later since, hence the hashes.
		if w.clock.seenAhead(w.seed, line) {
			w.duplicates.Add(1)
			return
		}
	case ts > w.resume.last:
		w.resume.advance(ts, out)
	case ts == w.resume.last:
		dup := w.resume.sameNano(line)
		if st != nil && st.count == 0 {
			st.matched = dup
		}
		if dup {
			if st != nil {
				st.count++
			}
			w.duplicates.Add(1)
			return // the batch's room is not advanced: its bytes are reused
		}
	}
	if st != nil {
		st.count++
	}
	// From here on the line is a daemon event to deliver, neither skipped
	// nor a duplicate: a step that adds to it goes here, with its payload
	// (out) and meta at hand, before the Event is framed and appended (a
	// step that may hold the line back goes before the resume point, as
	// enrichment does).
	ev := Event{Payload: out, TimeNano: ts, Framed: dst != nil && unsafe.SliceData(out) == unsafe.SliceData(dst)}
	if ev.Framed {
		// Built in place: advance past the headroom and the payload,
		// and cap the payload so that an append by the consumer cannot
		// run into the next one.
		b.buf = b.buf[:at+len(out)]
		ev.Payload = out[:len(out):len(out)]
		if w.opts.Frame != nil {
			w.opts.Frame(b.buf[at-room:at:at], ev)
		}
	}
	b.Events = append(b.Events, ev)
	if len(b.Events) >= MaxBatch {
		w.flushBatch()
	}
}

// trimEOL cuts the line ending (\n, \r\n, and any run of them) off line.
func trimEOL(line []byte) []byte {
	n := len(line)
	for n > 0 && (line[n-1] == '\n' || line[n-1] == '\r') {
		n--
	}
	return line[:n]
}

// flushBatch hands the pending batch over, or drops and counts it (see
// deliver). A batch handed over belongs to the consumer; a dropped one is
// reused.
func (w *watcher) flushBatch() {
	b := w.batch
	if b == nil || len(b.Events) == 0 {
		return
	}
	// The unhashed payload, if any, is in b: hash it while it is ours.
	w.resume.settle()
	// Counted before the hand-over: from then on b is the consumer's,
	// which may recycle it (and another host reuse it) at once.
	n := uint64(len(b.Events))
	if w.deliver(b) {
		w.delivered.Add(n)
		w.batch = nil
		return
	}
	from, until := b.Events[0].TimeNano, b.Events[0].TimeNano
	for _, ev := range b.Events[1:] {
		from, until = min(from, ev.TimeNano), max(until, ev.TimeNano)
	}
	w.dropped.Add(uint64(len(b.Events)))
	w.addLoss(reasonBackpressure, from, until, uint64(len(b.Events)))
	b.reset()
}

// acquireWork takes a work token (see Fleet.work) unless it holds one.
func (w *watcher) acquireWork() {
	if !w.working {
		w.f.work.acquire()
		w.working = true
	}
}

// releaseWork gives the work token back, if it holds one.
func (w *watcher) releaseWork() {
	if w.working {
		w.f.work.release()
		w.working = false
	}
}
