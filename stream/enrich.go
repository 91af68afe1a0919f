// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/dockerfleet/dockerfleet/extract/inspected"
	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// Defaults of Enrich, applied to zero fields of an Enrich that is on.
const (
	DefaultEnrichTimeout     = 2 * time.Second
	DefaultEnrichConcurrency = 16
	DefaultEnrichCacheSize   = 4096
)

// Enrich asks each daemon what its events do not say: the inspect of a
// container at its first event (kept until its destroy), of an exec at
// its exec_create, and the daemon's /info and /version at each stream_up.
// The answers go into each event's payload (payload.Extra.Context, format
// of package inspected), so that fields come from the payload alone. The
// zero value is off.
type Enrich struct {
	// Containers, Execs, Images and Daemon turn each kind of inspect on.
	// Images completes container summaries (effective user, repo digest)
	// and needs Containers.
	Containers, Execs, Images, Daemon bool
	// Timeout bounds how long an event waits for its inspect, from when
	// its line was read; it then goes out without the summary.
	Timeout time.Duration
	// Concurrency bounds a host's inspects in flight.
	Concurrency int
	// CacheSize bounds the summaries kept per host, for containers and
	// for execs each (least recently used out first).
	CacheSize int
}

// On tells whether any enrichment is asked for.
func (o Enrich) On() bool { return o.Containers || o.Execs || o.Daemon }

// withDefaults fills the zero fields of an Enrich that is on.
func (o Enrich) withDefaults() (Enrich, error) {
	if o.Timeout < 0 || o.Concurrency < 0 || o.CacheSize < 0 {
		return o, errors.New("stream: Enrich Timeout, Concurrency and CacheSize must not be negative")
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultEnrichTimeout
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultEnrichConcurrency
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultEnrichCacheSize
	}
	return o, nil
}

// enricher is the enrichment of one watcher. mu is the watcher's build
// lock while enrichment is on: the reader and the drainer (see drain) both
// build events, so whatever handle touches (the batch, the resume point,
// the caches, the held queue) is theirs only under mu. Inspect goroutines
// write into their call before closing its done, and use imgMu for the
// images cache and the slot pool's own lock for the inspects waiting for a
// slot.
type enricher struct {
	w    *watcher
	ctx  context.Context // the watcher's
	opts Enrich

	mu   sync.Mutex
	room sync.Cond // signalled (on mu) when the drainer takes lines off a full queue

	containers summaryCache            // container ID -> encoded inspected.Container
	execs      summaryCache            // exec ID -> encoded inspected.Exec
	daemon     []byte                  // encoded inspected.Daemon of the current connection
	inflight   map[string]*inspectCall // "c"+ID or "e"+ID

	heldQueue
	draining   bool
	drainParts [2][]byte // parts of the held line being drained

	scratch []byte                 // the context of the event being built
	pre     prepared               // what extra guessed for it
	base    atomic.Pointer[[]byte] // the context of an event without container or exec parts

	slots slotPool

	imgMu  sync.Mutex
	images map[string]imageInfo

	failures atomic.Uint64 // inspects that failed or came too late
	report   failureReport // the same, for inspect_failed events
}

// inspectCall is one inspect, running or waiting for a slot. part and keep
// are written before done is closed and read after.
type inspectCall struct {
	done    chan struct{}
	part    []byte
	keep    bool // part is a summary worth caching (not a transient failure)
	kind    byte // 'c' container, 'e' exec
	id      string
	askedAt time.Time // when the event that asked for it was read
}

func newEnricher(ctx context.Context, w *watcher) *enricher {
	o := w.opts.Enrich
	e := &enricher{w: w, ctx: ctx, opts: o}
	e.room.L = &e.mu
	e.slots.size, e.slots.wg = o.Concurrency, &w.f.wg
	e.containers.size, e.execs.size = o.CacheSize, o.CacheSize
	e.base.Store(&[]byte{})
	return e
}

// failurePart is the encoded summary of a failed inspect, of a container
// or an exec: both decode {"ok":false,"err":...} alike.
func failurePart(err error) []byte {
	return inspected.Encode(&inspected.Container{Error: capS(err.Error())})
}

var (
	errTooLate = errors.New("inspect timed out (enrich timeout)")
	errBusy    = errors.New("inspect not started: too many in flight")
	// errCallTimeout: the inspect took the whole call timeout.
	errCallTimeout = errors.New("inspect timed out (call timeout)")
)

// actorIDKey is what the daemon writes before an event's actor ID; see
// extra. It starts with a byte that is rare in an event line ('{'), which
// keeps bytes.Index on its fast path (a search for the first byte).
var actorIDKey = []byte(`{"ID":"`)

// sniff returns the plain string value that follows key in line (nil:
// none). A quote cannot occur unescaped inside a JSON string, so a match
// is a key and its value, not text of a value; apply checks the guess
// against the payload's index all the same.
func sniff(line, key []byte) []byte {
	i := bytes.Index(line, key)
	if i < 0 {
		return nil
	}
	rest := line[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j <= 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return nil
	}
	return rest[:j]
}

// prepared is what extra guessed for the line being built: the part c of
// the container id (a slice of the line).
type prepared struct{ id, c, e []byte }

// extra is x (what the reader found, its Truncated flag kept) with the
// context of line, guessed before its payload is built so that it is built
// once: the daemon's part, and the cached part of the container
// its actor ID names, found in the line as the daemon writes it. apply
// checks the guess once the payload is indexed. The exec part is not
// guessed: exec events are few, and looking for an execID in every line of
// a container would cost more than building those again.
func (e *enricher) extra(line []byte, x payload.Extra) payload.Extra {
	e.pre = prepared{}
	// The type is not looked for: the ID of another object misses the
	// cache of containers (IDs are random), and apply checks the type.
	if id := sniff(line, actorIDKey); id != nil && e.opts.Containers {
		if e.pre.c, _ = e.containers.Get(unsafe.String(&id[0], len(id))); e.pre.c != nil {
			e.pre.id = id
		}
	}
	if e.pre.c == nil && e.pre.e == nil {
		x.Context = *e.base.Load()
		return x
	}
	e.scratch = inspected.Append(e.scratch[:0], e.daemon, e.pre.c, e.pre.e)
	x.Context = e.scratch
	return x
}

// samePart tells whether two parts are the same cached bytes.
func samePart(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// apply finishes the enrichment of the event just built in out from line
// (into dst) with the context extra guessed: it returns the payload, built
// again when the guess was wrong, or held true when the line must wait for
// an inspect (or behind one): the caller then drops out, and the line
// comes back through handle once drained.
func (e *enricher) apply(dst, line, out []byte, meta payload.Meta, st *replayState, truncated bool) (_ []byte, held bool) {
	pre := e.pre
	e.pre = prepared{}
	if meta.Type != "container" || !(e.opts.Containers || e.opts.Execs) {
		if !e.draining && e.waiting() {
			e.hold(line, st, truncated, [2]*inspectCall{}, [2][]byte{})
			return nil, true
		}
		if pre.c == nil && pre.e == nil {
			return out, false
		}
		return e.rebuild(dst, line, out, truncated, nil, nil), false
	}
	var cpart, epart []byte
	var calls [2]*inspectCall
	// The index is parsed only when the build's meta does not say enough:
	// an escaped actor ID, or an exec event (its execID attribute).
	var ev payload.Event
	var parsed bool
	parse := func() bool {
		if !parsed {
			var err error
			ev, err = payload.Parse(out)
			parsed = err == nil
		}
		return parsed
	}
	id := unsafe.String(unsafe.SliceData(meta.ActorID), len(meta.ActorID))
	if meta.ActorID == nil && parse() {
		id, _ = ev.ActorID()
	}
	switch {
	case pre.c != nil && id == unsafe.String(unsafe.SliceData(pre.id), len(pre.id)):
		cpart = pre.c // the guess was right: already looked up
	case e.opts.Containers && id != "":
		cpart, calls[0] = e.lookup(&e.containers, 'c', id)
	}
	var xid string
	if e.opts.Execs && strings.HasPrefix(meta.Action, "exec_") && parse() {
		xid, _ = ev.Attr("execID")
	}
	if xid != "" {
		epart, calls[1] = e.lookup(&e.execs, 'e', xid)
	}
	if !e.draining && (e.waiting() || calls[0] != nil || calls[1] != nil) {
		e.hold(line, st, truncated, calls, [2][]byte{cpart, epart})
		return nil, true
	}
	// The object's last event: its summary goes with it.
	switch {
	case meta.Action == "destroy":
		e.containers.Remove(id)
	case strings.HasPrefix(meta.Action, "exec_die"):
		e.execs.Remove(xid)
	}
	if samePart(cpart, pre.c) && samePart(epart, pre.e) {
		return out, false
	}
	return e.rebuild(dst, line, out, truncated, cpart, epart), false
}

// rebuild builds the payload of line again with the given parts, keeping
// the truncated flag of its line.
func (e *enricher) rebuild(dst, line, out []byte, truncated bool, cpart, epart []byte) []byte {
	ctx := *e.base.Load()
	if cpart != nil || epart != nil {
		e.scratch = inspected.Append(e.scratch[:0], e.daemon, cpart, epart)
		ctx = e.scratch
	}
	rebuilt, _, err := buildPayload(dst, e.w.host, line, payload.Extra{Truncated: truncated, Context: ctx})
	if err != nil {
		return out
	}
	return rebuilt
}

// lookup returns the cached part of id, or the call that will give it (an
// inspect started, or queued for a slot, if none is in flight). While
// draining, a call not done gives the too-late failure instead. A create
// finds the part of its ID cached only when it is replayed after a
// reconnection (IDs are random and a destroy drops its part): the part
// then stands.
func (e *enricher) lookup(cache *summaryCache, kind byte, id string) ([]byte, *inspectCall) {
	if part, ok := cache.Get(id); ok {
		return part, nil
	}
	key := string(kind) + id
	id = key[1:] // a copy: id aliases the payload, which the batch reuses
	if c := e.inflight[key]; c != nil {
		select {
		case <-c.done:
			delete(e.inflight, key)
			if c.keep {
				cache.Add(id, c.part)
			}
			return c.part, nil
		default:
			if e.draining {
				e.fail(errTooLate)
				return failurePart(errTooLate), nil
			}
			return nil, c
		}
	}
	if e.draining {
		// Not asked when the line was read (cached then, or the queue
		// of inspects was full): what was found then, else no time is
		// left to ask.
		i := 0
		if kind == 'e' {
			i = 1
		}
		if f := e.drainParts[i]; f != nil {
			return f, nil
		}
		return failurePart(errTooLate), nil
	}
	c := &inspectCall{done: make(chan struct{}), kind: kind, id: id, askedAt: time.Now()}
	if !e.slots.start(c, e.run) {
		e.fail(errBusy)
		return failurePart(errBusy), nil
	}
	if e.inflight == nil {
		e.inflight = map[string]*inspectCall{}
	}
	e.inflight[key] = c
	return nil, c
}

// run runs the inspect of c and closes its done.
func (e *enricher) run(c *inspectCall) {
	defer close(c.done)
	if time.Since(c.askedAt) >= e.opts.Timeout || e.ctx.Err() != nil {
		// Waited for a slot until its event went out without it: not
		// worth asking now (not kept, so that the object's next event
		// asks again).
		c.part = failurePart(errTooLate)
		return
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.w.opts.CallTimeout)
	defer cancel()
	var part any
	var err error
	if c.kind == 'c' {
		part, err = e.inspectContainer(ctx, c.id)
	} else {
		part, err = e.inspectExec(ctx, c.id)
	}
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = errCallTimeout
		}
		e.fail(err)
		c.part = failurePart(err)
		// A container or exec that is gone stays gone; a timeout may be
		// luckier at its next event.
		c.keep = ctx.Err() == nil
		return
	}
	c.part, c.keep = inspected.Encode(part), true
	limit := maxContainerPart
	if c.kind == 'e' {
		limit = maxExecPart
	}
	if len(c.part) > limit {
		c.part = failurePart(errors.New("summary too large"))
	}
}

// prune moves the answers of calls that ended into the caches: a call whose
// event went out without it (too late) would otherwise stay in inflight
// until another event of its object came, maybe never. What stays is the
// calls still running or waiting for a slot.
func (e *enricher) prune() {
	for key, c := range e.inflight {
		select {
		case <-c.done:
		default:
			continue
		}
		delete(e.inflight, key)
		if !c.keep {
			continue
		}
		if key[0] == 'c' {
			e.containers.Add(key[1:], c.part)
		} else {
			e.execs.Add(key[1:], c.part)
		}
	}
}

// streamUp asks the daemon about itself for the events of the connection
// that starts (session calls it before the live stream opens; the idle
// connection is closed after it).
func (e *enricher) streamUp(ctx context.Context) {
	if !e.opts.Daemon {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, min(e.w.opts.CallTimeout, e.opts.Timeout))
	defer cancel()
	d := e.inspectDaemon(ctx)
	if !d.Inspected {
		e.fail(errors.New("daemon: " + d.Error))
	}
	part := inspected.Encode(d)
	if len(part) > maxDaemonPart {
		part = inspected.Encode(&inspected.Daemon{Error: "summary too large"})
	}
	base := inspected.Append(nil, part, nil, nil)
	// The part is kept as the slice of base that holds it: one copy per
	// host, not two.
	part = base[len(base)-1-len(part) : len(base)-1 : len(base)-1]
	e.mu.Lock()
	e.daemon = part
	e.base.Store(&base)
	e.mu.Unlock()
}

// healthExtra is the context of the host's health events.
func (w *watcher) healthExtra() payload.Extra {
	if w.enr == nil {
		return payload.Extra{}
	}
	return payload.Extra{Context: *w.enr.base.Load()}
}

// extra is x with the context guessed for line (see enricher.extra); x
// as it is with enrichment off.
func (w *watcher) extra(line []byte, x payload.Extra) payload.Extra {
	if w.enr == nil {
		return x
	}
	return w.enr.extra(line, x)
}

// summaryCache is a host's LRU of encoded summaries, made at its first
// Add: a fleet of idle hosts holds none.
type summaryCache struct {
	lru  *simplelru.LRU[string, []byte]
	size int
}

// Get returns the summary of id and marks it used.
func (c *summaryCache) Get(id string) ([]byte, bool) {
	if c.lru == nil {
		return nil, false
	}
	return c.lru.Get(id)
}

// Peek returns the summary of id without marking it used.
func (c *summaryCache) Peek(id string) ([]byte, bool) {
	if c.lru == nil {
		return nil, false
	}
	return c.lru.Peek(id)
}

// Add keeps the summary of id, dropping the least recently used one past
// the size.
func (c *summaryCache) Add(id string, part []byte) {
	if c.lru == nil {
		c.lru, _ = simplelru.NewLRU[string, []byte](c.size, nil)
	}
	c.lru.Add(id, part)
}

// Remove drops the summary of id.
func (c *summaryCache) Remove(id string) {
	if c.lru != nil {
		c.lru.Remove(id)
	}
}
