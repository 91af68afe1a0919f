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
// fit. (The C ABI path is covered by plugin/bench's TestPayloadsArriveIntact.)
func TestWriteEventMatchesSDKWriter(t *testing.T) {
	const slotCap = 300
	sdkBatch, err := sdk.NewEventWriters(1, slotCap)
	if err != nil {
		t.Fatal(err)
	}
	defer sdkBatch.Free()
	ourBatch, err := sdk.NewEventWriters(1, slotCap)
	if err != nil {
		t.Fatal(err)
	}
	defer ourBatch.Free()
	in := &instance{slots: ourBatch.ArrayPtr(), slotCap: slotCap}
	sdkSlot := (&instance{slots: sdkBatch.ArrayPtr(), slotCap: slotCap}).slot(0)
	ourSlot := in.slot(0)

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
	}
	if writeEvent(ourSlot, slotCap, stream.Event{Payload: make([]byte, slotCap+1)}) {
		t.Error("a payload larger than the slot was accepted")
	}
}
