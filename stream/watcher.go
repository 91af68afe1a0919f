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
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/docker/docker/client"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/stream/internal/daemonconn"
)

// watcher follows one host: it connects, resumes, reads and reconnects.
// Its fields are owned by its goroutine, but for the counters and the
// loss book, which the liveness ping's timer and Stats also use.
type watcher struct {
	f          *Fleet
	ep         hosts.Endpoint
	host       string
	cli        *client.Client
	hc         *http.Client
	dialer     *hosts.Dialer // connections of their own: the live stream, the pings
	opts       *Options
	filterJSON string
	seed       maphash.Seed

	br      *lineReader // reused across connections
	long    []byte      // assembles lines longer than br's buffer
	batch   *Batch      // events read but not handed over yet; nil: none
	working bool        // holds a token of Fleet.work

	enr *enricher // nil: enrichment off

	daemon    daemonInfo
	clock     daemonClock // the daemon's time, for resume windows and skipped lines
	resume    resumePoint
	skipped   skippedRun
	outage    outage
	streamEnd time.Time // when the latest live stream ended (monotonic)

	budget waitBudget      // for waiting on a full Batches (deliver)
	done   <-chan struct{} // the Fleet's context

	losses lossBook
	hostCounters

	// stop ends run (Update removing or replacing the host); exited is
	// closed when run has returned.
	stop   context.CancelFunc
	exited chan struct{}
}

func newWatcher(f *Fleet, ep hosts.Endpoint, cli *client.Client, dialer *hosts.Dialer, opts *Options, filterJSON string, seed maphash.Seed) *watcher {
	w := &watcher{f: f, ep: ep, host: ep.Name, cli: cli, hc: cli.HTTPClient(), dialer: dialer, opts: opts, filterJSON: filterJSON, seed: seed}
	w.resume.seed = seed
	w.outage.interval = opts.StillDownInterval
	return w
}

// daemonInfo is what the latest /_ping and /info said of the daemon.
type daemonInfo struct {
	id, name   string // for stream_up, capped; id also tells a restart
	apiVersion string // the daemon's, for stream_up
	// version is the API version this connection speaks (NegotiatedVersion
	// of the daemon's ping).
	version string
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
		now := w.opts.Now().UnixNano()
		if attrs := w.outage.fail(err, began, now); attrs != nil {
			w.deliverHealth(ActionStreamDown, now, attrs)
		}
		if progress {
			attempt = 0
		}
		deadline := time.Now().Add(backoff(w.opts.MinBackoff, w.opts.MaxBackoff, attempt))
		attempt++
		// Wait out the backoff, waking up for stream_still_down when it
		// is due first.
		for {
			now := w.opts.Now().UnixNano()
			if attrs := w.outage.still(now); attrs != nil {
				w.deliverHealth(ActionStreamStillDown, now, attrs)
			}
			wait := w.outage.nextWake(deadline)
			if wait <= 0 {
				break
			}
			if !w.outage.sleep(ctx, wait) {
				return
			}
		}
	}
}

// session makes one connection and reads its live stream until it ends.
// progress tells whether it delivered any event.
func (w *watcher) session(ctx context.Context) (progress bool, err error) {
	before := w.delivered.Load()
	defer func() { progress = w.delivered.Load() > before }()

	pctx, cancel := context.WithTimeout(ctx, w.opts.CallTimeout)
	ping, err := daemonconn.PingKeep(pctx, w.ep, w.hc)
	cancel()
	if err != nil {
		return false, fmt.Errorf("ping: %w", err)
	}
	// Worked out afresh on every connection: the daemon may have been
	// upgraded (or downgraded) while it was away.
	w.daemon.version = hosts.NegotiatedVersion(ping.APIVersion)
	w.daemon.apiVersion = capText(ping.APIVersion, maxAPIVersionLen)

	id, name, now, err := w.info(ctx, ping.Date)
	if err != nil {
		return false, err
	}
	w.clock.set(now)
	id = capText(id, maxDaemonIDLen) // compared with the one kept, capped alike
	restarted := w.daemon.id != "" && id != w.daemon.id
	w.daemon.id, w.daemon.name = id, capText(name, maxDaemonNameLen)
	liveSince := now
	if w.resume.started() {
		if liveSince, err = w.replay(ctx, now, restarted); err != nil {
			return false, err
		}
	} else {
		w.resume.start = now
	}
	if w.enr != nil {
		// Before the live stream opens: nothing waits unread meanwhile,
		// and the call shares the connection of the calls above.
		w.enr.streamUp(ctx)
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
	return daemonconn.Get(ctx, w.ep, w.hc, w.daemon.version, path, q)
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
	body, err := daemonconn.OpenEvents(ctx, w.ep, w.dialer, w.daemon.version, "/events", q)
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
	w.outage.up()
	w.deliverHealth(ActionStreamUp, w.opts.Now().UnixNano(), map[string]string{
		AttrDaemonID:   w.daemon.id,
		AttrDaemonName: w.daemon.name,
		AttrAPIVersion: w.daemon.apiVersion,
	})
	w.reportNow() // a failed /info, before the stream may go quiet

	if w.opts.PingInterval > 0 {
		// The callback re-arms its own timer; an atomic pointer hands it
		// over without a race with AfterFunc's return.
		var timer atomic.Pointer[time.Timer]
		t := time.AfterFunc(w.opts.PingInterval, func() {
			if !w.f.startTimed() {
				return
			}
			defer w.f.timed.Done()
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

// ping is the liveness ping: the daemon must answer within CallTimeout.
func (w *watcher) ping(ctx context.Context) (daemonconn.Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.CallTimeout)
	defer cancel()
	return daemonconn.Ping(ctx, w.ep, w.dialer, w.hc)
}
