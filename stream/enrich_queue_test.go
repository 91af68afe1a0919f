// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/inspected"
	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// heldNow is the number of lines the host's enricher holds, and the most
// it held since the last call.
func heldNow(w *watcher) int {
	w.enr.mu.Lock()
	defer w.enr.mu.Unlock()
	return len(w.enr.held) - w.enr.head
}

// The reader reads on while a container's inspect is pending: what the
// daemon sends after the create is read at once and held behind it (not
// left in the socket until the inspect answers), up to the queue's bound,
// and everything comes out in order once the answer is in.
func TestEnrichReaderReadsOnWhileInspectsPend(t *testing.T) {
	srv := fakedocker.New("slow")
	t.Cleanup(func() { srv.Close() })
	const delay = 1500 * time.Millisecond
	srv.SetInspect(fakedocker.InspectOK, delay)
	o := testOptions()
	o.PingInterval = -1
	o.CallTimeout = 10 * time.Second
	o.Enrich = Enrich{Containers: true, Timeout: 10 * time.Second}
	f := startFleet(t, unixHosts(t, srv, shortTemp(t), "slow", 1), o)
	ch := collectEnriched(t, f)
	nextOf(t, ch, "slow-0", ActionStreamUp)
	w := f.watchers[0]

	id := strings.Repeat("a", 64)
	published := time.Now()
	srv.Publish(fakedocker.Event{Type: "container", Action: "create", ActorID: id})
	for heldNow(w) == 0 {
		time.Sleep(time.Millisecond)
	}
	// Sent after the reader found the create's inspect pending, in writes
	// of their own: more than the queue holds, less than the queue, the
	// socket and the daemon's buffer for a slow reader together (past
	// those a daemon drops events, as dockerd does).
	const n = maxHeldLines + 200
	for i := range n {
		if i%100 == 99 {
			time.Sleep(2 * time.Millisecond) // lets the daemon write them out: a burst would overrun its buffer
		}
		srv.Publish(fakedocker.Event{Type: "network", Action: "connect", ActorID: "net", Attributes: map[string]string{"i": strconv.Itoa(i)}})
	}
	most := 0
	for time.Since(published) < delay*2/3 {
		most = max(most, heldNow(w))
		time.Sleep(time.Millisecond)
	}
	t.Logf("%d lines held while the inspect was pending", most)
	if most < maxHeldLines {
		t.Errorf("%d lines held while the inspect was pending, want the queue filled (%d): the reader waited for the inspect", most, maxHeldLines)
	}
	if most > maxHeldLines {
		t.Errorf("%d lines held, more than the queue's bound %d", most, maxHeldLines)
	}
	if d := srv.Stats().SlowDrops; d != 0 {
		t.Fatalf("the daemon dropped %d events for a slow reader", d)
	}
	by := gather(t, ch, map[string]int{"slow-0": n + 1})
	evs := withSeq(by["slow-0"])
	if evs[0].action != "create" || evs[0].ctx.Container == nil || !evs[0].ctx.Container.Inspected {
		t.Fatalf("first event %s, context %+v", evs[0].action, evs[0].ctx.Container)
	}
	if wait := evs[0].at.Sub(published); wait < delay {
		t.Errorf("create delivered %v after publishing, before its inspect answered", wait)
	}
	for i, e := range evs {
		if e.seq != i+1 {
			t.Fatalf("event %d has seq %d: out of order", i, e.seq)
		}
	}
	if st := f.Stats()[0]; st.Dropped != 0 || st.InspectFailures != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A failure that comes after the last event of a host (an inspect that
// times out after its event went out without it) is still reported, though
// the host sends nothing more to read.
func TestEnrichLateFailureReportedOnQuietHost(t *testing.T) {
	srv := fakedocker.New("quiet")
	t.Cleanup(func() { srv.Close() })
	srv.SetInspect(fakedocker.InspectHang, 0)
	o := testOptions()
	o.PingInterval = -1
	o.CallTimeout = time.Second
	o.Enrich = Enrich{Containers: true, Timeout: 200 * time.Millisecond}
	f := startFleet(t, unixHosts(t, srv, shortTemp(t), "quiet", 1), o)
	ch := collectEnriched(t, f)
	nextOf(t, ch, "quiet-0", ActionStreamUp)
	srv.Publish(fakedocker.Event{Type: "container", Action: "create", ActorID: strings.Repeat("b", 64)})
	reasons := map[string]uint64{}
	deadline := time.After(5 * time.Second)
	for reasons[errCallTimeout.Error()] == 0 {
		select {
		case e := <-ch:
			if e.action == "create" && (e.ctx.Container == nil || !strings.Contains(e.ctx.Container.Error, "enrich timeout")) {
				t.Errorf("create context %+v, want the enrich timeout", e.ctx.Container)
			}
			if e.action == ActionInspectFailed {
				n, _ := strconv.ParseUint(e.attrs[AttrCount], 10, 64)
				reasons[e.attrs[AttrReason]] += n
			}
		case <-deadline:
			t.Fatalf("inspect_failed reports %v: the call's own timeout was never reported", reasons)
		}
	}
	if got := fmt.Sprint(reasons); reasons[errTooLate.Error()] != 1 || reasons[errCallTimeout.Error()] != 1 {
		t.Errorf("inspect_failed reports %s, want one enrich timeout, then one call timeout", got)
	}
}

// A flood in which every third event is the create of a new container:
// lines are held and drained all the time, inspects answer while the
// drainer looks at them, and the events come out in the daemon's order,
// the creates with their summaries.
func TestEnrichFloodWithChurn(t *testing.T) {
	srv := fakedocker.New("churn")
	t.Cleanup(func() { srv.Close() })
	srv.SetInspect(fakedocker.InspectOK, 0)
	srv.SetFloodShape("", 3)
	srv.Flood(true)
	o := testOptions()
	o.PingInterval = -1
	o.Enrich = Enrich{Containers: true, Execs: true, Images: true, Daemon: true}
	f := startFleet(t, unixHosts(t, srv, shortTemp(t), "churn", 1), o)
	var n, creates, inspectedOK int
	var last int64
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		b := <-f.Batches()
		for _, ev := range b.Events {
			p, err := payload.Parse(ev.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if p.Type() == HealthType {
				continue
			}
			if ev.TimeNano < last {
				t.Fatalf("event %d at %d after one at %d: out of order", n, ev.TimeNano, last)
			}
			last = ev.TimeNano
			n++
			if p.Action() == "create" {
				creates++
				if c, _ := inspected.Decode(p.Context()); c.Container != nil && c.Container.Inspected {
					inspectedOK++
				}
			}
		}
		f.Recycle(b)
	}
	t.Logf("%d events, %d creates, %d of them with their summary", n, creates, inspectedOK)
	if creates == 0 || inspectedOK < creates*9/10 {
		t.Errorf("%d of %d creates with their summary", inspectedOK, creates)
	}
}
