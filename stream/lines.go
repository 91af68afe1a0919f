// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// Read buffer of a host: small while the host is quiet (a fleet has
// thousands of idle hosts), large while it floods (fewer system calls;
// docs/PERFORMANCE.md).
const (
	readBufferSize    = 4 << 10
	maxReadBufferSize = 64 << 10
)

// lineReader is bufio.Reader's ReadSlice('\n') over a buffer that grows
// from readBufferSize to maxReadBufferSize while reads fill it, and goes
// back to readBufferSize when a quiet host is about to wait (shrink). When
// its reader can tell that data has come without reading it (a
// readableWaiter: the live stream on a plain socket), a quiet host holds
// no buffer at all while it waits.
type lineReader struct {
	r          io.Reader
	wait       readableWaiter // r, when it is one; else nil
	buf        []byte         // nil: released while quiet
	start, end int            // buffered bytes: buf[start:end]
	scanned    int            // buf[start:start+scanned] holds no newline
	full       bool           // the last read filled the buffer
	lastRead   int            // bytes the last read brought
	err        error          // sticky, as bufio's
	// around, when set, is called with true before each read of r and
	// with false after it (see Fleet.work).
	around func(reading bool)
}

// readableWaiter is a reader that can wait until a read would not block,
// without a buffer to read into.
type readableWaiter interface {
	WaitReadable()
}

// readBuffers holds the readBufferSize buffers that quiet hosts gave
// back: 1,000 idle hosts waiting hold none, and their next events take
// one each for as long as they are read.
var readBuffers = sync.Pool{New: func() any {
	b := make([]byte, readBufferSize)
	return &b
}}

func newLineReader() *lineReader { return &lineReader{} }

// Reset reads from r from now on, dropping what was buffered.
func (l *lineReader) Reset(r io.Reader) {
	l.r, l.start, l.end, l.scanned, l.err, l.full = r, 0, 0, 0, nil, false
	l.wait, _ = r.(readableWaiter)
}

// Buffered is the number of bytes read but not returned yet.
func (l *lineReader) Buffered() int { return l.end - l.start }

// shrink gives a grown buffer back when nothing is buffered and the last
// read was small: the host is quiet and about to wait for its daemon. (A
// flood's reads end on a line as often as not: one that brought much
// keeps the buffer, else it would be allocated again and again.) When the
// reader can wait without a buffer, the buffer goes back to readBuffers
// altogether.
func (l *lineReader) shrink() {
	if !l.quiet() {
		return
	}
	switch {
	case l.wait != nil && l.buf != nil:
		if b := l.buf; len(b) == readBufferSize {
			readBuffers.Put(&b)
		}
		l.buf = nil
	case len(l.buf) > readBufferSize:
		l.buf = make([]byte, readBufferSize)
	default:
		return
	}
	l.start, l.end, l.scanned = 0, 0, 0
}

// quiet reports whether nothing is buffered and the last read was small:
// the daemon had nothing more to send right then.
func (l *lineReader) quiet() bool {
	return l.start == l.end && l.lastRead < readBufferSize
}

// ReadSlice returns the next line, newline included, valid until the next
// call. A line longer than the largest buffer comes in parts, each with
// bufio.ErrBufferFull; the error of the underlying reader comes once the
// buffered bytes are consumed, with what is left of them.
func (l *lineReader) ReadSlice() ([]byte, error) {
	for {
		if i := bytes.IndexByte(l.buf[l.start+l.scanned:l.end], '\n'); i >= 0 {
			line := l.buf[l.start : l.start+l.scanned+i+1]
			l.start += l.scanned + i + 1
			l.scanned = 0
			return line, nil
		}
		l.scanned = l.end - l.start
		if l.err != nil {
			line := l.buf[l.start:l.end]
			l.start, l.scanned = l.end, 0
			return line, l.err
		}
		if l.end-l.start == len(l.buf) && len(l.buf) >= maxReadBufferSize {
			line := l.buf[l.start:l.end]
			l.start, l.scanned = l.end, 0
			return line, bufio.ErrBufferFull
		}
		l.fill()
	}
}

// fill reads once into the free end of the buffer, after moving the
// partial line to the front, in a larger buffer when the last read filled
// the buffer or the partial line does. Without a buffer, it first waits
// for data, then takes one.
func (l *lineReader) fill() {
	if l.around != nil {
		l.around(true)
		defer l.around(false)
	}
	if l.buf == nil {
		if l.wait != nil {
			l.wait.WaitReadable()
		}
		l.buf = *readBuffers.Get().(*[]byte)
		l.start, l.end, l.scanned = 0, 0, 0
	}
	n := l.end - l.start
	if (l.full || n == len(l.buf)) && len(l.buf) < maxReadBufferSize {
		grown := make([]byte, min(2*len(l.buf), maxReadBufferSize))
		copy(grown, l.buf[l.start:l.end])
		l.buf = grown
	} else if l.start > 0 {
		copy(l.buf, l.buf[l.start:l.end])
	}
	l.start, l.end = 0, n
	for range 100 { // as bufio: a reader returning 0, nil that long is broken
		m, err := l.r.Read(l.buf[l.end:])
		l.end += m
		l.lastRead = m
		l.full = l.end == len(l.buf)
		if err != nil {
			l.err = err
			return
		}
		if m > 0 {
			return
		}
	}
	l.err = io.ErrNoProgress
}
