// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"fmt"
	"runtime"
	"time"

	"github.com/docker/docker/api/types/filters"

	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// Defaults of Options, applied to zero fields.
const (
	DefaultMinBackoff   = 500 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultCallTimeout  = 10 * time.Second
	DefaultPingInterval = 30 * time.Second
	// DefaultStillDownInterval: see Options.StillDownInterval.
	DefaultStillDownInterval = 5 * time.Minute
	DefaultBuffer            = 4096
	DefaultMaxLineSize       = 256 << 10
)

// Filters are the daemon-side filters of every host's /events, as the
// docker CLI's --filter type=, event= and label= take them.
type Filters struct {
	Types   []string // e.g. "container", "image"
	Actions []string // e.g. "start", "die"
	Labels  []string // "key" or "key=value"
}

func (f Filters) empty() bool { return len(f.Types)+len(f.Actions)+len(f.Labels) == 0 }

// json encodes the filters as the daemon's ?filters= takes them; "" when
// there are none.
func (f Filters) json() (string, error) {
	if f.empty() {
		return "", nil
	}
	args := filters.NewArgs()
	for _, group := range []struct {
		key  string
		vals []string
	}{{"type", f.Types}, {"event", f.Actions}, {"label", f.Labels}} {
		for _, v := range group.vals {
			if v == "" {
				return "", fmt.Errorf("stream: empty %s filter", group.key)
			}
			args.Add(group.key, v)
		}
	}
	return filters.ToJSON(args)
}

// Options tune a Fleet. The zero value means the defaults above.
type Options struct {
	// Filters go to every daemon's /events.
	Filters Filters
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts of one host: it doubles from MinBackoff up to MaxBackoff,
	// with jitter, and starts again from MinBackoff once a connection
	// delivered events.
	MinBackoff, MaxBackoff time.Duration
	// CallTimeout bounds every call to a daemon but the event stream
	// itself: ping, /info, the replay after a reconnection, and the wait
	// for the stream's response headers.
	CallTimeout time.Duration
	// PingInterval is how often a connected host is pinged, on a separate
	// short request, to tell a hung daemon from an idle one; a negative
	// value turns liveness pings off.
	PingInterval time.Duration
	// StillDownInterval is how often a host that stays unreachable is
	// reported again with a stream_still_down event (attributes reason,
	// since and down_for), so that rules can alert on a host silent for
	// that long. Zero means DefaultStillDownInterval.
	StillDownInterval time.Duration
	// Buffer bounds the events queued in the channel every host feeds:
	// it holds Buffer/MaxBatch batches (at least one) of at most
	// MaxBatch events.
	Buffer int
	// Workers bounds the hosts whose readers build and hand over events
	// at once; a reader gives its turn back while it waits for its daemon
	// or for room in Batches. Zero means GOMAXPROCS-1, and at least 1.
	Workers int
	// Headroom is how many bytes a reader leaves free before each payload
	// it builds in a batch's memory (Event.Framed): the consumer may
	// write them, to frame the payload where it lies rather than copy it
	// (an event header of the consumer's own). At most
	// MaxHeadroom.
	Headroom int
	// Frame, when set, writes the Headroom bytes before each payload
	// built in a batch (room), for the event ev of that payload, in the
	// reader as it builds the payload: the bytes are then in the
	// reader's cache rather than written by the consumer after a
	// transfer between cores.
	Frame func(room []byte, ev Event)
	// MaxLineSize is the longest event line kept whole; a longer one is
	// reduced to this size (payload.Truncator; truncated flag) or, if it
	// is not a Docker event, reported as lost (reason malformed). At most
	// payload.MaxLineLen; reduction needs payload.MinTruncateSize.
	MaxLineSize int
	// Now is the clock of the plugin's own health events; nil means
	// time.Now.
	Now func() time.Time
	// Enrich asks the daemons about their containers, execs and
	// themselves (see Enrich); the zero value is off.
	Enrich Enrich
}

// MaxHeadroom bounds Options.Headroom: a header, not a second payload.
const MaxHeadroom = 256

// withDefaults checks o and fills its zero fields.
func (o Options) withDefaults() (Options, error) {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"MinBackoff", o.MinBackoff}, {"MaxBackoff", o.MaxBackoff}, {"CallTimeout", o.CallTimeout}, {"StillDownInterval", o.StillDownInterval}} {
		if d.v < 0 {
			return o, fmt.Errorf("stream: %s %v is negative", d.name, d.v)
		}
	}
	if o.Buffer < 0 {
		return o, fmt.Errorf("stream: Buffer %d is negative", o.Buffer)
	}
	if o.Workers < 0 {
		return o, fmt.Errorf("stream: Workers %d is negative", o.Workers)
	}
	if o.Headroom < 0 || o.Headroom > MaxHeadroom {
		return o, fmt.Errorf("stream: Headroom %d is outside 0..%d", o.Headroom, MaxHeadroom)
	}
	if o.MaxLineSize < 0 || o.MaxLineSize > payload.MaxLineLen {
		return o, fmt.Errorf("stream: MaxLineSize %d is outside 0..%d", o.MaxLineSize, payload.MaxLineLen)
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.MinBackoff, DefaultMinBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	def(&o.CallTimeout, DefaultCallTimeout)
	def(&o.PingInterval, DefaultPingInterval)
	def(&o.StillDownInterval, DefaultStillDownInterval)
	if o.MinBackoff > o.MaxBackoff {
		return o, fmt.Errorf("stream: MinBackoff %v is more than MaxBackoff %v", o.MinBackoff, o.MaxBackoff)
	}
	if o.Buffer == 0 {
		o.Buffer = DefaultBuffer
	}
	if o.MaxLineSize == 0 {
		o.MaxLineSize = DefaultMaxLineSize
	}
	if o.Workers == 0 {
		o.Workers = max(1, runtime.GOMAXPROCS(0)-1)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Enrich.On() {
		var err error
		if o.Enrich, err = o.Enrich.withDefaults(); err != nil {
			return o, err
		}
	}
	return o, nil
}
