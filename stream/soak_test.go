// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build soak

package stream

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"
	"unsafe"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// soakRoom is the headroom of the soak's fleet: the plugin's header size.
const soakRoom = 38

// soakFrame writes, in the room before ev's payload, its length and then
// the payload's first bytes: soakFramed reads them back.
func soakFrame(room []byte, ev Event) {
	room[0], room[1] = byte(len(ev.Payload)), byte(len(ev.Payload)>>8)
	copy(room[2:], ev.Payload)
}

// soakFramed reports whether the room before ev's payload still holds
// what soakFrame wrote: nothing else wrote over it.
func soakFramed(ev Event) bool {
	room := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(ev.Payload)), -soakRoom)), soakRoom)
	n := min(len(ev.Payload), soakRoom-2)
	return room[0] == byte(len(ev.Payload)) && room[1] == byte(len(ev.Payload)>>8) && string(room[2:2+n]) == string(ev.Payload[:n])
}

var soakDuration = flag.Duration("soak.duration", 0, "how long TestSoak injects faults (default $DOCKERFLEET_SOAK_DURATION, else 3m)")

const (
	soakHosts = 50
	// soakMaxRate bounds a host's steady rate (events/s), so that a stall
	// of at most soakMaxStall never fills the daemon's 1,024-event
	// subscriber queue: past it a daemon skips events silently, which no
	// client can see (the soak asserts it never happens).
	soakMaxRate  = 40
	soakMaxStall = 2 * time.Second
	// soakSettle is how long after its end a fault is blamed for what
	// happens to an event.
	soakSettle = 3 * time.Second
)

// Fault kinds, in the order of the report.
var soakKinds = []string{"none", "drop", "stall", "restart", "restart-new-id", "hang", "burst", "garbage", "consumer-pause"}

// fault is one fault injected, in the daemon's clock (Unix ns).
type fault struct {
	kind       string
	start, end int64
}

// soakHost is one fake daemon of the soak and what was done to it.
type soakHost struct {
	name string
	srv  *fakedocker.Server

	mu      sync.Mutex
	times   []int64 // timeNano of seq i+1
	faults  []fault
	garbage int
	busy    bool // a stall or hang is in progress: no second one, no burst
}

func (h *soakHost) publish(n int) {
	for range n {
		// Under h.mu: the publisher and a burst publish at once, and
		// their sequence numbers must be recorded in the server's order.
		h.mu.Lock()
		seq, ts := h.srv.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: h.name, Attributes: map[string]string{"image": "soak"}})
		if int(seq) != len(h.times)+1 {
			panic(fmt.Sprintf("%s: seq %d after %d", h.name, seq, len(h.times)))
		}
		h.times = append(h.times, ts)
		h.mu.Unlock()
	}
}

func (h *soakHost) record(kind string, start int64) {
	h.mu.Lock()
	h.faults = append(h.faults, fault{kind, start, time.Now().UnixNano()})
	h.mu.Unlock()
}

// soakLoss is one events_lost report.
type soakLoss struct {
	reason      string
	from, until int64
	count       int // -1: unknown
}

// soakSink is what the consumer saw of one host.
type soakSink struct {
	delivered map[int]int // seq -> times delivered
	losses    []soakLoss
	health    map[string]int
}

// TestSoak runs a fleet of fake daemons publishing sequence-numbered
// events under random faults, then accounts for every event published:
// delivered once, duplicated, lost and reported (inside an events_lost
// window of its host, or covered by a backpressure count), or lost and not
// reported. It fails on any duplicate or unreported loss.
func TestSoak(t *testing.T) {
	duration := soakDurationValue(t)
	t.Logf("soak: %d hosts for %v", soakHosts, duration)
	dir := t.TempDir()
	hostList := make([]*soakHost, soakHosts)
	eps := make([]hosts.Endpoint, soakHosts)
	for i := range hostList {
		name := fmt.Sprintf("soak-%02d", i)
		h := &soakHost{name: name, srv: fakedocker.New(name)}
		defer h.srv.Close()
		path := filepath.Join(dir, name+".sock")
		url, err := h.srv.ListenUnix(path)
		if err != nil {
			t.Fatal(err)
		}
		hostList[i], eps[i] = h, unixEndpoint(name, url, path)
	}
	o := Options{
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		CallTimeout: time.Second, PingInterval: time.Second, StillDownInterval: 2 * time.Second,
		Buffer: 512,
		// As the plugin runs the fleet: a header framed before each
		// payload built in a batch, and every batch recycled once read.
		Headroom: soakRoom, Frame: soakFrame,
	}
	f, err := Start(context.Background(), eps, o)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// The consumer, which pauses when told to.
	sinks := map[string]*soakSink{}
	for _, h := range hostList {
		sinks[h.name] = &soakSink{delivered: map[int]int{}, health: map[string]int{}}
	}
	var pauseUntil atomic.Int64
	var sinkMu sync.Mutex
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for b := range f.Batches() {
			for _, ev := range b.Events {
				for time.Now().UnixNano() < pauseUntil.Load() {
					time.Sleep(10 * time.Millisecond)
				}
				if ev.Framed && !soakFramed(ev) {
					t.Errorf("a framed payload's room does not hold what Frame wrote for it")
				}
				p, err := payload.Parse(ev.Payload)
				if err != nil {
					t.Errorf("payload: %v", err)
					continue
				}
				sinkMu.Lock()
				s := sinks[p.Host()]
				switch p.Type() {
				case HealthType:
					s.health[p.Action()]++
					if p.Action() == ActionEventsLost {
						s.losses = append(s.losses, parseLoss(t, &p))
					}
				default:
					seq, err := strconv.Atoi(attr(&p, "seq"))
					if err != nil {
						t.Errorf("%s: seq %q", p.Host(), attr(&p, "seq"))
					}
					s.delivered[seq]++
				}
				sinkMu.Unlock()
			}
			f.Recycle(b)
		}
	}()

	// Publishers and fault injectors, until the end of the soak.
	ctx, stop := context.WithTimeout(context.Background(), duration)
	defer stop()
	var wg sync.WaitGroup
	var pauses []fault
	var pausesMu sync.Mutex
	for i, h := range hostList {
		rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
		wg.Go(func() { soakPublisher(ctx, h, rng) })
	}
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(99, uint64(time.Now().UnixNano())))
		for sleepCtx(ctx, time.Duration(200+rng.IntN(300))*time.Millisecond) {
			h := hostList[rng.IntN(len(hostList))]
			kind := soakKinds[1+rng.IntN(len(soakKinds)-1)]
			if kind == "consumer-pause" {
				start := time.Now()
				d := time.Duration(300+rng.IntN(1200)) * time.Millisecond
				pauseUntil.Store(start.Add(d).UnixNano())
				pausesMu.Lock()
				pauses = append(pauses, fault{kind, start.UnixNano(), start.Add(d).UnixNano()})
				pausesMu.Unlock()
				continue
			}
			wg.Go(func() { soakFault(ctx, h, kind, rng.Int64()) })
		}
	})
	wg.Wait()

	// Settle: every host back, a last event each, and the losses flushed.
	for _, h := range hostList {
		h.srv.Stall(false)
		h.srv.Hang(false)
	}
	pauseUntil.Store(0)
	settle := time.Now().Add(60 * time.Second)
	for {
		all := true
		for _, st := range f.Stats() {
			all = all && st.Up
		}
		if all {
			break
		}
		if time.Now().After(settle) {
			t.Fatalf("hosts not all up a minute after the soak: %+v", f.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The backlog of the last consumer pause drains first: a last event
	// published into a full channel would be dropped (and reported).
	for len(f.Batches()) > 0 {
		if time.Now().After(settle) {
			t.Fatal("the consumer did not drain the backlog within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, h := range hostList {
		h.publish(1)
	}
	for {
		done := true
		sinkMu.Lock()
		for _, h := range hostList {
			h.mu.Lock()
			last := len(h.times)
			h.mu.Unlock()
			done = done && sinks[h.name].delivered[last] > 0
		}
		sinkMu.Unlock()
		if done {
			break
		}
		if time.Now().After(settle) {
			sinkMu.Lock()
			for i, h := range hostList {
				h.mu.Lock()
				if last := len(h.times); sinks[h.name].delivered[last] == 0 {
					t.Errorf("%s: last event %d missing; stats %+v; server %+v; losses %+v", h.name, last, f.Stats()[i], h.srv.Stats(), sinks[h.name].losses)
				}
				h.mu.Unlock()
			}
			sinkMu.Unlock()
			t.Fatal("the last event of every host did not arrive within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * o.PingInterval) // pending loss reports go out with pings
	stats := f.Stats()
	f.Close()
	<-consumed

	soakReport(t, hostList, sinks, pauses, stats)
}

func soakDurationValue(t *testing.T) time.Duration {
	if *soakDuration > 0 {
		return *soakDuration
	}
	if v := os.Getenv("DOCKERFLEET_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("DOCKERFLEET_SOAK_DURATION=%q: want a positive Go duration", v)
		}
		return d
	}
	return 3 * time.Minute
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// soakPublisher publishes at a random rate that changes every few
// seconds, and a burst now and then.
func soakPublisher(ctx context.Context, h *soakHost, rng *rand.Rand) {
	for ctx.Err() == nil {
		rate := 1 + rng.IntN(soakMaxRate)
		end := time.Now().Add(time.Duration(1+rng.IntN(5)) * time.Second)
		for time.Now().Before(end) && sleepCtx(ctx, time.Second/time.Duration(rate)) {
			h.publish(1)
		}
	}
}

// soakFault inflicts one fault on h.
func soakFault(ctx context.Context, h *soakHost, kind string, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	start := time.Now().UnixNano()
	switch kind {
	case "drop":
		h.srv.DropStreams()
	case "restart":
		h.srv.Restart(false) // as a real dockerd: same ID, history gone
	case "restart-new-id":
		h.srv.Restart(true)
	case "garbage":
		lines := [][]byte{[]byte("garbage"), []byte(`{"Type":"container","Action":`), []byte(`{"Action":"start"}`), []byte(strings.Repeat("x", 300<<10))}
		h.srv.PublishRaw(lines[rng.IntN(len(lines))])
		h.mu.Lock()
		h.garbage++
		h.mu.Unlock()
	case "burst", "stall", "hang":
		h.mu.Lock()
		busy := h.busy
		h.busy = h.busy || kind != "burst"
		h.mu.Unlock()
		if busy {
			return // one stall or hang at a time; no burst during one
		}
		switch kind {
		case "burst":
			h.publish(100 + rng.IntN(400)) // past 256: an overrun if the host is away
		case "stall":
			h.srv.Stall(true)
			sleepCtx(ctx, time.Duration(rng.Int64N(int64(soakMaxStall))))
			h.srv.Stall(false)
		case "hang": // a daemon that stops answering: pings time out
			h.srv.Hang(true)
			sleepCtx(ctx, time.Duration(500+rng.IntN(4000))*time.Millisecond)
			h.srv.Hang(false)
		}
		h.mu.Lock()
		h.busy = false
		h.mu.Unlock()
	}
	h.record(kind, start)
}

// attr is an attribute of p, "" when absent.
func attr(p *payload.Event, key string) string {
	v, _ := p.Attr(key)
	return v
}

func parseLoss(t *testing.T, p *payload.Event) soakLoss {
	from, err1 := time.Parse(time.RFC3339Nano, attr(p, AttrFrom))
	until, err2 := time.Parse(time.RFC3339Nano, attr(p, AttrUntil))
	if err1 != nil || err2 != nil {
		t.Errorf("events_lost of %s with from %q until %q", p.Host(), attr(p, AttrFrom), attr(p, AttrUntil))
	}
	l := soakLoss{reason: attr(p, AttrReason), from: from.UnixNano(), until: until.UnixNano(), count: -1}
	if c := attr(p, AttrCount); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			t.Errorf("events_lost count %q", c)
		}
		l.count = n
	}
	return l
}

// soakCounts are the figures of one fault kind (or the total).
type soakCounts struct {
	injected, delivered, duplicated, lostReported, lostUnreported int
}

// soakReport accounts for every published event, prints the table and
// fails on duplicates and unreported losses.
//
// Accounting, per host: an event delivered n > 1 times counts n-1
// duplicates. A missing event is lost-and-reported when its timeNano lies
// in the from..until window of an events_lost of reason daemon_restarted
// or buffer_overrun (those have no count: the window is the claim). Else,
// when it lies in a dropped_backpressure window, it is a candidate for
// the counts of those reports: the host's candidates beyond the sum of
// its backpressure counts are unreported (a count is a claim about how
// many, so it cannot cover more than it says). Anything else is lost and
// unreported. Malformed reports cover garbage lines, which are not
// sequence-numbered events: they are printed, not matched.
func soakReport(t *testing.T, hostList []*soakHost, sinks map[string]*soakSink, pauses []fault, stats []HostStats) {
	byKind := map[string]*soakCounts{}
	for _, k := range soakKinds {
		byKind[k] = &soakCounts{}
	}
	for _, p := range pauses {
		byKind[p.kind].injected++
	}
	var garbage, malformedReported, bpReported int
	health := map[string]int{}
	for _, h := range hostList {
		s := sinks[h.name]
		for _, f := range h.faults {
			byKind[f.kind].injected++
		}
		garbage += h.garbage
		for k, v := range s.health {
			health[k] += v
		}
		blame := func(ts int64) *soakCounts {
			// The latest fault of the host, or consumer pause, active
			// around ts.
			kind, latest := "none", int64(0)
			for _, fs := range [][]fault{h.faults, pauses} {
				for _, f := range fs {
					if ts >= f.start && ts <= f.end+int64(soakSettle) && f.start > latest {
						kind, latest = f.kind, f.start
					}
				}
			}
			return byKind[kind]
		}
		bpCount := 0
		for _, l := range s.losses {
			switch l.reason {
			case ReasonDroppedBackpressure:
				bpCount += l.count
			case ReasonMalformed:
				malformedReported += l.count
			}
		}
		bpReported += bpCount
		var candidates []*soakCounts
		for i, ts := range h.times {
			n := s.delivered[i+1]
			c := blame(ts)
			switch {
			case n > 0:
				c.delivered++
				c.duplicated += n - 1
			case inWindow(s.losses, ts, ReasonDaemonRestarted, ReasonBufferOverrun):
				c.lostReported++
			case inWindow(s.losses, ts, ReasonDroppedBackpressure):
				candidates = append(candidates, c)
			default:
				c.lostUnreported++
				t.Errorf("%s: seq %d (%s) lost and not reported", h.name, i+1, formatRFC3339(ts))
			}
		}
		for i, c := range candidates {
			if i < bpCount {
				c.lostReported++
			} else {
				c.lostUnreported++
				t.Errorf("%s: %d events missing in backpressure windows, %d reported", h.name, len(candidates), bpCount)
			}
		}
		if n := h.srv.Stats().SlowDrops; n != 0 {
			t.Errorf("%s: the fake daemon skipped %d events for a slow reader: silent by design, the soak must not cause it", h.name, n)
		}
	}

	total := soakCounts{}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "fault\tinjected\tdelivered\tduplicated\tlost-reported\tlost-unreported\t")
	for _, k := range soakKinds {
		c := byKind[k]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", k, c.injected, c.delivered, c.duplicated, c.lostReported, c.lostUnreported)
		total.injected += c.injected
		total.delivered += c.delivered
		total.duplicated += c.duplicated
		total.lostReported += c.lostReported
		total.lostUnreported += c.lostUnreported
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t\n", total.injected, total.delivered, total.duplicated, total.lostReported, total.lostUnreported)
	tw.Flush()
	var st HostStats
	for _, s := range stats {
		st.Connects += s.Connects
		st.Duplicates += s.Duplicates
		st.Dropped += s.Dropped
		st.Malformed += s.Malformed
		st.Losses += s.Losses
	}
	keys := make([]string, 0, len(health))
	for k := range health {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, "\nplugin: %d connects, %d replayed duplicates dropped, %d dropped for backpressure (%d reported by count), %d malformed (%d garbage lines sent, %d reported)\nhealth events:",
		st.Connects, st.Duplicates, st.Dropped, bpReported, st.Malformed, garbage, malformedReported)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, health[k])
	}
	t.Log("soak results\n" + b.String())
	if total.duplicated != 0 || total.lostUnreported != 0 {
		t.Errorf("%d duplicated, %d lost and not reported: want 0 and 0", total.duplicated, total.lostUnreported)
	}
	if uint64(bpReported) != st.Dropped {
		t.Errorf("the plugin dropped %d events for backpressure and reported %d", st.Dropped, bpReported)
	}
	if total.delivered == 0 || byKind["restart"].lostReported+byKind["restart-new-id"].lostReported+byKind["hang"].lostReported == 0 {
		t.Errorf("the soak delivered %d events and no restart or hang lost any: the faults did not bite", total.delivered)
	}
}

func inWindow(ls []soakLoss, ts int64, reasons ...string) bool {
	for _, l := range ls {
		for _, r := range reasons {
			if l.reason == r && ts >= l.from && ts <= l.until {
				return true
			}
		}
	}
	return false
}
