// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"

	"github.com/dockerfleet/dockerfleet/stream"
)

// A plugin event as Falco reads it from a batch, laid out as the SDK's
// sdk/event.go and libscap's ss_plugin_event: a packed header (ts u64,
// tid u64, len u32, type u16, nparams u32), the two parameter lengths (u32
// each: plugin ID, payload), the plugin ID (u32, 0: filled in by the
// framework), then the payload at sdk.PluginEventPayloadOffset. Every event
// the plugin hands Falco gets its header from writeHeader: the header a
// reader writes before a payload framed in place (frameEvent), a payload
// copied into a batch slot (writeEvent, health events included) and the
// SDK-style writers of a slot (slotWriter).
const (
	evtOffTimestamp = 0
	evtOffTid       = 8
	evtOffLen       = 16
	evtOffType      = 20
	evtOffNParams   = 22
	evtOffIDLen     = sdk.PluginEventPayloadOffset - 12 // first parameter length
	evtOffDataLen   = sdk.PluginEventPayloadOffset - 8  // second parameter length
	evtOffPluginID  = sdk.PluginEventPayloadOffset - 4

	// pluginEventType is PPME_PLUGINEVENT_E, the type of every plugin event.
	pluginEventType     = 322
	pluginEventNParams  = 2
	pluginEventIDLength = 4
)

// writeHeader writes the whole header of a plugin event of timestamp ts
// (Falco's: see eventTime) with a payload of n bytes into hdr
// (sdk.PluginEventPayloadOffset bytes). Fields go in the machine's byte
// order, as the SDK's C struct writes do.
func writeHeader(hdr []byte, ts uint64, n int) {
	_ = hdr[sdk.PluginEventPayloadOffset-1] // one bounds check for the writes below
	binary.NativeEndian.PutUint64(hdr[evtOffTimestamp:], ts)
	binary.NativeEndian.PutUint64(hdr[evtOffTid:], math.MaxUint64)
	binary.NativeEndian.PutUint32(hdr[evtOffLen:], uint32(sdk.PluginEventPayloadOffset+n))
	binary.NativeEndian.PutUint16(hdr[evtOffType:], pluginEventType)
	binary.NativeEndian.PutUint32(hdr[evtOffNParams:], pluginEventNParams)
	binary.NativeEndian.PutUint32(hdr[evtOffIDLen:], pluginEventIDLength)
	binary.NativeEndian.PutUint32(hdr[evtOffDataLen:], uint32(n))
	binary.NativeEndian.PutUint32(hdr[evtOffPluginID:], 0) // the framework's
}

// frameEvent writes Falco's header of ev into the room before its payload
// (stream.Options.Frame), in the reader that built the payload.
func frameEvent(room []byte, ev stream.Event) {
	writeHeader(room, eventTime(ev.TimeNano), len(ev.Payload))
}

// writeEvent copies one event into a batch slot (header and slotCap bytes
// of payload room), and reports whether it fit.
//
// It writes the slot itself rather than through the SDK's EventWriter,
// which copies a payload a byte at a time (docs/PERFORMANCE.md).
func writeEvent(slot []byte, slotCap int, ev stream.Event) bool {
	if len(ev.Payload) > slotCap {
		return false
	}
	n := copy(slot[sdk.PluginEventPayloadOffset:], ev.Payload)
	writeHeader(slot, eventTime(ev.TimeNano), n)
	return true
}

// eventTime is an event's timestamp in Falco's header: a line without
// time is stamped by the framework on arrival (math.MaxUint64, as the
// SDK's default does) rather than dated 1970.
func eventTime(timeNano int64) uint64 {
	if timeNano <= 0 {
		return math.MaxUint64
	}
	return uint64(timeNano)
}

// inputEventData reads the payload of an event from the SDK's reader in
// place, through the layout writeHeader writes: the input's first member
// is the event, whose payload length and payload follow its header. The
// SDK's Reader() would allocate a reader on every field Falco extracts.
func inputEventData(evt sdk.EventReader) []byte {
	in := (*[2]unsafe.Pointer)(unsafe.Pointer(&evt))[1] // *ss_plugin_event_input
	if in == nil {
		return nil
	}
	ev := *(*unsafe.Pointer)(in) // const ss_plugin_event *evt
	if ev == nil || *(*uint16)(unsafe.Add(ev, evtOffType)) != pluginEventType {
		return nil // not a plugin event: Parse refuses an empty payload
	}
	n := *(*uint32)(unsafe.Add(ev, evtOffDataLen))
	return unsafe.Slice((*byte)(unsafe.Add(ev, sdk.PluginEventPayloadOffset)), n)
}
