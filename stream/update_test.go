// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// TestUpdateTouchesOnlyWhatChanged: a host kept through an Update streams
// on without losing or repeating an event while events flow; a removed one
// says host_removed and goes quiet; an added one comes up; a changed one
// is removed and comes up again under its label.
func TestUpdateTouchesOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	steady := fakedocker.New("steady")
	t.Cleanup(func() { steady.Close() })
	other := fakedocker.New("other")
	t.Cleanup(func() { other.Close() })
	keep := unixHosts(t, steady, dir, "keep", 1)[0]
	gone := unixHosts(t, other, dir, "gone", 1)[0]
	moved := unixHosts(t, other, dir, "moved", 1)[0]
	movedAgain := unixHosts(t, other, dir, "moved-again", 1)[0]
	movedAgain.Name = moved.Name // same label, another address
	added := unixHosts(t, other, dir, "added", 1)[0]

	f := startFleet(t, []hosts.Endpoint{keep, gone, moved}, testOptions())
	c := collect(t, f)
	c.waitUp(3)

	// keep's daemon publishes all along the update.
	var wg sync.WaitGroup
	var last uint64
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			last, _ = steady.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: "c0ffee"})
			time.Sleep(time.Millisecond)
		}
	})
	time.Sleep(50 * time.Millisecond)
	res, err := f.Update([]hosts.Endpoint{keep, movedAgain, added})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Removed, []string{"gone-0"}) || !slices.Equal(res.Changed, []string{"moved-0"}) ||
		!slices.Equal(res.Added, []string{"added-0"}) || res.Unchanged != 1 {
		t.Errorf("Update = %+v", res)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()

	all := c.until(10*time.Second, func(all []got) bool {
		s := seqs(all, "keep-0")
		return len(s) > 0 && s[len(s)-1] == int(last) &&
			count(all, "added-0", ActionStreamUp) == 1 && count(all, "moved-0", ActionStreamUp) == 1
	})
	if got := seqs(all, "keep-0"); !slices.Equal(got, seqRange(1, int(last))) {
		t.Errorf("the kept host lost or repeated events across the update: %s", summary(all))
	}
	for host, want := range map[string]int{"gone-0": 1, "moved-0": 1, "keep-0": 0, "added-0": 0} {
		if n := count(all, host, ActionHostRemoved); n != want {
			t.Errorf("%s: %d host_removed, want %d", host, n, want)
		}
	}
	if n := count(all, "keep-0", ActionStreamUp); n != 0 {
		t.Errorf("the kept host reconnected (%d stream_up)", n)
	}
	// The removed host is no longer watched: its daemon's events are not
	// delivered.
	publish(other, 3)
	all = append(all, c.until(10*time.Second, func(more []got) bool {
		return len(seqs(more, "added-0")) == 3 && len(seqs(more, "moved-0")) == 3
	})...)
	if n := len(seqs(all, "gone-0")); n != 0 {
		t.Errorf("the removed host still delivers (%d events)", n)
	}
	if got := len(f.Stats()); got != 3 {
		t.Errorf("Stats lists %d hosts, want 3", got)
	}
}

// TestUpdateFailureChangesNothing: an endpoint whose TLS files cannot be
// read, or two hosts with one label, leave the fleet as it was.
func TestUpdateFailureChangesNothing(t *testing.T) {
	dir := t.TempDir()
	srv := fakedocker.New("srv")
	t.Cleanup(func() { srv.Close() })
	eps := unixHosts(t, srv, dir, "h", 2)
	f := startFleet(t, eps, testOptions())
	c := collect(t, f)
	c.waitUp(2)
	badTLS := hosts.Endpoint{Name: "bad", URL: "tcp://127.0.0.1:1", Scheme: "tcp", Address: "127.0.0.1:1",
		TLS: &hosts.TLS{CA: filepath.Join(dir, "missing-ca.pem")}}
	for _, list := range [][]hosts.Endpoint{
		{eps[0], badTLS},
		{eps[0], eps[0]},
	} {
		if _, err := f.Update(list); err == nil {
			t.Errorf("Update(%v) accepted", list)
		}
	}
	if got := len(f.Stats()); got != 2 {
		t.Fatalf("after failed updates the fleet has %d hosts, want 2", got)
	}
	publish(srv, 2)
	all := c.until(10*time.Second, func(all []got) bool { return len(seqs(all, "h-0")) == 2 && len(seqs(all, "h-1")) == 2 })
	if n := count(all, "", ActionHostRemoved); n != 0 {
		t.Errorf("a failed update removed hosts: %s", summary(all))
	}
}

// TestReport: an event of the consumer's (an inventory error) reaches
// Batches as a health event under the label given.
func TestReport(t *testing.T) {
	srv := fakedocker.New("srv")
	t.Cleanup(func() { srv.Close() })
	f := startFleet(t, unixHosts(t, srv, t.TempDir(), "h", 1), testOptions())
	c := collect(t, f)
	if !f.Report("/etc/dockerfleet/hosts", ActionInventoryError, map[string]string{AttrReason: "bad port", AttrLine: "3"}) {
		t.Fatal("Report: not queued")
	}
	all := c.until(10*time.Second, func(all []got) bool { return count(all, "/etc/dockerfleet/hosts", ActionInventoryError) == 1 })
	for _, g := range all {
		if g.action == ActionInventoryError && (g.attrs[AttrLine] != "3" || !strings.Contains(g.attrs[AttrReason], "bad port")) {
			t.Errorf("inventory_error attributes %v", g.attrs)
		}
	}
	f.Close()
	if f.Report("x", ActionInventoryError, nil) {
		t.Error("Report after Close was queued")
	}
}

// BenchmarkUpdate: a 1,000-host fleet listed in an inventory file that
// changes by a tenth (50 hosts removed, 50 added): what an inventory
// reload costs, the file parsed as the plugin parses it (hosts.Parse)
// and applied (Update).
func BenchmarkUpdate(b *testing.B) {
	dir := b.TempDir()
	srv := fakedocker.New("fleet")
	b.Cleanup(func() { srv.Close() })
	all := unixHosts(b, srv, dir, "h", 1100)
	f, err := Start(b.Context(), all[:1000], Options{MinBackoff: time.Second, MaxBackoff: 2 * time.Second, CallTimeout: 5 * time.Second, PingInterval: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	go func() {
		for range f.Batches() {
		}
	}()
	inventory := func(eps []hosts.Endpoint) []byte {
		var buf strings.Builder
		buf.WriteString("# the fleet\n")
		for _, ep := range eps {
			fmt.Fprintf(&buf, "%s?name=%s\n", ep.URL, ep.Name)
		}
		return []byte(buf.String())
	}
	contents := [2][]byte{
		inventory(all[:1000]),
		inventory(append(slices.Clone(all[50:1000]), all[1000:1050]...)),
	}
	path := filepath.Join(dir, "hosts")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := os.WriteFile(path, contents[(i+1)%2], 0o600); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		eps, err := hosts.Parse("file://"+path, hosts.Defaults{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		res, err := f.Update(eps)
		if err != nil {
			b.Fatal(err)
		}
		if touched := len(res.Added) + len(res.Removed) + len(res.Changed); touched != 100 || res.Unchanged != 950 {
			b.Fatalf("update touched %d hosts and kept %d, want 100 and 950: %+v", touched, res.Unchanged, res)
		}
	}
}

// Endpoints follows Update: what is watched, as it was given.
func TestEndpointsFollowUpdate(t *testing.T) {
	dir := t.TempDir()
	srv := fakedocker.New("eps")
	t.Cleanup(func() { srv.Close() })
	eps := unixHosts(t, srv, dir, "e", 3)
	f := startFleet(t, eps[:2], testOptions())
	names := func() []string {
		var n []string
		for _, ep := range f.Endpoints() {
			n = append(n, ep.Name+" "+ep.URL)
		}
		slices.Sort(n)
		return n
	}
	want := []string{eps[0].Name + " " + eps[0].URL, eps[1].Name + " " + eps[1].URL}
	if got := names(); !slices.Equal(got, want) {
		t.Errorf("Endpoints() = %v, want %v", got, want)
	}
	if _, err := f.Update([]hosts.Endpoint{eps[1], eps[2]}); err != nil {
		t.Fatal(err)
	}
	want = []string{eps[1].Name + " " + eps[1].URL, eps[2].Name + " " + eps[2].URL}
	if got := names(); !slices.Equal(got, want) {
		t.Errorf("after Update, Endpoints() = %v, want %v", got, want)
	}
}
