// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"strings"
	"testing"
)

// cString is what Falco reads of a value handed to SetValue: the SDK copies
// it into a C string, which ends at the first NUL.
func cString(v any) any {
	if b, ok := v.(bool); ok {
		return b
	}
	s := v.(string)
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// copyingRequest copies the value at SetValue, as the SDK does into C
// memory: the Extractor reuses what it hands over.
type copyingRequest struct{ *fakeRequest }

func (r copyingRequest) SetValue(v any) {
	if s, ok := cString(v).(string); ok {
		v = strings.Clone(s)
	}
	r.fakeRequest.SetValue(v)
}

// An Extractor gives, for every field of every fixture, in an order that
// makes values grow and shrink, exactly what Extract gives, as Falco reads
// it.
func TestExtractorMatchesExtract(t *testing.T) {
	fs := loadFixtures(t, "web-1")
	x := NewExtractor()
	for round := range 2 {
		for i := range fs {
			f := &fs[(i*7+round)%len(fs)]
			for id, e := range Fields() {
				want := &fakeRequest{id: uint64(id), name: e.Name}
				got := &fakeRequest{id: uint64(id), name: e.Name}
				if e.Arg.IsRequired {
					for _, r := range []*fakeRequest{want, got} {
						r.arg, r.hasArg = "com.example.team", true
					}
				}
				errWant := Extract(want, &f.ev)
				errGot := x.Extract(copyingRequest{got}, &f.ev)
				if (errWant == nil) != (errGot == nil) {
					t.Fatalf("%s: errors differ: %v / %v", e.Name, errWant, errGot)
				}
				if want.set != got.set {
					t.Fatalf("%s: set %d times, Extract %d", e.Name, got.set, want.set)
				}
				if got.set > 0 {
					if g, w := got.value, want.value; g != w {
						t.Errorf("fixture %d %s = %q, want %q", i, e.Name, g, w)
					}
				}
			}
		}
	}
}

func TestExtractorAllocatesNothing(t *testing.T) {
	fs := loadFixtures(t, "web-1")
	x := NewExtractor()
	req := &fakeRequest{id: fieldID(t, "docker.attributes.name"), name: "docker.attributes.name"}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if err := x.Extract(req, &fs[i%len(fs)].ev); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Extract", allocs)
	}
}
