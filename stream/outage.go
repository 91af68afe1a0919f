// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"
)

// outage follows a host's current outage: opened by the stream_down of its
// first failed attempt (or of the end of its stream), repeated as
// stream_still_down every interval, closed by the next stream_up. since is
// in the plugin's clock (Options.Now), due in the monotonic one, so that a
// fake clock in tests changes what is reported, not when.
type outage struct {
	interval  time.Duration // Options.StillDownInterval
	down      bool
	connected bool   // the live stream was up since the last stream_down
	since     int64  // Unix ns
	reason    string // error of the latest failed attempt
	due       time.Time
	timer     *time.Timer // sleeps between attempts; reused
}

// fail records a failed attempt, begun at began, or a stream that ended,
// at now. It returns the attributes of the stream_down to send for the
// first one of an outage, nil for the next ones, which only update the
// reason that stream_still_down repeats. A host that was not up has been
// down since its attempt began; a stream that was up went down now.
func (o *outage) fail(err error, began, now int64) map[string]string {
	o.reason = reason(err)
	if o.down {
		return nil
	}
	o.down = true
	o.since = began
	if o.connected {
		o.since = now
	}
	o.connected = false
	o.due = time.Now().Add(o.interval)
	return map[string]string{AttrReason: o.reason, AttrSince: formatRFC3339(o.since)}
}

// up closes the outage: the live stream is connected.
func (o *outage) up() { o.down, o.connected = false, true }

// still returns the attributes of the stream_still_down due now (at now in
// the plugin's clock), or nil.
func (o *outage) still(now int64) map[string]string {
	if !o.down || time.Now().Before(o.due) {
		return nil
	}
	// Every interval from the start of the outage; a late wake-up (a
	// long attempt) does not make a burst of catch-up events.
	o.due = o.due.Add(o.interval)
	if n := time.Now(); !o.due.After(n) {
		o.due = n.Add(o.interval)
	}
	return map[string]string{
		AttrReason:  o.reason,
		AttrSince:   formatRFC3339(o.since),
		AttrDownFor: strconv.FormatInt(max(now-o.since, 0)/int64(time.Second), 10),
	}
}

// nextWake is how long to sleep toward deadline, waking up earlier when a
// stream_still_down is due first; 0 once deadline has passed.
func (o *outage) nextWake(deadline time.Time) time.Duration {
	wait := time.Until(deadline)
	if wait <= 0 {
		return 0
	}
	if o.down {
		if due := time.Until(o.due); due < wait {
			wait = max(due, time.Nanosecond)
		}
	}
	return wait
}

// sleep waits for d or the end of ctx; false when ctx ended.
func (o *outage) sleep(ctx context.Context, d time.Duration) bool {
	if o.timer == nil {
		o.timer = time.NewTimer(d)
	} else {
		o.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		o.timer.Stop()
		return false
	case <-o.timer.C:
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

// reason is the reason attribute of err, capped (MaxReasonLen): error
// texts may quote what a daemon answered.
func reason(err error) string {
	if err == nil {
		return errStreamEnded.Error()
	}
	return capText(err.Error(), MaxReasonLen)
}
