// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package bench

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/internal/abihost"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// Every payload next_batch hands over through the C ABI is byte for byte
// what payload.Build makes of the daemon's line, with the daemon's timeNano
// as timestamp: the fast slot writer of the plugin (instance.writeEvent)
// neither truncates nor leaves bytes of a longer earlier event behind.
func TestPayloadsArriveIntact(t *testing.T) {
	buildLibs(t)
	srv := fakedocker.New("intact")
	defer srv.Close()
	params := unixFleet(t, srv, shortDir(t), 1)
	// Without enrichment, so that a payload is what payload.Build makes
	// of its line alone (enrichment adds the daemon's context).
	_, in := open(t, libs.fleet, noEnrich, params)
	waitStreams(t, srv, 1)

	lines := eventMix(t)
	// A large event (long label values) between small ones.
	big := fmt.Sprintf(`{"status":"create","id":"c1","from":"img","Type":"container","Action":"create","Actor":{"ID":"c1","Attributes":{"image":"img","name":"big","com.example.blob":%q}},"scope":"local","time":1700000001,"timeNano":1700000001000000001}`,
		strings.Repeat("x", 40_000))
	lines = append(lines[:3:3], append([][]byte{[]byte(big)}, lines[3:]...)...)
	for _, l := range lines {
		srv.PublishRaw(l)
	}
	want := make([][]byte, len(lines))
	for i, l := range lines {
		p, _, err := payload.Build(nil, "h-0", l)
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		want[i] = p
	}
	got := 0
	deadline := time.Now().Add(30 * time.Second)
	for got < len(want) && time.Now().Before(deadline) {
		evts, err := in.ReadBatch(nil)
		if err != nil && !errors.Is(err, abihost.ErrTimeout) {
			t.Fatal(err)
		}
		for _, ev := range evts {
			p, err := payload.Parse(ev.Payload)
			if err != nil {
				t.Fatalf("event %d: %v", ev.Num, err)
			}
			if p.Type() == "dockerfleet" {
				continue // health events
			}
			if !bytes.Equal(ev.Payload, want[got]) {
				t.Fatalf("event %d (line %d): payload of %d bytes differs from the %d bytes built from the line", ev.Num, got, len(ev.Payload), len(want[got]))
			}
			if tn, ok := p.TimeNano(); !ok || int64(ev.Timestamp) != tn {
				t.Errorf("event %d: timestamp %d, payload timeNano %d (present %v)", ev.Num, ev.Timestamp, tn, ok)
			}
			got++
		}
	}
	if got != len(want) {
		t.Fatalf("%d of %d events arrived", got, len(want))
	}
}

func TestPercentile(t *testing.T) {
	d := make([]time.Duration, 100)
	for i := range d {
		d[i] = time.Duration(i + 1)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("percentile(1..100, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("percentile(nil) = %v", got)
	}
}

// Falco reads the events of a batch until its next call of next_batch, and
// the plugin hands most payloads over where the fleet built them (framed
// in place, instance.put): their memory must stay theirs until then, while
// the readers go on building under a flood. Each batch is read, copied,
// left for a while as the readers fill and recycle others, then compared
// with its copy, and read again through event_to_string.
func TestFramedEventsLastUntilTheNextCall(t *testing.T) {
	buildLibs(t)
	srv := fakedocker.New("frames")
	defer srv.Close()
	srv.Flood(true)
	const hosts = 4
	params := unixFleet(t, srv, shortDir(t), hosts)
	_, in := open(t, libs.fleet, "", params)
	waitStreams(t, srv, hosts)
	waitEvents(t, in, 2000)
	buf := make([]abihost.Event, 0, 1024)
	checked := 0
	for round := 0; round < 20; round++ {
		evts, err := in.ReadBatch(buf)
		if err != nil && !errors.Is(err, abihost.ErrTimeout) {
			t.Fatal(err)
		}
		snaps := make([][]byte, len(evts))
		for i, ev := range evts {
			snaps[i] = bytes.Clone(ev.Payload)
		}
		time.Sleep(20 * time.Millisecond) // thousands of events built meanwhile
		for i, ev := range evts {
			if !bytes.Equal(ev.Payload, snaps[i]) {
				t.Fatalf("round %d, event %d of %d: payload changed before the next call", round, i, len(evts))
			}
			p, err := payload.Parse(ev.Payload)
			if err != nil {
				t.Fatalf("round %d, event %d: %v", round, i, err)
			}
			if tn, ok := p.TimeNano(); ok && uint64(tn) != ev.Timestamp {
				t.Fatalf("round %d, event %d: timestamp %d, payload's timeNano %d", round, i, ev.Timestamp, tn)
			}
			// The header is read again from the plugin's memory.
			if s, err := in.String(ev); err != nil || s == "" {
				t.Fatalf("round %d, event %d: event_to_string = %q, %v", round, i, s, err)
			}
		}
		checked += len(evts)
	}
	if checked < 1000 {
		t.Fatalf("only %d events checked", checked)
	}
}

// The server children of the scale benchmarks publish, on command, the
// runs of containers on every host they serve and answer their inspects:
// through the ABI, with enrichment on, each create and start arrives with
// its container's summary, and each container is inspected once per host
// (its start finds the cache).
func TestServerChildRunsContainers(t *testing.T) {
	buildLibs(t)
	const hosts, containers = 3, 4
	urls, children := startChildren(t, childSpec{N: hosts, Inspect: true})
	p, in := open(t, libs.fleet, withEnrich, openParams(urls, ""))
	waitUp(t, in, hosts)
	x, err := in.NewExtractor(requests(t, p, "docker.container.inspected"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	// The first container alone, so that its image is cached before the
	// others ask for it.
	children[0].publishContainers(t, 0, 1)
	delivered, inspected := readRuns(t, in, x, 2*hosts)
	children[0].publishContainers(t, 1, containers-1)
	d, i := readRuns(t, in, x, 2*hosts*(containers-1))
	delivered, inspected = delivered+d, inspected+i
	if delivered != 2*hosts*containers || inspected != delivered {
		t.Fatalf("%d creates and starts delivered, %d with their summary; want %d, all", delivered, inspected, 2*hosts*containers)
	}
	// One inspect per container and host, and one of their image per host.
	if asked := children[0].publishContainers(t, 0, 0).inspects; asked != hosts*containers+hosts {
		t.Errorf("the daemons received %d inspects, want %d", asked, hosts*containers+hosts)
	}
}
