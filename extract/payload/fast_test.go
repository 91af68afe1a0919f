// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"encoding/binary"
	"strings"
	"testing"
)

// TestKeyWords checks the key words of topKeyWord and actorKeyWord against
// the bytes they stand for.
func TestKeyWords(t *testing.T) {
	for _, c := range []struct {
		word, mask uint64
		text       string
	}{
		{wordStatus, ^uint64(0), `"status"`},
		{wordAction, ^uint64(0), `"Action"`},
		{wordTimeNan, ^uint64(0), `"timeNan`},
		{wordActor, ^uint64(0), `"Actor":`},
		{wordScope, ^uint64(0), `"scope":`},
		{wordFrom, low7, `"from":`},
		{wordType, low7, `"Type":`},
		{wordTime, low7, `"time":`},
		{wordID, low5, `"id":`},
		{wordActorID, low5, `"ID":`},
		{wordAttribu, ^uint64(0), `"Attribu`},
		{wordTes, low5, `tes":`},
		{wordONanoEnd, low3, `o":`},
	} {
		var b [8]byte
		copy(b[:], c.text)
		if got := binary.LittleEndian.Uint64(b[:]); got != c.word || c.word&^c.mask != 0 {
			t.Errorf("%s: word %#x, want %#x", c.text, c.word, got)
		}
	}
}

// TestBuildSameAsReferenceKeyWords compares Build with the reference on
// lines made to trip the key words (keys that share their first bytes with
// a known one, keys near the end of the line) and sameStr (Action and
// Actor.ID equal to, prefixes of, or longer than status and id; escaped and
// non-ASCII ones), and on every prefix of each.
func TestBuildSameAsReferenceKeyWords(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	lines := []string{
		`{"status":"start","Type":"a","Action":"start"}`,
		`{"status":"start","Type":"a","Action":"start","time":1}`,
		`{"status":"start","Type":"a","Action":"star"}`,
		`{"status":"start","Type":"a","Action":"starts"}`,
		`{"status":"start","Type":"a","Action":"start\"}`,
		`{"status":"st\"a","Type":"a","Action":"st\"a"}`,
		`{"status":"st\\a","Type":"a","Action":"st\\a","x":1}`,
		`{"status":"é€😀","Type":"a","Action":"é€😀","x":1}`,
		`{"status":"","Type":"a","Action":"","x":1}`,
		`{"status":"\u0000","Type":"a","Action":"\u0000","x":1}`,
		`{"status":null,"Type":"a","Action":"b","x":1}`,
		`{"status":"s","Type":"a","Action":"s","status":"t","Action":"s","x":1}`,
		`{"statusX":"s","Type":"a","Action":"s","x":1}`,
		`{"status" :"s","Type":"a","Action":"s","x":1}`,
		`{"Actionx":"s","Type":"a","Action":"s","Actio":"s","x":1}`,
		`{"timeNanO":1,"timeNano":2,"timeNan":3,"Type":"a","Action":"s","x":1}`,
		`{"Type":"a","Action":"s","timeNano":0,"time":123456789012345678}`,
		`{"Type":"a","Action":"s","timeNano":1,"time":-12345678901234567}`,
		`{"Type":"a","Action":"s","timeNano":1,"time":1234567890123456789}`,
		`{"Type":"a","Action":"s","timeNano":1,"time":9999999999999999999}`,
		`{"Type":"a","Action":"s","timeNano":1,"time":-9999999999999999999}`,
		`{"Type":"a","Action":"s","time":9223372036,"timeNano":0}`,
		`{"Type":"a","Action":"s","time":9223372037}`,
		`{"idx":"i","ids":"j","id":"k","Type":"a","Action":"s","x":1}`,
		`{"Typex":"a","Type":"a","Action":"s","fromage":"f","from":"g","Actors":{},"scope":"l","scopes":"m"}`,
		`{"id":"` + id + `","Type":"a","Action":"s","Actor":{"ID":"` + id + `","Attributes":{"k":"v"}},"time":1}`,
		`{"id":"` + id + `","Type":"a","Action":"s","Actor":{"ID":"` + id[1:] + `","Attributes":{"k":"v"}},"time":1}`,
		`{"id":"` + id + `","Type":"a","Action":"s","Actor":{"ID":"` + id + `x","Attributes":{"k":"v"}},"time":1}`,
		`{"id":"` + id[:60] + `\"","Type":"a","Action":"s","Actor":{"ID":"` + id[:60] + `\"","Attributes":{}},"time":1}`,
		`{"id":"x","Type":"a","Action":"s","Actor":{"ID":"x"}}`,
		`{"id":"x","Type":"a","Action":"s","Actor":{"ID":"x","ID":"y","IDs":"z","Attributes":{"k":"v"},"Attributesx":{}}}`,
		`{"id":"x","Type":"a","Action":"s","Actor":{"ID":null,"Attributes":{"k":"v"}},"time":1}`,
		`{"id":"x","Type":"a","Action":"s","Actor":{"Attributes":{"k":"v"},"Attributes":{}},"time":1}`,
		`{"id":"x","Type":"a","Action":"s","Actor":{"Attributes" :{"k":"v"}},"time":1}`,
		`{"Type":"a","Action":"s","Actor":{"ID":"x"},"Actor":{"ID":"y"},"time":1}`,
		`{"Type":"a","Action":"s","Actor":{"ID":"x"},"time":1}   `,
		`{"Type":"a","Action":"s","Actor":{"ID":"x"},"time":1}x`,
	}
	for _, l := range lines {
		for n := range len(l) + 1 {
			sameAsRef(t, []byte(l[:n]))
		}
	}
}
