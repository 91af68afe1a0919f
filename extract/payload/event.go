// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
)

// Event is a parsed payload. Its accessors read the JSON line through the
// index, without scanning it. Strings they return alias the payload given
// to Parse (no copy) unless they had to be unescaped: they are valid as
// long as that payload is not modified, so copy one that must outlive it.
type Event struct {
	host     string
	json     []byte
	slots    [numSlots]slot
	attrs    []byte // N entries of 16 bytes, bounds checked by Parse
	context  []byte
	timeNano int64
	hasTime  bool
	flags    uint16
}

// Parse checks a payload and returns its Event. Every offset of the index
// is checked against the bounds of the JSON line, so that a corrupt payload
// (from a capture file, say) gives an error here and never a panic or an
// out-of-range read later. It does not parse the JSON.
func Parse(p []byte) (Event, error) {
	var ev Event
	if len(p) < headerLen || string(p[:4]) != Magic {
		return ev, errors.New("payload: not a dockerfleet payload (bad magic)")
	}
	ev.flags = binary.LittleEndian.Uint16(p[4:])
	if ev.flags&^knownFlags != 0 {
		return ev, fmt.Errorf("payload: unknown flags %#04x", ev.flags&^knownFlags)
	}
	h := int(binary.LittleEndian.Uint16(p[6:]))
	if len(p) < headerLen+h+4 {
		return ev, fmt.Errorf("payload: truncated in the host label (%d bytes)", len(p))
	}
	ev.host = view(p[headerLen : headerLen+h])
	at := headerLen + h + 4
	c := int(binary.LittleEndian.Uint32(p[at-4:]))
	if c > MaxContextLen {
		return ev, fmt.Errorf("payload: context of %d bytes, more than %d", c, MaxContextLen)
	}
	if len(p)-at < c+4 {
		return ev, fmt.Errorf("payload: truncated in the context (%d bytes)", len(p))
	}
	if c > 0 {
		ev.context = p[at : at+c : at+c]
	}
	at += c + 4
	j := int(binary.LittleEndian.Uint32(p[at-4:]))
	if j > len(p)-at || len(p)-at-j < fixedIndex {
		return ev, fmt.Errorf("payload: truncated: JSON length %d does not fit in %d bytes", j, len(p))
	}
	ev.json = p[at : at+j]
	idx := p[at+j:]
	for i := range ev.slots {
		ev.slots[i] = slot{binary.LittleEndian.Uint32(idx[8*i:]), binary.LittleEndian.Uint32(idx[8*i+4:])}
	}
	ev.timeNano = int64(binary.LittleEndian.Uint64(idx[numSlots*8:]))
	n := int(binary.LittleEndian.Uint16(idx[numSlots*8+8:]))
	ev.attrs = idx[fixedIndex:]
	if len(ev.attrs) != n*attrLen {
		return Event{}, fmt.Errorf("payload: %d attribute entries need %d bytes, %d left", n, n*attrLen, len(ev.attrs))
	}
	// One tight pass over every offset; the detailed error is worked out
	// only when it fails.
	lim := uint64(j)
	ok := true
	for i, s := range ev.slots {
		n := s.n &^ EscapeFlag
		if s.off == 0 {
			ok = ok && s.n == 0
		} else {
			ok = ok && uint64(s.off)+uint64(n) <= lim && (i < slotTime || n == s.n)
		}
	}
	for a := ev.attrs; len(a) >= attrLen; a = a[attrLen:] {
		ko, kn := binary.LittleEndian.Uint32(a), binary.LittleEndian.Uint32(a[4:])&^EscapeFlag
		vo, vn := binary.LittleEndian.Uint32(a[8:]), binary.LittleEndian.Uint32(a[12:])&^EscapeFlag
		ok = ok && ko != 0 && vo != 0 && uint64(ko)+uint64(kn) <= lim && uint64(vo)+uint64(vn) <= lim
	}
	if !ok {
		return Event{}, ev.indexError()
	}
	if ev.slots[slotType].off == 0 {
		return Event{}, errors.New("payload: index has no Type")
	}
	if ev.slots[slotAction].off == 0 {
		return Event{}, errors.New("payload: index has no Action")
	}
	ev.hasTime = ev.slots[slotTime].off != 0 || ev.slots[slotTimeNano].off != 0
	if !ev.hasTime && ev.timeNano != 0 {
		return Event{}, errors.New("payload: a time without a time or timeNano in the line")
	}
	return ev, nil
}

// maxSeconds is the largest |time| whose nanoseconds fit in an int64.
const maxSeconds = (1<<63 - 1) / 1_000_000_000

// indexError names the first bad entry of an index Parse refused.
func (e *Event) indexError() error {
	j := len(e.json)
	for i, s := range e.slots {
		if err := checkSlot(s, j, i >= slotTime); err != nil {
			return fmt.Errorf("payload: index slot %s: %w", slotNames[i], err)
		}
	}
	for i := range e.NumAttrs() {
		k, v := e.attrSlots(i)
		if k.off == 0 || v.off == 0 {
			return fmt.Errorf("payload: attribute entry %d is empty", i)
		}
		if err := checkSlot(k, j, false); err != nil {
			return fmt.Errorf("payload: attribute entry %d key: %w", i, err)
		}
		if err := checkSlot(v, j, false); err != nil {
			return fmt.Errorf("payload: attribute entry %d value: %w", i, err)
		}
	}
	return errors.New("payload: bad index")
}

// checkSlot checks that a slot is absent (0, 0) or lies inside a JSON line
// of length j; number slots never carry the escape flag.
func checkSlot(s slot, j int, number bool) error {
	if s.off == 0 {
		if s.n != 0 {
			return fmt.Errorf("length %#x without an offset", s.n)
		}
		return nil
	}
	n := s.n &^ EscapeFlag
	if number && s.n != n {
		return errors.New("escape flag on a number")
	}
	if uint64(s.off)+uint64(n) > uint64(j) {
		return fmt.Errorf("[%d, +%d) outside the %d-byte line", s.off, n, j)
	}
	return nil
}

// str returns the contents of a string slot.
func (e *Event) str(s slot) string {
	raw := e.json[s.off : s.off+s.n&^EscapeFlag]
	if s.n&EscapeFlag != 0 {
		return string(appendUnescaped(make([]byte, 0, len(raw)), raw))
	}
	return view(raw)
}

// opt returns the contents of a slot and whether it was present.
func (e *Event) opt(i int) (string, bool) {
	s := e.slots[i]
	if s.off == 0 {
		return "", false
	}
	return e.str(s), true
}

// Host returns the label of the host the event came from.
func (e *Event) Host() string { return e.host }

// JSON returns the event line as the daemon sent it, or as a Truncator
// reduced it (Truncated). It aliases the payload.
func (e *Event) JSON() []byte { return e.json }

// Truncated reports whether the daemon's line was cut to fit: reduced by
// a Truncator, or holding more attributes than the index (MaxAttrs).
func (e *Event) Truncated() bool { return e.flags&FlagTruncated != 0 }

// Context returns the payload's enrichment context (Extra.Context), nil
// when it has none. It aliases the payload.
func (e *Event) Context() []byte { return e.context }

// Type returns the event's Type (container, image, ...). Every payload has
// one: Build refuses lines without it and Parse payloads without it.
func (e *Event) Type() string { return e.str(e.slots[slotType]) }

// Action returns the event's Action, with its suffix if Docker gave one
// ("exec_start: sh -c date").
func (e *Event) Action() string { return e.str(e.slots[slotAction]) }

// ActorID returns Actor.ID, if the line has one.
func (e *Event) ActorID() (string, bool) { return e.opt(slotActorID) }

// Scope returns scope ("local" or "swarm"), if the line has one.
func (e *Event) Scope() (string, bool) { return e.opt(slotScope) }

// deprecatedFields reports whether old engines set status and id for this
// event type. moby's daemon/events (Events.Log, up to API 1.51) filled status
// and id for container and image events, and from (the "image" attribute,
// omitted when empty) for container events only.
func (e *Event) deprecatedFields() (statusID, from bool) {
	switch e.Type() {
	case "container":
		return true, true
	case "image":
		return true, false
	}
	return false, false
}

// Status returns status as old engines sent it; for engines that no longer
// send it (API 1.52 on), the Action, for the types old engines set it for
// (container and image events).
func (e *Event) Status() (string, bool) {
	if v, ok := e.opt(slotStatus); ok {
		return v, true
	}
	if sid, _ := e.deprecatedFields(); sid {
		return e.Action(), true
	}
	return "", false
}

// ID returns id as old engines sent it; else Actor.ID for container and
// image events when it is not empty (old engines omitted an empty id).
func (e *Event) ID() (string, bool) {
	if v, ok := e.opt(slotID); ok {
		return v, true
	}
	if sid, _ := e.deprecatedFields(); sid {
		if v, ok := e.ActorID(); ok && v != "" {
			return v, true
		}
	}
	return "", false
}

// From returns from as old engines sent it; else the "image" attribute for
// container events when it is not empty (old engines omitted an empty from).
func (e *Event) From() (string, bool) {
	if v, ok := e.opt(slotFrom); ok {
		return v, true
	}
	if _, from := e.deprecatedFields(); from {
		if v, ok := e.Attr("image"); ok && v != "" {
			return v, true
		}
	}
	return "", false
}

// TimeNano returns timeNano, or time in nanoseconds when only time is
// present, and whether either was. Build stored it in the index, so that
// this costs no number parsing.
func (e *Event) TimeNano() (int64, bool) { return e.timeNano, e.hasTime }

// NumAttrs returns the number of Actor.Attributes entries.
func (e *Event) NumAttrs() int { return len(e.attrs) / attrLen }

// AttrAt returns the key and value of the i-th attribute entry, in the order
// of the line; i must be in [0, NumAttrs()).
func (e *Event) AttrAt(i int) (key, value string) {
	k, v := e.attrSlots(i)
	return e.str(k), e.str(v)
}

func (e *Event) attrSlots(i int) (k, v slot) {
	a := e.attrs[i*attrLen : i*attrLen+attrLen]
	return slot{binary.LittleEndian.Uint32(a), binary.LittleEndian.Uint32(a[4:])},
		slot{binary.LittleEndian.Uint32(a[8:]), binary.LittleEndian.Uint32(a[12:])}
}

// Attrs yields every attribute entry in the order of the line.
func (e *Event) Attrs() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for i := range e.NumAttrs() {
			if !yield(e.AttrAt(i)) {
				return
			}
		}
	}
}

// Attr returns the value of attribute key and whether it is present. If the
// key appears twice (Docker never does that) the last one wins, as in
// encoding/json.
func (e *Event) Attr(key string) (string, bool) {
	for i := len(e.attrs) - attrLen; i >= 0; i -= attrLen {
		a := e.attrs[i : i+attrLen]
		k := slot{binary.LittleEndian.Uint32(a), binary.LittleEndian.Uint32(a[4:])}
		// Lengths differ for almost every key: compare them first, and
		// leave escaped keys (never seen from Docker) to keyEquals.
		if k.n == uint32(len(key)) && k.n&EscapeFlag == 0 && string(e.json[k.off:k.off+k.n]) == key ||
			k.n&EscapeFlag != 0 && e.keyEquals(k, key) {
			return e.str(slot{binary.LittleEndian.Uint32(a[8:]), binary.LittleEndian.Uint32(a[12:])}), true
		}
	}
	return "", false
}

// keyEquals compares the contents of slot k with key without allocating.
func (e *Event) keyEquals(k slot, key string) bool {
	n := k.n &^ EscapeFlag
	raw := e.json[k.off : k.off+n]
	if k.n&EscapeFlag == 0 {
		return string(raw) == key
	}
	// Unescaping never makes a string longer.
	if int(n) < len(key) {
		return false
	}
	var buf [128]byte
	return string(appendUnescaped(buf[:0], raw)) == key
}
