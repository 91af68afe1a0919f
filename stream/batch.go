// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import "sync"

// MaxBatch is the most events in one Batch. A reader hands over the
// events it built from what one read brought in one channel operation,
// instead of one operation and one wake-up of the consumer per event;
// under a flood, per-event hand-offs cost a 2-core machine more than
// reading (docs/PERFORMANCE.md).
const MaxBatch = 16

// batchBufSize is the room for the payloads of a batch: MaxBatch events
// of a typical size. A batch whose next payload does not fit is handed
// over; a payload larger than the whole room is built on its own.
const batchBufSize = 16 << 10

// Batch is events of one host, in the order they came, handed over at
// once. The consumer owns it until it gives it back with Fleet.Recycle.
type Batch struct {
	Events []Event
	buf    []byte // backs the payloads built in place
}

// batchPool holds recycled batches: a consumer done with a batch's
// events gives it back, so that a flood allocates nothing per event
// (docs/PERFORMANCE.md).
var batchPool = sync.Pool{New: func() any {
	return &Batch{Events: make([]Event, 0, MaxBatch), buf: make([]byte, 0, batchBufSize)}
}}

func newBatch() *Batch { return batchPool.Get().(*Batch) }

// reset empties b for reuse.
func (b *Batch) reset() {
	clear(b.Events)
	b.Events = b.Events[:0]
	b.buf = b.buf[:0]
}

// Recycle gives back a batch received from Batches once nothing uses its
// events any more, their payloads included: its memory then serves
// again. It is optional (a batch not given back is garbage collected),
// and b must not be used after it.
func (f *Fleet) Recycle(b *Batch) {
	if b == nil || cap(b.buf) != batchBufSize || cap(b.Events) != MaxBatch {
		return // not one of ours, or reshaped: let the collector have it
	}
	b.reset()
	batchPool.Put(b)
}
