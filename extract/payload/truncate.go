// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// A daemon's event line can be far longer than what may be delivered (a
// label of 50 MB is accepted by `docker run`), and dropping it would let
// anyone who may run a container hide its every event from the rules. A
// Truncator reduces such a line, as it is read, to a valid Docker event
// line of bounded size keeping what rules key on; memory stays bounded by
// the size asked, whatever the input's.

// Bounds of a Truncator's output strings.
const (
	// TruncatedValueLen is the longest string (member, Actor.ID,
	// attribute key or value) a Truncator keeps whole; a longer one is
	// cut to at most that many bytes and ends with CutMarker. When even
	// the members it always keeps do not fit in the size asked, strings
	// are cut shorter (down to minTruncLen).
	TruncatedValueLen = 4 << 10
	// CutMarker ends every string a Truncator cut.
	CutMarker = "...[truncated]"
	// MinTruncateSize is the smallest size a Truncator is asked for: room
	// for the members it always keeps, cut short.
	MinTruncateSize = 1024

	minTruncLen = 32
	// capture is how much of a string is read into memory: enough to cut
	// it at TruncatedValueLen on a character boundary.
	capture = TruncatedValueLen + 8
	// maxNest bounds the nesting a Truncator follows: deeper is not a
	// Docker event (see MaxDepth; a Truncator drops what it skips, so
	// it may follow a little more than Build).
	maxNest = MaxDepth + 4
)

// ErrTooSmall is returned by a Truncator asked for less than
// MinTruncateSize.
var ErrTooSmall = fmt.Errorf("payload: a reduced event line needs at least %d bytes", MinTruncateSize)

// Truncator reduces one event line, written to it in pieces of any size,
// to a valid Docker event line of at most the size given to Reset. It
// keeps Type, Action, Actor.ID, scope, time, timeNano, status, id and from,
// the attributes name, image, execID, exitCode, signal and oldName (the
// last of each), then as many other attributes as fit, in the line's
// order; strings longer than TruncatedValueLen are cut and end with
// CutMarker, and members it does not know are left out. It accepts what
// Build accepts (and, in what it leaves out, a little more) and refuses,
// with an error from Line, what is not a Docker event: not one JSON
// object, no Type or Action, a member of the wrong type. Its memory is
// bounded by the size asked, not by the line's.
//
// The zero value is ready after Reset. A Truncator is reused line after
// line; it is not safe for concurrent use.
type Truncator struct {
	max int
	err error

	state    tstate
	role     trole
	depth    int
	kinds    [maxNest]tkind
	bytesIn  int
	esc      int    // in a string: 0, 1 after '\', 2..5 hex digits of \u left + 1
	isKey    bool   // the string being read is a key
	keep     int    // bytes of the current string to keep (0: none)
	cur      []byte // the current string or number, up to keep bytes
	more     bool   // the current string had more than keep bytes
	lit      string // the literal being read
	litAt    int
	member   int // slot of the top-level member whose value comes (roleStr, roleNum)
	attrKey  []byte
	attrMore bool
	seq      int // attributes seen in the current Attributes

	members  [numSlots]tstr // by slot; Actor.ID in slotActorID
	hasActor bool
	hasAttrs bool
	kept     [len(keptAttrKeys)]tattr
	others   []tattr
	arena    []byte // keys and values of others
	budget   int    // output bytes others may still take when collected

	out   []byte
	check []byte
}

type tstate uint8

const (
	stValue      tstate = iota // a value comes
	stValueOrEnd               // after '[': a value or ']'
	stKeyOrEnd                 // after '{': a key or '}'
	stKey                      // after ',' in an object
	stColon                    // after a key
	stAfterValue               // ',' or the container's end
	stString
	stNumber
	stLiteral
	stDone // after the event object: only whitespace
)

type trole uint8

const (
	roleEvent trole = iota
	roleSkip
	roleStr // a string member of the event object (t.member)
	roleNum // time or timeNano (t.member)
	roleActor
	roleActorID
	roleAttrs
	roleAttrVal
)

type tkind uint8

const (
	kindEvent tkind = iota
	kindActor
	kindAttrs
	kindObj // skipped
	kindArr // skipped
)

// tstr is a string (or number) as read: its first bytes and whether more
// followed.
type tstr struct {
	raw  []byte
	more bool
	set  bool
}

// tattr is an attribute as read. Those of others keep their key and value
// in arena (keyOff, valOff, end) until Line points key and val at them.
type tattr struct {
	key, val            tstr
	keyOff, valOff, end int
	seq                 int
	set                 bool
}

// Reset starts a new line whose reduced form must take at most max bytes
// (at most MaxLineLen).
func (t *Truncator) Reset(max int) {
	max = min(max, MaxLineLen)
	*t = Truncator{
		max:     max,
		cur:     t.cur[:0],
		attrKey: t.attrKey[:0],
		members: t.members,
		kept:    t.kept,
		others:  t.others[:0],
		arena:   t.arena[:0],
		out:     t.out[:0],
		check:   t.check[:0],
		role:    roleEvent,
	}
	for i := range t.members {
		t.members[i] = tstr{raw: t.members[i].raw[:0]}
	}
	t.clearAttrs()
	t.budget = max
	if max < MinTruncateSize {
		t.err = ErrTooSmall
	}
}

func (t *Truncator) clearAttrs() {
	for i := range t.kept {
		t.kept[i] = tattr{key: tstr{raw: t.kept[i].key.raw[:0]}, val: tstr{raw: t.kept[i].val.raw[:0]}}
	}
	t.others = t.others[:0]
	t.arena = t.arena[:0]
	t.budget = t.max
	t.seq = 0
}

func (t *Truncator) fail(format string, args ...any) {
	if t.err == nil {
		t.err = fmt.Errorf("payload: not an event line (at byte %d): %s", t.bytesIn, fmt.Sprintf(format, args...))
	}
}

// Write reads the next piece of the line. Its error, once the line is
// known not to be an event, is also Line's; the rest may still be written
// (and is then ignored). It never fails otherwise.
func (t *Truncator) Write(p []byte) (int, error) {
	n := len(p)
	for i := 0; i < len(p) && t.err == nil; {
		c := p[i]
		switch t.state {
		case stString:
			i += t.inString(p[i:])
			continue
		case stNumber:
			if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
				if t.keep > 0 {
					if len(t.cur) >= t.keep {
						t.fail("%s out of range", slotNames[t.member])
						break
					}
					t.cur = append(t.cur, c)
				}
				i++
				t.bytesIn++
				continue
			}
			t.valueDone(false)
			continue // c is read again after the number
		case stLiteral:
			if c != t.lit[t.litAt] {
				t.fail("unexpected %q, want %s", c, t.lit)
				break
			}
			t.litAt++
			i++
			t.bytesIn++
			if t.litAt == len(t.lit) {
				t.literalDone()
			}
			continue
		}
		i++
		t.bytesIn++
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		switch t.state {
		case stValue, stValueOrEnd:
			if c == ']' && t.state == stValueOrEnd {
				t.pop()
				continue
			}
			t.value(c)
		case stKeyOrEnd, stKey:
			if c == '}' && t.state == stKeyOrEnd {
				t.pop()
				continue
			}
			if c != '"' {
				t.fail("unexpected %q, want a key", c)
				continue
			}
			t.startString(true)
		case stColon:
			if c != ':' {
				t.fail("unexpected %q, want ':'", c)
			}
			t.state = stValue
		case stAfterValue:
			obj := t.kinds[t.depth-1] != kindArr
			switch {
			case c == ',' && obj:
				t.state = stKey
			case c == ',':
				t.state, t.role = stValue, roleSkip
			case c == '}' && obj, c == ']' && !obj:
				t.pop()
			default:
				t.fail("unexpected %q after a value", c)
			}
		case stDone:
			t.fail("unexpected %q after the event object", c)
		}
	}
	return n, t.err
}

// value starts the value whose first byte is c, of role t.role.
func (t *Truncator) value(c byte) {
	switch c {
	case '{', '[':
		obj := c == '{'
		kind := kindArr
		switch {
		case t.role == roleEvent && obj:
			kind = kindEvent
		case t.role == roleActor && obj:
			kind = kindActor
			t.hasActor = true
			t.hasAttrs = false
			t.members[slotActorID] = tstr{raw: t.members[slotActorID].raw[:0]}
			t.clearAttrs()
		case t.role == roleAttrs && obj:
			kind = kindAttrs
			t.hasAttrs = true
			t.clearAttrs()
		case t.role == roleSkip:
			if obj {
				kind = kindObj
			}
		default:
			t.fail("unexpected %q for %s", c, t.what())
			return
		}
		if t.depth == maxNest {
			t.fail("nested deeper than %d", maxNest)
			return
		}
		t.kinds[t.depth] = kind
		t.depth++
		if obj {
			t.state = stKeyOrEnd
		} else {
			t.state, t.role = stValueOrEnd, roleSkip
		}
	case '"':
		switch t.role {
		case roleSkip, roleStr, roleActorID, roleAttrVal:
			t.startString(false)
		default:
			t.fail("unexpected string for %s", t.what())
		}
	case 't', 'f', 'n':
		switch c {
		case 't':
			t.lit = "true"
		case 'f':
			t.lit = "false"
		default:
			t.lit = "null"
		}
		t.litAt = 1
		t.state = stLiteral
	default:
		if c != '-' && (c < '0' || c > '9') {
			t.fail("unexpected %q, want a value", c)
			return
		}
		if t.role != roleSkip && t.role != roleNum {
			t.fail("unexpected number for %s", t.what())
			return
		}
		t.cur = append(t.cur[:0], c)
		t.keep = 0
		if t.role == roleNum {
			t.keep = 32 // longer is out of range (Build would refuse it)
		}
		t.state = stNumber
	}
}

// what names the value of the current role, for errors.
func (t *Truncator) what() string {
	switch t.role {
	case roleEvent:
		return "the event object"
	case roleStr, roleNum:
		return slotNames[t.member]
	case roleActor:
		return "Actor"
	case roleActorID:
		return "Actor.ID"
	case roleAttrs:
		return "Actor.Attributes"
	case roleAttrVal:
		return "an attribute value"
	}
	return "a value"
}

func (t *Truncator) literalDone() {
	if t.lit != "null" {
		if t.role != roleSkip {
			t.fail("unexpected %s for %s", t.lit, t.what())
			return
		}
		t.afterValue()
		return
	}
	switch t.role {
	case roleStr, roleNum, roleActorID:
		t.members[t.member] = tstr{raw: t.members[t.member].raw[:0]}
	case roleActor:
		t.hasActor, t.hasAttrs = false, false
		t.members[slotActorID] = tstr{raw: t.members[slotActorID].raw[:0]}
		t.clearAttrs()
	case roleAttrs:
		t.hasAttrs = false
		t.clearAttrs()
	case roleEvent, roleAttrVal:
		t.fail("unexpected null for %s", t.what())
		return
	}
	t.afterValue()
}

func (t *Truncator) startString(key bool) {
	t.state = stString
	t.isKey = key
	t.esc = 0
	t.more = false
	t.cur = t.cur[:0]
	t.keep = 0
	switch {
	case key && t.depth > 0 && t.kinds[t.depth-1] == kindAttrs:
		t.keep = capture
	case key && t.depth > 0 && (t.kinds[t.depth-1] == kindEvent || t.kinds[t.depth-1] == kindActor):
		t.keep = 65 // longer is no key known here
	case !key && t.role != roleSkip:
		t.keep = capture
	}
}

// inString reads string contents from p and returns how many bytes it
// took (up to and including the closing quote).
func (t *Truncator) inString(p []byte) int {
	i := 0
	for i < len(p) {
		c := p[i]
		if t.esc > 0 {
			switch {
			case t.esc == 1:
				switch c {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					t.esc = 0
				case 'u':
					t.esc = 5
				default:
					t.fail("invalid escape %q", c)
					return i
				}
			default:
				if _, ok := hex4([]byte{c, '0', '0', '0'}); !ok {
					t.fail("invalid \\u escape")
					return i
				}
				t.esc--
				if t.esc == 1 {
					t.esc = 0
				}
			}
			t.add(p[i : i+1])
			i++
			t.bytesIn++
			continue
		}
		// A run of bytes that need no look.
		j := i
		for {
			for j+8 <= len(p) && stopBytes(binary.LittleEndian.Uint64(p[j:])) == 0 {
				j += 8
			}
			if j < len(p) && (strClass[p[j]] == 0 || strClass[p[j]] == 4) {
				j++
				continue
			}
			break
		}
		if j > i {
			t.add(p[i:j])
			t.bytesIn += j - i
			i = j
			continue
		}
		t.bytesIn++
		i++
		switch strClass[c] {
		case 1:
			t.stringDone()
			return i
		case 2:
			t.esc = 1
			t.add(p[i-1 : i])
		default:
			t.fail("control character %#02x in string", c)
			return i
		}
	}
	return i
}

// add keeps the bytes b of the current string, up to t.keep.
func (t *Truncator) add(b []byte) {
	if room := t.keep - len(t.cur); room < len(b) {
		t.cur = append(t.cur, b[:max(room, 0)]...)
		t.more = true
		return
	}
	t.cur = append(t.cur, b...)
}

// stringDone ends a string: a key sets the role of its value, a value is
// stored by its role.
func (t *Truncator) stringDone() {
	if t.isKey {
		t.state = stColon
		kind := t.kinds[t.depth-1]
		if kind == kindAttrs {
			t.attrKey = append(t.attrKey[:0], t.cur...)
			t.attrMore = t.more
			t.role = roleAttrVal
			return
		}
		t.role = roleSkip
		if t.more || kind == kindObj {
			return
		}
		k := t.cur
		var buf [80]byte
		if bytes.IndexByte(k, '\\') >= 0 {
			k = appendUnescaped(buf[:0], k)
		}
		if kind == kindActor {
			switch string(k) {
			case "ID":
				t.role, t.member = roleActorID, slotActorID
			case "Attributes":
				t.role = roleAttrs
			}
			return
		}
		if string(k) == "Actor" {
			t.role = roleActor
		} else if sl, ok := topSlot(k); ok {
			t.role, t.member = roleStr, sl
			if sl == slotTime || sl == slotTimeNano {
				t.role = roleNum
			}
		}
		return
	}
	t.valueDone(true)
}

// valueDone stores a string or number value by its role.
func (t *Truncator) valueDone(str bool) {
	switch t.role {
	case roleStr, roleActorID, roleNum:
		m := &t.members[t.member]
		m.raw = append(m.raw[:0], t.cur...)
		m.more, m.set = t.more, true
	case roleAttrVal:
		t.attribute()
	}
	t.afterValue()
}

func (t *Truncator) afterValue() {
	if t.depth == 0 {
		t.state = stDone
		return
	}
	t.state = stAfterValue
}

func (t *Truncator) pop() {
	t.depth--
	t.afterValue()
}

// attribute stores the attribute just read: one of keptAttrKeys in its
// place (the last wins), another while the output may still hold it.
func (t *Truncator) attribute() {
	t.seq++
	if !t.attrMore {
		k := t.attrKey
		var buf [80]byte
		if len(k) <= 64 && bytes.IndexByte(k, '\\') >= 0 {
			k = appendUnescaped(buf[:0], k)
		}
		if i := slices.Index(keptAttrKeys[:], string(k)); i >= 0 {
			a := &t.kept[i]
			a.key.raw = append(a.key.raw[:0], t.attrKey...)
			a.val.raw = append(a.val.raw[:0], t.cur...)
			a.key.more, a.val.more = false, t.more
			a.seq, a.set = t.seq, true
			return
		}
	}
	cost := strCost(t.attrKey, t.attrMore, TruncatedValueLen) + strCost(t.cur, t.more, TruncatedValueLen) + 2
	if cost > t.budget {
		// Cannot fit even at the longest cut; smaller ones may still.
		return
	}
	t.budget -= cost
	a := tattr{keyOff: len(t.arena), seq: t.seq, set: true}
	a.key.more, a.val.more = t.attrMore, t.more
	t.arena = append(t.arena, t.attrKey...)
	a.valOff = len(t.arena)
	t.arena = append(t.arena, t.cur...)
	a.end = len(t.arena)
	t.others = append(t.others, a)
}

// cutAt returns the length of the longest prefix of raw, the contents of
// a JSON string as written, that is at most n bytes and ends between two
// characters (not inside an escape or a UTF-8 sequence).
func cutAt(raw []byte, n int) int {
	last := 0
	for i := 0; i < len(raw) && i <= n; {
		last = i
		c := raw[i]
		switch {
		case c == '\\' && i+1 < len(raw) && raw[i+1] == 'u':
			// A surrogate pair is one character: not cut in two.
			if r, ok := hex4(raw[i+2:]); ok && 0xd800 <= r && r < 0xdc00 && i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				if r2, ok := hex4(raw[i+8:]); ok && 0xdc00 <= r2 && r2 < 0xe000 {
					i += 6
				}
			}
			i += 6
		case c == '\\':
			i += 2
		case c < 0x80:
			i++
		default:
			i++
			for i < len(raw) && raw[i]&0xc0 == 0x80 {
				i++
			}
		}
		if i <= n {
			last = i
		}
	}
	return last
}

// strContents returns the contents to write for a string read as raw
// (more: it went on) cut to at most n bytes, and whether it is cut.
func strContents(raw []byte, more bool, n int) ([]byte, bool) {
	if !more && len(raw) <= n {
		return raw, false
	}
	return raw[:cutAt(raw, n-len(CutMarker))], true
}

// strCost is the length of a string read as raw, cut to n, with its
// quotes and marker.
func strCost(raw []byte, more bool, n int) int {
	s, cut := strContents(raw, more, n)
	if cut {
		return len(s) + len(CutMarker) + 2
	}
	return len(s) + 2
}

func appendStr(out, raw []byte, more bool, n int) []byte {
	s, cut := strContents(raw, more, n)
	out = append(out, '"')
	out = append(out, s...)
	if cut {
		out = append(out, CutMarker...)
	}
	return append(out, '"')
}

// Line returns the reduced line, at most the size given to Reset, or an
// error when what was written is not an event line. The line is valid
// until the next Reset.
func (t *Truncator) Line() ([]byte, error) {
	if t.err == nil && t.state != stDone {
		t.fail("unexpected end of line")
	}
	if t.err != nil {
		return nil, t.err
	}
	if !t.members[slotType].set {
		return nil, ErrMissingType
	}
	if !t.members[slotAction].set {
		return nil, ErrMissingAction
	}
	// The longest cut at which what is always kept fits.
	n := TruncatedValueLen
	for ; ; n /= 2 {
		if n < minTruncLen {
			return nil, fmt.Errorf("payload: the members always kept do not fit in %d bytes", t.max)
		}
		t.out = t.render(t.out[:0], n, nil)
		if len(t.out) <= t.max {
			break
		}
	}
	// Then the other attributes, in the line's order, as they fit:
	// chosen ones are moved to the front of others.
	room := t.max - len(t.out)
	chosen := 0
	for _, a := range t.others {
		a.key.raw = t.arena[a.keyOff:a.valOff]
		a.val.raw = t.arena[a.valOff:a.end]
		cost := strCost(a.key.raw, a.key.more, n) + strCost(a.val.raw, a.val.more, n) + 2 // ":" and ","
		if !t.hasAttrs || cost > room {
			continue
		}
		room -= cost
		t.others[chosen] = a
		chosen++
	}
	if chosen > 0 {
		t.out = t.render(t.out[:0], n, t.others[:chosen])
	}
	// What is written must be what Build takes: check it.
	var err error
	if t.check, _, err = Build(t.check[:0], "t", t.out); err != nil {
		return nil, err
	}
	if len(t.out) > t.max {
		return nil, errors.New("payload: reduced line longer than asked (a bug)")
	}
	return t.out, nil
}

// keptBySeq returns the kept attributes that are set, in the line's order.
func (t *Truncator) keptBySeq() []*tattr {
	var buf [len(keptAttrKeys)]*tattr
	all := buf[:0]
	for i := range t.kept {
		if t.kept[i].set {
			all = append(all, &t.kept[i])
		}
	}
	slices.SortFunc(all, func(a, b *tattr) int { return a.seq - b.seq })
	return all
}

// render writes the reduced line with strings cut to n and the kept
// attributes and extra ones (of others) in the line's order.
func (t *Truncator) render(out []byte, n int, extra []tattr) []byte {
	out = append(out, '{')
	first := true
	member := func(sl int, key string) {
		m := &t.members[sl]
		if !m.set {
			return
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, '"')
		out = append(out, key...)
		out = append(out, '"', ':')
		if sl == slotTime || sl == slotTimeNano {
			out = append(out, m.raw...)
			return
		}
		out = appendStr(out, m.raw, m.more, n)
	}
	member(slotStatus, "status")
	member(slotID, "id")
	member(slotFrom, "from")
	member(slotType, "Type")
	member(slotAction, "Action")
	if t.hasActor {
		out = append(out, `,"Actor":{`...)
		sep := false
		if m := &t.members[slotActorID]; m.set {
			out = append(out, `"ID":`...)
			out = appendStr(out, m.raw, m.more, n)
			sep = true
		}
		if t.hasAttrs {
			if sep {
				out = append(out, ',')
			}
			out = append(out, `"Attributes":{`...)
			// The kept attributes and extra (both in the line's order)
			// merged by seq.
			next := 0
			sep := false
			put := func(a *tattr) {
				if sep {
					out = append(out, ',')
				}
				sep = true
				out = appendStr(out, a.key.raw, a.key.more, n)
				out = append(out, ':')
				out = appendStr(out, a.val.raw, a.val.more, n)
			}
			for _, k := range t.keptBySeq() {
				for next < len(extra) && extra[next].seq < k.seq {
					put(&extra[next])
					next++
				}
				put(k)
			}
			for ; next < len(extra); next++ {
				put(&extra[next])
			}
			out = append(out, '}')
		}
		out = append(out, '}')
	}
	member(slotScope, "scope")
	member(slotTime, "time")
	member(slotTimeNano, "timeNano")
	return append(out, '}')
}
