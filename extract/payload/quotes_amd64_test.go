// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build amd64 && linux && !purego

package payload

import (
	"math/rand/v2"
	"syscall"
	"testing"
)

// refQuoteMask is quoteMask written plainly, a byte at a time.
func refQuoteMask(line []byte) (mask [maskWords]uint32, plain bool) {
	plain = true
	for i, c := range line {
		if c == '"' {
			mask[i>>5] |= 1 << (i & 31)
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			plain = false
		}
	}
	return mask, plain
}

// checkQuoteMask compares quoteMask with refQuoteMask on line.
func checkQuoteMask(t *testing.T, line []byte) {
	t.Helper()
	var got [maskWords]uint32
	plain := quoteMask(line, &got)
	want, wantPlain := refQuoteMask(line)
	if plain != wantPlain {
		t.Fatalf("len %d: plain %v, want %v: %q", len(line), plain, wantPlain, line)
	}
	if got != want {
		for w := range got {
			if got[w] != want[w] {
				t.Fatalf("len %d: word %d is %#08x, want %#08x: %q", len(line), w, got[w], want[w], line)
			}
		}
	}
}

// needAVX2 stops a test that needs the assembly on a CPU without AVX2,
// where Build does not call it.
func needAVX2(tb testing.TB) {
	if !haveQuoteMask {
		tb.Skip("no AVX2 on this CPU: quoteMask is not used")
	}
}

// TestQuoteMask checks quoteMask against the byte loop on every length it
// takes up to 300 bytes and on the longest, with quotes and each kind of
// byte that makes a line not plain at every position (the first chunk, the
// boundaries of chunks, the tail that is loaded overlapping the chunk
// before it).
func TestQuoteMask(t *testing.T) {
	needAVX2(t)
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{maxMaskLine - 1, maxMaskLine}
	for n := minMaskLine; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		line := make([]byte, n)
		for i := range line {
			line[i] = 'a' + byte(rng.IntN(26))
			if rng.IntN(8) == 0 {
				line[i] = '"'
			}
		}
		checkQuoteMask(t, line)
		for _, bad := range []byte{'\\', 0x00, 0x1f, 0x80, 0xff} {
			for _, at := range []int{0, 31, 32, n - 32, n - 31, n - 1, rng.IntN(n)} {
				if at < 0 || at >= n {
					continue
				}
				keep := line[at]
				line[at] = bad
				checkQuoteMask(t, line)
				line[at] = keep
			}
		}
		// The bytes that border the bad ones are plain.
		for _, c := range []byte{0x20, 0x7f, '"'} {
			line[n-1] = c
			checkQuoteMask(t, line)
		}
	}
}

// TestQuoteMaskReadsOnlyTheLine puts lines right before a page that may
// not be read: a load past the end of the line faults.
func TestQuoteMaskReadsOnlyTheLine(t *testing.T) {
	needAVX2(t)
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	for n := minMaskLine; n <= min(page, maxMaskLine); n += 7 {
		line := mem[page-n : page]
		for i := range line {
			line[i] = 'x'
		}
		line[n-1] = '"'
		checkQuoteMask(t, line)
	}
}

// FuzzQuoteMask: quoteMask agrees with the byte loop on any line it takes.
func FuzzQuoteMask(f *testing.F) {
	needAVX2(f)
	f.Add(floodLine)
	f.Add([]byte(`{"a\\"b":"\u00e9","c":"é"}` + "\x01\"\"\"\"\"\"\"\"\"\""))
	f.Fuzz(func(t *testing.T, line []byte) {
		if len(line) < minMaskLine || len(line) > maxMaskLine {
			return
		}
		checkQuoteMask(t, line)
	})
}

// BenchmarkQuoteMask is the first step of Build on amd64 alone: the quote
// mask of the flood line.
func BenchmarkQuoteMask(b *testing.B) {
	needAVX2(b)
	var mask [maskWords]uint32
	b.SetBytes(int64(len(floodLine)))
	for b.Loop() {
		if !quoteMask(floodLine, &mask) {
			b.Fatal("flood line not plain")
		}
	}
}
