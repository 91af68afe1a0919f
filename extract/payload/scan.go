// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"unicode/utf8"
)

// strClass classifies the bytes of a JSON string: 0 plain ASCII, 1 the end
// quote, 2 a backslash, 3 a control character (invalid), 4 a non-ASCII byte
// (UTF-8 to check). A table keeps the inner loop to one load and one branch.
var strClass = func() (t [256]byte) {
	for c := 0; c < 0x20; c++ {
		t[c] = 3
	}
	t['"'] = 1
	t['\\'] = 2
	for c := 0x80; c < 0x100; c++ {
		t[c] = 4
	}
	return t
}()

// scanner walks one JSON line. Its methods return errors that name the
// offset in the line, and never read outside b.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("payload: malformed event line at offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

// ws skips JSON whitespace.
func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after whitespace, or 0 at the end of the line.
func (s *scanner) peek() byte {
	// Docker writes no whitespace between tokens: check that first.
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return s.b[s.i]
	}
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// atEnd skips whitespace and reports whether the line ends there. Unlike
// peek() == 0 it does not take a NUL byte for the end.
func (s *scanner) atEnd() bool {
	s.ws()
	return s.i == len(s.b)
}

// expect consumes c after whitespace.
func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		return s.unexpected(fmt.Sprintf("%q", c))
	}
	s.i++
	return nil
}

func (s *scanner) unexpected(want string) error {
	if s.i >= len(s.b) {
		return s.errorf("unexpected end of line, want %s", want)
	}
	return s.errorf("unexpected %q, want %s", s.b[s.i], want)
}

// str consumes a string starting at the current '"' and returns the offset
// and length of its contents and whether they hold escapes. Escapes and
// UTF-8 are validated here so that readers never meet a malformed string.
func (s *scanner) str() (off, n int, esc bool, err error) {
	b := s.b
	if s.i >= len(b) || b[s.i] != '"' {
		if s.peek() != '"' {
			return 0, 0, false, s.unexpected("a string")
		}
	}
	off = s.i + 1
	i := off
	for {
		// Skip plain ASCII a word at a time: nearly every byte of a Docker
		// event line is one, and most strings end within the first word.
		if i+8 <= len(b) {
			m := stopBytes(binary.LittleEndian.Uint64(b[i : i+8]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(b) && strClass[b[i]] == 0 {
				i++
			}
			if i >= len(b) {
				s.i = len(b)
				return 0, 0, false, s.errorf("unterminated string")
			}
		}
		if b[i] == '"' {
			s.i = i + 1
			return off, i - off, esc, nil
		}
		switch strClass[b[i]] {
		case 2:
			esc = true
			if i+1 >= len(b) {
				s.i = i
				return 0, 0, false, s.errorf("unterminated escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(b[i+2:]); !ok {
					s.i = i
					return 0, 0, false, s.errorf("invalid \\u escape")
				}
				i += 6
			default:
				s.i = i
				return 0, 0, false, s.errorf("invalid escape %q", b[i+1])
			}
		case 3:
			s.i = i
			return 0, 0, false, s.errorf("control character %#02x in string", b[i])
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				s.i = i
				return 0, 0, false, s.errorf("invalid UTF-8 in string")
			}
			i += size
		}
	}
}

// Word-at-a-time constants: a 1 and a high bit in every byte of a uint64.
const (
	lsbs = 0x0101010101010101
	msbs = 0x8080808080808080
)

// stopBytes returns x (8 bytes of a string, little endian) with the high
// bit of its lowest byte that ends a run of plain ASCII (quote, backslash,
// control character or non-ASCII byte) set, no bit below it, and 0 when
// all 8 bytes are plain. Bits above the lowest may be wrong (borrows
// propagate upwards), so only the lowest is used.
//
// For a byte c: c^'"' is 0 only for a quote, and (c^'"')-1 then borrows
// into the high bit; likewise for '\\'; c-0x20 sets the high bit for a
// control character; and c itself has it for non-ASCII. A plain byte
// (0x20..0x7f but '"' and '\\') sets none and borrows nothing.
func stopBytes(x uint64) uint64 {
	q := x ^ (lsbs * '"')
	bs := x ^ (lsbs * '\\')
	return ((q-lsbs)&^q | (bs-lsbs)&^bs | (x - lsbs*0x20) | x) & msbs
}

// quoteBytes returns x with the high bit of each '"' byte set, exact up to
// and including the lowest stop byte of stopBytes (bits above may be
// wrong, as there).
func quoteBytes(x uint64) uint64 {
	q := x ^ (lsbs * '"')
	return (q - lsbs) &^ q & msbs
}

// hex4 decodes the 4 hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// literal consumes the literal word (true, false, null) at the current offset.
func (s *scanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.unexpected(word)
	}
	s.i += len(word)
	return nil
}

// null consumes a null if one comes next and reports whether it did.
func (s *scanner) null() (bool, error) {
	if s.peek() != 'n' {
		return false, nil
	}
	return true, s.literal("null")
}

// number consumes a JSON number and returns its offset and length, and
// whether it is an integer (no fraction, no exponent).
func (s *scanner) number() (off, n int, integer bool, err error) {
	s.ws()
	off = s.i
	b := s.b
	i := s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		s.i = i
		return 0, 0, false, s.unexpected("a number")
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == start {
			s.i = i
			return 0, 0, false, s.unexpected("a digit")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == start {
			s.i = i
			return 0, 0, false, s.unexpected("a digit")
		}
	}
	s.i = i
	return off, i - off, integer, nil
}

// skipValue consumes any JSON value, nested at most MaxDepth deep.
func (s *scanner) skipValue(depth int) error {
	if depth > MaxDepth {
		return s.errorf("nested deeper than %d", MaxDepth)
	}
	switch s.peek() {
	case '"':
		_, _, _, err := s.str()
		return err
	case '{':
		s.i++
		if s.peek() == '}' {
			s.i++
			return nil
		}
		for {
			if _, _, _, err := s.str(); err != nil {
				return err
			}
			if err := s.expect(':'); err != nil {
				return err
			}
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			if more, err := s.more('}'); err != nil || !more {
				return err
			}
		}
	case '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			if more, err := s.more(']'); err != nil || !more {
				return err
			}
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, _, _, err := s.number()
		return err
	}
}

// more consumes the ',' between members or elements (true) or the closing
// byte (false).
func (s *scanner) more(closing byte) (bool, error) {
	switch s.peek() {
	case ',':
		s.i++
		return true, nil
	case closing:
		s.i++
		return false, nil
	}
	return false, s.unexpected(fmt.Sprintf("',' or %q", closing))
}

// parseInt decodes a JSON integer (-?digits) into an int64.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	// Docker's timeNano has 19 digits and time 10: convert 8 at a time,
	// which shortens the chain of dependent multiplications.
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		if !eightDigits(x) {
			return 0, false
		}
		u = u*1e8 + digits8(x)
		b = b[8:]
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	// 19 digits fit in a uint64; check the int64 range.
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// eightDigits reports whether the 8 bytes of x are all ASCII digits: each
// byte must be 0x3?, and adding 6 must not carry its low nibble past 9.
func eightDigits(x uint64) bool {
	return (x&0xf0f0f0f0f0f0f0f0)|((x+0x0606060606060606)&0xf0f0f0f0f0f0f0f0)>>4 == 0x3333333333333333
}

// digits8 returns the value of the 8 ASCII digits of x, the first digit in
// the lowest byte (as loaded little endian): pairs, then quads, then all 8
// are combined, each step a multiply and a shift.
func digits8(x uint64) uint64 {
	x -= lsbs * '0'
	x = (x*10 + x>>8) & 0x00ff00ff00ff00ff
	x = (x*100 + x>>16) & 0x0000ffff0000ffff
	return (x*10000 + x>>32) & 0xffffffff
}
