// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"testing"
)

var badSeeds = []string{
	``, `{}`, `{"Type":"a"}`, `{"Type":"a","Action":"b","Actor":{"Attributes":{"k":"v","k":"w"}}}`,
	`{"Type":"a\ud800","Action":"\u0000","time":-9223372036,"timeNano":-9223372036854775808}`,
	`{"Type":"a","Action":"b","x":[[[[{"y":[1,{"z":null}]}]]]]}`,
	`{"Type":"a","Action":"b","Actor":null,"Actor":{"ID":"x"}}`,
}

// FuzzBuild: Build never panics, makes the same payload as the reference
// implementation (and the same error), and a line it accepts parses back
// with accessors that agree with encoding/json.
func FuzzBuild(f *testing.F) {
	for _, l := range fixtures(f) {
		f.Add(string(l))
	}
	for _, s := range badSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		sameAsRef(t, []byte(line))
		out, meta, err := Build(nil, "fuzz", []byte(line))
		if err != nil {
			if len(out) != 0 {
				t.Fatalf("failed Build returned %d bytes", len(out))
			}
			return
		}
		r, rerr := decodeRef([]byte(line))
		if rerr != nil {
			t.Fatalf("Build accepted a line encoding/json refuses (%v): %q", rerr, line)
		}
		ev, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse of a built payload: %v", err)
		}
		checkAgainstRef(t, &ev, meta, "fuzz", []byte(line), r)
	})
}

// FuzzParse: Parse never panics on any bytes, and the accessors of what it
// accepts never panic either.
func FuzzParse(f *testing.F) {
	for _, l := range fixtures(f) {
		p, _, err := Build(nil, "web-1", l)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Add([]byte(Magic))
	f.Add([]byte("DFv2\x00\x00\x01\x00h\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("DFv2\x01\x00\x01\x00h\x02\x00\x00\x00{}\x00\x00\x00\x00"))
	for _, l := range fixtures(f)[:3] {
		p, _, err := BuildExtra(nil, "web-1", l, Extra{Truncated: true, Context: []byte(`{"k8s":{"pod":"p"}}`)})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		if ev, err := Parse(p); err == nil {
			touch(&ev)
		}
	})
}
