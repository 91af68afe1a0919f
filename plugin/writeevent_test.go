// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"

	"github.com/dockerfleet/dockerfleet/stream"
)

// writeEvent must leave a slot exactly as the SDK's EventWriter does, for
// payloads growing and shrinking in the same slot, and refuse what does not
// fit. (The C ABI path is covered by internal/bench's TestPayloadsArriveIntact.)
func TestWriteEventMatchesSDKWriter(t *testing.T) {
	const slotCap = 300
	sdkBatch, err := sdk.NewEventWriters(1, slotCap)
	if err != nil {
		t.Fatal(err)
	}
	defer sdkBatch.Free()
	ourBatch, err := newSlotBatch(1, slotCap)
	if err != nil {
		t.Fatal(err)
	}
	defer ourBatch.Free()
	in := newInstance(nil, ourBatch.ArrayPtr(), 1, slotCap)
	sdkSlot := newInstance(nil, sdkBatch.ArrayPtr(), 1, slotCap).slot(0)
	ourSlot := in.slot(0)
	if !bytes.Equal(ourSlot, sdkSlot) {
		t.Fatalf("new slot differs from the SDK's:\n ours %x\n sdk  %x", ourSlot[:sdk.PluginEventPayloadOffset], sdkSlot[:sdk.PluginEventPayloadOffset])
	}

	for _, size := range []int{0, 1, 200, 3, slotCap, 17} {
		ev := stream.Event{Payload: bytes.Repeat([]byte{byte('a' + size%26)}, size), TimeNano: int64(1_700_000_000_000_000_000 + size)}
		w := sdkBatch.Get(0)
		if _, err := w.Writer().Write(ev.Payload); err != nil {
			t.Fatal(err)
		}
		w.SetTimestamp(uint64(ev.TimeNano))
		if !writeEvent(ourSlot, slotCap, ev) {
			t.Fatalf("size %d: refused a payload that fits", size)
		}
		total := int(binary.NativeEndian.Uint32(sdkSlot[evtOffLen:]))
		if total != sdk.PluginEventPayloadOffset+size {
			t.Fatalf("size %d: SDK event length %d, want %d", size, total, sdk.PluginEventPayloadOffset+size)
		}
		if !bytes.Equal(ourSlot[:total], sdkSlot[:total]) {
			t.Errorf("size %d: slot differs from the SDK's:\n ours %x\n sdk  %x", size, ourSlot[:total], sdkSlot[:total])
		}
		// The header the readers write before a payload framed in place
		// (frameEvent) is the SDK's too.
		hdr := bytes.Repeat([]byte{0xee}, sdk.PluginEventPayloadOffset)
		frameEvent(hdr, ev)
		if !bytes.Equal(hdr, sdkSlot[:sdk.PluginEventPayloadOffset]) {
			t.Errorf("size %d: framed header differs from the SDK's:\n ours %x\n sdk  %x", size, hdr, sdkSlot[:sdk.PluginEventPayloadOffset])
		}
	}
	if writeEvent(ourSlot, slotCap, stream.Event{Payload: make([]byte, slotCap+1)}) {
		t.Error("a payload larger than the slot was accepted")
	}
}

// The batch's own writers (sdk.EventWriters.Get) write a slot exactly as
// the SDK's do, and refuse what does not fit without writing.
func TestSlotBatchWritersMatchSDK(t *testing.T) {
	const slots, slotCap = 3, 100
	sdkBatch, err := sdk.NewEventWriters(slots, slotCap)
	if err != nil {
		t.Fatal(err)
	}
	defer sdkBatch.Free()
	ours, err := newSlotBatch(slots, slotCap)
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Free()
	if ours.Len() != slots {
		t.Fatalf("Len %d, want %d", ours.Len(), slots)
	}
	sdkIn := newInstance(nil, sdkBatch.ArrayPtr(), slots, slotCap)
	ourIn := newInstance(nil, ours.ArrayPtr(), slots, slotCap)
	for i := range slots {
		for _, parts := range [][]string{{"abc"}, {"x", "", "yz"}, {}, {string(bytes.Repeat([]byte("q"), slotCap))}} {
			for _, b := range []sdk.EventWriters{sdkBatch, ours} {
				w := b.Get(i)
				out := w.Writer()
				for _, p := range parts {
					if _, err := out.Write([]byte(p)); err != nil {
						t.Fatal(err)
					}
				}
				w.SetTimestamp(uint64(1000 + i))
			}
			if got, want := ourIn.slot(i), sdkIn.slot(i); !bytes.Equal(got, want) {
				t.Errorf("slot %d after %q differs:\n ours %x\n sdk  %x", i, parts, got[:sdk.PluginEventPayloadOffset], want[:sdk.PluginEventPayloadOffset])
			}
		}
		if n, err := ours.Get(i).Writer().Write(make([]byte, slotCap+1)); err == nil || n != 0 {
			t.Errorf("slot %d: %d bytes over its room written, error %v", i, n, err)
		}
	}
	if _, err := newSlotBatch(0, 10); err == nil {
		t.Error("a batch of 0 slots was made")
	}
}
