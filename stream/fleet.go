// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package stream watches the Docker events of a fleet of daemons and fans
// them into one channel of batches: the events one host's reader built
// from one read of its connection, each payload built once
// (payload.Build) and tagged with the host's label.
//
// Every host has one watcher goroutine that connects, reads and
// reconnects on its own while the Fleet is open; an error of one host
// never reaches the channel nor stops another, it becomes a health event.
// A connection is: ping, /info (daemon ID and clock), on a reconnection a
// replay GET /events?since=LAST&until=NOW, then the live
// GET /events?since=NOW. Every call but the live stream, and the live
// stream's headers, must answer within Options.CallTimeout.
//
// Resume: the daemon keeps its last 256 events and since is inclusive.
// The watcher keeps the highest daemon timeNano it processed and a hash
// of each payload at that nanosecond, and drops those when they are
// replayed. A replay that does not start with our last event means the
// daemon no longer holds it: events_lost (daemon_restarted when the
// daemon's ID changed or the replay was short of its buffer without
// filters, buffer_overrun otherwise). Resume windows are in the daemon's
// clock, never in the future of it: an event dated past the daemon's
// clock is delivered but is not a resume point, and a clock stepped back
// behind the resume point is reported (clock_stepped_back). A host that
// has sent no event since Open has no resume point: a restart of its
// daemon while unreachable goes unseen.
//
// Liveness: an idle stream is normal for Docker. A dead connection is
// seen by the transport; a hung daemon by a /_ping every
// Options.PingInterval on a short connection of its own, which must
// answer within CallTimeout or the stream is torn down.
//
// Backpressure: dockerd skips events for a subscriber that does not read
// for 100 ms, where nobody would see the loss, so a reader never waits
// for the consumer without bound. When Batches is full it waits out of a
// budget (at most 20 ms at a stretch, refilled at a fifth of the time it
// does not wait), then drops the batch and reports the count
// (events_lost dropped_backpressure). Memory is bounded by Options.Buffer
// and one batch, one read buffer and the longest line per reading host.
// At most Options.Workers readers build and hand over events at once.
//
// Health events (Type HealthType) are stream_up, stream_down,
// stream_still_down, events_lost and, with enrichment (Options.Enrich),
// inspect_failed; their attributes are the Attr* constants, their reasons
// the Reason* ones. Design and figures: docs/ARCHITECTURE.md and
// docs/PERFORMANCE.md.
package stream

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/hosts"
)

// Event is one event of the fleet. The consumer owns Payload: it is never
// written again by the stream, unless the consumer gives its Batch back
// (Fleet.Recycle).
type Event struct {
	// Payload is a payload in the extract/payload format.
	Payload []byte
	// TimeNano is the daemon's timeNano for Docker events, the plugin's
	// clock for health events.
	TimeNano int64
	// Framed reports that Options.Headroom bytes lie right before
	// Payload in the same memory, the consumer's to write while it owns
	// the batch. Payloads built in their batch's memory (every event of
	// a flood) have them; a lone payload too large for its batch and
	// the plugin's own events do not.
	Framed bool
}

// Fleet watches a set of hosts. Close it to stop.
type Fleet struct {
	events chan *Batch
	// work bounds the readers working at once (building payloads and
	// handing them over) to Options.Workers, so that a flood from many
	// hosts leaves the consumer room to run (docs/PERFORMANCE.md).
	work   tokens
	cancel context.CancelFunc
	// watchers is the current set of hosts; Update replaces it (under mu)
	// while Stats and Close read it.
	mu       sync.Mutex
	watchers []*watcher
	updateMu sync.Mutex // one Update at a time, and none during Close
	// What Update needs to start watchers after Start.
	ctx        context.Context
	opts       Options
	filterJSON string
	seed       maphash.Seed
	// wg, not an errgroup: a watcher never returns an error (it retries
	// forever and turns failures into health events), and the errgroup's
	// cancel-on-first-error would let one bad host stop every other.
	wg        sync.WaitGroup
	closeOnce sync.Once

	// Liveness pings and late inspect_failed reports run on timer
	// goroutines; Close waits for those that started and refuses new ones.
	timedMu     sync.Mutex
	timedClosed bool
	timed       sync.WaitGroup
}

// Start builds one Docker client per endpoint and starts watching every
// host. It does not connect: a host that is down does not delay Start nor
// stop the others. It fails on bad options, an endpoint without a name, two
// endpoints with the same name, or an endpoint whose client cannot be
// built (e.g. TLS files), naming the endpoint.
func Start(ctx context.Context, endpoints []hosts.Endpoint, opts Options) (*Fleet, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	filterJSON, err := opts.Filters.json()
	if err != nil {
		return nil, err
	}
	f := &Fleet{
		events:     make(chan *Batch, max(1, opts.Buffer/MaxBatch)),
		work:       make(tokens, opts.Workers),
		opts:       opts,
		filterJSON: filterJSON,
		seed:       maphash.MakeSeed(),
	}
	names := make(map[string]int, len(endpoints))
	for i, ep := range endpoints {
		if ep.Name == "" {
			f.closeClients()
			return nil, fmt.Errorf("stream: endpoint %d (%s) has no name", i+1, ep.URL)
		}
		if j, dup := names[ep.Name]; dup {
			f.closeClients()
			return nil, fmt.Errorf("stream: endpoints %d and %d have the same name %q", j+1, i+1, ep.Name)
		}
		names[ep.Name] = i
		if _, _, err := payload.Build(nil, ep.Name, []byte(`{"Type":"t","Action":"a"}`)); err != nil {
			f.closeClients()
			return nil, fmt.Errorf("stream: endpoint %d (%s): bad name: %w", i+1, ep.URL, err)
		}
		w, err := f.newHostWatcher(ep)
		if err != nil {
			f.closeClients()
			return nil, fmt.Errorf("stream: endpoint %d: %w", i+1, err)
		}
		f.watchers = append(f.watchers, w)
	}
	f.ctx, f.cancel = context.WithCancel(ctx)
	for _, w := range f.watchers {
		f.startWatcher(w)
	}
	return f, nil
}

// newHostWatcher builds the watcher of ep: the live stream's and the
// pings' own connections (a Dialer), and the client for the other calls,
// from one read of the TLS files.
func (f *Fleet) newHostWatcher(ep hosts.Endpoint) (*watcher, error) {
	dialer, err := ep.NewDialer()
	if err != nil {
		return nil, err
	}
	cli, err := dialer.NewClient()
	if err != nil {
		_ = dialer.Close()
		return nil, err
	}
	return newWatcher(f, ep, cli, dialer, &f.opts, f.filterJSON, f.seed), nil
}

// startWatcher runs w until the Fleet closes or Update stops it.
func (f *Fleet) startWatcher(w *watcher) {
	ctx, stop := context.WithCancel(f.ctx)
	w.stop, w.exited = stop, make(chan struct{})
	if f.opts.Enrich.On() {
		w.enr = newEnricher(ctx, w)
	}
	f.wg.Go(func() {
		defer close(w.exited)
		w.run(ctx)
	})
}

// Batches is the channel of every host's events and health events. A
// batch holds 1 to MaxBatch events of one host, in the order they came;
// the consumer owns it (give it back with Recycle when done). It is
// closed by Close, after the last send.
func (f *Fleet) Batches() <-chan *Batch { return f.events }

// Close stops every watcher, waits for them, releases their connections
// and closes Batches. It returns promptly: no call in flight outlives the
// cancellation of its context. It is safe to call more than once.
func (f *Fleet) Close() error {
	f.closeOnce.Do(func() {
		f.updateMu.Lock()
		defer f.updateMu.Unlock()
		f.timedMu.Lock()
		f.timedClosed = true
		f.timedMu.Unlock()
		f.cancel()
		f.wg.Wait()
		f.timed.Wait()
		f.closeClients()
		close(f.events)
	})
	return nil
}

func (f *Fleet) closeClients() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.watchers {
		_ = w.cli.Close()
		// An ssh host's one SSH connection goes now, not when its last
		// channel has lingered.
		_ = w.dialer.Close()
	}
}

// startTimed registers the work of a timer goroutine (a liveness ping, a
// late report); false once Close has begun. Done on f.timed ends it.
func (f *Fleet) startTimed() bool {
	f.timedMu.Lock()
	defer f.timedMu.Unlock()
	if f.timedClosed {
		return false
	}
	f.timed.Add(1)
	return true
}

// errStreamEnded is the reason of a stream the daemon ended cleanly.
var errStreamEnded = errors.New("event stream ended by the daemon")

// tokens is a counting semaphore: a token is a slot of the channel.
type tokens chan struct{}

func (t tokens) acquire() { t <- struct{}{} }
func (t tokens) release() { <-t }
