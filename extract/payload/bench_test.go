// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"encoding/json"
	"testing"
)

// BenchmarkBuild indexes the fixture lines in turn into a reused buffer, as
// a host's reader does; ns/op is per line.
func BenchmarkBuild(b *testing.B) {
	lines := fixtures(b)
	var size int
	for _, l := range lines {
		size += len(l)
	}
	buf := make([]byte, 0, 64<<10)
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var err error
		if buf, _, err = Build(buf[:0], "web-1", lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildFresh is BenchmarkBuild with a new buffer per line, as when
// every payload is handed over to another goroutine.
func BenchmarkBuildFresh(b *testing.B) {
	lines := fixtures(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, err := Build(nil, "web-1", lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeJSON is the reference point: decoding the same lines with
// encoding/json into a struct like events.Message.
func BenchmarkDecodeJSON(b *testing.B) {
	lines := fixtures(b)
	type message struct {
		Status, ID, From, Type, Action string
		Actor                          struct {
			ID         string
			Attributes map[string]string
		}
		Scope          string
		Time, TimeNano int64
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var m message
		if err := json.Unmarshal(lines[i%len(lines)], &m); err != nil {
			b.Fatal(err)
		}
	}
}

func builtPayloads(b *testing.B) [][]byte {
	var ps [][]byte
	for _, l := range fixtures(b) {
		p, _, err := Build(nil, "web-1", l)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// BenchmarkParse checks a payload's index, once per event in extract.
func BenchmarkParse(b *testing.B) {
	ps := builtPayloads(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(ps[i%len(ps)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAttr looks up an attribute near the end of a container event.
func BenchmarkAttr(b *testing.B) {
	ps := builtPayloads(b)
	ev, err := Parse(ps[3]) // container create, 4 attributes
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ev.Attr("com.example.team"); !ok {
			b.Fatal("missing")
		}
	}
}
