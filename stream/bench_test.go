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
	"github.com/dockerfleet/dockerfleet/stream/fakedocker"
)

// BenchmarkIngest measures events per second delivered by Events from n
// fake hosts flooding as fast as they can write; one op is one event.
func BenchmarkIngest(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
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
				p, err := payload.Parse((<-f.Events()).Payload)
				if err != nil {
					b.Fatal(err)
				}
				seen[p.Host()] = true
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				<-f.Events()
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			b.StopTimer()
		})
	}
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
	req, err := eps[0].NewRequest(ctx, cli, http.MethodGet, "/events", nil)
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
