// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"fmt"
	"reflect"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/hosts"
)

// Health events of fleet changes.
const (
	// ActionHostRemoved: Update stopped watching the host (removed from
	// the list, or its endpoint changed and it is watched anew).
	ActionHostRemoved = "host_removed"
	// ActionInventoryError: a new list of hosts could not be used; the
	// fleet goes on with the one it has. Sent by Report, for the
	// consumer that reads the list.
	ActionInventoryError = "inventory_error"
	// AttrLine is the line of an inventory file a problem is on.
	AttrLine = "line"
)

// UpdateResult says what Update changed, by host label.
type UpdateResult struct {
	Added, Removed, Changed []string
	Unchanged               int
}

// Update makes the fleet watch endpoints from now on, as if Start had been
// given them, touching only what differs: a host no longer listed stops
// (a host_removed health event says so), a new one starts, one whose
// endpoint changed (address, TLS or SSH files) stops and starts anew, and
// every other host goes on on its connection, so that none of its events
// is lost or delivered twice. Hosts are matched by label.
//
// Nothing changes when it fails: bad or duplicate labels, or an endpoint
// whose client cannot be built (TLS or SSH files), named in the error.
func (f *Fleet) Update(endpoints []hosts.Endpoint) (UpdateResult, error) {
	f.updateMu.Lock()
	defer f.updateMu.Unlock()
	if f.ctx.Err() != nil {
		return UpdateResult{}, fmt.Errorf("stream: update of a closed fleet")
	}
	f.mu.Lock()
	current := make(map[string]*watcher, len(f.watchers))
	for _, w := range f.watchers {
		current[w.host] = w
	}
	f.mu.Unlock()

	var res UpdateResult
	next := make([]*watcher, 0, len(endpoints))
	var started []*watcher // built for this update: closed again on failure
	fail := func(err error) (UpdateResult, error) {
		for _, w := range started {
			_ = w.cli.Close()
			_ = w.dialer.Close()
		}
		return UpdateResult{}, err
	}
	seen := make(map[string]int, len(endpoints))
	for i, ep := range endpoints {
		if ep.Name == "" {
			return fail(fmt.Errorf("stream: endpoint %d (%s) has no name", i+1, ep.URL))
		}
		if j, dup := seen[ep.Name]; dup {
			return fail(fmt.Errorf("stream: endpoints %d and %d have the same name %q", j+1, i+1, ep.Name))
		}
		seen[ep.Name] = i
		if old, ok := current[ep.Name]; ok && reflect.DeepEqual(old.ep, ep) {
			next = append(next, old)
			res.Unchanged++
			continue
		}
		if _, _, err := payload.Build(nil, ep.Name, []byte(`{"Type":"t","Action":"a"}`)); err != nil {
			return fail(fmt.Errorf("stream: endpoint %d (%s): bad name: %w", i+1, ep.URL, err))
		}
		w, err := f.newHostWatcher(ep)
		if err != nil {
			return fail(fmt.Errorf("stream: endpoint %d: %w", i+1, err))
		}
		started = append(started, w)
		next = append(next, w)
		if _, ok := current[ep.Name]; ok {
			res.Changed = append(res.Changed, ep.Name)
		} else {
			res.Added = append(res.Added, ep.Name)
		}
	}

	// The old watchers of removed and changed hosts stop first, so that a
	// changed host's label is never streamed by two watchers at once.
	kept := make(map[*watcher]bool, len(next))
	for _, w := range next {
		kept[w] = true
	}
	var stopped []*watcher
	for _, w := range current {
		if !kept[w] {
			w.stop()
			stopped = append(stopped, w)
			if _, listed := seen[w.host]; !listed {
				res.Removed = append(res.Removed, w.host)
			}
		}
	}
	for _, w := range stopped {
		<-w.exited
		_ = w.cli.Close()
		_ = w.dialer.Close()
		w.removed()
	}
	f.mu.Lock()
	f.watchers = next
	f.mu.Unlock()
	for _, w := range started {
		f.startWatcher(w)
	}
	return res, nil
}

// removed reports that the host is no longer watched. Its goroutine has
// returned: this runs on Update's, and waits on the Fleet's context.
func (w *watcher) removed() {
	w.done = w.f.ctx.Done()
	w.deliverHealth(ActionHostRemoved, w.opts.Now().UnixNano(), nil)
}

// Report sends a health event about something that is not one host's
// stream (the consumer's list of hosts, say): label stands for the host
// (docker.host and Actor.ID), action and attrs are the consumer's. It
// waits for room as a host's health events do, and reports whether the
// event was queued.
func (f *Fleet) Report(label, action string, attrs map[string]string) bool {
	// Registered as a timer's work is, so that Close waits for it before
	// it closes Batches.
	if !f.startTimed() {
		return false
	}
	defer f.timed.Done()
	ev, ok := healthEvent(label, payload.Extra{}, action, f.opts.Now().UnixNano(), attrs)
	if !ok {
		return false
	}
	return f.sendAlone(ev, healthWait, f.ctx.Done())
}

// Endpoints returns the endpoints watched now: Start's, as Update last
// changed them.
func (f *Fleet) Endpoints() []hosts.Endpoint {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]hosts.Endpoint, len(f.watchers))
	for i, w := range f.watchers {
		out[i] = w.ep
	}
	return out
}
