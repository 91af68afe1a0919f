// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/inspected"
	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// sizedLine is a container event line of exactly n bytes (without its
// newline), the label "fill" taking what the rest leaves.
func sizedLine(t *testing.T, n int, seq int) []byte {
	t.Helper()
	l := fmt.Sprintf(`{"status":"start","id":"abc","from":"busybox","Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"fill":"%%s","image":"busybox","name":"web-%d"}},"scope":"local","time":1700000000,"timeNano":17000000000000000%02d}`, seq, seq)
	fill := n - (len(l) - 2)
	if fill < 0 {
		t.Fatalf("line of %d bytes too short", n)
	}
	return fmt.Appendf(nil, l, strings.Repeat("f", fill))
}

// TestLongLinesDeliveredTruncated: with the fake daemon, which can send a
// line of an exact size: a line of MaxLineSize bytes is delivered whole,
// one byte more is reduced to at most MaxLineSize and flagged truncated,
// a line far past payload.MaxLineLen too, and an oversized line that is
// not an event is still counted malformed.
func TestLongLinesDeliveredTruncated(t *testing.T) {
	srv := fakedocker.New("d1")
	defer srv.Close()
	eps := unixHosts(t, srv, t.TempDir(), "h", 1)
	o := testOptions()
	o.MaxLineSize = 64 << 10
	f := startFleet(t, eps, o)
	type ev struct {
		name      string
		json      []byte
		truncated bool
		typ       string
	}
	evs := make(chan ev, 100)
	go func() {
		for b := range f.Batches() {
			for _, e := range b.Events {
				p, err := payload.Parse(e.Payload)
				if err != nil {
					t.Errorf("payload: %v", err)
					continue
				}
				name, _ := p.Attr("name")
				evs <- ev{name, bytes.Clone(p.JSON()), p.Truncated(), p.Type()}
			}
		}
		close(evs)
	}()
	next := func() ev {
		t.Helper()
		for {
			select {
			case e := <-evs:
				if e.typ == "container" {
					return e
				}
			case <-time.After(10 * time.Second):
				t.Fatal("timed out")
			}
		}
	}
	// The connection is up once the first event arrives.
	exact := sizedLine(t, o.MaxLineSize, 1)
	for {
		srv.PublishRaw(exact)
		select {
		case e := <-evs:
			if e.typ != "container" {
				continue
			}
			if e.truncated || !bytes.Equal(e.json, exact) {
				t.Fatalf("a line of MaxLineSize: truncated %v, %d bytes", e.truncated, len(e.json))
			}
		case <-time.After(100 * time.Millisecond):
			continue
		}
		break
	}
	srv.PublishRaw([]byte(strings.Repeat("x", 100<<10))) // not an event
	srv.PublishRaw(sizedLine(t, o.MaxLineSize+1, 2))
	srv.PublishRaw(sizedLine(t, 3*payload.MaxLineLen, 3))
	for _, want := range []string{"web-2", "web-3"} {
		e := next()
		if e.name != want || !e.truncated || len(e.json) > o.MaxLineSize {
			t.Errorf("event %q: truncated %v, %d bytes; want %q truncated, at most %d", e.name, e.truncated, len(e.json), want, o.MaxLineSize)
		}
	}
	if st := f.Stats()[0]; st.Malformed != 1 {
		t.Errorf("stats %+v: want 1 malformed", st)
	}
}

// TestEnrichedLongLineKeepsTruncated: a line past MaxLineSize of a
// container whose inspect is pending (so the line is held, then built again
// with the summary) is delivered flagged truncated and enriched: the
// enrichment adds its context to the reader's Extra, it does not replace
// it.
func TestEnrichedLongLineKeepsTruncated(t *testing.T) {
	srv := fakedocker.New("d1")
	defer srv.Close()
	srv.SetInspect(fakedocker.InspectOK, 50*time.Millisecond)
	eps := unixHosts(t, srv, t.TempDir(), "h", 1)
	o := testOptions()
	o.MaxLineSize = 64 << 10
	o.Enrich = enrichOn()
	f := startFleet(t, eps, o)
	ch := make(chan payload.Event, 100)
	go func() {
		defer close(ch)
		for b := range f.Batches() {
			for _, e := range b.Events {
				p, err := payload.Parse(bytes.Clone(e.Payload))
				if err != nil {
					t.Errorf("payload: %v", err)
					continue
				}
				ch <- p
			}
		}
	}()
	// The stream is up once its stream_up is out.
	for up := false; !up; {
		select {
		case p := <-ch:
			up = p.Type() == HealthType && p.Action() == ActionStreamUp
		case <-time.After(10 * time.Second):
			t.Fatal("no stream_up")
		}
	}
	srv.PublishRaw(sizedLine(t, o.MaxLineSize+1, 2))
	for {
		select {
		case p := <-ch:
			if p.Type() != "container" {
				continue
			}
			c, err := inspected.Decode(p.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !p.Truncated() || c.Container == nil || !c.Container.Inspected || c.Daemon == nil {
				t.Errorf("truncated %v, context %+v: want a truncated event with its container's and daemon's summaries", p.Truncated(), c)
			}
			return
		case <-time.After(10 * time.Second):
			t.Fatal("no container event")
		}
	}
}
