// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import "sync/atomic"

// HostStats are the counters of one host.
type HostStats struct {
	Host       string
	Up         bool   // the live stream is connected
	Delivered  uint64 // daemon events handed to Batches
	Duplicates uint64 // replayed events dropped at the resume boundary
	Dropped    uint64 // events dropped because Batches was full
	Malformed  uint64 // lines skipped: not Docker events (an oversized event is reduced, not skipped)
	Connects   uint64 // live streams established
	Losses     uint64 // events_lost reports delivered
	// InspectFailures counts enrichment inspects that failed or came too
	// late (see Enrich); their events went out saying why.
	InspectFailures uint64
}

// hostCounters are a watcher's counters, read by Stats from any
// goroutine.
type hostCounters struct {
	up                                                  atomic.Bool
	delivered, duplicates, dropped, malformed, connects atomic.Uint64
	reported                                            atomic.Uint64 // events_lost reports delivered
}

// Stats returns the counters of every host, in the order of the endpoints.
func (f *Fleet) Stats() []HostStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]HostStats, len(f.watchers))
	for i, w := range f.watchers {
		out[i] = HostStats{
			Host:       w.host,
			Up:         w.up.Load(),
			Delivered:  w.delivered.Load(),
			Duplicates: w.duplicates.Load(),
			Dropped:    w.dropped.Load(),
			Malformed:  w.malformed.Load(),
			Connects:   w.connects.Load(),
			Losses:     w.reported.Load(),
		}
		if w.enr != nil {
			out[i].InspectFailures = w.enr.failures.Load()
		}
	}
	return out
}

// QueuedBatches is the number of batches waiting in Batches for the
// consumer (each of 1 to MaxBatch events): how far behind it is.
func (f *Fleet) QueuedBatches() int { return len(f.events) }
