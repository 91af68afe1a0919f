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
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/abihost"
	"github.com/dockerfleet/dockerfleet/internal/dockerd"
	"github.com/dockerfleet/dockerfleet/stream"
)

// idleWindow is how long an idle fleet is watched once connected: memory
// is sampled across it. It spans a full liveness ping round
// (stream.DefaultPingInterval), whose allocations are part of what an idle
// host costs.
const idleWindow = 35 * time.Second

// memEvery is the interval between two memory samples.
const memEvery = time.Second

// BenchmarkScale measures a fleet of idle hosts, each served by fake
// daemons in child processes so that only the plugin is in this process.
// One op is the whole measurement (ns/op is meaningless); the figures are
// metrics:
//
//   - KiB/host: growth of this process's VmRSS (/proc/self/status) per
//     host, from the baseline (the plugin initialised: median of samples
//     over 3 s) to the median of one sample per memEvery over idleWindow
//     while a loop calls next_batch as Falco does, the window starting one
//     idleWindow after the last host came up, once the fleet's first ping
//     round is over (its garbage raises the plugin's heap goal, and RSS
//     stays up). The plugin's heap then grows from its live size towards
//     its GC goal over each ping round and drops at the next GC, and RSS
//     follows as the runtime keeps or returns the freed pages, so where a
//     run lands in that cycle moves the figure by about 10 KiB/host (a
//     single reading 2 s after the connect, as before, sat at the low end
//     of it): compare ranges of several runs. KiB/host_min and
//     KiB/host_max are the least and largest sample of the window; over
//     several ping rounds the band is wider. anon_KiB/host is the median
//     growth of RssAnon (heaps, stacks, C memory: no file-backed code
//     pages, which the first open pages in once). There is no warm-up open
//     and close before the baseline: the SDK frees the instance's C batch
//     (batchSize x maxEventSize, 8 MiB by default) at close, and glibc's
//     calloc then zeroes the reused chunks at the next open, which made the
//     whole batch resident in some runs and not in others. The batch is a
//     cost per instance, not per host, and is resident or not depending on
//     where glibc carves it: up to 8.5 KiB/host at 1,000 hosts;
//   - goroutines/host: the same endpoints watched in-process by package
//     stream (the .so's goroutines live in its own Go runtime, out of
//     reach), runtime.NumGoroutine growth per host;
//   - idle_cpu_%: process CPU time (getrusage) over idleWindow, as a
//     percentage of one core (unix=1000 only), measured over one ping
//     period after the memory window, while the benchmark does nothing
//     but Falco's loop on next_batch; idle_cpu_sampling_% is the same over the memory window,
//     which includes this process's own sampling (a forced collection and
//     a read of /proc every second);
//   - close_ms: plugin_close of the whole fleet.
//
// The case unix=1000,containers=100 measures instead what enrichment's
// cache of container summaries costs (cachedOnce).
//
// The plugin's Go runtime returns memory to the system on its own
// schedule, so the .so's heap is not returned between cases either: run
// each case in a process of its own (-bench 'Scale/unix=1000$') for
// figures that do not depend on the cases before it. This process's own
// garbage is freed (debug.FreeOSMemory) before every sample.
func BenchmarkScale(b *testing.B) {
	buildLibs(b)
	for _, c := range []struct {
		name       string
		n          int
		tls        bool
		cpu        bool
		containers int // > 0: cachedOnce with that many containers per host
	}{
		{"unix=1000", 1000, false, true, 0},
		{"unix=10000", 10000, false, false, 0},
		{"tls=1000", 1000, true, false, 0},
		// Not unix=1000/containers=100: -bench 'Scale/unix=1000$' would
		// run it too, as a sub-benchmark of unix=1000.
		{"unix=1000,containers=100", 1000, false, false, 100},
	} {
		b.Run(c.name, func(b *testing.B) {
			// The servers are in children; the inspects of a step of
			// cachedOnce may hold a connection each.
			if need := uint64(c.n*(1+min(c.containers, cachedStep)) + 2000); noFileLimit() < need {
				b.Skipf("needs %d open files, limit %d", need, noFileLimit())
			}
			for range b.N {
				if c.containers > 0 {
					cachedOnce(b, c.n, c.containers)
				} else {
					scaleOnce(b, c.n, c.tls, c.cpu)
				}
			}
		})
	}
}

func scaleOnce(b *testing.B, n int, useTLS, cpu bool) {
	var certs *dockerd.Certs
	config := ""
	if useTLS {
		var err error
		if certs, err = dockerd.GenerateCerts(shortDir(b)); err != nil {
			b.Fatal(err)
		}
		config = fmt.Sprintf(`{"tls":{"certDir":%q}}`, certs.Dir)
	}
	params := openParams(childFleet(b, n, certs), "")
	_, in, base := openIdleFleet(b, config, params, n)

	stop := drainInBackground(b, in)
	c0, t0 := cpuTime(), time.Now()
	idle := sampleMem(b, idleWindow, memEvery)
	c1, t1 := cpuTime(), time.Now()
	if cpu {
		// One whole liveness-ping period: the fleet's pings come in one
		// round per period, so the window holds exactly one round.
		time.Sleep(stream.DefaultPingInterval)
		c2, t2 := cpuTime(), time.Now()
		b.ReportMetric(100*float64(c2-c1)/float64(t2.Sub(t1)), "idle_cpu_%")
		b.ReportMetric(100*float64(c1-c0)/float64(t1.Sub(t0)), "idle_cpu_sampling_%")
	}
	stop()

	rss0, anon0 := median(base, memSample.rssKiB), median(base, memSample.anonKiB)
	perHost := func(kib int64) float64 { return float64(kib-rss0) / float64(n) }
	rss := median(idle, memSample.rssKiB)
	b.ReportMetric(perHost(rss), "KiB/host")
	b.ReportMetric(perHost(minOf(idle, memSample.rssKiB)), "KiB/host_min")
	b.ReportMetric(perHost(maxOf(idle, memSample.rssKiB)), "KiB/host_max")
	b.ReportMetric(float64(median(idle, memSample.anonKiB)-anon0)/float64(n), "anon_KiB/host")
	b.ReportMetric(float64(rss-rss0)/1024, "MiB_fleet")
	b.Logf("VmRSS KiB: baseline %d (%d..%d over %d samples), idle %d..%d over %d samples",
		rss0, minOf(base, memSample.rssKiB), maxOf(base, memSample.rssKiB), len(base),
		minOf(idle, memSample.rssKiB), maxOf(idle, memSample.rssKiB), len(idle))

	start := time.Now()
	in.Close()
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "close_ms")

	b.ReportMetric(goroutinesPerHost(b, params, certs), "goroutines/host")
}

// openIdleFleet loads the plugin with config, samples the process's memory
// (the baseline), opens params and returns once its n hosts are up and
// their first round of pings is over. The plugin closes with b; the
// instance is the caller's to close.
func openIdleFleet(b *testing.B, config, params string, n int) (*abihost.Plugin, *abihost.Instance, []memSample) {
	p, err := abihost.Load(libs.fleet)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	if err := p.Init(config); err != nil {
		b.Fatal(err)
	}
	base := sampleMem(b, 3*time.Second, 250*time.Millisecond)
	in, err := p.Open(params)
	if err != nil {
		b.Fatal(err)
	}
	waitUp(b, in, n)
	// The hosts connected together, so they ping together, one round after
	// the connect: wait that round out, or a window sampled next sees only
	// the quiet before the fleet's first pings (its allocations raise the
	// plugin's heap goal, and RSS with it, for good).
	if err := drainFor(in, idleWindow); err != nil {
		b.Fatalf("next_batch of the idle fleet: %v", err)
	}
	return p, in, base
}

// drainFor calls next_batch as Falco does for d, and returns its first
// failure.
func drainFor(in *abihost.Instance, d time.Duration) error {
	buf := make([]abihost.Event, 0, 1024)
	for end := time.Now().Add(d); time.Now().Before(end); {
		if _, err := in.ReadBatch(buf); err != nil && !errors.Is(err, abihost.ErrTimeout) {
			return err
		}
	}
	return nil
}

// waitUp reads events until n stream_up health events came.
func waitUp(tb testing.TB, in *abihost.Instance, n int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	up := 0
	other := map[string]int{} // the fleet's other health events, by action and reason: what went wrong
	for up < n {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d hosts up after 5 minutes; other health events: %v", up, n, other)
		}
		evts, err := in.ReadBatch(nil)
		if err != nil && !errors.Is(err, abihost.ErrTimeout) {
			tb.Fatal(err)
		}
		for i := range evts {
			ev, err := payload.Parse(evts[i].Payload)
			if err != nil || ev.Type() != "dockerfleet" {
				continue
			}
			if ev.Action() == "stream_up" {
				up++
				continue
			}
			reason, _ := ev.Attr("reason")
			other[ev.Action()+" "+reason]++
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
	waitFleetUp(b, f, len(eps))
	time.Sleep(time.Second)
	return float64(runtime.NumGoroutine()-g0) / float64(len(eps))
}

// waitFleetUp waits until the n hosts of the in-process fleet f are up,
// recycling its batches meanwhile.
func waitFleetUp(b *testing.B, f *stream.Fleet, n int) {
	b.Helper()
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
		if up == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("in-process fleet: only %d of %d hosts up", up, n)
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
}

// memSample is one reading of this process's memory, in KiB, from
// /proc/self/status.
type memSample struct {
	rss  int64 // VmRSS: every resident page
	anon int64 // RssAnon: resident anonymous pages (heaps, stacks), no file-backed ones
}

func (m memSample) rssKiB() int64  { return m.rss }
func (m memSample) anonKiB() int64 { return m.anon }

// sampleMem reads this process's memory every interval over window, after
// freeing this process's own Go garbage each time (the test's runtime, not
// the plugin's, which is out of reach).
func sampleMem(tb testing.TB, window, every time.Duration) []memSample {
	tb.Helper()
	var out []memSample
	for end := time.Now().Add(window); ; {
		debug.FreeOSMemory()
		out = append(out, readMem(tb))
		if time.Now().Add(every).After(end) {
			return out
		}
		time.Sleep(every)
	}
}

// readMem reads VmRSS and RssAnon of this process.
func readMem(tb testing.TB) memSample {
	tb.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var m memSample
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "RssAnon") {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "kB")), 10, 64)
		if err != nil {
			tb.Fatalf("/proc/self/status %s: %v", key, err)
		}
		if key == "VmRSS" {
			m.rss = kib
		} else {
			m.anon = kib
		}
		found++
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if found != 2 {
		tb.Fatal("/proc/self/status has no VmRSS or no RssAnon")
	}
	return m
}

// median is the median of f over samples (the upper one of an even count).
func median(samples []memSample, f func(memSample) int64) int64 {
	v := make([]int64, len(samples))
	for i, s := range samples {
		v[i] = f(s)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func minOf(samples []memSample, f func(memSample) int64) int64 {
	m := f(samples[0])
	for _, s := range samples[1:] {
		m = min(m, f(s))
	}
	return m
}

func maxOf(samples []memSample, f func(memSample) int64) int64 {
	m := f(samples[0])
	for _, s := range samples[1:] {
		m = max(m, f(s))
	}
	return m
}

// cpuTime is the user and system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
