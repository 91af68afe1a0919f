// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

func container() fakedocker.Event {
	return fakedocker.Event{Type: "container", Action: "start", ActorID: "c0ffee"}
}

// TestMalformedLossKeepsTheHostsOrder: the events_lost of a skipped line
// comes after the events read before it and before those read after it,
// and is dated by them (the daemon's times), not by the plugin's clock.
func TestMalformedLossKeepsTheHostsOrder(t *testing.T) {
	srv := fakedocker.New("bad")
	defer srv.Close()
	eps := unixHosts(t, srv, shortTemp(t), "h", 1)
	o := testOptions()
	plugin := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) // far from the daemon's
	o.Now = func() time.Time { return plugin }
	c := collect(t, startFleet(t, eps, o))
	c.waitUp(1)

	// One write: the reader sees the three lines in one read.
	srv.Stall(true)
	_, t1 := srv.Publish(container())
	srv.PublishRaw([]byte("garbage"))
	srv.PublishRaw([]byte(`{"Action":"start"}`))
	_, t2 := srv.Publish(container())
	_, t3 := srv.Publish(container())
	srv.PublishRaw([]byte("trailing garbage"))
	srv.Stall(false)
	all := c.until(5*time.Second, func(all []got) bool {
		return len(seqs(all, "h-0")) == 3 && len(lossEvents(all, ReasonMalformed)) == 2
	})
	var order []string
	for _, g := range all {
		switch {
		case g.typ == HealthType:
			order = append(order, g.action)
		default:
			order = append(order, "event")
		}
	}
	want := []string{"event", ActionEventsLost, "event", "event", ActionEventsLost}
	if len(order) != len(want) {
		t.Fatalf("order %v, want %v: %s", order, want, summary(all))
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v: %s", order, want, summary(all))
		}
	}
	lost := lossEvents(all, ReasonMalformed)
	if a := lost[0].attrs; a[AttrFrom] != formatRFC3339(t1) || a[AttrUntil] != formatRFC3339(t2) || a[AttrCount] != "2" {
		t.Errorf("first report %v: want from %s until %s count 2", a, formatRFC3339(t1), formatRFC3339(t2))
	}
	until, err := time.Parse(time.RFC3339Nano, lost[1].attrs[AttrUntil])
	if a := lost[1].attrs; a[AttrFrom] != formatRFC3339(t3) || err != nil || until.UnixNano() < t3 || time.Since(until) > time.Minute || a[AttrCount] != "1" {
		t.Errorf("trailing report %v: want from %s until the daemon's clock, count 1", a, formatRFC3339(t3))
	}
}
