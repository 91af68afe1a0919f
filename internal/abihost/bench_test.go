// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package abihost

import (
	"errors"
	"fmt"
	"testing"
)

// The ABI floor benchmarks of issue 4: the test plugin in floor mode
// (next_batch writes a fixed 64-byte payload, extract sets a constant)
// driven the way Falco drives a plugin, with the SDK's async extraction
// off and on. The counter mode is the same plugin doing a little work
// (reading and splitting its payload), for comparison.

func benchPlugin(b *testing.B, floor, async bool) (*Plugin, *Instance) {
	b.Helper()
	p := loadInit(b, fmt.Sprintf(`{"floor": %v, "async": %v}`, floor, async))
	in, err := p.Open("")
	if err != nil {
		b.Fatal(err)
	}
	return p, in
}

func asyncName(async bool) string {
	if async {
		return "async=on"
	}
	return "async=off"
}

// warmUp extracts for a while before timing starts. With async on, the
// SDK's worker goroutine sleeps 10 ms whenever it saw no request for 1 ms,
// so the first extractions after a pause (as after Open) wait for it: that
// start-up cost would otherwise dominate short runs. It is a real cost for a
// sparse stream and is reported separately, not averaged in here.
func warmUp(b *testing.B, x *Extractor, evts []Event) {
	b.Helper()
	for i := range 50_000 {
		if _, err := x.Extract(&evts[i%len(evts)], 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtract measures one extract_fields call for one field, on the
// events of one batch, as Falco calls it for each field a rule needs.
func BenchmarkExtract(b *testing.B) {
	for _, mode := range []string{"floor", "counter"} {
		for _, async := range []bool{false, true} {
			for _, field := range []string{"test.count", "test.msg"} {
				b.Run(mode+"/"+asyncName(async)+"/"+field, func(b *testing.B) {
					p, in := benchPlugin(b, mode == "floor", async)
					evts, err := in.ReadBatch(nil)
					if err != nil {
						b.Fatal(err)
					}
					x, err := in.NewExtractor(requests(b, p, field))
					if err != nil {
						b.Fatal(err)
					}
					defer x.Close()
					warmUp(b, x, evts)
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						if n, err := x.Extract(&evts[i], 0); err != nil || n != 1 {
							b.Fatal(n, err)
						}
						if i++; i == len(evts) {
							i = 0
						}
					}
				})
			}
		}
	}
}

// BenchmarkNextBatch measures events per second through next_batch (no
// copy of the payloads), alone and followed by one single-field extract per
// event. One benchmark op is one event.
func BenchmarkNextBatch(b *testing.B) {
	for _, extract := range []int{0, 1} {
		for _, async := range []bool{false, true} {
			b.Run(fmt.Sprintf("floor/%s/extracts=%d", asyncName(async), extract), func(b *testing.B) {
				p, in := benchPlugin(b, true, async)
				x, err := in.NewExtractor(requests(b, p, "test.count"))
				if err != nil {
					b.Fatal(err)
				}
				defer x.Close()
				buf := make([]Event, 0, testBatchSize)
				evts, err := in.ReadBatch(buf)
				if err != nil {
					b.Fatal(err)
				}
				warmUp(b, x, evts)
				b.ReportAllocs()
				b.ResetTimer()
				events := 0
				for events < b.N {
					evts, err := in.ReadBatch(buf)
					if err != nil && !errors.Is(err, ErrTimeout) {
						b.Fatal(err)
					}
					for i := range evts {
						for range extract {
							if _, err := x.Extract(&evts[i], 0); err != nil {
								b.Fatal(err)
							}
						}
					}
					events += len(evts)
				}
				b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
