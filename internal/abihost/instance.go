// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package abihost

/*
#include <stdlib.h>
#include "abihost.h"
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
	"unsafe"
)

// ErrTimeout is returned by NextBatch and ReadBatch when the plugin answered
// SS_PLUGIN_TIMEOUT: no event for now, call again.
var ErrTimeout = errors.New("abihost: next_batch timeout")

// The layout of a plugin event (PPME_PLUGINEVENT_E, libscap): a packed
// 26-byte header (ts u64, tid u64, len u32, type u16, nparams u32), one u32
// length per parameter, then the parameters: the plugin ID (u32) and the
// payload.
const (
	pluginEventType = 322
	evtHeaderSize   = 26
	evtOffLen       = 16
	evtOffType      = 20
	evtOffNParams   = 22
)

// Event is one event returned by next_batch.
type Event struct {
	Num       uint64 // event number: incremented per event across the plugin's life, like Falco's evtnum
	Timestamp uint64 // nanoseconds since the epoch, from the event header
	PluginID  uint32 // first parameter: the ID of the plugin that produced it (filled in when the plugin left 0)
	Payload   []byte // second parameter: the data

	raw   *C.ss_plugin_event // plugin memory, valid until the next next_batch
	inst  *Instance
	batch uint64
}

// Instance is an open event stream (plugin_open), with the plugin memory of
// its last batch.
type Instance struct {
	p     *Plugin
	h     C.uintptr_t      // ss_instance_t*, opaque: an integer to Go like Plugin.state; 0 once closed
	out   *C.abihost_batch // C memory: next_batch results
	evin  *C.ss_plugin_event_input
	batch uint64 // increments at every next_batch: tells stale events apart
}

// Open calls plugin_open with params. One instance at a time per plugin, as
// Falco opens one per source.
func (p *Plugin) Open(params string) (*Instance, error) {
	if p.state == 0 {
		return nil, ErrNotInitialized
	}
	if p.info.Capabilities&CapSourcing == 0 {
		return nil, fmt.Errorf("abihost: plugin %s has no event sourcing capability", p.info.Name)
	}
	if p.inst != nil {
		return nil, fmt.Errorf("abihost: plugin %s already has an open instance", p.info.Name)
	}
	cparams := C.CString(params)
	defer C.free(unsafe.Pointer(cparams))
	var rc C.ss_plugin_rc
	h := C.abihost_open(p.api, p.state, cparams, &rc)
	if rc != C.SS_PLUGIN_SUCCESS {
		return nil, p.lastErr("open", rc)
	}
	if h == 0 {
		return nil, fmt.Errorf("abihost: open of plugin %s returned success and no instance", p.info.Name)
	}
	in := &Instance{
		p:    p,
		h:    h,
		out:  (*C.abihost_batch)(C.calloc(1, C.sizeof_abihost_batch)),
		evin: (*C.ss_plugin_event_input)(C.calloc(1, C.sizeof_ss_plugin_event_input)),
	}
	in.evin.evtsrc = p.evtsrc
	p.inst = in
	return in, nil
}

// NextBatch calls next_batch and returns its events with their payloads
// copied into Go memory. Events come back with a nil error, with ErrTimeout
// (there may be none), or with io.EOF when the stream ended (events
// returned along with EOF are valid, as in libscap). A failure returns the
// plugin's last error. Extract and String accept only events of the latest
// batch: the plugin reuses its memory at the next call.
func (in *Instance) NextBatch() ([]Event, error) {
	evts, err := in.ReadBatch(nil)
	for i := range evts {
		evts[i].Payload = append([]byte(nil), evts[i].Payload...)
	}
	return evts, err
}

// ReadBatch is NextBatch without copies: it appends the events to dst[:0]
// and their Payload aliases plugin memory, valid only until the next
// ReadBatch, NextBatch or Close. With a dst of enough capacity it allocates
// nothing, which is what a throughput benchmark needs.
func (in *Instance) ReadBatch(dst []Event) ([]Event, error) {
	dst = dst[:0]
	if in.h == 0 {
		return dst, errors.New("abihost: instance is closed")
	}
	p := in.p
	in.batch++
	rc := C.abihost_next_batch(p.api, p.state, in.h, in.out)
	var err error
	switch rc {
	case C.SS_PLUGIN_SUCCESS:
	case C.SS_PLUGIN_TIMEOUT:
		err = ErrTimeout
	case C.SS_PLUGIN_EOF:
		err = io.EOF
	default:
		return dst, p.lastErr("next_batch", rc)
	}
	n := int(in.out.n)
	if n == 0 {
		return dst, err
	}
	if in.out.evts == nil {
		return dst, fmt.Errorf("abihost: next_batch of plugin %s returned %d events and no array", p.info.Name, n)
	}
	ptrs := unsafe.Slice(in.out.evts, n)
	for i, raw := range ptrs {
		ev, perr := decodeEvent(raw, p.info.ID)
		if perr != nil {
			return dst[:0], fmt.Errorf("abihost: next_batch of plugin %s: event %d of %d: %v", p.info.Name, i, n, perr)
		}
		p.evtnum++
		ev.Num = p.evtnum
		ev.inst = in
		ev.batch = in.batch
		dst = append(dst, ev)
	}
	return dst, err
}

// DrainStats is what Drain counted.
type DrainStats struct {
	Events   uint64 // events returned by next_batch
	Calls    uint64 // next_batch calls
	Timeouts uint64 // calls answered with SS_PLUGIN_TIMEOUT
	Bytes    uint64 // sum of the events' lengths, headers included
	// ThreadCPU is the CPU time of the thread that ran the loop: Falco's
	// thread's share, plugin code included.
	ThreadCPU time.Duration
}

// Drain calls next_batch until at least n events came, in a loop written in
// C that reads each event's header as libscap does, and returns what it
// counted. It is Falco's event loop with nothing of the Go runtime in it
// (ReadBatch makes one cgo call per batch, whose transitions and the
// runtime's handling of a call that waits inside the plugin are the
// caller's costs, which Falco does not have): throughput benchmarks use it.
// The events' memory is the plugin's again when it returns. It stops with
// io.EOF if the stream ends first, and with an error on a failure or a
// malformed event.
func (in *Instance) Drain(n uint64) (DrainStats, error) {
	if in.h == 0 {
		return DrainStats{}, errors.New("abihost: instance is closed")
	}
	p := in.p
	in.batch++
	st := (*C.abihost_drain_stats)(C.calloc(1, C.sizeof_abihost_drain_stats))
	defer C.free(unsafe.Pointer(st))
	rc := C.abihost_drain(p.api, p.state, in.h, C.uint64_t(n), st)
	got := DrainStats{Events: uint64(st.events), Calls: uint64(st.calls), Timeouts: uint64(st.timeouts), Bytes: uint64(st.bytes), ThreadCPU: time.Duration(st.thread_cpu_ns)}
	p.evtnum += got.Events
	switch {
	case st.bad >= 0:
		return got, fmt.Errorf("abihost: next_batch of plugin %s: event %d of a batch of %d is not a plugin event", p.info.Name, int64(st.bad), uint32(st.bad_batch_len))
	case rc == C.SS_PLUGIN_SUCCESS:
		return got, nil
	case rc == C.SS_PLUGIN_EOF:
		return got, io.EOF
	default:
		return got, p.lastErr("next_batch", rc)
	}
}

// decodeEvent reads a plugin event header and parameters in place. The
// event is little endian, like the machines libscap runs on. A plugin ID of
// zero means "the framework fills it in" (the SDK writes zero): like
// libscap, decodeEvent writes the sourcing plugin's id into the event.
func decodeEvent(raw *C.ss_plugin_event, pluginID uint32) (Event, error) {
	if raw == nil {
		return Event{}, errors.New("nil event pointer")
	}
	hdr := unsafe.Slice((*byte)(unsafe.Pointer(raw)), evtHeaderSize)
	total := binary.LittleEndian.Uint32(hdr[evtOffLen:])
	typ := binary.LittleEndian.Uint16(hdr[evtOffType:])
	nparams := binary.LittleEndian.Uint32(hdr[evtOffNParams:])
	if typ != pluginEventType {
		return Event{}, fmt.Errorf("event type %d, want plugin event %d", typ, pluginEventType)
	}
	if nparams != 2 {
		return Event{}, fmt.Errorf("plugin event with %d parameters, want 2", nparams)
	}
	const fixed = evtHeaderSize + 2*4 + 4
	if total < fixed {
		return Event{}, fmt.Errorf("event length %d shorter than a plugin event header (%d)", total, fixed)
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(raw)), total)
	idLen := binary.LittleEndian.Uint32(b[evtHeaderSize:])
	dataLen := binary.LittleEndian.Uint32(b[evtHeaderSize+4:])
	if idLen != 4 {
		return Event{}, fmt.Errorf("plugin ID parameter of %d bytes, want 4", idLen)
	}
	if uint64(fixed)+uint64(dataLen) > uint64(total) {
		return Event{}, fmt.Errorf("payload of %d bytes overflows the event length %d", dataLen, total)
	}
	id := b[evtHeaderSize+8 : evtHeaderSize+12]
	if binary.LittleEndian.Uint32(id) == 0 {
		binary.LittleEndian.PutUint32(id, pluginID)
	}
	return Event{
		Timestamp: binary.LittleEndian.Uint64(b[0:]),
		PluginID:  binary.LittleEndian.Uint32(id),
		Payload:   b[fixed : fixed+dataLen : fixed+dataLen],
		raw:       raw,
	}, nil
}

// check tells whether ev can be handed to the plugin: it must come from
// this instance's latest batch, whose memory the plugin still holds.
func (in *Instance) check(ev *Event) error {
	switch {
	case in.h == 0:
		return errors.New("abihost: instance is closed")
	case ev.raw == nil || ev.inst != in:
		return errors.New("abihost: event was not returned by this instance")
	case ev.batch != in.batch:
		return fmt.Errorf("abihost: event %d belongs to an earlier batch, its memory is gone", ev.Num)
	}
	return nil
}

// setEvent fills the instance's ss_plugin_event_input for ev.
func (in *Instance) setEvent(ev *Event) *C.ss_plugin_event_input {
	in.evin.evt = ev.raw
	in.evin.evtnum = C.uint64_t(ev.Num)
	return in.evin
}

// String calls event_to_string on ev, an event of the latest batch.
func (in *Instance) String(ev Event) (string, error) {
	if err := in.check(&ev); err != nil {
		return "", err
	}
	p := in.p
	if C.abihost_has_event_to_string(p.api) == 0 {
		return "", fmt.Errorf("abihost: plugin %s has no event_to_string", p.info.Name)
	}
	return C.GoString(C.abihost_event_to_string(p.api, p.state, in.setEvent(&ev))), nil
}

// Progress calls get_progress: the percentage (0 to 100, two decimals as the
// API gives hundredths) and its text. ok is false when the plugin does not
// implement get_progress.
func (in *Instance) Progress() (pct float64, text string, ok bool, err error) {
	if in.h == 0 {
		return 0, "", false, errors.New("abihost: instance is closed")
	}
	p := in.p
	if C.abihost_has_progress(p.api) == 0 {
		return 0, "", false, nil
	}
	var hundredths C.uint32_t
	text = C.GoString(C.abihost_get_progress(p.api, p.state, in.h, &hundredths))
	return float64(hundredths) / 100, text, true, nil
}

// Close calls plugin_close. Closing twice does nothing.
func (in *Instance) Close() {
	if in.h == 0 {
		return
	}
	C.abihost_close(in.p.api, in.p.state, in.h)
	in.h = 0
	C.free(unsafe.Pointer(in.out))
	C.free(unsafe.Pointer(in.evin))
	in.out, in.evin = nil, nil
	if in.p.inst == in {
		in.p.inst = nil
	}
}
