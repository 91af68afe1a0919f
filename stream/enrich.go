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

// Limits of the lines held back behind a pending inspect: past them the
// reader waits for the inspects before it reads on.
const (
	maxHeldLines = 1024
	maxHeldBytes = 1 << 20
)

// enricher is the enrichment of one watcher. Its fields are owned by the
// watcher's goroutine, but for the images cache (imgMu) and what inspect
// goroutines write into their call before closing its done.
type enricher struct {
	w    *watcher
	ctx  context.Context // the Fleet's
	opts Enrich

	containers *simplelru.LRU[string, []byte] // container ID -> encoded inspected.Container
	execs      *simplelru.LRU[string, []byte] // exec ID -> encoded inspected.Exec
	daemon     []byte                         // encoded inspected.Daemon of the current connection
	inflight   map[string]*inspectCall        // "c"+ID or "e"+ID
	slots      chan struct{}                  // inspects in flight (Concurrency)

	held       []heldLine // lines read while an inspect they follow is pending
	heldBytes  int
	draining   bool
	drainParts [2][]byte // parts of the held line being drained
	timer      *time.Timer

	scratch []byte   // the context of the event being built
	pre     prepared // what extra guessed for it
	base    []byte   // the context of an event without container or exec parts

	imgMu  sync.Mutex
	images map[string]imageInfo

	failures atomic.Uint64 // inspects that failed or came too late
	report   failureReport // the same, for inspect_failed events
}

// inspectCall is one inspect in flight. part is written before done is
// closed and read after.
type inspectCall struct {
	done chan struct{}
	part []byte
	keep bool // part is a summary worth caching (not a transient failure)
}

// heldLine is a line held back, with what it waits for.
type heldLine struct {
	line      []byte
	st        *replayState
	truncated bool // the line was reduced to fit (payload.Extra.Truncated)
	readAt    time.Time
	calls     [2]*inspectCall
	parts     [2][]byte // parts found when held, without a call
}

func newEnricher(ctx context.Context, w *watcher) *enricher {
	o := w.opts.Enrich
	e := &enricher{w: w, ctx: ctx, opts: o, inflight: map[string]*inspectCall{},
		slots: make(chan struct{}, o.Concurrency), images: map[string]imageInfo{}}
	e.containers, _ = simplelru.NewLRU[string, []byte](o.CacheSize, nil)
	e.execs, _ = simplelru.NewLRU[string, []byte](o.CacheSize, nil)
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
		x.Context = e.base
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
		if !e.draining && len(e.held) > 0 {
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
	ev, err := payload.Parse(out)
	if err != nil {
		return out, false
	}
	id, _ := ev.ActorID()
	switch {
	case pre.c != nil && id == unsafe.String(unsafe.SliceData(pre.id), len(pre.id)):
		cpart = pre.c // the guess was right: already looked up
	case e.opts.Containers && id != "":
		cpart, calls[0] = e.lookup(e.containers, 'c', id)
	}
	xid, _ := ev.Attr("execID")
	if e.opts.Execs && xid != "" && strings.HasPrefix(meta.Action, "exec_") {
		epart, calls[1] = e.lookup(e.execs, 'e', xid)
	}
	if !e.draining && (len(e.held) > 0 || calls[0] != nil || calls[1] != nil) {
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
	ctx := e.base
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
// inspect started if none is in flight). While draining, a call not done
// gives the too-late failure instead. A create finds the part of its ID
// cached only when it is replayed after a reconnection (IDs are random and
// a destroy drops its part): the part then stands.
func (e *enricher) lookup(cache *simplelru.LRU[string, []byte], kind byte, id string) ([]byte, *inspectCall) {
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
		// Not asked when the line was read (cached then, or no slot was
		// free): what was found then, else no time is left to ask.
		i := 0
		if kind == 'e' {
			i = 1
		}
		if f := e.drainParts[i]; f != nil {
			return f, nil
		}
		return failurePart(errTooLate), nil
	}
	if !e.takeSlot() {
		e.fail(errBusy)
		return failurePart(errBusy), nil
	}
	c := &inspectCall{done: make(chan struct{})}
	e.inflight[key] = c
	e.w.f.wg.Go(func() {
		defer func() { <-e.slots }()
		defer close(c.done)
		ctx, cancel := context.WithTimeout(e.ctx, e.w.opts.CallTimeout)
		defer cancel()
		var part any
		var err error
		if kind == 'c' {
			part, err = e.inspectContainer(ctx, id)
		} else {
			part, err = e.inspectExec(ctx, id)
		}
		if err != nil {
			if ctx.Err() == context.DeadlineExceeded {
				err = errCallTimeout
			}
			e.fail(err)
			c.part = failurePart(err)
			// A container or exec that is gone stays gone; a timeout
			// may be luckier at its next event.
			c.keep = ctx.Err() == nil
			return
		}
		c.part, c.keep = inspected.Encode(part), true
		limit := maxContainerPart
		if kind == 'e' {
			limit = maxExecPart
		}
		if len(c.part) > limit {
			c.part = failurePart(errors.New("summary too large"))
		}
	})
	return nil, c
}

// takeSlot takes a slot for an inspect. When all are taken it waits, up to
// Timeout and without the work token, for one to come free: reading on
// would only queue more lines behind inspects that cannot start.
func (e *enricher) takeSlot() bool {
	select {
	case e.slots <- struct{}{}:
		return true
	default:
	}
	working := e.w.working
	e.w.releaseWork()
	if working {
		defer e.w.acquireWork()
	}
	// The oldest line held waits the longest: its deadline bounds this.
	deadline := time.Now().Add(e.opts.Timeout)
	if len(e.held) > 0 {
		deadline = e.held[0].readAt.Add(e.opts.Timeout)
	}
	if e.timer == nil {
		e.timer = time.NewTimer(time.Until(deadline))
	} else {
		e.timer.Reset(time.Until(deadline))
	}
	defer e.timer.Stop()
	select {
	case e.slots <- struct{}{}:
		return true
	case <-e.timer.C:
	case <-e.ctx.Done():
	}
	return false
}

// hold keeps a copy of line until drain.
func (e *enricher) hold(line []byte, st *replayState, truncated bool, calls [2]*inspectCall, parts [2][]byte) {
	h := heldLine{line: append([]byte(nil), line...), st: st, truncated: truncated, readAt: time.Now(), calls: calls}
	for i, c := range calls {
		if c == nil {
			// A part found now (cached, or a failure to start its
			// inspect) stands at drain even if the cache lets it go.
			h.parts[i] = parts[i]
		}
	}
	e.held = append(e.held, h)
	e.heldBytes += len(line)
	if len(e.held) >= maxHeldLines || e.heldBytes >= maxHeldBytes {
		e.w.drainHeld() // not drainEnrich: the batch is being built
	}
}

// drainEnrich drains the held lines (drainHeld) and reports the inspect
// failures gathered (reportFailures). The reader calls it before it hands
// its batch over, at the end of each read.
func (w *watcher) drainEnrich() {
	if w.enr == nil {
		return
	}
	w.drainHeld()
	w.reportFailures()
}

// drainHeld waits for the inspects the held lines wait for, each at most
// Timeout from when its line was read, without the work token, and then
// builds their events in order.
func (w *watcher) drainHeld() {
	e := w.enr
	if len(e.held) == 0 || e.draining {
		return
	}
	working := w.working
	w.releaseWork()
	for _, h := range e.held {
		e.wait(h)
	}
	if working {
		w.acquireWork()
	}
	e.draining = true
	for i := range e.held {
		e.drainParts = e.held[i].parts
		w.handle(e.held[i].line, e.held[i].st, payload.Extra{Truncated: e.held[i].truncated})
		e.held[i] = heldLine{}
	}
	e.draining, e.drainParts = false, [2][]byte{}
	e.held, e.heldBytes = e.held[:0], 0
	e.prune()
}

// prune moves the answers of calls that ended into the caches: a call whose
// event went out without it (too late) would otherwise stay in inflight
// until another event of its object came, maybe never. What stays is at
// most Concurrency calls still running.
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

// wait waits for the calls of h until Timeout after h was read.
func (e *enricher) wait(h heldLine) {
	for _, c := range h.calls {
		if c == nil {
			continue
		}
		left := time.Until(h.readAt.Add(e.opts.Timeout))
		if left <= 0 {
			return
		}
		if e.timer == nil {
			e.timer = time.NewTimer(left)
		} else {
			e.timer.Reset(left)
		}
		select {
		case <-c.done:
		case <-e.timer.C:
		case <-e.ctx.Done():
		}
		e.timer.Stop()
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
	e.daemon = inspected.Encode(d)
	if len(e.daemon) > maxDaemonPart {
		e.daemon = inspected.Encode(&inspected.Daemon{Error: "summary too large"})
	}
	e.base = inspected.Append(nil, e.daemon, nil, nil)
}

// healthExtra is the context of the host's health events.
func (w *watcher) healthExtra() payload.Extra {
	if w.enr == nil {
		return payload.Extra{}
	}
	return payload.Extra{Context: w.enr.base}
}

// extra is x with the context guessed for line (see enricher.extra); x
// as it is with enrichment off.
func (w *watcher) extra(line []byte, x payload.Extra) payload.Extra {
	if w.enr == nil {
		return x
	}
	return w.enr.extra(line, x)
}
