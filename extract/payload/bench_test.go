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

// floodLine is the line of the plugin's ingest benchmarks (floodLine in
// internal/bench/ingest_test.go), kept identical so that this benchmark
// measures the indexing share of the flood figure.
var floodLine = []byte(`{"status":"start","id":"3f4e8b2a9c1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f","from":"registry.example.com/team/web:1.4.2","Type":"container","Action":"start","Actor":{"ID":"3f4e8b2a9c1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f","Attributes":{"com.example.team":"payments","com.example.tier":"frontend","image":"registry.example.com/team/web:1.4.2","name":"web-7f9c","seq":"123456"}},"scope":"local","time":1700000000,"timeNano":1700000000123456789}`)

// BenchmarkBuildFlood indexes the plugin benchmarks' flood line over and
// over into a reused buffer, as the reader of a flooding host does.
func BenchmarkBuildFlood(b *testing.B) {
	buf := make([]byte, 0, 64<<10)
	b.SetBytes(int64(len(floodLine)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, _, err = Build(buf[:0], "h-0", floodLine); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildCopyOnly is the copy-only reference's Build (the payload
// without its index) on the flood line: the share of BenchmarkBuildFlood
// that is not indexing.
func BenchmarkBuildCopyOnly(b *testing.B) {
	buf := make([]byte, 0, 64<<10)
	b.SetBytes(int64(len(floodLine)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _, _ = CopyOnly(buf[:0], "h-0", floodLine, Extra{})
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
