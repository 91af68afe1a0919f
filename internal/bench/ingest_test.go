// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/abihost"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// ingestHosts are the fleet sizes of BenchmarkIngest.
var ingestHosts = []int{1, 10, 100, 1000}

// ingestRates keeps the events/s of each implementation of this run, by
// name and fleet size, so that later ones are reported as ratios too.
var ingestRates = struct {
	sync.Mutex
	m map[string]map[int]float64
}{m: map[string]map[int]float64{}}

// BenchmarkIngest measures events per second delivered by next_batch from
// n fake hosts flooding as fast as they can write (one op is one event):
//
//   - raw: the limit, lines read off the same sockets and dropped;
//   - indexed: the raw reader that also builds each line's payload
//     (payload.Build) where it reads it, and drops it: reading and
//     indexing alone, with no hand-over, no consumer and no ABI, which a
//     plugin that indexes each event on arrival adds (x_raw);
//   - copyonly: the plugin itself, built with the tag dockerfleet_copyonly
//     so that each line is copied into its payload and not indexed: what
//     reading lines and handing them to Falco costs without the index,
//     which bounds what any index can reach (x_raw);
//   - naive: the straightforward plugin (Docker client decode, JSON
//     re-encode);
//   - floor: the ABI floor, next_batch writing a fixed payload of the size
//     of a dockerfleet payload (no hosts at all);
//   - dockerfleet-bare: the plugin with enrichment off, the bare stream,
//     with ratios to raw, indexed, copyonly and naive;
//   - dockerfleet: the plugin as configured by default (enrichment on:
//     one container's events, its inspect answered once), with ratios to
//     raw and to the bare stream.
func BenchmarkIngest(b *testing.B) {
	buildLibs(b)
	b.Run("floor", func(b *testing.B) {
		_, in := open(b, libs.floor, fmt.Sprintf(`{"floor":true,"async":false,"payloadSize":%d}`, floodPayloadSize(b)), "")
		b.ReportAllocs()
		drainRate(b, in)
	})
	for _, n := range ingestHosts {
		if 3*n+100 > int(noFileLimit()) {
			b.Logf("hosts=%d: skipped, open files limit %d", n, noFileLimit())
			continue
		}
		b.Run(fmt.Sprintf("raw/hosts=%d", n), func(b *testing.B) {
			recordRate(b, "raw", n, rawReadIndexed(b, n, false))
		})
		b.Run(fmt.Sprintf("indexed/hosts=%d", n), func(b *testing.B) {
			recordRate(b, "indexed", n, rawReadIndexed(b, n, true), "raw")
		})
		b.Run(fmt.Sprintf("copyonly/hosts=%d", n), func(b *testing.B) {
			recordRate(b, "copyonly", n, floodRateConfig(b, libs.copyOnly, noEnrich, n), "raw")
		})
		b.Run(fmt.Sprintf("naive/hosts=%d", n), func(b *testing.B) {
			recordRate(b, "naive", n, floodRate(b, libs.naive, n))
		})
		b.Run(fmt.Sprintf("dockerfleet-bare/hosts=%d", n), func(b *testing.B) {
			recordRate(b, "dockerfleet-bare", n, floodRateConfig(b, libs.fleet, noEnrich, n), "raw", "indexed", "copyonly", "naive")
		})
		b.Run(fmt.Sprintf("dockerfleet/hosts=%d", n), func(b *testing.B) {
			recordRate(b, "dockerfleet", n, floodRate(b, libs.fleet, n), "raw", "dockerfleet-bare")
		})
	}
}

// recordRate keeps rate as the figure of name for n hosts, and reports its
// ratio to each of the references measured before it in this run, as
// x_<reference>.
func recordRate(b *testing.B, name string, n int, rate float64, references ...string) {
	ingestRates.Lock()
	defer ingestRates.Unlock()
	if ingestRates.m[name] == nil {
		ingestRates.m[name] = map[int]float64{}
	}
	ingestRates.m[name][n] = rate
	for _, ref := range references {
		if r := ingestRates.m[ref][n]; r > 0 {
			b.ReportMetric(rate/r, "x_"+ref)
		}
	}
}

// floodRate opens lib on n flooding hosts and returns the events/s that
// next_batch delivers once every host streams (drainRate).
func floodRate(b *testing.B, lib string, n int) float64 {
	b.Helper()
	return floodRateConfig(b, lib, "", n)
}

// noEnrich is the init_config that turns enrichment off (it is on by
// default): the bare event stream. withEnrich is the default, written out.
const (
	noEnrich   = `{"enrich":{"containers":false,"execs":false,"images":false,"daemon":false}}`
	withEnrich = `{"enrich":{"containers":true,"execs":true,"images":true,"daemon":true}}`
)

// floodRateConfig is floodRate with an init_config.
func floodRateConfig(b *testing.B, lib, config string, n int) float64 {
	b.Helper()
	srv, params := floodServer(b, n)
	defer srv.Close()
	_, in := open(b, lib, config, params)
	waitStreams(b, srv, n)
	waitEvents(b, in, 2000)
	b.ReportAllocs()
	return drainRate(b, in)
}

// floodServer is a fake daemon flooding n unix sockets, and its open_params.
func floodServer(b *testing.B, n int) (*fakedocker.Server, string) {
	b.Helper()
	srv := fakedocker.New("flood")
	srv.Flood(true)
	return srv, unixFleet(b, srv, shortDir(b), n)
}

// floodLine is one event as the flooding fake daemon writes it.
var floodLine = []byte(`{"status":"start","id":"3f4e8b2a9c1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f","from":"registry.example.com/team/web:1.4.2","Type":"container","Action":"start","Actor":{"ID":"3f4e8b2a9c1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f","Attributes":{"com.example.team":"payments","com.example.tier":"frontend","image":"registry.example.com/team/web:1.4.2","name":"web-7f9c","seq":"123456"}},"scope":"local","time":1700000000,"timeNano":1700000000123456789}`)

// floodPayloadSize is the size of dockerfleet's payload of a flood event.
func floodPayloadSize(tb testing.TB) int {
	p, _, err := payload.Build(nil, "h-0", floodLine)
	if err != nil {
		tb.Fatal(err)
	}
	return len(p)
}

// drainRate calls next_batch until b.N events came, timing only that, and
// reports events/s. The loop runs in C (abihost's Drain), on one thread,
// as Falco's event loop does: a Go loop around one cgo call per batch
// costs the benchmark's runtime a cgo transition per call and a P taken
// back by its sysmon whenever next_batch waits, which is the harness's CPU
// and not Falco's (docs/PERFORMANCE.md).
func drainRate(b *testing.B, in *abihost.Instance) float64 {
	b.Helper()
	b.ResetTimer()
	cpu0 := cpuTime()
	st, err := in.Drain(uint64(b.N))
	if err != nil {
		b.Fatal(err)
	}
	rate := float64(st.Events) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "events/s")
	if st.Calls > 0 {
		// How full Falco's batches came: next_batch's own cost is per call.
		b.ReportMetric(float64(st.Events)/float64(st.Calls), "events/call")
	}
	if st.Events > 0 {
		// Falco's thread: its CPU per event, and the share of the
		// elapsed time it ran.
		b.ReportMetric(float64(st.ThreadCPU)/float64(st.Events), "falco-ns/event")
		b.ReportMetric(100*st.ThreadCPU.Seconds()/b.Elapsed().Seconds(), "falco_busy_%")
	}
	reportCPU(b, cpu0, int(st.Events))
	return rate
}

// reportCPU reports the CPU time this process (fake daemons, plugin and
// the consuming loop together) spent per event since cpu0, as cpu-ns/event.
// Unlike events/s it hardly moves with the load of other processes, and it
// gives the CPU budget: on 2 cores, r events/s leave 2e9/r ns per event for
// everything.
func reportCPU(b *testing.B, cpu0 time.Duration, events int) {
	if events > 0 {
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(events), "cpu-ns/event")
	}
}

// waitEvents reads until n events came (warm-up: every stream flowing).
func waitEvents(tb testing.TB, in *abihost.Instance, n int) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	got := 0
	for got < n {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d warm-up events in 2 minutes", got, n)
		}
		evts, err := in.ReadBatch(nil)
		if err != nil && !errors.Is(err, abihost.ErrTimeout) {
			tb.Fatal(err)
		}
		got += len(evts)
	}
}

// waitStreams waits until srv serves n event streams: every host
// connected. (Health events cannot tell: under a flood, dockerfleet drops
// what does not fit its channel, its stream_up events included.)
func waitStreams(tb testing.TB, srv *fakedocker.Server, n int) {
	tb.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for srv.Stats().Streams < n {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d hosts streaming after 3 minutes", srv.Stats().Streams, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawReadIndexed is the raw read limit for n flooding hosts: one goroutine
// per host reads lines off GET /events through the same lean transport as
// dockerfleet's clients, and drops them. With index, each goroutine also
// builds every line's payload into a buffer of its own before it drops it.
// It reports events/s.
func rawReadIndexed(b *testing.B, n int, index bool) float64 {
	b.Helper()
	srv, params := floodServer(b, n)
	defer srv.Close()
	eps, err := hosts.Parse(params, hosts.Defaults{}, os.Getenv)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		srv.Close()
		wg.Wait()
	}()
	var count atomic.Int64
	var ready sync.WaitGroup
	ready.Add(n)
	for _, ep := range eps {
		cli, err := ep.NewClient()
		if err != nil {
			b.Fatal(err)
		}
		defer cli.Close()
		req, err := ep.NewRequest(ctx, "1.41", http.MethodGet, "/events", nil)
		if err != nil {
			b.Fatal(err)
		}
		req.URL.Path = "/events" // no version prefix: nothing negotiated
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := cli.HTTPClient().Do(req)
			ready.Done()
			if err != nil {
				return
			}
			defer resp.Body.Close()
			br := bufio.NewReaderSize(resp.Body, 64<<10)
			var out []byte
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if index {
					if out, _, err = payload.Build(out[:0], ep.Name, line[:len(line)-1]); err != nil {
						panic(fmt.Sprintf("indexed read: %v", err)) // a flood line is valid
					}
				}
				count.Add(1)
			}
		}()
	}
	ready.Wait()
	time.Sleep(200 * time.Millisecond) // every stream flowing
	b.ResetTimer()
	cpu0 := cpuTime()
	start := count.Load()
	for count.Load()-start < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	got := count.Load() - start
	rate := float64(got) / b.Elapsed().Seconds()
	b.StopTimer()
	b.ReportMetric(rate, "events/s")
	reportCPU(b, cpu0, int(got))
	return rate
}
