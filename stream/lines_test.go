// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads lines until an error, joining the ErrBufferFull parts of
// a line, and returns them with the final error and its partial line.
func readAll(l *lineReader) (lines []string, rest string, err error) {
	var part []byte
	for {
		line, err := l.ReadSlice()
		part = append(part, line...)
		switch err {
		case nil:
			lines = append(lines, string(part))
			part = part[:0]
		case bufio.ErrBufferFull:
		default:
			return lines, string(part), err
		}
	}
}

func TestLineReaderSplitsLinesAcrossReads(t *testing.T) {
	var want []string
	var in strings.Builder
	for i := range 5000 {
		line := strings.Repeat("x", i%700) + "\n"
		want = append(want, line)
		in.WriteString(line)
	}
	in.WriteString("cut")
	for name, r := range map[string]io.Reader{
		"one byte at a time": iotest.OneByteReader(strings.NewReader(in.String())),
		"half reads":         iotest.HalfReader(strings.NewReader(in.String())),
		"whole":              strings.NewReader(in.String()),
	} {
		l := newLineReader()
		l.Reset(r)
		got, rest, err := readAll(l)
		if err != io.EOF || rest != "cut" || len(got) != len(want) {
			t.Fatalf("%s: %d lines, rest %q, err %v; want %d lines, rest \"cut\", EOF", name, len(got), rest, err, len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: line %d is %d bytes, want %d", name, i, len(got[i]), len(want[i]))
			}
		}
	}
}

func TestLineReaderGrowsUnderFloodAndShrinksWhenQuiet(t *testing.T) {
	flood := bytes.Repeat([]byte(strings.Repeat("y", 499)+"\n"), 1000)
	l := newLineReader()
	l.Reset(bytes.NewReader(flood))
	for range 999 {
		if _, err := l.ReadSlice(); err != nil {
			t.Fatal(err)
		}
	}
	if len(l.buf) != maxReadBufferSize {
		t.Fatalf("buffer %d bytes after a flood, want %d", len(l.buf), maxReadBufferSize)
	}
	l.shrink() // bytes still buffered: kept
	if len(l.buf) != maxReadBufferSize {
		t.Fatalf("shrunk to %d bytes with a line still buffered", len(l.buf))
	}
	if _, err := l.ReadSlice(); err != nil {
		t.Fatal(err)
	}
	// The last read brought a lot: a flood that paused on a line end
	// keeps its buffer.
	l.shrink()
	if len(l.buf) != maxReadBufferSize {
		t.Fatalf("shrunk to %d bytes after a large read", len(l.buf))
	}
	l.Reset(strings.NewReader("quiet\n"))
	if line, err := l.ReadSlice(); err != nil || string(line) != "quiet\n" {
		t.Fatalf("got %q, %v", line, err)
	}
	l.shrink()
	if len(l.buf) != readBufferSize {
		t.Fatalf("buffer %d bytes after a small read, want %d", len(l.buf), readBufferSize)
	}
}

func TestLineReaderLongLineComesInParts(t *testing.T) {
	long := strings.Repeat("z", 3*maxReadBufferSize+10) + "\n"
	l := newLineReader()
	l.Reset(strings.NewReader(long + "next\n"))
	parts := 0
	var got []byte
	for {
		line, err := l.ReadSlice()
		got = append(got, line...)
		if err == bufio.ErrBufferFull {
			parts++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if string(got) != long || parts != 3 {
		t.Fatalf("got %d bytes in %d full parts, want %d bytes in 3", len(got), parts, len(long))
	}
	if line, err := l.ReadSlice(); err != nil || string(line) != "next\n" {
		t.Fatalf("after the long line: %q, %v", line, err)
	}
}

func TestLineReaderErrorIsSticky(t *testing.T) {
	l := newLineReader()
	l.Reset(iotest.ErrReader(io.ErrUnexpectedEOF))
	for range 2 {
		if line, err := l.ReadSlice(); err != io.ErrUnexpectedEOF || len(line) != 0 {
			t.Fatalf("got %q, %v; want the reader's error", line, err)
		}
	}
}

func TestRecycleRefusesForeignBatches(t *testing.T) {
	f := &Fleet{}
	f.Recycle(nil)
	f.Recycle(&Batch{Events: make([]Event, 1)}) // not from the pool: ignored
	b := newBatch()
	b.Events = append(b.Events, Event{Payload: []byte("p"), TimeNano: 1})
	b.buf = append(b.buf, 'p')
	f.Recycle(b)
	if len(b.Events) != 0 || len(b.buf) != 0 {
		t.Fatalf("a recycled batch keeps %d events, %d bytes", len(b.Events), len(b.buf))
	}
}

// waitingReader is a reader that can wait for data without a buffer, and
// counts the waits.
type waitingReader struct {
	io.Reader
	waits int
}

func (r *waitingReader) WaitReadable() { r.waits++ }

// A quiet host whose reader can wait without a buffer holds none while
// it waits, and takes one again for its next event.
func TestLineReaderHoldsNoBufferWhileQuiet(t *testing.T) {
	pr, pw := io.Pipe()
	r := &waitingReader{Reader: pr}
	l := newLineReader()
	l.Reset(r)
	go func() {
		for _, s := range []string{"one\n", "two\n"} {
			_, _ = pw.Write([]byte(s))
		}
		pw.Close()
	}()
	for i, want := range []string{"one\n", "two\n"} {
		line, err := l.ReadSlice()
		if err != nil || string(line) != want {
			t.Fatalf("line %d: %q, %v; want %q", i, line, err, want)
		}
		l.shrink() // about to wait: a small read, nothing buffered
		if l.buf != nil {
			t.Fatalf("after line %d: a quiet reader keeps a %d-byte buffer", i, len(l.buf))
		}
	}
	if r.waits != 2 {
		t.Errorf("%d waits for data, want one before each read", r.waits)
	}
	if line, err := l.ReadSlice(); err != io.EOF || len(line) != 0 {
		t.Errorf("at the end: %q, %v; want io.EOF", line, err)
	}
	// A reader that cannot wait keeps its (small) buffer.
	l.Reset(strings.NewReader("x\n"))
	if _, err := l.ReadSlice(); err != nil {
		t.Fatal(err)
	}
	l.shrink()
	if len(l.buf) != readBufferSize {
		t.Errorf("a reader that cannot wait: buffer of %d bytes, want %d", len(l.buf), readBufferSize)
	}
}
