// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package stream watches the Docker events of a fleet of daemons and fans
// them into one channel, each event's payload built once (payload.Build)
// in the reader of its host and tagged with the host's label. The channel
// carries batches: the events one host's reader built from one read of
// its connection, up to MaxBatch, so that a flood costs one channel
// operation per batch rather than per event.
//
// # One watcher per host
//
// Every host has one goroutine that connects, reads and reconnects on its
// own, forever while the Fleet is open. A connection is: ping (API version
// negotiation), GET /info (daemon ID and clock), on a reconnection a replay
// GET /events?since=LAST&until=NOW that closes by itself, then the live
// GET /events?since=NOW read line by line. Every call but the live stream
// has a deadline (Options.CallTimeout); the live stream must send its
// headers within it too.
//
// # Resume without duplicates, loss never hidden
//
// The daemon keeps its last 256 events, and since is inclusive. The watcher
// remembers the highest daemon timeNano it processed and a hash of every
// line at that nanosecond; a line at that nanosecond with a known hash is a
// replayed duplicate and is dropped. The replay must start with such a line:
// if it does not, the daemon no longer holds our last event, so events may
// have been lost between it and the first replayed one. That is reported as
// an events_lost health event, with reason daemon_restarted when /info's ID
// changed or when the replay was short of the daemon's buffer (no filters
// set: a running daemon would still hold our event), buffer_overrun
// otherwise. A real dockerd keeps its ID across restarts, so the missing
// boundary event is what usually tells a restart. The one blind spot: a
// host that has not sent a single event since Open has no boundary, so a
// restart of its daemon while the link was down is not seen (whatever it
// produced in between is then lost unreported).
//
// # Liveness: dead versus idle
//
// An idle event stream is normal for Docker, so silence proves nothing. A
// host whose connection dies is seen by the transport (a closed unix socket,
// a reset, or TCP keep-alive probes for a vanished peer, set by hosts). A
// daemon that is alive on the network but hung is not: every PingInterval,
// a separate short /_ping request (its connection closed after the answer,
// so an idle host holds only its stream's connection) must answer within
// CallTimeout, else the stream is torn down and the host reconnects. The
// ping runs on a timer, not a goroutine of its own, so an idle host costs
// one goroutine.
//
// # Backpressure
//
// Every host's reader hands its events to the shared channel, a batch
// at a time (what one read brought: a batch goes out as soon as nothing
// more is buffered, so a lone event is never held back). dockerd queues
// 1,024 events per subscriber and silently skips events for one whose
// queue stays full for 100 ms, so the reader must keep reading: a reader
// that waited for the consumer without bound would move the loss to the
// daemon, where nobody sees it. It may wait a little, though: when the
// channel is full, the reader waits for room out of a budget of at most
// 20 ms at a stretch, refilled at one fifth of the time it spends not
// waiting (so at most about a sixth of its time is spent waiting, and
// its pace stays far above what a daemon produces). A short burst into a
// consumer that reads in batches then costs nothing: with bursts of 1,000
// events every 100 ms into a 256-event channel read 64 at a time with
// 1 ms of work between batches, dropping at once lost 71% of the events,
// the budget none, and the fake daemon (which skips as soon as its
// 1,024-event queue is full, stricter than dockerd) skipped none
// (BenchmarkBurstyConsumer). When the budget is spent, the batch is
// dropped and its events counted per host; the count goes out as an
// events_lost event (reason dropped_backpressure, from..until the first
// and last dropped event's time) as soon as there is room. Memory is
// bounded by the channel's capacity (Options.Buffer events: Buffer /
// MaxBatch batches), one read buffer per host that is reading (4 KiB,
// 64 KiB during a flood; a quiet host on a plain socket holds none), one
// batch per host and the longest line (Options.MaxLineSize): waiting holds
// one batch, never a queue.
//
// # Readers leave a core to the consumer
//
// At most Options.Workers readers work at once (build payloads and hand
// them over): each holds a token meanwhile, and gives it back while it
// waits for its daemon or for room in Batches. The consumer (Falco's
// thread in next_batch) needs a P of this runtime and a core to run on.
// Under a flood from many hosts, runnable readers otherwise kept every P
// busy and the consumer waited behind up to a thousand of them; with as
// many working readers as cores, it waited for a core instead, Batches
// filled up and the readers built events only to drop them. So the
// plugin gives its runtime one P more than it has cores, and sets
// Workers to one less than its cores, but at least two: on 2 cores one
// working reader bound reading to one core, and two with a queue large
// enough for the moments the consumer waits for a core deliver more
// (docs/PERFORMANCE.md). Each host's reader also builds its payloads: a
// second goroutine to index a flooding host's lines while the first reads
// on cost more in copies and hand-overs than it gave (same document).
//
// # Health events
//
// The plugin's own events are JSON lines like the daemon's, with Type
// "dockerfleet", Actor.ID the host label, the plugin's clock as time (an
// Options.Now), and these actions (attribute keys are the Attr*
// constants):
//
//   - stream_up, once per live connection: daemon_id and daemon_name
//     (from /info), api_version (the daemon's, from /_ping);
//   - stream_down, once per outage: reason (the error) and since (RFC
//     3339 with nanoseconds: when the stream ended, or for a host not up
//     when the first failed attempt began);
//   - stream_still_down, every Options.StillDownInterval of the outage:
//     reason (of the latest attempt), since (as in stream_down) and
//     down_for (whole seconds since then, decimal); so a rule can alert
//     on a host silent for that long;
//   - events_lost: from, until, count when known, and reason:
//     daemon_restarted, buffer_overrun, dropped_backpressure or
//     malformed.
//
// stream_still_down is scheduled on the monotonic clock while the watcher
// waits between attempts (an attempt is bounded by CallTimeout), so it
// costs no goroutine.
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
	// handing them over) to Options.Workers: the consumer always finds a
	// P and a core. Without it, a flood from many hosts kept every P busy
	// and the consumer (Falco's thread in next_batch) waited behind up
	// to a thousand runnable readers (docs/PERFORMANCE.md).
	work     tokens
	cancel   context.CancelFunc
	watchers []*watcher
	// wg, not an errgroup: a watcher never returns an error (it retries
	// forever and turns failures into health events), and the errgroup's
	// cancel-on-first-error would let one bad host stop every other.
	wg        sync.WaitGroup
	closeOnce sync.Once

	// Liveness pings run on timer goroutines; Close waits for those that
	// started and refuses new ones.
	pingMu     sync.Mutex
	pingClosed bool
	pings      sync.WaitGroup
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
		events: make(chan *Batch, max(1, opts.Buffer/MaxBatch)),
		work:   make(tokens, opts.Workers),
	}
	seed := maphash.MakeSeed()
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
		// The live stream's own connections (see conn.go), and the
		// client for the other calls, from one read of the TLS files.
		dialer, err := ep.NewDialer()
		if err != nil {
			f.closeClients()
			return nil, fmt.Errorf("stream: endpoint %d: %w", i+1, err)
		}
		cli, err := dialer.NewClient()
		if err != nil {
			f.closeClients()
			return nil, fmt.Errorf("stream: endpoint %d: %w", i+1, err)
		}
		f.watchers = append(f.watchers, newWatcher(f, ep, cli, dialer, &opts, filterJSON, seed))
	}
	ctx, f.cancel = context.WithCancel(ctx)
	for _, w := range f.watchers {
		f.wg.Go(func() { w.run(ctx) })
	}
	return f, nil
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
		f.pingMu.Lock()
		f.pingClosed = true
		f.pingMu.Unlock()
		f.cancel()
		f.wg.Wait()
		f.pings.Wait()
		f.closeClients()
		close(f.events)
	})
	return nil
}

func (f *Fleet) closeClients() {
	for _, w := range f.watchers {
		_ = w.cli.Close()
	}
}

// startPing registers a liveness ping; false once Close has begun.
func (f *Fleet) startPing() bool {
	f.pingMu.Lock()
	defer f.pingMu.Unlock()
	if f.pingClosed {
		return false
	}
	f.pings.Add(1)
	return true
}

// errStreamEnded is the reason of a stream the daemon ended cleanly.
var errStreamEnded = errors.New("event stream ended by the daemon")

// tokens is a counting semaphore: a token is a slot of the channel.
type tokens chan struct{}

func (t tokens) acquire() { t <- struct{}{} }
func (t tokens) release() { <-t }
