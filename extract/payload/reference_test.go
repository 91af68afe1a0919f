// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

// This file keeps the first, byte-at-a-time implementation of Build as a
// reference: the optimised Build must produce the same payload (a format
// version is read from capture files, so it may never change for the same
// input) and
// accept and refuse the same lines. Tests and FuzzBuild compare the two.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// refBuilder holds the state of one refBuild call.
type refBuilder struct {
	refScanner
	slots     [numSlots]slot
	out       []byte // dst being built
	attrStart int    // offset in out of the first attribute entry
	nattrs    int
	truncated bool
	keptAt    map[string]int // entry number of a kept key past softAttrs
}

// refBuild appends to dst the payload of one event line read from host, and
// returns the extended slice and the event's Meta. line is one JSON object
// as the Docker events API sends it (surrounding whitespace allowed); it is
// copied, so the caller may reuse it. On error dst is returned unchanged in
// length and the error names what is wrong and where.
//
// refBuild allocates nothing but the growth of dst (and, rarely, a Meta string
// for an unknown or escaped Type or Action).
func refBuild(dst []byte, host string, line []byte) ([]byte, Meta, error) {
	return refBuildExtra(dst, host, line, Extra{})
}

func refBuildExtra(dst []byte, host string, line []byte, x Extra) ([]byte, Meta, error) {
	if len(x.Context) > MaxContextLen {
		return dst, Meta{}, fmt.Errorf("payload: context of %d bytes, more than %d", len(x.Context), MaxContextLen)
	}
	if host == "" {
		return dst, Meta{}, errors.New("payload: empty host label")
	}
	if len(host) > MaxHostLen {
		return dst, Meta{}, fmt.Errorf("payload: host label of %d bytes, more than %d", len(host), MaxHostLen)
	}
	if !utf8.ValidString(host) {
		return dst, Meta{}, errors.New("payload: host label is not valid UTF-8")
	}
	if len(line) > MaxLineLen {
		return dst, Meta{}, fmt.Errorf("payload: event line of %d bytes, more than %d", len(line), MaxLineLen)
	}
	b := refBuilder{refScanner: refScanner{b: line}}
	out := refGrow(dst, SizeHintContext(len(host), len(x.Context), len(line)))
	start := len(out)
	out = append(out, Magic...)
	out = append(out, 0, 0)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(host)))
	out = append(out, host...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(x.Context)))
	out = append(out, x.Context...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(line)))
	out = append(out, line...)
	indexAt := len(out)
	out = append(out, make([]byte, fixedIndex)...)
	b.out = out
	b.attrStart = len(out)

	meta, err := b.event()
	if err != nil {
		return dst, Meta{}, err
	}
	out = b.out
	if x.Truncated || b.truncated {
		meta.Truncated = true
		out[start+4] = FlagTruncated
	}
	for i, s := range b.slots {
		binary.LittleEndian.PutUint32(out[indexAt+8*i:], s.off)
		binary.LittleEndian.PutUint32(out[indexAt+8*i+4:], s.n)
	}
	binary.LittleEndian.PutUint64(out[indexAt+numSlots*8:], uint64(meta.TimeNano))
	binary.LittleEndian.PutUint16(out[indexAt+numSlots*8+8:], uint16(b.nattrs))
	return out, meta, nil
}

// refGrow makes room for n more bytes in one step, so that a fresh dst is
// allocated once per payload.
func refGrow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

// event scans the whole line and fills the slots and attribute entries.
func (b *refBuilder) event() (Meta, error) {
	if err := b.expect('{'); err != nil {
		return Meta{}, err
	}
	if b.peek() == '}' {
		b.i++
	} else {
		for {
			if err := b.member(); err != nil {
				return Meta{}, err
			}
			more, err := b.more('}')
			if err != nil {
				return Meta{}, err
			}
			if !more {
				break
			}
		}
	}
	if !b.atEnd() {
		return Meta{}, b.errorf("unexpected %q after the event object", b.b[b.i])
	}
	if b.slots[slotType].off == 0 {
		return Meta{}, ErrMissingType
	}
	if b.slots[slotAction].off == 0 {
		return Meta{}, ErrMissingAction
	}
	meta := Meta{
		Type:   intern(b.b, b.slots[slotType]),
		Action: intern(b.b, b.slots[slotAction]),
	}
	if id := b.slots[slotActorID]; id.off != 0 && id.n&EscapeFlag == 0 {
		meta.ActorID = b.b[id.off : id.off+id.n]
	}
	if tn := b.slots[slotTimeNano]; tn.off != 0 {
		v, ok := refParseInt(b.b[tn.off : tn.off+tn.n])
		if !ok {
			return Meta{}, fmt.Errorf("payload: timeNano %q out of range", b.b[tn.off:tn.off+tn.n])
		}
		meta.TimeNano = v
	}
	// A timeNano of 0 counts as absent, as for the docker CLI (and the
	// daemon, whose omitempty never sends one).
	if t := b.slots[slotTime]; t.off != 0 {
		v, ok := refParseInt(b.b[t.off : t.off+t.n])
		if !ok || (meta.TimeNano == 0 && (v > maxSeconds || v < -maxSeconds)) {
			return Meta{}, fmt.Errorf("payload: time %q out of range", b.b[t.off:t.off+t.n])
		}
		if meta.TimeNano == 0 {
			meta.TimeNano = v * 1e9
		}
	}
	return meta, nil
}

// refTopSlot maps the members of the event object that are indexed to their
// slots; Actor is handled apart.
func refTopSlot(key []byte) (int, bool) {
	switch string(key) {
	case "Type":
		return slotType, true
	case "Action":
		return slotAction, true
	case "scope":
		return slotScope, true
	case "status":
		return slotStatus, true
	case "id":
		return slotID, true
	case "from":
		return slotFrom, true
	case "time":
		return slotTime, true
	case "timeNano":
		return slotTimeNano, true
	}
	return 0, false
}

// key consumes an object key and its ':' and returns the key unescaped into
// buf when it holds escapes (only short keys can match a known one).
func (b *refBuilder) key(buf []byte) ([]byte, error) {
	off, n, esc, err := b.str()
	if err != nil {
		return nil, err
	}
	if err := b.expect(':'); err != nil {
		return nil, err
	}
	k := b.b[off : off+n]
	if esc {
		if n > 64 {
			return nil, nil // longer than any known key once unescaped
		}
		k = appendUnescaped(buf[:0], k)
	}
	return k, nil
}

// member scans one member of the event object.
func (b *refBuilder) member() error {
	var buf [64]byte
	k, err := b.key(buf[:])
	if err != nil {
		return err
	}
	if string(k) == "Actor" {
		return b.actor()
	}
	sl, ok := refTopSlot(k)
	if !ok {
		return b.skipValue(1)
	}
	if null, err := b.null(); null || err != nil {
		b.slots[sl] = slot{}
		return err
	}
	if sl == slotTime || sl == slotTimeNano {
		at := b.i
		off, n, integer, err := b.number()
		if err != nil {
			return err
		}
		if !integer {
			b.i = at
			return b.errorf("%s is not an integer", slotNames[sl])
		}
		b.slots[sl] = slot{uint32(off), uint32(n)}
		return nil
	}
	s, err := b.indexedString()
	b.slots[sl] = s
	return err
}

// indexedString consumes a string value and returns its slot.
func (b *refBuilder) indexedString() (slot, error) {
	off, n, esc, err := b.str()
	if err != nil {
		return slot{}, err
	}
	s := slot{uint32(off), uint32(n)}
	if esc {
		s.n |= EscapeFlag
	}
	return s, nil
}

// actor scans the Actor object (or null). A second Actor replaces the first.
func (b *refBuilder) actor() error {
	b.slots[slotActorID] = slot{}
	b.resetAttrs()
	if null, err := b.null(); null || err != nil {
		return err
	}
	if err := b.expect('{'); err != nil {
		return err
	}
	if b.peek() == '}' {
		b.i++
		return nil
	}
	var buf [64]byte
	for {
		k, err := b.key(buf[:])
		if err != nil {
			return err
		}
		switch string(k) {
		case "ID":
			if null, err := b.null(); null || err != nil {
				b.slots[slotActorID] = slot{}
				if err != nil {
					return err
				}
				break
			}
			s, err := b.indexedString()
			if err != nil {
				return err
			}
			b.slots[slotActorID] = s
		case "Attributes":
			if err := b.attributes(); err != nil {
				return err
			}
		default:
			if err := b.skipValue(2); err != nil {
				return err
			}
		}
		more, err := b.more('}')
		if err != nil || !more {
			return err
		}
	}
}

// attributes scans Actor.Attributes (or null), appending one index entry per
// member. A second Attributes replaces the first.
func (b *refBuilder) attributes() error {
	b.resetAttrs()
	if null, err := b.null(); null || err != nil {
		return err
	}
	if err := b.expect('{'); err != nil {
		return err
	}
	if b.peek() == '}' {
		b.i++
		return nil
	}
	for {
		k, err := b.indexedString()
		if err != nil {
			return err
		}
		if err := b.expect(':'); err != nil {
			return err
		}
		if b.peek() != '"' {
			return b.unexpected("a string attribute value")
		}
		v, err := b.indexedString()
		if err != nil {
			return err
		}
		// Past the first MaxAttrs-6 attributes, only the kept keys get
		// an entry, one each (the last of them).
		if b.nattrs >= MaxAttrs-len(keptAttrKeys) {
			b.truncated = true
			key := string(appendUnescaped(nil, b.b[k.off:k.off+k.n&^EscapeFlag]))
			if !slices.Contains(keptAttrKeys[:], key) || k.n&^EscapeFlag > 64 {
				goto next
			}
			if at, ok := b.keptAt[key]; ok {
				e := b.out[b.attrStart+16*at:]
				binary.LittleEndian.PutUint32(e, k.off)
				binary.LittleEndian.PutUint32(e[4:], k.n)
				binary.LittleEndian.PutUint32(e[8:], v.off)
				binary.LittleEndian.PutUint32(e[12:], v.n)
				goto next
			}
			b.keptAt[key] = b.nattrs
		}
		b.out = binary.LittleEndian.AppendUint32(b.out, k.off)
		b.out = binary.LittleEndian.AppendUint32(b.out, k.n)
		b.out = binary.LittleEndian.AppendUint32(b.out, v.off)
		b.out = binary.LittleEndian.AppendUint32(b.out, v.n)
		b.nattrs++
	next:
		more, err := b.more('}')
		if err != nil || !more {
			return err
		}
	}
}

func (b *refBuilder) resetAttrs() {
	b.out = b.out[:b.attrStart]
	b.nattrs = 0
	b.truncated = false
	b.keptAt = map[string]int{}
}

// refStrClass classifies the bytes of a JSON string: 0 plain ASCII, 1 the end
// quote, 2 a backslash, 3 a control character (invalid), 4 a non-ASCII byte
// (UTF-8 to check). A table keeps the inner loop to one load and one branch.
var refStrClass = func() (t [256]byte) {
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

// refScanner walks one JSON line. Its methods return errors that name the
// offset in the line, and never read outside b.
type refScanner struct {
	b []byte
	i int
}

func (s *refScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("payload: malformed event line at offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

// ws skips JSON whitespace.
func (s *refScanner) ws() {
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
func (s *refScanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// expect consumes c after whitespace.
func (s *refScanner) atEnd() bool {
	s.ws()
	return s.i == len(s.b)
}

func (s *refScanner) expect(c byte) error {
	if s.peek() != c {
		return s.unexpected(fmt.Sprintf("%q", c))
	}
	s.i++
	return nil
}

func (s *refScanner) unexpected(want string) error {
	if s.i >= len(s.b) {
		return s.errorf("unexpected end of line, want %s", want)
	}
	return s.errorf("unexpected %q, want %s", s.b[s.i], want)
}

// str consumes a string starting at the current '"' and returns the offset
// and length of its contents and whether they hold escapes. Escapes and
// UTF-8 are validated here so that readers never meet a malformed string.
func (s *refScanner) str() (off, n int, esc bool, err error) {
	if s.peek() != '"' {
		return 0, 0, false, s.unexpected("a string")
	}
	s.i++
	off = s.i
	b := s.b
	for i := s.i; i < len(b); {
		switch refStrClass[b[i]] {
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
				if _, ok := refHex4(b[i+2:]); !ok {
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

// refHex4 decodes the 4 hex digits at the start of b.
func refHex4(b []byte) (rune, bool) {
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
func (s *refScanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.unexpected(word)
	}
	s.i += len(word)
	return nil
}

// null consumes a null if one comes next and reports whether it did.
func (s *refScanner) null() (bool, error) {
	if s.peek() != 'n' {
		return false, nil
	}
	return true, s.literal("null")
}

// number consumes a JSON number and returns its offset and length, and
// whether it is an integer (no fraction, no exponent).
func (s *refScanner) number() (off, n int, integer bool, err error) {
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
func (s *refScanner) skipValue(depth int) error {
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
func (s *refScanner) more(closing byte) (bool, error) {
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

// refParseInt decodes a JSON integer (-?digits) into an int64.
func refParseInt(b []byte) (int64, bool) {
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

// sameAsRef checks that Build and refBuild agree on line: the same payload
// byte for byte (appended after the same prefix), the same Meta, and the
// same error.
func sameAsRef(t *testing.T, line []byte) {
	t.Helper()
	prefix := []byte("prefix")
	got, gotMeta, gotErr := Build(bytes.Clone(prefix), "web-1", line)
	want, wantMeta, wantErr := refBuild(bytes.Clone(prefix), "web-1", line)
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("line %q: error %v, reference %v", line, gotErr, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("line %q: payload\n%x\nreference\n%x", line, got, want)
	}
	if !sameMeta(gotMeta, wantMeta) {
		t.Fatalf("line %q: Meta %+v, reference %+v", line, gotMeta, wantMeta)
	}
}

// sameMeta compares two Metas, their ActorID views by contents.
func sameMeta(a, b Meta) bool {
	return a.TimeNano == b.TimeNano && a.Type == b.Type && a.Action == b.Action && a.Truncated == b.Truncated &&
		(a.ActorID == nil) == (b.ActorID == nil) && bytes.Equal(a.ActorID, b.ActorID)
}

// TestBuildSameAsReference runs Build and the reference over the fixtures,
// every prefix of them (the ends of lines, where word-at-a-time scanning
// falls back to bytes), and each fixture with a byte that strings treat
// apart (quote, backslash, control, DEL, UTF-8 lead and continuation bytes,
// invalid UTF-8) or whitespace put at every offset.
func TestBuildSameAsReference(t *testing.T) {
	specials := [][]byte{
		{'"'}, {'\\'}, {0}, {0x1f}, {' '}, {'\t'}, {'\n'}, {0x7f}, {0x80}, {0xff},
		[]byte("é"), []byte("€"), []byte("😀"), {0xc3}, {0xe2, 0x82}, {0xed, 0xa0, 0x80},
		[]byte(`\"`), []byte(`\\`), []byte(`\u00e9`), []byte(`\ud83d\ude00`), []byte(`\ud800`), []byte(`\x`),
		[]byte("null"), []byte("0"), []byte("-1"), []byte("1.5e3"), []byte(","), []byte(":"), []byte("{"), []byte("}"),
	}
	for _, l := range fixtures(t) {
		sameAsRef(t, l)
		for n := range len(l) {
			sameAsRef(t, l[:n])
		}
		for at := range len(l) + 1 {
			for _, s := range specials {
				m := make([]byte, 0, len(l)+len(s))
				m = append(append(append(m, l[:at]...), s...), l[at:]...)
				sameAsRef(t, m)
			}
		}
	}
}

// TestParseIntSameAsReference compares the 8-digits-at-a-time parseInt with
// the byte-at-a-time reference, around every length and with a non-digit
// (including the bytes next to '0' and '9') at every position.
func TestParseIntSameAsReference(t *testing.T) {
	inputs := []string{"", "-", "0", "-0", "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "-9223372036854775809", "18446744073709551615", "99999999999999999999",
		"1795649599", "1795649599566937939", "00000000", "0000000000000000001"}
	digits := "1234567890987654321012"
	for n := 1; n <= len(digits); n++ {
		inputs = append(inputs, digits[:n], "-"+digits[:n])
		for at := range n {
			for _, c := range []byte{'/', ':', ' ', 'a', '.', 0x80, 0xb0, 0xb9, 0x39 + 0x80} {
				d := []byte(digits[:n])
				d[at] = c
				inputs = append(inputs, string(d))
			}
		}
	}
	for _, in := range inputs {
		got, gotOK := parseInt([]byte(in))
		want, wantOK := refParseInt([]byte(in))
		if got != want || gotOK != wantOK {
			t.Errorf("parseInt(%q) = %d, %v; reference %d, %v", in, got, gotOK, want, wantOK)
		}
	}
}

// TestBuildSameAsReferenceCrafted covers what the fast path gives up on or
// must get right beside Docker's usual lines: repeated members, nulls,
// other members of any type, escapes in keys, strings ending at the last
// bytes of a line, and numbers of every form.
func TestBuildSameAsReferenceCrafted(t *testing.T) {
	long := strings.Repeat("a", 64<<10)
	for _, l := range []string{
		`{"Type":"a","Action":"b"}`,
		`{"Type":"a","Action":"b","Type":"c"}`,
		`{"Type":"a","Action":"b","Actor":{"ID":"x"},"Actor":{"Attributes":{"k":"v"}}}`,
		`{"Type":"a","Action":"b","Actor":{"Attributes":{"k":"v"},"Attributes":{"l":"w","m":"x"}}}`,
		`{"Type":"a","Action":"b","Actor":{"Attributes":{"k":"v"},"ID":"i","ID":null}}`,
		`{"Type":"a","Action":"b","Actor":{"Attributes":{}}}`,
		`{"Type":"a","Action":"b","Actor":{}}`,
		`{"Type":"a","Action":"b","Actor":null}`,
		`{"Type":"a","Action":"b","Actor":{"Attributes":null,"X":[1,{"y":"z"}],"ID":"q"}}`,
		`{"Type":"a","Action":"b","Actor":{"Attributes":{"k":1}}}`,
		`{"Type":"a","Action":"b","extra":{"x":[true,false,null,-1.5e+3,"s\u00e9"]},"id":"i"}`,
		`{"T\u0079pe":"a","Action":"b"}`,
		`{"Type":"a","Action":"b","time":0,"timeNano":-0}`,
		`{"Type":"a","Action":"b","time":1.0}`,
		`{"Type":"a","Action":"b","time":1e3}`,
		`{"Type":"a","Action":"b","time":01}`,
		`{"Type":"a","Action":"b","time":-}`,
		`{"Type":"a","Action":"b","time":"1"}`,
		`{"Type":"a","Action":"b","time":99999999999,"timeNano":0}`,
		`{"Type":"a","Action":"b","timeNano":99999999999999999999}`,
		`{"Type":"a","Action":"b","status":"` + long + `"}`,
		`{"Type":"a","Action":"b","status":"` + long + `b"}`,
		`{"Type":"a","Action":"b","status":"` + long + `\n"}`,
		`{"Type":"a","Action":"b","Actor":{"Attributes":{"` + long + `x":"v"}}}`,
		`{"Type":"a","Action":"b","x":"` + long + long + `"}`,
		`{"Type":"a","Action":"b"}` + " \t\r\n",
		`{"Type":"a","Action":"b"}x`,
		`{"Type":"a","Action":"b",}`,
		`{"Type":"a","Action":"b"`,
		`{"Type":"a","Action":"b`,
		`{"Type":"é","Action":"€😀"}`,
		`{"Type":"a\"","Action":"\\"}`,
		// A stop byte that is not a quote, followed by what would be valid
		// JSON if it were one: the string must not end there.
		"{\"Action\":\"b\",\"Type\":\"a\x01,\"x\":\"y\"}",
		"{\"Action\":\"b\",\"Type\":\"a\xff,\"x\":\"y\"}",
		"{\"Action\":\"b\",\"Type\":\"a\\,\"x\":\"y\"}",
		"{\"Action\":\"b\",\"Type\":\"abcdefghij\x1f,\"x\":\"y\"}",
	} {
		sameAsRef(t, []byte(l))
	}
}

// TestFastPathTakesFixtures guards the speed of Build: the fast path must
// take every Docker line of the fixtures, not give them up to the general
// scanner (which would still give the right payload, only slower).
func TestFastPathTakesFixtures(t *testing.T) {
	for i, l := range append(fixtures(t), floodLine) {
		b := builder{scanner: scanner{b: l}}
		b.out = make([]byte, 0, SizeHint(1, len(l)))
		if !b.fastEvent() {
			t.Errorf("fixture line %d: the fast path gave up: %s", i+1, l)
		}
	}
}
