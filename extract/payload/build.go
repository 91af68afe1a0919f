// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Limits of Build. A line up to MaxLineLen is indexed in full whatever
// its strings' lengths: a label value or an exec command may legitimately
// be large, and a line the daemon sent must reach the rules (a longer one
// is first reduced by a Truncator).
const (
	// MaxLineLen is the longest JSON line accepted.
	MaxLineLen = 1 << 20
	// MaxHostLen is the longest host label accepted.
	MaxHostLen = 1024
	// MaxAttrs is the largest number of Actor.Attributes entries indexed,
	// what the index's count holds. A line with more keeps the first
	// ones and, past them, the attributes rules key on (name, image,
	// execID, exitCode, signal, oldName), and is marked truncated.
	MaxAttrs = 1<<16 - 1
	// MaxDepth is the deepest nesting of a skipped value (a member Build
	// does not index). Docker's events nest 3 deep and an attribute
	// value is a string: only an unknown member nests, and a line nested
	// deeper than this is not a Docker event but a stack-depth attack on
	// the scanner, refused.
	MaxDepth = 64
	// MaxContextLen is the longest Extra.Context.
	MaxContextLen = 16 << 10
)

// Magic starts every payload; its last character is the format version.
const Magic = "DFv2"

// Payload flags (the uint16 after the magic).
const (
	// FlagTruncated: the line was reduced to fit (see Truncator), or
	// holds more attributes than the index (MaxAttrs).
	FlagTruncated = 1 << 0
	// knownFlags are the flags this version defines; Parse refuses others.
	knownFlags = FlagTruncated
)

// keptAttrKeys are the attributes kept past MaxAttrs and by a Truncator
// whatever the room: what the rules and the string form key on.
var keptAttrKeys = [...]string{"name", "image", "execID", "exitCode", "signal", "oldName"}

// softAttrs is how many attributes are indexed before only keptAttrKeys
// are: room is left for each of them once.
const softAttrs = MaxAttrs - len(keptAttrKeys)

// keptAttr returns the index in keptAttrKeys of the key in slot k of line,
// or -1.
func keptAttr(line []byte, k slot) int {
	n := k.n &^ EscapeFlag
	if n > 64 {
		return -1
	}
	raw := line[k.off : k.off+n]
	if k.n&EscapeFlag != 0 {
		var buf [64]byte
		raw = appendUnescaped(buf[:0], raw)
	}
	for i, key := range keptAttrKeys {
		if string(raw) == key {
			return i
		}
	}
	return -1
}

// EscapeFlag is set on a string slot's length when the string holds
// backslash escapes.
const EscapeFlag = 1 << 31

// slotNames names the slots in errors, as the keys of the line.
var slotNames = [numSlots]string{"Type", "Action", "Actor.ID", "scope", "status", "id", "from", "time", "timeNano"}

// Slot numbers, in the order of the index.
const (
	slotType = iota
	slotAction
	slotActorID
	slotScope
	slotStatus
	slotID
	slotFrom
	slotTime
	slotTimeNano
	numSlots
)

const (
	headerLen  = 4 + 2 + 2          // magic, flags, host length
	fixedIndex = numSlots*8 + 8 + 2 // slots, TimeNano, attribute count
	attrLen    = 16
)

// ErrMissingType and ErrMissingAction report a line without its Type or
// Action (or with them null): such a line is not a Docker event.
var (
	ErrMissingType   = errors.New("payload: event line has no Type")
	ErrMissingAction = errors.New("payload: event line has no Action")
)

// Meta is what the reader of a host needs to know about an event without
// parsing its payload: the daemon's timestamp for resume and deduplication,
// and the type and action for counters and health events.
type Meta struct {
	// TimeNano is timeNano, or time*1e9 when timeNano is absent or 0, or
	// 0 when both are.
	TimeNano int64
	// Type and Action are unescaped copies, safe to keep: common values
	// are constant strings, so this costs no allocation on the hot path.
	Type, Action string
	// Truncated tells that the payload is flagged FlagTruncated.
	Truncated bool
	// ActorID is Actor.ID as it is in the line, a view of the line's
	// bytes (valid while they are), when it needs no unescaping; nil when
	// it is absent or escaped (Event.ActorID unescapes it).
	ActorID []byte
}

// Extra is what the plugin adds to a daemon's line in its payload.
type Extra struct {
	// Truncated: the line was reduced to fit (a Truncator's output).
	// Build also sets the flag when its own index limits were hit.
	Truncated bool
	// Context is opaque enrichment bytes (compact JSON written by the
	// stream's enricher), at most MaxContextLen; nil or empty for none.
	Context []byte
}

type slot struct{ off, n uint32 }

// builder holds the state of one Build call.
type builder struct {
	scanner
	slots     [numSlots]slot
	out       []byte // dst being built
	attrStart int    // offset in out of the first attribute entry
	nattrs    int
	// truncated: attributes past MaxAttrs were left out.
	truncated bool
	// keptAt is, per keptAttrKeys, the entry number of that key past
	// softAttrs (0: none yet), which a later one replaces.
	keptAt [len(keptAttrKeys)]int
	// masked tells that mask holds the quotes of a plain line (see
	// quoteMask). It lives in the builder, which stays on the stack.
	masked bool
	mask   [maskWords]uint32
}

// Build appends to dst the payload of one event line read from host, and
// returns the extended slice and the event's Meta. line is one JSON object
// as the Docker events API sends it (surrounding whitespace allowed); it is
// copied, so the caller may reuse it. On error dst is returned unchanged in
// length and the error names what is wrong and where.
//
// Build allocates nothing but the growth of dst (and, rarely, a Meta string
// for an unknown or escaped Type or Action). It is BuildExtra with no
// Extra.
func Build(dst []byte, host string, line []byte) ([]byte, Meta, error) {
	return BuildExtra(dst, host, line, Extra{})
}

// BuildExtra is Build with what the plugin adds to the line: the truncated
// flag and an enrichment context, stored in the payload as they are.
func BuildExtra(dst []byte, host string, line []byte, x Extra) ([]byte, Meta, error) {
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
	b := builder{scanner: scanner{b: line}}
	start := len(dst)
	out := appendUnindexed(dst, host, x.Context, line)
	indexAt := len(out) - fixedIndex
	b.out = out
	b.attrStart = len(out)

	var meta Meta
	var err error
	if haveQuoteMask && len(line) >= minMaskLine && len(line) <= maxMaskLine {
		// Only the fast path reads the mask; event() scans on its own.
		b.masked = quoteMask(line, &b.mask)
	}
	if b.fastEvent() {
		meta, err = b.finish()
	} else {
		// Start over with the scanner that takes any JSON and names what
		// is wrong.
		b.slots = [numSlots]slot{}
		b.out = b.out[:b.attrStart]
		b.nattrs = 0
		b.i = 0
		meta, err = b.event()
	}
	if err != nil {
		return dst, Meta{}, err
	}
	out = b.out
	if x.Truncated || b.truncated {
		meta.Truncated = true
		out[start+4] = FlagTruncated
	}
	// One 8-byte store per slot (offset, then length, little endian) into
	// a slice of the index's fixed size, which the compiler checks once.
	idx := out[indexAt : indexAt+fixedIndex]
	for i, s := range b.slots {
		binary.LittleEndian.PutUint64(idx[8*i:8*i+8], uint64(s.off)|uint64(s.n)<<32)
	}
	binary.LittleEndian.PutUint64(idx[numSlots*8:numSlots*8+8], uint64(meta.TimeNano))
	binary.LittleEndian.PutUint16(idx[numSlots*8+8:], uint16(b.nattrs))
	return out, meta, nil
}

// SizeHint returns the room Build makes in dst, in one step, for a line of
// lineLen bytes from a host label of hostLen bytes. A dst with that much
// spare capacity is built in place, unless the line holds more than one
// attribute per 32 bytes (Docker's are about 40 bytes each), when Build
// grows it once more. SizeHintContext is the same for BuildExtra with a
// context of contextLen bytes.
func SizeHint(hostLen, lineLen int) int { return SizeHintContext(hostLen, 0, lineLen) }

// SizeHintContext is SizeHint for BuildExtra with an Extra.Context of
// contextLen bytes.
func SizeHintContext(hostLen, contextLen, lineLen int) int {
	// Attribute entries take 16 bytes each: lineLen/2 covers one per 32
	// bytes of line.
	return headerLen + hostLen + 4 + contextLen + 4 + lineLen + fixedIndex + lineLen/2
}

// MaxSize is the largest payload Build can make from a line of at most
// lineLen bytes and a host label of at most hostLen bytes: what a fixed-size
// buffer (a Falco batch slot) must hold so that no accepted event can fail
// to fit. Each attribute takes at least 6 bytes of the line ("":"" and a
// comma), and at most MaxAttrs are indexed.
func MaxSize(hostLen, lineLen int) int { return MaxSizeContext(hostLen, 0, lineLen) }

// MaxSizeContext is MaxSize for BuildExtra with an Extra.Context of at
// most contextLen bytes (MaxContextLen for any).
func MaxSizeContext(hostLen, contextLen, lineLen int) int {
	attrs := min(MaxAttrs, (lineLen+1)/6)
	return headerLen + hostLen + 4 + contextLen + 4 + lineLen + fixedIndex + attrs*attrLen
}

// grow makes room for n more bytes in one step, so that a fresh dst is
// allocated once per payload.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

// event scans the whole line and fills the slots and attribute entries.
func (b *builder) event() (Meta, error) {
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
	return b.finish()
}

// finish checks the slots of a scanned line and works out its Meta.
func (b *builder) finish() (Meta, error) {
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
		meta.ActorID = b.b[id.off : id.off+id.n : id.off+id.n]
	}
	if tn := b.slots[slotTimeNano]; tn.off != 0 {
		v, ok := parseInt(b.b[tn.off : tn.off+tn.n])
		if !ok {
			return Meta{}, fmt.Errorf("payload: timeNano %q out of range", b.b[tn.off:tn.off+tn.n])
		}
		meta.TimeNano = v
	}
	// A timeNano of 0 counts as absent, as for the docker CLI (and the
	// daemon, whose omitempty never sends one).
	if t := b.slots[slotTime]; t.off != 0 {
		if meta.TimeNano != 0 && t.n <= 18 {
			// Only checked to fit an int64, which up to 18 characters
			// (digits and a sign) it does: skip the conversion.
			return meta, nil
		}
		v, ok := parseInt(b.b[t.off : t.off+t.n])
		if !ok || (meta.TimeNano == 0 && (v > maxSeconds || v < -maxSeconds)) {
			return Meta{}, fmt.Errorf("payload: time %q out of range", b.b[t.off:t.off+t.n])
		}
		if meta.TimeNano == 0 {
			meta.TimeNano = v * 1e9
		}
	}
	return meta, nil
}

// topSlot maps the members of the event object that are indexed to their
// slots; Actor is handled apart.
func topSlot(key []byte) (int, bool) {
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
func (b *builder) key(buf []byte) ([]byte, error) {
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
func (b *builder) member() error {
	var buf [64]byte
	k, err := b.key(buf[:])
	if err != nil {
		return err
	}
	if string(k) == "Actor" {
		return b.actor()
	}
	sl, ok := topSlot(k)
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
func (b *builder) indexedString() (slot, error) {
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
func (b *builder) actor() error {
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
func (b *builder) attributes() error {
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
		if b.nattrs < softAttrs {
			b.appendAttr(k, v)
		} else {
			b.pastSoft(k, v)
		}
		more, err := b.more('}')
		if err != nil || !more {
			return err
		}
	}
}

// resetAttrs drops the attribute entries (a second Actor or Attributes
// replaces the first).
func (b *builder) resetAttrs() {
	b.out = b.out[:b.attrStart]
	b.nattrs = 0
	b.truncated = false
	b.keptAt = [len(keptAttrKeys)]int{}
}

// pastSoft handles an attribute past softAttrs: one of keptAttrKeys takes
// an entry of its own (a repeated one replaces its entry: lookups return
// the last one anyway), any other is left out. Either way the payload is
// flagged truncated.
func (b *builder) pastSoft(k, v slot) {
	b.truncated = true
	i := keptAttr(b.b, k)
	if i < 0 {
		return
	}
	if at := b.keptAt[i]; at != 0 {
		e := b.out[b.attrStart+at*attrLen : b.attrStart+at*attrLen+attrLen]
		binary.LittleEndian.PutUint64(e[0:8], uint64(k.off)|uint64(k.n)<<32)
		binary.LittleEndian.PutUint64(e[8:16], uint64(v.off)|uint64(v.n)<<32)
		return
	}
	b.keptAt[i] = b.nattrs
	b.appendAttr(k, v)
}

// appendAttr appends one attribute entry: one capacity check and one
// 16-byte store instead of four appends.
func (b *builder) appendAttr(k, v slot) {
	out := b.out
	if cap(out)-len(out) < attrLen {
		out = grow(out, attrLen*(b.nattrs+1))
	}
	n := len(out)
	out = out[:n+attrLen]
	e := out[n : n+attrLen]
	binary.LittleEndian.PutUint64(e[0:8], uint64(k.off)|uint64(k.n)<<32)
	binary.LittleEndian.PutUint64(e[8:16], uint64(v.off)|uint64(v.n)<<32)
	b.out = out
	b.nattrs++
}

// appendUnindexed appends to dst, grown once for the whole payload, a
// payload of line whose flags and fixed index are all zeros and which has
// no attribute entry: Build fills the index in. CopyOnly makes no more.
func appendUnindexed(dst []byte, host string, context, line []byte) []byte {
	out := grow(dst, SizeHintContext(len(host), len(context), len(line)))
	out = append(out, Magic...)
	out = append(out, 0, 0) // flags
	out = binary.LittleEndian.AppendUint16(out, uint16(len(host)))
	out = append(out, host...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(context)))
	out = append(out, context...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(line)))
	out = append(out, line...)
	return append(out, make([]byte, fixedIndex)...)
}
