// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/client"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/stream/internal/daemonconn"
)

// daemonRingSize is how many past events dockerd keeps for since replays.
const daemonRingSize = 256

// maxBoundary bounds the hashes kept for one nanosecond.
const maxBoundary = 64

// watcher follows one host. Its fields are owned by its goroutine, but for
// the atomics and what lossMu guards.
type watcher struct {
	f          *Fleet
	ep         hosts.Endpoint
	host       string
	cli        *client.Client
	hc         *http.Client
	dialer     *hosts.Dialer // the live stream's connections (see conn.go)
	opts       *Options
	filterJSON string
	seed       maphash.Seed

	br      *lineReader // reused across connections
	long    []byte      // assembles lines longer than br's buffer
	batch   *Batch      // events read but not handed over yet; nil: none
	working bool        // holds a token of Fleet.work

	daemonID string
	lastTS   int64    // highest daemon timeNano processed; 0: none yet
	boundary []uint64 // hashes of the payloads processed at lastTS
	// unhashed is the payload of the last event processed at lastTS while
	// its hash is not in boundary yet (nil: none); see settleBoundary.
	unhashed   []byte
	resumeFrom int64 // daemon time the first stream started at
	clock      daemonClock
	prevTS     int64      // daemon time of the last event read, for skipped lines
	skipped    skippedRun // lines skipped since the last event
	streamEnd  time.Time  // when the latest live stream ended (monotonic)

	// The current outage: down is set by the stream_down that opens it
	// and cleared by the next stream_up. downSince is in the plugin's
	// clock (Options.Now), stillDue in the monotonic one, so that a
	// fake clock in tests changes what is reported, not when.
	down       bool
	connected  bool      // the live stream was up since the last stream_down
	downSince  int64     // Unix ns
	downReason string    // error of the latest failed attempt
	stillDue   time.Time // next stream_still_down
	stillTimer *time.Timer

	// What the latest /_ping and /info said, for stream_up.
	daemonName, apiVersion string
	// version is the API version this connection speaks (NegotiatedVersion
	// of the daemon's ping); only the watcher's goroutine reads it.
	version string

	// Backpressure (see deliver): the reader's budget for waiting on a
	// full Batches channel, refilled over time.
	waitBudget time.Duration
	waitAt     time.Time
	waitTimer  *time.Timer
	done       <-chan struct{} // the Fleet's context

	lossMu      sync.Mutex
	pending     [numReasons]loss
	lossPending atomic.Bool

	up                                                  atomic.Bool
	delivered, duplicates, dropped, malformed, connects counter
	losses                                              counter
}

func newWatcher(f *Fleet, ep hosts.Endpoint, cli *client.Client, dialer *hosts.Dialer, opts *Options, filterJSON string, seed maphash.Seed) *watcher {
	return &watcher{f: f, ep: ep, host: ep.Name, cli: cli, hc: cli.HTTPClient(), dialer: dialer, opts: opts, filterJSON: filterJSON, seed: seed}
}

// run connects, reads and reconnects until ctx ends.
func (w *watcher) run(ctx context.Context) {
	w.done = ctx.Done()
	attempt := 0
	for {
		began := w.opts.Now().UnixNano()
		progress, err := w.session(ctx)
		w.up.Store(false)
		if ctx.Err() != nil {
			return
		}
		w.setDown(err, began)
		if progress {
			attempt = 0
		}
		deadline := time.Now().Add(backoff(w.opts.MinBackoff, w.opts.MaxBackoff, attempt))
		attempt++
		// Wait out the backoff, waking up for stream_still_down when it
		// is due first.
		for {
			w.stillDown()
			wait := time.Until(deadline)
			if wait <= 0 {
				break
			}
			if due := time.Until(w.stillDue); due < wait {
				wait = max(due, 0)
			}
			if !w.sleep(ctx, wait) {
				return
			}
		}
	}
}

// sleep waits for d or the end of ctx; false when ctx ended.
func (w *watcher) sleep(ctx context.Context, d time.Duration) bool {
	if w.stillTimer == nil {
		w.stillTimer = time.NewTimer(d)
	} else {
		w.stillTimer.Reset(d)
	}
	select {
	case <-ctx.Done():
		w.stillTimer.Stop()
		return false
	case <-w.stillTimer.C:
		return true
	}
}

// backoff is the wait before attempt n (from 0): min·2ⁿ capped at max, of
// which a random half is taken off so that a fleet that lost a network
// link does not come back in lockstep.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := hi
	if n < 32 && lo<<n < hi && lo<<n > 0 {
		d = lo << n
	}
	return d/2 + rand.N(d/2+1)
}

// setDown records a failed attempt or a stream that ended. The first
// one of an outage sends stream_down (attributes reason and since); the
// next ones only update the reason that stream_still_down repeats. began
// is when the attempt started: the start of an outage for a host that was
// not up, whereas a stream that was up went down now.
func (w *watcher) setDown(err error, began int64) {
	w.downReason = reason(err)
	if w.down {
		return
	}
	now := w.opts.Now().UnixNano()
	w.down = true
	w.downSince = began
	if w.connected {
		w.downSince = now
	}
	w.connected = false
	w.stillDue = time.Now().Add(w.opts.StillDownInterval)
	w.deliverHealth(ActionStreamDown, now, map[string]string{
		AttrReason: w.downReason,
		AttrSince:  formatRFC3339(w.downSince),
	})
}

// stillDown sends stream_still_down when it is due during an outage.
func (w *watcher) stillDown() {
	if !w.down || time.Now().Before(w.stillDue) {
		return
	}
	now := w.opts.Now().UnixNano()
	w.deliverHealth(ActionStreamStillDown, now, map[string]string{
		AttrReason:  w.downReason,
		AttrSince:   formatRFC3339(w.downSince),
		AttrDownFor: strconv.FormatInt(max(now-w.downSince, 0)/int64(time.Second), 10),
	})
	// Every interval from the start of the outage; a late wake-up (a
	// long attempt) does not make a burst of catch-up events.
	w.stillDue = w.stillDue.Add(w.opts.StillDownInterval)
	if n := time.Now(); !w.stillDue.After(n) {
		w.stillDue = n.Add(w.opts.StillDownInterval)
	}
}

// reason is the reason attribute of err, capped (MaxReasonLen): error
// texts may quote what a daemon answered.
func reason(err error) string {
	if err == nil {
		return errStreamEnded.Error()
	}
	return capText(err.Error(), MaxReasonLen)
}

// session makes one connection and reads its live stream until it ends.
// progress tells whether it delivered any event.
func (w *watcher) session(ctx context.Context) (progress bool, err error) {
	before := w.delivered.Load()
	defer func() { progress = w.delivered.Load() > before }()

	ping, err := w.ping(ctx)
	if err != nil {
		return false, fmt.Errorf("ping: %w", err)
	}
	// Worked out afresh on every connection: the daemon may have been
	// upgraded (or downgraded) while it was away.
	w.version = hosts.NegotiatedVersion(ping.APIVersion)
	w.apiVersion = capText(ping.APIVersion, maxAPIVersionLen)

	id, name, now, err := w.info(ctx, ping.Date)
	if err != nil {
		return false, err
	}
	w.clock.set(now)
	id = capText(id, maxDaemonIDLen) // compared with the one kept, capped alike
	restarted := w.daemonID != "" && id != w.daemonID
	w.daemonID, w.daemonName = id, capText(name, maxDaemonNameLen)
	liveSince := now
	if w.lastTS != 0 || w.resumeFrom != 0 {
		if liveSince, err = w.replay(ctx, now, restarted); err != nil {
			return false, err
		}
	}
	if w.resumeFrom == 0 {
		w.resumeFrom = now
	}
	// The calls above are done with: their connection, kept alive in the
	// client's pool, would sit idle beside the live stream (its goroutines
	// and buffers, for every host) until the pool's timeout. Close, despite
	// its name, only closes idle connections; the client stays usable.
	_ = w.cli.Close()
	err = w.live(ctx, liveSince)
	w.streamEnd = time.Now()
	return false, err
}

// info asks the daemon's ID, name and clock (Unix nanoseconds); date is
// the Date header of its ping, the clock to fall back on.
func (w *watcher) info(ctx context.Context, date time.Time) (id, name string, now int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.CallTimeout)
	defer cancel()
	resp, err := w.get(ctx, "/info", nil)
	if err != nil {
		return "", "", 0, fmt.Errorf("info: %w", err)
	}
	defer resp.Body.Close()
	var info struct {
		ID         string
		Name       string
		SystemTime string
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil {
		return "", "", 0, fmt.Errorf("info: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, info.SystemTime)
	if err != nil {
		// The daemon's clock to the second, less one: since is inclusive
		// and duplicates are dropped, so erring early is safe. Ours is
		// the last resort.
		t = date.Add(-time.Second)
		if date.IsZero() {
			t = time.Now()
		}
	}
	return info.ID, info.Name, t.UnixNano(), nil
}

// get sends GET path?q through the client's transport.
func (w *watcher) get(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	return daemonconn.Get(ctx, w.ep, w.hc, w.version, path, q)
}

// openEvents opens the live GET /events?q. It has a connection of its own
// (daemonconn.OpenEvents) unless the endpoint is reached through a proxy
// from the environment: the stream then stays on the client's net/http
// connection, since speaking CONNECT to a proxy is the transport's job.
func (w *watcher) openEvents(ctx context.Context, q url.Values) (io.ReadCloser, error) {
	if w.dialer.Proxied() {
		resp, err := w.get(ctx, "/events", q)
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	}
	body, err := daemonconn.OpenEvents(ctx, w.ep, w.dialer, w.version, "/events", q)
	if err != nil {
		return nil, err
	}
	return body, nil
}

func (w *watcher) eventsQuery(since, until int64) url.Values {
	q := url.Values{}
	if since != 0 {
		q.Set("since", formatTime(since))
	}
	if until != 0 {
		q.Set("until", formatTime(until))
	}
	if w.filterJSON != "" {
		q.Set("filters", w.filterJSON)
	}
	return q
}

// formatTime writes Unix nanoseconds as the daemon's since/until take them.
func formatTime(ns int64) string {
	return strconv.FormatInt(ns/1e9, 10) + "." + fmt.Sprintf("%09d", ns%1e9)
}

// replayState follows the replay of a reconnection.
type replayState struct {
	count   int   // daemon events in the replay
	first   int64 // timeNano of the first one
	matched bool  // the first one is our last event
}

// replay reads what the daemon still holds from our last event up to now,
// and reports a loss when our last event is not where the replay starts.
// It returns the since of the live stream that follows.
func (w *watcher) replay(ctx context.Context, now int64, restarted bool) (liveSince int64, err error) {
	from := w.lastTS
	if from == 0 {
		from = w.resumeFrom
	}
	if from > now {
		return w.clockBack(from, now), nil
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.CallTimeout)
	defer cancel()
	resp, err := w.get(ctx, "/events", w.eventsQuery(from, now))
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	defer resp.Body.Close()
	var st replayState
	hadBoundary := w.lastTS != 0
	if err := w.readLines(resp.Body, &st); err != io.EOF {
		return 0, fmt.Errorf("replay: %w", err)
	}
	full := st.count >= daemonRingSize
	if (hadBoundary && !st.matched) || restarted || full {
		until := st.first
		if st.count == 0 {
			until = now
		}
		r := reasonOverrun
		if restarted || (!full && w.opts.Filters.empty()) {
			r = reasonRestarted
		}
		w.addLoss(r, from, until, 0)
	}
	return now, nil
}

// clockBack handles a daemon whose clock is now behind our resume point
// from (stepped back by NTP, a restored VM): asking since=from&until=now
// would ask for a window in its future, and what it produced meanwhile is
// dated before from, where a replay cannot tell it from what we had. The
// outage is reported lost, in the daemon's new time: from when the stream
// ended until the live stream is surely subscribed (within CallTimeout).
// The live stream asks since=from+1, so that the events it holds dated
// after its new now, which we had, are not sent again (live events are
// not filtered by since); the resume point starts again from now.
func (w *watcher) clockBack(from, now int64) (liveSince int64) {
	lostFrom := now
	if !w.streamEnd.IsZero() {
		lostFrom = now - int64(time.Since(w.streamEnd))
	}
	w.addLoss(reasonClockBack, lostFrom, now+int64(w.opts.CallTimeout), 0)
	w.lastTS, w.resumeFrom = 0, now
	w.boundary, w.unhashed = w.boundary[:0], nil
	return from + 1
}

// live opens the live stream and reads it until it ends.
func (w *watcher) live(ctx context.Context, since int64) error {
	sctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// The headers must come within CallTimeout: a daemon that accepts and
	// never answers must not hold the host forever.
	headers := time.AfterFunc(w.opts.CallTimeout, func() { stop(errors.New("events: no response headers within the call timeout")) })
	body, err := w.openEvents(sctx, w.eventsQuery(since, 0))
	headers.Stop()
	if err != nil {
		if c := context.Cause(sctx); c != nil && ctx.Err() == nil {
			return c
		}
		return fmt.Errorf("events: %w", err)
	}
	defer body.Close()
	w.connects.Add(1)
	w.up.Store(true)
	w.down, w.connected = false, true
	w.deliverHealth(ActionStreamUp, w.opts.Now().UnixNano(), map[string]string{
		AttrDaemonID:   w.daemonID,
		AttrDaemonName: w.daemonName,
		AttrAPIVersion: w.apiVersion,
	})

	if w.opts.PingInterval > 0 {
		// The callback re-arms its own timer; an atomic pointer hands it
		// over without a race with AfterFunc's return.
		var timer atomic.Pointer[time.Timer]
		t := time.AfterFunc(w.opts.PingInterval, func() {
			if !w.f.startPing() {
				return
			}
			defer w.f.pings.Done()
			if sctx.Err() != nil {
				return
			}
			if _, err := w.ping(sctx); err != nil {
				// Closing (sctx done) is no reason to flush below: nobody
				// reads Batches any more, and Close waits for this callback.
				if sctx.Err() == nil {
					stop(fmt.Errorf("liveness ping: %w", err))
				}
				return
			}
			w.flushLoss(w.opts.PingInterval / 4)
			if t := timer.Load(); t != nil {
				t.Reset(w.opts.PingInterval)
			}
		})
		timer.Store(t)
		defer t.Stop()
	}
	err = w.readLines(body, nil)
	if c := context.Cause(sctx); c != nil && ctx.Err() == nil {
		return c
	}
	if err == io.EOF {
		return errStreamEnded
	}
	return fmt.Errorf("events: %w", err)
}

// ping checks that the daemon answers, within CallTimeout: the first call
// of a connection and the liveness ping alike.
func (w *watcher) ping(ctx context.Context) (daemonconn.Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.CallTimeout)
	defer cancel()
	return daemonconn.Ping(ctx, w.ep, w.dialer, w.hc)
}
