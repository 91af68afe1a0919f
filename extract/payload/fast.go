// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"encoding/binary"
	"math/bits"
)

// The fast path. Profiles showed that on Docker's lines (30-40 short
// strings in a few hundred bytes) Build spent its time less in reading
// bytes than in the calls, checks and error plumbing around each token of
// the general scanner. fastEvent indexes the form the daemon writes (no
// whitespace between tokens, no null, keys without escapes, each of Actor
// and Attributes once) in one function that keeps its offset in a
// register; on anything else it gives up, and Build starts over with
// event(), which accepts all JSON and words the errors. Giving up is
// always correct, so the fast path only has to agree with event() on the
// lines it accepts: TestBuildSameAsReference and FuzzBuild check that the
// payloads are byte for byte those of the original implementation.

// fastEvent scans the whole line into the slots and attribute entries and
// reports whether it could.
func (b *builder) fastEvent() bool {
	line := b.b
	if len(line) < 2 || line[0] != '{' || line[1] != '"' {
		return false
	}
	i := 1
	seenActor := false
	for {
		k, next, ok := b.fastStr(i)
		if !ok || k.n&EscapeFlag != 0 || next >= len(line) || line[next] != ':' {
			return false
		}
		i = next + 1
		key := line[k.off : k.off+k.n]
		if string(key) == "Actor" {
			if seenActor {
				return false
			}
			seenActor = true
			if i, ok = b.fastActor(i); !ok {
				return false
			}
		} else if sl, known := topSlot(key); known {
			var s slot
			if sl == slotTime || sl == slotTimeNano {
				s, i, ok = fastInteger(line, i)
			} else {
				s, i, ok = b.fastStr(i)
			}
			if !ok {
				return false
			}
			b.slots[sl] = s
		} else {
			if i >= len(line) || line[i] == 'n' {
				return false
			}
			b.i = i
			if b.skipValue(1) != nil {
				return false
			}
			i = b.i
		}
		if i >= len(line) {
			return false
		}
		if line[i] == '}' {
			break
		}
		if line[i] != ',' {
			return false
		}
		i++
	}
	b.i = i + 1
	return b.atEnd()
}

// fastActor scans the Actor object whose '{' is at i and returns the
// offset after its '}'.
func (b *builder) fastActor(i int) (int, bool) {
	line := b.b
	if i+1 >= len(line) || line[i] != '{' || line[i+1] != '"' {
		return 0, false
	}
	i++
	seenAttrs := false
	for {
		k, next, ok := b.fastStr(i)
		if !ok || k.n&EscapeFlag != 0 || next >= len(line) || line[next] != ':' {
			return 0, false
		}
		i = next + 1
		switch string(line[k.off : k.off+k.n]) {
		case "ID":
			var s slot
			if s, i, ok = b.fastStr(i); !ok {
				return 0, false
			}
			b.slots[slotActorID] = s
		case "Attributes":
			if seenAttrs {
				return 0, false
			}
			seenAttrs = true
			if i, ok = b.fastAttributes(i); !ok {
				return 0, false
			}
		default:
			if i >= len(line) || line[i] == 'n' {
				return 0, false
			}
			b.i = i
			if b.skipValue(2) != nil {
				return 0, false
			}
			i = b.i
		}
		if i >= len(line) {
			return 0, false
		}
		if line[i] == '}' {
			return i + 1, true
		}
		if line[i] != ',' {
			return 0, false
		}
		i++
	}
}

// fastAttributes scans the Attributes object whose '{' is at i, appending
// its entries, and returns the offset after its '}'.
func (b *builder) fastAttributes(i int) (int, bool) {
	line := b.b
	if i+1 >= len(line) || line[i] != '{' {
		return 0, false
	}
	i++
	if line[i] == '}' {
		return i + 1, true
	}
	for {
		if b.nattrs == MaxAttrs {
			return 0, false
		}
		k, next, ok := b.fastStr(i)
		if !ok || next >= len(line) || line[next] != ':' {
			return 0, false
		}
		v, next, ok := b.fastStr(next + 1)
		if !ok || next >= len(line) {
			return 0, false
		}
		b.appendAttr(k, v)
		i = next
		if line[i] == '}' {
			return i + 1, true
		}
		if line[i] != ',' {
			return 0, false
		}
		i++
	}
}

// fastStr scans the string whose opening quote is at i and returns its
// slot and the offset after its closing quote. Plain ASCII contents are
// skipped a word at a time here; contents with an escape or a non-ASCII
// byte are left to str, which validates them.
func (b *builder) fastStr(i int) (slot, int, bool) {
	line := b.b
	if i >= len(line) || line[i] != '"' {
		return slot{}, 0, false
	}
	j := i + 1
	for j+8 <= len(line) {
		x := binary.LittleEndian.Uint64(line[j : j+8])
		m := stopBytes(x)
		if m == 0 {
			j += 8
			continue
		}
		// Whether the first stop byte is the closing quote is read from
		// the word, without loading the byte again.
		if quoteBytes(x)&(m&-m) == 0 {
			break
		}
		j += bits.TrailingZeros64(m) >> 3
		return plainSlot(i, j)
	}
	if j+8 > len(line) {
		// Fewer than 8 bytes left: the last string of a line.
		for j < len(line) && strClass[line[j]] == 0 {
			j++
		}
		if j < len(line) && line[j] == '"' {
			return plainSlot(i, j)
		}
	}
	b.i = i
	off, n, esc, err := b.str()
	if err != nil || n > MaxStringLen {
		return slot{}, 0, false
	}
	s := slot{uint32(off), uint32(n)}
	if esc {
		s.n |= EscapeFlag
	}
	return s, b.i, true
}

// plainSlot returns the slot of the plain string quoted at open and close
// and the offset after it, or false when the string is too long.
func plainSlot(open, close int) (slot, int, bool) {
	if n := close - open - 1; n <= MaxStringLen {
		return slot{uint32(open + 1), uint32(n)}, close + 1, true
	}
	return slot{}, 0, false
}

// fastInteger scans the integer at i (a JSON number without fraction or
// exponent) and returns the slot of its text and the offset after it.
func fastInteger(line []byte, i int) (slot, int, bool) {
	start := i
	if i < len(line) && line[i] == '-' {
		i++
	}
	switch {
	case i < len(line) && line[i] == '0':
		i++
	case i < len(line) && '1' <= line[i] && line[i] <= '9':
		// timeNano has 19 digits: skip them 8 at a time.
		for i+8 <= len(line) && eightDigits(binary.LittleEndian.Uint64(line[i:i+8])) {
			i += 8
		}
		for i < len(line) && '0' <= line[i] && line[i] <= '9' {
			i++
		}
	default:
		return slot{}, 0, false
	}
	if i < len(line) && (line[i] == '.' || line[i] == 'e' || line[i] == 'E') {
		return slot{}, 0, false
	}
	return slot{uint32(start), uint32(i - start)}, i, true
}
