// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"hash/maphash"
	"slices"
	"time"
)

// aheadTolerance is how far past the daemon's clock (as last read, plus
// the time elapsed since on ours) an event may be dated and still move the
// resume point: beyond it, the event is delivered, but resuming from it
// would ask the daemon for a window in its future, which dockerd holds
// open until that time comes (for ever, for a timeNano near MaxInt64).
const aheadTolerance = time.Minute

// maxAhead bounds the hashes kept of events delivered ahead of the
// daemon's clock: dockerd sends them again with every `since` they are
// newer than, the live stream's included.
const maxAhead = 64

// daemonClock is the daemon's clock as /info told it at the start of a
// connection, run on from there on our monotonic clock. Resume windows are
// in the daemon's time, never in ours: the two may be hours apart.
type daemonClock struct {
	told int64     // daemon time (Unix ns) /info said
	at   time.Time // when we read it (monotonic)
	// horizon caches now()+aheadTolerance, so that the events of a flood
	// are checked against it without reading a clock each.
	horizon int64
	// ahead holds hashes of the lines delivered ahead of horizon, oldest
	// first.
	ahead []uint64
}

// set starts the clock at daemon time told, read just now.
func (c *daemonClock) set(told int64) {
	c.told, c.at = told, time.Now()
	c.horizon = told + int64(aheadTolerance)
}

// now is the daemon's time now, 0 before set.
func (c *daemonClock) now() int64 {
	if c.at.IsZero() {
		return 0
	}
	return c.told + int64(time.Since(c.at))
}

// isAhead reports whether an event of daemon time ts is dated past the
// daemon's clock by more than aheadTolerance.
func (c *daemonClock) isAhead(ts int64) bool {
	if ts <= c.horizon || c.at.IsZero() {
		return false
	}
	c.horizon = c.now() + int64(aheadTolerance)
	return ts > c.horizon
}

// seenAhead reports whether the line of an event ahead of the daemon's
// clock was delivered before, and remembers it otherwise.
func (c *daemonClock) seenAhead(seed maphash.Seed, line []byte) bool {
	h := maphash.Bytes(seed, line)
	if slices.Contains(c.ahead, h) {
		return true
	}
	if len(c.ahead) == maxAhead {
		c.ahead = slices.Delete(c.ahead, 0, 1)
	}
	c.ahead = append(c.ahead, h)
	return false
}
