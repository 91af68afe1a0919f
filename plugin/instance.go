// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
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
	// inventory applies changes of open_params' inventory files; nil
	// when it names none.
	inventory *inventoryWatcher
	// certs reports client certificates about to expire.
	certs *certWatcher
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
// once per process, and returns how many it had: the cores the plugin may
// use. Falco's thread then finds a P for next_batch however many readers
// are runnable (see "Sharing the cores with Falco" in the package doc).
var spareProc = sync.OnceValue(func() int {
	cores := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(cores + 1)
	return cores
})

// readerWorkers is how many hosts' readers may work at once on cores
// cores: one less, so that Falco's thread finds a core as well as a P, but
// at least two, so that reading is not bound to one core (see "Sharing the
// cores with Falco" in the package doc).
func readerWorkers(cores int) int { return max(2, cores-1) }

// gcPercent is the GOGC of the plugin's Go runtime (its own, apart from
// Falco's and other plugins'), unless Falco's environment sets GOGC: an
// idle fleet's resident memory is mostly the collector's headroom over a
// small live heap, and a flood allocates nothing per event to collect
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
	endpoints, err := cfg.Endpoints(params)
	if err != nil {
		return nil, err
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
	// Each batch slot must hold the largest event the stream lets through,
	// whatever label a host of a reloaded inventory has.
	labels := endpoints
	if len(hosts.InventoryFiles(params)) > 0 {
		labels = []hosts.Endpoint{{Name: strings.Repeat("x", payload.MaxHostLen)}}
	}
	slotCap := slotSize(cfg.MaxEventSize, labels, contextRoom(cfg.Enrich))
	batch, err := newSlotBatch(int(cfg.BatchSize), slotCap)
	if err != nil {
		_ = fleet.Close()
		return nil, fmt.Errorf(`init_config: keys "batchSize" and "maxEventSize": allocating the event batch: %w`, err)
	}
	inst := newInstance(fleet, batch.ArrayPtr(), batch.Len(), slotCap)
	inst.SetEvents(batch)
	inst.inventory = watchInventory(cfg, params, fleet)
	inst.certs = watchCerts(cfg, fleet)
	return inst, nil
}

// Endpoints parses open_params as Open does: the default TLS files of c
// are checked first, whether an endpoint uses them or not (errors start
// with "init_config: " and name the key), then every endpoint (errors
// start with "open_params: " and name the endpoint).
func (c Config) Endpoints(openParams string) ([]hosts.Endpoint, error) {
	defaults := hosts.Defaults{
		CertDir: c.TLS.CertDir,
		CA:      c.TLS.CA,
		Cert:    c.TLS.Cert,
		Key:     c.TLS.Key,
	}
	if err := hosts.CheckDefaults(defaults); err != nil {
		return nil, defaultsError(err)
	}
	endpoints, err := hosts.Parse(openParams, defaults, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("open_params: %w", err)
	}
	shard, err := c.Shard.resolve(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("init_config: %w", err)
	}
	return shard.Select(endpoints), nil
}

// tlsKeys are the init_config keys of the hosts.Defaults fields.
var tlsKeys = map[string]string{
	hosts.FieldCertDir: "tls.certDir",
	hosts.FieldCA:      "tls.ca",
	hosts.FieldCert:    "tls.cert",
	hosts.FieldKey:     "tls.key",
}

// defaultsError names the init_config keys of a bad default TLS file, as
// the checks of ParseConfig name theirs.
func defaultsError(err error) error {
	var de *hosts.DefaultsError
	if !errors.As(err, &de) {
		return fmt.Errorf("init_config: %w", err)
	}
	keys := make([]string, len(de.Fields))
	for i, f := range de.Fields {
		keys[i] = strconv.Quote(tlsKeys[f])
	}
	if len(keys) == 1 {
		return fmt.Errorf("init_config: key %s: %w", keys[0], de.Err)
	}
	return fmt.Errorf("init_config: keys %s: %w", strings.Join(keys, " and "), de.Err)
}

// slotSize is the size of one batch slot: the largest payload a line of
// maxLine bytes from any of the endpoints, with an enrichment context of at
// most contextLen bytes, can make, so that no event the stream lets through
// can fail to fit (which would end the stream in Falco).
func slotSize(maxLine uint32, endpoints []hosts.Endpoint, contextLen int) int {
	longestName := 0
	for _, ep := range endpoints {
		longestName = max(longestName, len(ep.Name))
	}
	// The plugin's own health events are not bound by maxLine: the stream
	// bounds them.
	return payload.MaxSizeContext(longestName, contextLen, max(int(maxLine), stream.MaxHealthLineLen(longestName)))
}

// contextRoom is the longest enrichment context a payload may carry:
// payload.MaxContextLen when enrichment is on, none when it is off.
func contextRoom(e EnrichConfig) int {
	if !e.options().On() {
		return 0
	}
	return payload.MaxContextLen
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

// put makes ev event n of Falco's batch, and reports whether it fit. A
// payload framed in its batch (stream.Event.Framed: the reader left
// sdk.PluginEventPayloadOffset bytes before it and wrote Falco's header
// there, frameEvent) is handed over where it lies, its batch pinned until
// the next call; any other is copied into slot n (writeEvent).
//
// Framing in place spares Falco's thread a copy of every payload, the
// largest part of its time in next_batch under a flood
// (docs/PERFORMANCE.md). Falco only reads an event until its next call of
// next_batch, and runtime.Pinner lets C hold a Go pointer that long.
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

// Close stops every watcher and waits for them.
func (i *instance) Close() {
	i.inventory.close()
	i.certs.close()
	i.closed = true
	i.timer.Stop()
	i.release()
	_ = i.fleet.Close()
}
