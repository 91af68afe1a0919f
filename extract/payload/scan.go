// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"fmt"
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
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
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
	if s.peek() != '"' {
		return 0, 0, false, s.unexpected("a string")
	}
	s.i++
	off = s.i
	b := s.b
	for i := s.i; i < len(b); {
		switch strClass[b[i]] {
		case 0:
			i++
		case 1:
			s.i = i + 1
			return off, i - off, esc, nil
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
	s.i = len(b)
	return 0, 0, false, s.errorf("unterminated string")
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
