// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// BenchmarkIngest measures events per second delivered by Events from n
// fake hosts flooding as fast as they can write; one op is one event.
func BenchmarkIngest(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			srv := fakedocker.New("flood")
			defer srv.Close()
			srv.Flood(true)
			eps := unixHosts(b, srv, b.TempDir(), "h", n)
			o := Options{PingInterval: -1}
			f, err := Start(context.Background(), eps, o)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			// Warm up: every host connected and flooding (a stream_up may
			// be dropped when the channel is full: look for any event).
			seen := map[string]bool{}
			for len(seen) < n {
				for _, ev := range (<-f.Batches()).Events {
					p, err := payload.Parse(ev.Payload)
					if err != nil {
						b.Fatal(err)
					}
					seen[p.Host()] = true
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			before := fleetTotals(f)
			for got := 0; got < b.N; {
				batch := <-f.Batches()
				got += len(batch.Events)
				f.Recycle(batch) // as the plugin does, having copied them
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			b.StopTimer()
			// What the readers built and dropped (a full channel): work
			// that delivered nothing.
			after := fleetTotals(f)
			if built := after.Delivered + after.Dropped - before.Delivered - before.Dropped; built > 0 {
				b.ReportMetric(100*float64(after.Dropped-before.Dropped)/float64(built), "%dropped")
			}
		})
	}
}

// fleetTotals sums the counters of every host.
func fleetTotals(f *Fleet) HostStats {
	var t HostStats
	for _, h := range f.Stats() {
		t.Delivered += h.Delivered
		t.Dropped += h.Dropped
	}
	return t
}

// BenchmarkRawRead is the reference: lines read off one flooding host's
// /events through the same kind of transport, with nothing done to them.
func BenchmarkRawRead(b *testing.B) {
	srv := fakedocker.New("flood")
	defer srv.Close()
	srv.Flood(true)
	eps := unixHosts(b, srv, b.TempDir(), "h", 1)
	cli, err := eps[0].NewClient()
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := eps[0].NewRequest(ctx, "1.41", http.MethodGet, "/events", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.URL.Path = "/events"
	resp, err := cli.HTTPClient().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, readBufferSize)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := br.ReadSlice('\n'); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkBurstyConsumer measures what the backpressure policy loses when
// a host sends bursts faster than the consumer reads: bursts of 1,000
// events every 100 ms into a 256-event channel, read in batches of 64 with 1 ms of
// work after each batch (about Falco's pace on a loaded machine). One op
// is one burst; it reports the share of events dropped by the plugin and
// the events the daemon skipped (must stay 0: a reader that waits too long
// makes dockerd drop events silently). wait=0 is the drop-at-once policy.
func BenchmarkBurstyConsumer(b *testing.B) {
	for _, wait := range []time.Duration{0, maxDeliverWait} {
		b.Run(fmt.Sprintf("wait=%v", wait), func(b *testing.B) {
			defer func(old time.Duration) { maxDeliverWait = old }(maxDeliverWait)
			maxDeliverWait = wait
			srv := fakedocker.New("burst")
			defer srv.Close()
			eps := unixHosts(b, srv, b.TempDir(), "h", 1)
			f, err := Start(context.Background(), eps, Options{Buffer: 256, PingInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			consumed := make(chan int)
			stop := make(chan struct{})
			go func() {
				n := 0
				defer func() { consumed <- n }()
				for {
					for read := 0; read < 64; {
						select {
						case batch := <-f.Batches():
							read += len(batch.Events)
							for _, ev := range batch.Events {
								if p, err := payload.Parse(ev.Payload); err == nil && p.Type() == "container" {
									n++
								}
							}
						case <-stop:
							return
						}
					}
					time.Sleep(time.Millisecond)
				}
			}()
			for !f.Stats()[0].Up {
				time.Sleep(time.Millisecond)
			}
			// 10,000 events/s on average, well within the consumer's
			// pace: only the bursts overwhelm it.
			const burst, burstEvery = 1000, 100 * time.Millisecond
			b.ResetTimer()
			published := uint64(0)
			for range b.N {
				next := time.Now().Add(burstEvery)
				for range burst {
					srv.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: "c0ffee"})
				}
				published += burst
				// Let the burst drain before the next one.
				deadline := time.Now().Add(10 * time.Second)
				for st := f.Stats()[0]; st.Delivered+st.Dropped < published-srv.Stats().SlowDrops; st = f.Stats()[0] {
					if time.Now().After(deadline) {
						b.Fatalf("burst not drained: %+v, %d published", st, published)
					}
					time.Sleep(time.Millisecond)
				}
				time.Sleep(time.Until(next))
			}
			b.StopTimer()
			st := f.Stats()[0]
			close(stop)
			<-consumed
			total := float64(st.Delivered + st.Dropped)
			b.ReportMetric(100*float64(st.Dropped)/total, "%dropped")
			b.ReportMetric(float64(srv.Stats().SlowDrops), "daemon-skipped")
		})
	}
}
