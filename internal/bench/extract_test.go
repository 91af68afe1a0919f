// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/abihost"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// eventMix is the realistic mix of BenchmarkExtract: the Docker event lines
// of extract/payload/testdata (container lifecycle with labels, exec,
// kill/die, network, volume, image, daemon, swarm node/service/task events,
// engines old and new), without its plugin health event, plus the flood
// event of BenchmarkIngest.
func eventMix(tb testing.TB) [][]byte {
	tb.Helper()
	data, err := os.ReadFile("../../extract/payload/testdata/events.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if bytes.Contains(sc.Bytes(), []byte(`"Type":"dockerfleet"`)) {
			continue
		}
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil || len(lines) < 20 {
		tb.Fatalf("event mix: %d lines, %v", len(lines), err)
	}
	return append(lines, floodLine)
}

// singleFields are the fields of the single-field extraction benchmark: a
// fixed slot (type), the host label (header), a common attribute (name),
// an often absent one (exitcode) and a label by key.
var singleFields = []string{
	"docker.type", "docker.host", "docker.attributes.name",
	"docker.attributes.exitcode", "docker.attributes[com.example.team]",
}

// extractFloor keeps the ABI floor's ns per extract call of this run
// (async off and on), so that dockerfleet's figures are reported as ratios.
var extractFloor = struct {
	sync.Mutex
	ns map[bool]float64
}{ns: map[bool]float64{}}

// BenchmarkExtract measures extract_fields, one field per call as Falco
// calls it, on the events of one batch:
//
//   - floor: the ABI floor (a constant string), async off and on;
//   - dockerfleet/single/FIELD: one field per event, each call on the next
//     event of the mix (so every call parses its event's payload index, as
//     when the rules need one field of each event); x_floor is the ratio;
//   - dockerfleet/event: every field of an event (23 calls; the first
//     parses, the others hit the plugin's per-event cache), ns per event;
//   - naive/single/docker.type: the straightforward plugin.
func BenchmarkExtract(b *testing.B) {
	buildLibs(b)
	for _, async := range []bool{false, true} {
		b.Run(fmt.Sprintf("floor/%s", asyncName(async)), func(b *testing.B) {
			p, in := open(b, libs.floor, fmt.Sprintf(`{"floor":true,"async":%v,"payloadSize":%d}`, async, floodPayloadSize(b)), "")
			evts, err := in.ReadBatch(nil)
			if err != nil {
				b.Fatal(err)
			}
			ns := benchFields(b, in, requests(b, p, "test.msg"), evts, false)
			extractFloor.Lock()
			extractFloor.ns[async] = ns
			extractFloor.Unlock()
		})
	}
	for _, async := range []bool{false, true} {
		b.Run(fmt.Sprintf("dockerfleet/%s", asyncName(async)), func(b *testing.B) {
			srv := fakedocker.New("mix")
			defer srv.Close()
			// Without enrichment: the mix's containers are unknown to the
			// fake daemon, whose failed inspects would add health events.
			p, in := open(b, libs.fleet, fmt.Sprintf(`{"useAsync":%v,"enrich":{"containers":false,"execs":false,"images":false,"daemon":false}}`, async), unixFleet(b, srv, shortDir(b), 1))
			evts := mixBatch(b, srv, in)
			for _, f := range singleFields {
				b.Run("single/"+f, func(b *testing.B) {
					ns := benchFields(b, in, requests(b, p, f), evts, false)
					extractFloor.Lock()
					if fl := extractFloor.ns[async]; fl > 0 {
						b.ReportMetric(ns/fl, "x_floor")
					}
					extractFloor.Unlock()
				})
			}
			b.Run("event", func(b *testing.B) {
				benchFields(b, in, requests(b, p, allFields(p)...), evts, true)
			})
		})
	}
	b.Run("naive/single/docker.type", func(b *testing.B) {
		srv := fakedocker.New("mix")
		defer srv.Close()
		p, in := open(b, libs.naive, "", unixFleet(b, srv, shortDir(b), 1))
		evts := mixBatch(b, srv, in)
		ns := benchFields(b, in, requests(b, p, "docker.type"), evts, false)
		extractFloor.Lock()
		if fl := extractFloor.ns[false]; fl > 0 {
			b.ReportMetric(ns/fl, "x_floor")
		}
		extractFloor.Unlock()
	})
}

func asyncName(async bool) string {
	if async {
		return "async=on"
	}
	return "async=off"
}

// allFields is every field of p as a rule would name it (docker.attributes
// with a label key).
func allFields(p *abihost.Plugin) []string {
	var out []string
	for _, f := range p.Fields() {
		if f.Arg.IsRequired {
			out = append(out, f.Name+"[com.example.team]")
			continue
		}
		out = append(out, f.Name)
	}
	return out
}

// mixBatch publishes the event mix to the one host of in and returns it as
// one batch of next_batch (health events left out).
func mixBatch(b *testing.B, srv *fakedocker.Server, in *abihost.Instance) []abihost.Event {
	b.Helper()
	waitStreams(b, srv, 1)
	// Let the plugin's own stream_up event go first.
	time.Sleep(100 * time.Millisecond)
	if _, err := in.ReadBatch(nil); err != nil && !errors.Is(err, abihost.ErrTimeout) {
		b.Fatal(err)
	}
	mix := eventMix(b)
	for _, l := range mix {
		srv.PublishRaw(l)
	}
	time.Sleep(300 * time.Millisecond) // all of them waiting in the plugin
	evts, err := in.ReadBatch(nil)
	if err != nil {
		b.Fatal(err)
	}
	if len(evts) != len(mix) {
		b.Fatalf("one batch of %d events, want the %d of the mix", len(evts), len(mix))
	}
	return evts
}

// benchFields extracts reqs from evts and returns ns per extract call.
// perEvent makes one op one event (every field), else one op is one call
// of the single field, on the next event each time.
func benchFields(b *testing.B, in *abihost.Instance, reqs []abihost.FieldRequest, evts []abihost.Event, perEvent bool) float64 {
	b.Helper()
	x, err := in.NewExtractor(reqs)
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	// Warm up: the SDK's async worker sleeps after 1 ms without requests,
	// and first calls allocate the SDK's per-field buffers.
	for i := range 50_000 {
		if _, err := x.Extract(&evts[i%len(evts)], i%len(reqs)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	calls := 0
	for i := 0; i < b.N; i++ {
		ev := &evts[i%len(evts)]
		if perEvent {
			for f := range reqs {
				if _, err := x.Extract(ev, f); err != nil {
					b.Fatal(err)
				}
			}
			calls += len(reqs)
			continue
		}
		if _, err := x.Extract(ev, 0); err != nil {
			b.Fatal(err)
		}
		calls++
	}
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(calls)
	if perEvent {
		b.ReportMetric(ns, "ns/call")
	}
	return ns
}
