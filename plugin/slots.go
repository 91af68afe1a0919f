// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"errors"
	"fmt"
	"io"
	"math"
	"syscall"
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// slotBatch is the batch of event slots next_batch hands to Falco: an
// sdk.EventWriters laid out as the SDK's own (sdk.NewEventWriters), in
// one anonymous memory mapping instead of one calloc per slot.
//
// Every slot must be able to hold the largest event, yet a Docker event
// touches a page or two of it: pages of an anonymous mapping are resident
// only once written, whereas calloc'ed slots may all be, depending on the
// state of the C heap (docs/PERFORMANCE.md).
type slotBatch struct {
	mem      []byte // the mapping: the array of slot pointers, then the slots
	n        int    // slots
	stride   int    // bytes from one slot to the next
	slotCap  int    // payload room of each slot
	writers  []slotWriter
	released bool
}

// newSlotBatch maps n slots of slotCap bytes of payload room each.
func newSlotBatch(n, slotCap int) (*slotBatch, error) {
	if n < 1 || slotCap < 0 || slotCap > math.MaxUint32-sdk.PluginEventPayloadOffset {
		return nil, fmt.Errorf("event batch of %d slots of %d bytes: out of range", n, slotCap)
	}
	stride := (sdk.PluginEventPayloadOffset + slotCap + 7) &^ 7
	array := (n*8 + 63) &^ 63
	size := uint64(array) + uint64(n)*uint64(stride)
	if size > math.MaxInt {
		return nil, fmt.Errorf("event batch of %d slots of %d bytes: too large", n, slotCap)
	}
	mem, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("event batch of %d slots of %d bytes: %w", n, slotCap, err)
	}
	b := &slotBatch{mem: mem, n: n, stride: stride, slotCap: slotCap, writers: make([]slotWriter, n)}
	for i := range n {
		slot := b.slot(i)
		// An empty event stamped by the framework: the SDK's slot.
		writeHeader(slot, math.MaxUint64, 0)
		// Outside Go's heap: the pointer is stored as a plain word.
		*(*uintptr)(unsafe.Pointer(&mem[i*8])) = uintptr(unsafe.Pointer(&slot[0]))
		b.writers[i] = slotWriter{slot: slot, slotCap: slotCap, ts: math.MaxUint64}
	}
	return b, nil
}

// slot returns the memory of slot i: header and payload room.
func (b *slotBatch) slot(i int) []byte {
	off := (b.n*8+63)&^63 + i*b.stride
	return b.mem[off : off+sdk.PluginEventPayloadOffset+b.slotCap : off+sdk.PluginEventPayloadOffset+b.slotCap]
}

// Get returns a writer of slot i, as the SDK's; NextBatch writes the slots
// directly (writeEvent).
func (b *slotBatch) Get(i int) sdk.EventWriter { return &b.writers[i] }

// Len is the number of slots.
func (b *slotBatch) Len() int { return b.n }

// ArrayPtr is the array of slot pointers Falco reads a batch from.
func (b *slotBatch) ArrayPtr() unsafe.Pointer { return unsafe.Pointer(&b.mem[0]) }

// Free unmaps the batch; the SDK calls it when the instance is closed.
func (b *slotBatch) Free() {
	if !b.released {
		b.released = true
		_ = syscall.Munmap(b.mem)
	}
}

// slotWriter writes one slot as the SDK's event writer does.
type slotWriter struct {
	slot    []byte
	slotCap int
	n       int    // payload bytes written
	ts      uint64 // Falco's timestamp of the event
}

var errSlotFull = errors.New("event payload larger than its batch slot")

// Writer empties the slot's payload and returns a writer appending to it.
func (w *slotWriter) Writer() io.Writer {
	w.n = 0
	w.rewriteHeader()
	return w
}

// Write appends p to the payload, or fails without writing when it does
// not fit.
func (w *slotWriter) Write(p []byte) (int, error) {
	if len(p) > w.slotCap-w.n {
		return 0, errSlotFull
	}
	copy(w.slot[sdk.PluginEventPayloadOffset+w.n:], p)
	w.n += len(p)
	w.rewriteHeader()
	return len(p), nil
}

// SetTimestamp sets the event's time (math.MaxUint64: stamped by Falco).
func (w *slotWriter) SetTimestamp(ts uint64) {
	w.ts = ts
	w.rewriteHeader()
}

// rewriteHeader writes the slot's header for what the writer holds now.
func (w *slotWriter) rewriteHeader() { writeHeader(w.slot, w.ts, w.n) }
