// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"testing"

	"github.com/dockerfleet/dockerfleet/extract/payload"
)

func benchPayloads(b *testing.B) [][]byte {
	var ps [][]byte
	for _, f := range loadFixtures(b, "web-1") {
		p, _, err := payload.Build(nil, "web-1", f.line)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// benchOne parses each fixture payload in turn and extracts one field, as
// Falco does for an event when its rules need one field; ns/op is per event.
func benchOne(b *testing.B, name string) {
	ps := benchPayloads(b)
	req := &fakeRequest{id: fieldID(b, name), name: name}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev, err := payload.Parse(ps[i%len(ps)])
		if err != nil {
			b.Fatal(err)
		}
		if err := Extract(req, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseExtractType(b *testing.B)     { benchOne(b, "docker.type") }
func BenchmarkParseExtractExitCode(b *testing.B) { benchOne(b, "docker.attributes.exitcode") }

// BenchmarkExtractOne is a single extract call on an already parsed event
// (the plugin caches the parsed event per event number).
func BenchmarkExtractOne(b *testing.B) {
	ps := benchPayloads(b)
	ev, err := payload.Parse(ps[9]) // container die, 5 attributes
	if err != nil {
		b.Fatal(err)
	}
	req := &fakeRequest{id: fieldID(b, "docker.attributes.name"), name: "docker.attributes.name"}
	b.ReportAllocs()
	for b.Loop() {
		if err := Extract(req, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllFields parses each event once and extracts every field (the
// key field with a container label); ns/op is per event.
func BenchmarkAllFields(b *testing.B) {
	ps := benchPayloads(b)
	reqs := make([]*fakeRequest, len(Fields()))
	for i, f := range Fields() {
		reqs[i] = &fakeRequest{id: uint64(i), name: f.Name}
		if f.Arg.IsKey {
			reqs[i].arg, reqs[i].hasArg = "com.example.team", true
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev, err := payload.Parse(ps[i%len(ps)])
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range reqs {
			if err := Extract(r, &ev); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkString is event_to_string, per event.
func BenchmarkString(b *testing.B) {
	ps := benchPayloads(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev, err := payload.Parse(ps[i%len(ps)])
		if err != nil {
			b.Fatal(err)
		}
		_ = String(&ev)
	}
}
