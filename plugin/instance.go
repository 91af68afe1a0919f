// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/source"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/stream"
)

// batchWait is how long NextBatch waits for the first event of a batch
// before it gives the turn back to Falco with sdk.ErrTimeout. It matches the
// SDK's push instances; Falco loops on next_batch anyway.
const batchWait = 30 * time.Millisecond

// instance is one open stream: a fleet of host watchers whose events fan in
// to one channel.
//
// It does not use source.NewPushInstance: that one waits until a batch is
// full or its timer fires, which adds up to 30 ms of latency to a quiet
// fleet's events. This one returns as soon as the channel has nothing more
// to give right now, so a lone event reaches Falco at once and a flood still
// fills whole batches.
type instance struct {
	source.BaseInstance
	fleet   *stream.Fleet
	batches <-chan *stream.Batch
	// cur is the batch of the fleet being copied (nil: none), next the
	// index of its next event: it may not fit what is left of Falco's.
	cur    *stream.Batch
	next   int
	timer  *time.Timer
	closed bool
	// slots is the batch as Falco sees it (EventWriters.ArrayPtr: an array
	// of pointers to the events), slotCap the payload room of each.
	slots   unsafe.Pointer
	slotCap int
	// slotAddrs are the slots' own addresses: an entry of Falco's array
	// points either at its slot or at a payload framed where it lies.
	slotAddrs []unsafe.Pointer
	// held are the fleet's batches that Falco's last batch points into,
	// pinned (pinner) until the next call: then Falco is done with them.
	// curPinned tells whether cur's memory is pinned already.
	held      []*stream.Batch
	pinner    runtime.Pinner
	curPinned bool
}

// newInstance returns an instance handing Falco the batch whose array of
// event pointers is slots, of n slots of slotCap bytes of payload room.
func newInstance(fleet *stream.Fleet, slots unsafe.Pointer, n, slotCap int) *instance {
	timer := time.NewTimer(batchWait)
	timer.Stop()
	i := &instance{timer: timer, slots: slots, slotCap: slotCap}
	if fleet != nil {
		i.fleet, i.batches = fleet, fleet.Batches()
	}
	i.slotAddrs = slices.Clone(unsafe.Slice((*unsafe.Pointer)(slots), n))
	return i
}

// spareProc gives the plugin's Go runtime one P more than it would have,
// once per process, and returns how many it had: the cores the plugin
// may use. Falco's thread runs next_batch on a P of this runtime: under a
// flood from many hosts the readers kept every P busy, and next_batch
// waited in the run queue behind them (100 flooding hosts through the C
// ABI: 433k events/s, 805k with one P more; docs/PERFORMANCE.md).
var spareProc = sync.OnceValue(func() int {
	cores := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(cores + 1)
	return cores
})

// readerWorkers is how many hosts' readers may work at once on cores
// cores: one less, so that Falco's thread finds a core as well as a P,
// but at least two.
//
// With as many working readers as cores and a 4,096-event queue
// (bufferSize), Falco's thread waited for a core under a flood from 100
// hosts, the queue filled up and the readers built events only to drop
// them: 0.88-0.89 M events/s delivered, against 1.23-1.45 M with one core
// left. On 2 cores, though, one core left means one working reader, and
// reading is then bound to that core: at 100 and 1,000 hosts the reader's
// core was the limit. Two readers with a queue of 32,768 events (the
// default bufferSize since) deliver 1.68-1.86 and 1.40-1.64 M/s there,
// against 1.16-1.66 and 1.17-1.34 with one; the larger queue absorbs the
// moments when Falco's thread waits for a core (docs/PERFORMANCE.md).
func readerWorkers(cores int) int { return max(2, cores-1) }

// gcPercent is the GOGC of the plugin's Go runtime (its own, apart from
// Falco's and other plugins'), unless Falco's environment sets GOGC. An
// idle fleet's resident memory is mostly the collector's headroom over a
// small live heap (per-connection state and the garbage of liveness
// pings): at 1,000 idle hosts, 60-64 KiB per host with Go's default of 100
// against 33 KiB with 50, for the same idle CPU (1.5 % of a core); a flood
// allocates nothing per event, so its speed does not change either
// (docs/PERFORMANCE.md).
const gcPercent = 50

// tuneGC sets gcPercent once per process.
var tuneGC = sync.OnceFunc(func() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
})

// openInstance parses open_params with the defaults of cfg and starts
// watching every host. Bad endpoints fail here, naming the culprit; a host
// that is merely down does not: its watcher keeps trying.
func openInstance(cfg Config, params string) (*instance, error) {
	endpoints, err := hosts.Parse(params, hosts.Defaults{
		CertDir: cfg.TLS.CertDir,
		CA:      cfg.TLS.CA,
		Cert:    cfg.TLS.Cert,
		Key:     cfg.TLS.Key,
	}, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("open_params: %w", err)
	}
	cores := spareProc()
	tuneGC()
	opts := streamOptions(cfg)
	opts.Workers = readerWorkers(cores)
	// Room for Falco's event header before every payload built in a
	// batch: NextBatch frames payloads where they lie (frame).
	opts.Headroom = sdk.PluginEventPayloadOffset
	opts.Frame = frameEvent
	fleet, err := stream.Start(context.Background(), endpoints, opts)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	// Each batch slot must hold the largest event the stream lets through.
	slotCap := slotSize(cfg.MaxEventSize, endpoints) + cfg.Enrich.enrichRoom()
	batch, err := newSlotBatch(int(cfg.BatchSize), slotCap)
	if err != nil {
		_ = fleet.Close()
		return nil, fmt.Errorf("open: allocating the event batch: %w", err)
	}
	inst := newInstance(fleet, batch.ArrayPtr(), batch.Len(), slotCap)
	inst.SetEvents(batch)
	return inst, nil
}

// slotSize is the size of one batch slot: the largest payload a line of
// maxLine bytes from any of the endpoints can make, so that no event the
// stream lets through can fail to fit (which would end the stream in Falco).
func slotSize(maxLine uint32, endpoints []hosts.Endpoint) int {
	longestName := 0
	for _, ep := range endpoints {
		longestName = max(longestName, len(ep.Name))
	}
	// The plugin's own health events are not bound by maxLine: the stream
	// bounds them.
	return payload.MaxSize(longestName, max(int(maxLine), stream.MaxHealthLineLen(longestName)))
}

// NextBatch hands Falco the events that are ready, waiting up to batchWait
// for the first one.
func (i *instance) NextBatch(_ sdk.PluginState, evts sdk.EventWriters) (int, error) {
	// Falco is done with the events of its previous batch.
	i.release()
	if i.closed {
		return 0, sdk.ErrEOF
	}
	if i.cur == nil {
		var ok bool
		select {
		case i.cur, ok = <-i.batches:
		default:
			i.timer.Reset(batchWait)
			select {
			case i.cur, ok = <-i.batches:
				i.timer.Stop()
			case <-i.timer.C:
				return 0, sdk.ErrTimeout
			}
		}
		if !ok {
			// The fleet only closes its channel when it is closed itself.
			i.closed = true
			return 0, sdk.ErrEOF
		}
	}
	n := 0
	for {
		for ; i.next < len(i.cur.Events) && n < evts.Len(); i.next++ {
			// A payload larger than the slot cannot come (slotSize
			// bounds them all); if a bug ever let one through, it is
			// skipped: an error here would end the stream, and in Falco
			// stop every source.
			if i.put(n, i.cur.Events[i.next]) {
				n++
			}
		}
		if i.next == len(i.cur.Events) {
			if i.curPinned {
				// Falco's batch points into it: the fleet gets it
				// back at the next call.
				i.held = append(i.held, i.cur)
			} else {
				// Every payload is copied into Falco's batch: the
				// fleet may reuse the memory.
				i.fleet.Recycle(i.cur)
			}
			i.cur, i.next, i.curPinned = nil, 0, false
		}
		if n == evts.Len() {
			return n, nil
		}
		select {
		case b, ok := <-i.batches:
			if !ok {
				i.closed = true
				if n == 0 {
					return 0, sdk.ErrEOF
				}
				return n, nil
			}
			i.cur = b
		default:
			return n, nil
		}
	}
}

// The layout of a plugin event in a batch slot, as the SDK lays it out
// (sdk/event.go) and libscap reads it: a packed ss_plugin_event header (ts
// u64, tid u64, len u32, type u16, nparams u32), the two parameter lengths
// (u32 each: plugin ID, payload), the plugin ID (u32, 0: filled in by the
// framework), then the payload at sdk.PluginEventPayloadOffset. The SDK
// wrote everything but ts, len and the payload length when it allocated the
// slot; those three are all an event changes.
const (
	evtOffTimestamp = 0
	evtOffLen       = 16
	evtOffDataLen   = sdk.PluginEventPayloadOffset - 8 // second parameter length
)

// put makes ev event n of Falco's batch, and reports whether it fit. A
// payload framed in its batch (stream.Event.Framed: the reader left
// sdk.PluginEventPayloadOffset bytes before it and wrote Falco's header
// there, frameEvent) is handed over where it lies, its batch pinned until
// the next call; any other is copied into slot n.
//
// Framing in place spares Falco's thread a copy of every payload, which
// was most of its time in next_batch under a flood: 72-192 ns of its CPU
// per event with the copy, 48-106 framed (1 to 1,000 flooding hosts, A/B
// runs; docs/PERFORMANCE.md). The reader writes the header as it builds
// the payload (frameEvent), while the line is in its core's cache. Falco
// only reads an event until its next call of next_batch, and
// runtime.Pinner is what lets C hold a Go pointer that long.
func (i *instance) put(n int, ev stream.Event) bool {
	ptrs := unsafe.Slice((*unsafe.Pointer)(i.slots), n+1)
	if len(ev.Payload) > i.slotCap {
		// Cannot come (slotSize bounds the events): see NextBatch.
		return false
	}
	if !ev.Framed {
		ptrs[n] = i.slotAddrs[n]
		return writeEvent(i.slot(n), i.slotCap, ev)
	}
	hdr := unsafe.Add(unsafe.Pointer(unsafe.SliceData(ev.Payload)), -sdk.PluginEventPayloadOffset)
	if !i.curPinned {
		i.pinner.Pin(hdr) // the whole of the batch's memory
		i.curPinned = true
	}
	ptrs[n] = hdr // framed by the reader (frameEvent)
	return true
}

// release gives the fleet back the batches Falco's last batch pointed
// into, once Falco is done with them (its next call, or Close).
func (i *instance) release() {
	if len(i.held) == 0 && !i.curPinned {
		return
	}
	i.pinner.Unpin()
	i.curPinned = false
	for k, b := range i.held {
		i.fleet.Recycle(b)
		i.held[k] = nil
	}
	i.held = i.held[:0]
}

// slot returns the memory of batch slot n (header and payload room).
func (i *instance) slot(n int) []byte {
	return unsafe.Slice((*byte)(i.slotAddrs[n]), sdk.PluginEventPayloadOffset+i.slotCap)
}

// writeEvent copies one event into a batch slot (from slot) of payload room
// slotCap, and reports whether it fit.
//
// It writes the slot itself instead of going through the SDK's
// EventWriter: that one copies the payload a byte at a time (ptr's
// bytesReadWriter.Write), which was the largest single cost of next_batch
// in the profiles of a flood (docs/PERFORMANCE.md). Fields are written in
// the machine's byte order, as the SDK's C struct writes do.
func writeEvent(slot []byte, slotCap int, ev stream.Event) bool {
	if len(ev.Payload) > slotCap {
		return false
	}
	n := copy(slot[sdk.PluginEventPayloadOffset:], ev.Payload)
	binary.NativeEndian.PutUint64(slot[evtOffTimestamp:], eventTime(ev.TimeNano))
	binary.NativeEndian.PutUint32(slot[evtOffLen:], uint32(sdk.PluginEventPayloadOffset+n))
	binary.NativeEndian.PutUint32(slot[evtOffDataLen:], uint32(n))
	return true
}

// writeHeader writes the whole header of a plugin event with a payload of
// n bytes into hdr (sdk.PluginEventPayloadOffset bytes), as the SDK lays
// out a slot (newSlotBatch and writeEvent).
func writeHeader(hdr []byte, timeNano int64, n int) {
	binary.NativeEndian.PutUint64(hdr[evtOffTimestamp:], eventTime(timeNano))
	binary.NativeEndian.PutUint64(hdr[evtOffTid:], math.MaxUint64)
	binary.NativeEndian.PutUint32(hdr[evtOffLen:], uint32(sdk.PluginEventPayloadOffset+n))
	binary.NativeEndian.PutUint16(hdr[evtOffType:], pluginEventType)
	binary.NativeEndian.PutUint32(hdr[evtOffNParams:], pluginEventNParams)
	binary.NativeEndian.PutUint32(hdr[evtOffIDLen:], pluginEventIDLength)
	binary.NativeEndian.PutUint32(hdr[evtOffDataLen:], uint32(n))
	binary.NativeEndian.PutUint32(hdr[evtOffDataLen+4:], 0) // plugin ID: the framework's
}

// frameEvent writes Falco's header of ev into the room before its payload
// (stream.Options.Frame).
func frameEvent(room []byte, ev stream.Event) { writeHeader(room, ev.TimeNano, len(ev.Payload)) }

// eventTime is an event's timestamp in Falco's header: a line without
// time is stamped by the framework on arrival (math.MaxUint64, as the
// SDK's default does) rather than dated 1970.
func eventTime(timeNano int64) uint64 {
	if timeNano <= 0 {
		return math.MaxUint64
	}
	return uint64(timeNano)
}

// Close stops every watcher and waits for them.
func (i *instance) Close() {
	i.closed = true
	i.timer.Stop()
	i.release()
	_ = i.fleet.Close()
}
