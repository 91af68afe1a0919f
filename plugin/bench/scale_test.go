// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/hosts/dockerd"
	"github.com/dockerfleet/dockerfleet/plugin/abihost"
	"github.com/dockerfleet/dockerfleet/stream"
)

// idleCPUWindow is how long the CPU of an idle fleet is measured: it spans
// a full liveness ping round (stream.DefaultPingInterval).
const idleCPUWindow = 35 * time.Second

// BenchmarkScale measures a fleet of idle hosts, each served by fake
// daemons in child processes so that only the plugin is in this process.
// One op is the whole measurement (ns/op is meaningless); the figures are
// metrics:
//
//   - KiB/host: growth of this process's VmRSS (/proc/self/status) from
//     the plugin initialised to the fleet connected and idle, per host;
//   - goroutines/host: the same endpoints watched in-process by package
//     stream (the .so's goroutines live in its own Go runtime, out of
//     reach), runtime.NumGoroutine growth per host;
//   - idle_cpu_%: process CPU time (getrusage) over idleCPUWindow while a
//     loop calls next_batch as Falco does, as a percentage of one core
//     (unix=1000 only);
//   - close_ms: plugin_close of the whole fleet.
func BenchmarkScale(b *testing.B) {
	buildLibs(b)
	for _, c := range []struct {
		name string
		n    int
		tls  bool
		cpu  bool
	}{
		{"unix=1000", 1000, false, true},
		{"unix=10000", 10000, false, false},
		{"tls=1000", 1000, true, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			if need := uint64(c.n + 2000); noFileLimit() < need { // the servers are in children
				b.Skipf("needs %d open files, limit %d", need, noFileLimit())
			}
			for range b.N {
				scaleOnce(b, c.n, c.tls, c.cpu)
			}
		})
	}
}

func scaleOnce(b *testing.B, n int, useTLS, cpu bool) {
	var certs *dockerd.Certs
	config, extra := "", ""
	if useTLS {
		var err error
		if certs, err = dockerd.GenerateCerts(shortDir(b)); err != nil {
			b.Fatal(err)
		}
		config = fmt.Sprintf(`{"tls":{"certDir":%q}}`, certs.Dir)
	}
	urls := childFleet(b, n, certs)
	params := openParams(urls, extra)

	p, err := abihost.Load(libs.fleet)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	if err := p.Init(config); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	before := vmRSS(b)
	in, err := p.Open(params)
	if err != nil {
		b.Fatal(err)
	}
	waitUp(b, in, n)
	time.Sleep(2 * time.Second) // let the connections settle
	after := vmRSS(b)
	b.ReportMetric(float64(after-before)/float64(n), "KiB/host")
	b.ReportMetric(float64(after-before)/1024, "MiB_fleet")

	if cpu {
		var stop atomic.Bool
		done := make(chan struct{})
		go func() { // Falco's loop on next_batch
			defer close(done)
			for !stop.Load() {
				if _, err := in.ReadBatch(nil); err != nil && !errors.Is(err, abihost.ErrTimeout) {
					return
				}
			}
		}()
		c0, t0 := cpuTime(), time.Now()
		time.Sleep(idleCPUWindow)
		c1, t1 := cpuTime(), time.Now()
		stop.Store(true)
		<-done
		b.ReportMetric(100*float64(c1-c0)/float64(t1.Sub(t0)), "idle_cpu_%")
	}

	start := time.Now()
	in.Close()
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "close_ms")

	b.ReportMetric(goroutinesPerHost(b, params, certs), "goroutines/host")
}

// waitUp reads events until n stream_up health events came.
func waitUp(tb testing.TB, in *abihost.Instance, n int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	up := 0
	for up < n {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d hosts up after 5 minutes", up, n)
		}
		evts, err := in.ReadBatch(nil)
		if err != nil && !errors.Is(err, abihost.ErrTimeout) {
			tb.Fatal(err)
		}
		for i := range evts {
			if ev, err := payload.Parse(evts[i].Payload); err == nil && ev.Type() == "dockerfleet" && ev.Action() == "stream_up" {
				up++
			}
		}
	}
}

// goroutinesPerHost watches the endpoints of params in-process with package
// stream and returns the goroutines added per host once all are up.
func goroutinesPerHost(b *testing.B, params string, certs *dockerd.Certs) float64 {
	var d hosts.Defaults
	if certs != nil {
		d.CertDir = certs.Dir
	}
	eps, err := hosts.Parse(params, d, os.Getenv)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	g0 := runtime.NumGoroutine()
	f, err := stream.Start(context.Background(), eps, stream.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	// Up is read from Stats, not from stream_up events: on 2 cores with
	// 10,000 hosts connecting at once in this process, some stream_up
	// events wait past their budget and are reported as lost instead.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		up := 0
		for _, st := range f.Stats() {
			if st.Up {
				up++
			}
		}
		if up == len(eps) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("in-process fleet: only %d of %d hosts up", up, len(eps))
		}
		drain := time.After(100 * time.Millisecond)
	draining:
		for {
			select {
			case batch := <-f.Batches():
				f.Recycle(batch)
			case <-drain:
				break draining
			}
		}
	}
	time.Sleep(time.Second)
	return float64(runtime.NumGoroutine()-g0) / float64(len(eps))
}

// vmRSS is this process's resident memory in KiB.
func vmRSS(tb testing.TB) int64 {
	tb.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kib
		}
	}
	tb.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// cpuTime is the user and system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
