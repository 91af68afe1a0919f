// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package bench

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/internal/abihost"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// latencyHosts is the fleet of BenchmarkLatency; every publish reaches all
// of them.
const latencyHosts = 10

// latencyWindow is how long latencies are sampled per rate.
const latencyWindow = 5 * time.Second

// BenchmarkLatency measures the time from the fake daemon stamping an event
// (its timeNano, taken right before writing it) to next_batch returning it,
// at low load and at 10,000 events/s across a fleet of latencyHosts. One op
// is the whole measurement; p50_ms and p99_ms are the figures.
func BenchmarkLatency(b *testing.B) {
	buildLibs(b)
	for _, rate := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("events_per_s=%d", rate), func(b *testing.B) {
			for range b.N {
				lat := measureLatency(b, rate)
				b.ReportMetric(ms(percentile(lat, 50)), "p50_ms")
				b.ReportMetric(ms(percentile(lat, 99)), "p99_ms")
				b.ReportMetric(ms(percentile(lat, 100)), "max_ms")
				b.ReportMetric(float64(len(lat)), "samples")
			}
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// percentile returns the p-th percentile (nearest rank) of sorted d.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(p/100*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// measureLatency publishes rate events/s (rate/latencyHosts publishes, each
// sent on every host) for latencyWindow and returns the sorted latencies.
func measureLatency(b *testing.B, rate int) []time.Duration {
	srv := fakedocker.New("latency")
	defer srv.Close()
	_, in := open(b, libs.fleet, "", unixFleet(b, srv, shortDir(b), latencyHosts))
	waitStreams(b, srv, latencyHosts)
	waitUp(b, in, latencyHosts)

	stop := pace(rate/latencyHosts, func(int) {
		srv.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: "c0ffee",
			Attributes: map[string]string{"image": "busybox", "name": "lat"}})
	})
	lat := make([]time.Duration, 0, rate*int(latencyWindow/time.Second)+1000)
	buf := make([]abihost.Event, 0, 1024)
	end := time.Now().Add(latencyWindow)
	for time.Now().Before(end) {
		evts, err := in.ReadBatch(buf)
		if err != nil && !errors.Is(err, abihost.ErrTimeout) {
			b.Fatal(err)
		}
		now := time.Now().UnixNano()
		for i := range evts {
			if p, err := payload.Parse(evts[i].Payload); err == nil && p.Type() == "dockerfleet" {
				continue
			}
			lat = append(lat, time.Duration(now-int64(evts[i].Timestamp)))
		}
	}
	stop()
	if len(lat) < rate*int(latencyWindow/time.Second)/2 {
		b.Fatalf("only %d events in %s at %d/s", len(lat), latencyWindow, rate)
	}
	slices.Sort(lat)
	return lat
}

// pace calls publish(0), publish(1), ... perSecond times a second, checking
// every millisecond what is due, until the returned stop is called (which
// returns once publish is no longer called).
func pace(perSecond int, publish func(i int)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		start := time.Now()
		sent := 0
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			due := int(time.Since(start).Seconds() * float64(perSecond))
			for ; sent < due; sent++ {
				publish(sent)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
