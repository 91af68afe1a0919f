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
//
// Past the calls, what remains is a chain: each string's end is searched
// from its start, which is known only once the previous search is done,
// a load and a dozen dependent operations per token. Two things cut the
// chain where Docker's lines allow: known keys are recognised by comparing
// the word at them (topKeyWord, actorKeyWord), which gives their length
// without a search, and values that repeat an earlier one (Action equal to
// status, Actor.ID to id, as engines up to API 1.51 send them) are checked
// by a compare of known length (sameStr). A failed guess costs a compare
// and falls back to the search.
//
// On amd64 with AVX2 the search itself is gone for most lines: quoteMask
// looks at the line 32 bytes at a time, sets a bit for each quote and
// tells whether the line is plain (no backslash, no control character, no
// non-ASCII byte). In a plain line every quote opens or closes a string,
// so a string's end is the next bit of the mask (nextQuote): a shift and a
// count of trailing zeros instead of a loop over its words (measured in
// docs/PERFORMANCE.md). Other lines, and other CPUs, keep the word-at-a-time search.

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
		sl, n := topKeyWord(line, i)
		if n != 0 {
			i += n
		} else {
			k, next, ok := b.fastStr(i)
			if !ok || k.n&EscapeFlag != 0 || next >= len(line) || line[next] != ':' {
				return false
			}
			i = next + 1
			key := line[k.off : k.off+k.n]
			sl = slotActor
			if string(key) != "Actor" {
				var known bool
				if sl, known = topSlot(key); !known {
					sl = slotOther
				}
			}
		}
		var ok bool
		if sl == slotActor {
			if seenActor {
				return false
			}
			seenActor = true
			if i, ok = b.fastActor(i); !ok {
				return false
			}
		} else if sl != slotOther {
			var s slot
			switch sl {
			case slotTime, slotTimeNano:
				s, i, ok = fastInteger(line, i)
			case slotAction:
				// Engines up to API 1.51 send status, equal to Action.
				var next int
				if s, next, ok = b.sameStr(i, b.slots[slotStatus]); ok {
					i = next
				} else {
					s, i, ok = b.fastStr(i)
				}
			default:
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
		key := actorKeyWord(line, i)
		if key != 0 {
			i += int(key)
		} else {
			k, next, ok := b.fastStr(i)
			if !ok || k.n&EscapeFlag != 0 || next >= len(line) || line[next] != ':' {
				return 0, false
			}
			i = next + 1
			switch string(line[k.off : k.off+k.n]) {
			case "ID":
				key = actorID
			case "Attributes":
				key = actorAttributes
			}
		}
		var ok bool
		switch key {
		case actorID:
			// Engines up to API 1.51 send id, equal to Actor.ID.
			s, next, ok := b.sameStr(i, b.slots[slotID])
			if !ok {
				if s, next, ok = b.fastStr(i); !ok {
					return 0, false
				}
			}
			i = next
			b.slots[slotActorID] = s
		case actorAttributes:
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
		if b.nattrs == softAttrs {
			// Past it, event() keeps only some: see pastSoft.
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
// slot and the offset after its closing quote. In a plain line the
// closing quote is the next one of the mask; otherwise plain ASCII
// contents are skipped a word at a time here, and contents with an escape
// or a non-ASCII byte are left to str, which validates them.
func (b *builder) fastStr(i int) (slot, int, bool) {
	line := b.b
	if i >= len(line) || line[i] != '"' {
		return slot{}, 0, false
	}
	if b.masked {
		// The line is plain: the next quote closes the string.
		j := b.nextQuote(i + 1)
		if j < 0 {
			return slot{}, 0, false
		}
		return plainSlot(i, j)
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
	if err != nil {
		return slot{}, 0, false
	}
	s := slot{uint32(off), uint32(n)}
	if esc {
		s.n |= EscapeFlag
	}
	return s, b.i, true
}

// sameStr returns what fastStr(i) would when the string quoted at i holds
// the same bytes as the string of slot prev, which fastStr accepted without
// escapes: then those bytes hold no quote, no backslash, no control byte
// and only valid UTF-8, so the string ends right after them. It returns
// false otherwise, prev included, for the caller to scan the string. A
// compare of known length lets the CPU run ahead where a search for the
// closing quote would make it wait for each word.
func (b *builder) sameStr(i int, prev slot) (slot, int, bool) {
	line := b.b
	n := int(prev.n)
	if prev.off == 0 || prev.n&EscapeFlag != 0 || i < 0 || len(line)-i < n+2 ||
		line[i] != '"' || line[i+1+n] != '"' ||
		string(line[i+1:i+1+n]) != string(line[prev.off:prev.off+prev.n]) {
		return slot{}, 0, false
	}
	return slot{uint32(i + 1), prev.n}, i + 2 + n, true
}

// plainSlot returns the slot of the plain string quoted at open and close
// and the offset after it.
func plainSlot(open, close int) (slot, int, bool) {
	return slot{uint32(open + 1), uint32(close - open - 1)}, close + 1, true
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

// The keys Docker writes, as the little-endian words of their first bytes
// from the opening quote (TestKeyWords checks them). Comparing the word
// at a key with these tells a known key and its length without searching
// for its closing quote: the search chains each token to the load of the
// previous one, while a compare lets the CPU run ahead on its prediction.
const (
	wordStatus   = 0x2273757461747322 // "status" (then ':')
	wordAction   = 0x226e6f6974634122 // "Action" (then ':')
	wordTimeNan  = 0x6e614e656d697422 // "timeNan (then o":)
	wordActor    = 0x3a22726f74634122 // "Actor":
	wordScope    = 0x3a2265706f637322 // "scope":
	wordFrom     = 0x3a226d6f726622   // "from": (7 bytes)
	wordType     = 0x3a226570795422   // "Type": (7 bytes)
	wordTime     = 0x3a22656d697422   // "time": (7 bytes)
	wordID       = 0x3a22646922       // "id": (5 bytes)
	wordActorID  = 0x3a22444922       // "ID": (5 bytes)
	wordAttribu  = 0x7562697274744122 // "Attribu (then tes":)
	wordTes      = 0x3a22736574       // tes": (5 bytes)
	low5         = 1<<40 - 1
	low7         = 1<<56 - 1
	low3         = 1<<24 - 1
	wordONanoEnd = 0x3a226f // o": (3 bytes)
)

// Pseudo slots of topKeyWord and the generic key path.
const (
	slotActor = numSlots + iota
	slotOther
)

// topKeyWord tells a member key of the event object written as Docker
// writes it (no escapes) at i, the offset of its opening quote: it returns
// the key's slot (or slotActor) and the length of the key with its quotes
// and ':', or 0 when the key is not one of them or not written so, for
// the caller to scan it.
func topKeyWord(line []byte, i int) (int, int) {
	if i < 0 || len(line)-i < 16 {
		return 0, 0
	}
	w := binary.LittleEndian.Uint64(line[i : i+8])
	next := binary.LittleEndian.Uint64(line[i+8 : i+16])
	switch w {
	case wordStatus:
		if byte(next) == ':' {
			return slotStatus, 9
		}
	case wordAction:
		if byte(next) == ':' {
			return slotAction, 9
		}
	case wordActor:
		return slotActor, 8
	case wordScope:
		return slotScope, 8
	case wordTimeNan:
		if next&low3 == wordONanoEnd {
			return slotTimeNano, 11
		}
	}
	switch w & low7 {
	case wordFrom:
		return slotFrom, 7
	case wordType:
		return slotType, 7
	case wordTime:
		return slotTime, 7
	}
	if w&low5 == wordID {
		return slotID, 5
	}
	return 0, 0
}

// Keys of the Actor object, by the length actorKeyWord returns for them.
const (
	actorID         = 5
	actorAttributes = 13
)

// actorKeyWord is topKeyWord for the Actor object: it returns actorID or
// actorAttributes (the length of the key with its quotes and ':'), or 0.
func actorKeyWord(line []byte, i int) int {
	if i < 0 || len(line)-i < 16 {
		return 0
	}
	w := binary.LittleEndian.Uint64(line[i : i+8])
	if w&low5 == wordActorID {
		return actorID
	}
	if w == wordAttribu && binary.LittleEndian.Uint64(line[i+8:i+16])&low5 == wordTes {
		return actorAttributes
	}
	return 0
}
