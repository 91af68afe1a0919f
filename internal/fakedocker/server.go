// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package fakedocker is a small fake Docker Engine API server for tests and
// benchmarks: just what an events watcher talks to (/_ping, /version, /info,
// /events), shaped like dockerd 20.10 (API 1.41), with scripted faults that
// a real daemon cannot be made to show on demand.
//
// One Server is one daemon (one ID, one event buffer, one set of faults); it
// may listen on many sockets at once through a single http.Server, so a
// benchmark of thousands of hosts costs one accept goroutine per socket and
// nothing else while they are idle. Every socket of a Server sees the same
// events: a test tells hosts apart by the label the watcher gives them.
//
// Published events carry a sequence number in the attribute "seq" (1, 2, ...
// per Server), so that tests can assert exactly which events arrived.
package fakedocker

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/events"
)

// Daemon identity and limits, as dockerd 20.10 reports and applies them.
const (
	APIVersion    = "1.41"
	MinAPIVersion = "1.12"
	ServerVersion = "20.10.24"
	// RingSize is how many past events a daemon keeps for `since` replays.
	RingSize = 256
	// subscriberBuffer is dockerd's per-subscriber queue; past it, dockerd
	// skips events for that subscriber (after a 100 ms wait; the fake skips
	// at once so that Publish never blocks).
	subscriberBuffer = 1024
)

// Event is what Publish sends. Zero TimeNano means the server's clock.
type Event struct {
	Type, Action, ActorID string
	Attributes            map[string]string
	// TimeNano, when set, is used as is: tests publish several events at
	// one nanosecond to exercise the inclusive `since` boundary.
	TimeNano int64
}

// Stats are counters of a Server, for assertions.
type Stats struct {
	Conns          int    // connections open now
	Streams        int    // /events requests being served now
	EventsRequests uint64 // /events requests served since New
	SlowDrops      uint64 // events skipped for subscribers whose queue was full
}

type stored struct {
	msg  events.Message
	line []byte // JSON and "\n"
}

// subscriber is one /events stream being served.
type subscriber struct {
	ch     chan []byte
	filter filter
	kill   chan struct{} // closed: abort the connection (restart, DropStreams)
}

// Server is one fake Docker daemon. Its methods are safe for concurrent use.
type Server struct {
	hs *http.Server

	mu        sync.Mutex
	id, name  string
	lastNano  int64
	seq       uint64
	ring      []stored // oldest first, at most RingSize
	subs      map[*subscriber]struct{}
	dropAfter int
	stall     chan struct{} // non-nil while stalled; closed on release
	hang      chan struct{} // non-nil while hanging; closed on release
	flood     bool
	// floodType and floodChurn shape the flood (SetFloodShape).
	floodType  string
	floodChurn int
	skew       time.Duration // the daemon's clock minus the real one (SetClock)
	listeners  []net.Listener
	closed     chan struct{}

	insp inspectState

	conns, streams        atomic.Int64
	eventsReqs, slowDrops atomic.Uint64
}

// New returns a Server that listens nowhere yet.
func New(name string) *Server {
	s := &Server{
		id:     newID(),
		name:   name,
		subs:   map[*subscriber]struct{}{},
		closed: make(chan struct{}),
	}
	s.hs = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				s.conns.Add(-1)
			}
		},
		// Aborted streams and refused TLS handshakes are the point of
		// several tests; keep the test output quiet about them.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	return s
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "FAKE:" + strings.ToUpper(hex.EncodeToString(b[:]))
}

// ListenUnix serves on a new unix socket at path and returns its URL
// (unix:///path).
func (s *Server) ListenUnix(path string) (string, error) {
	l, err := net.Listen("unix", path)
	if err != nil {
		return "", fmt.Errorf("fakedocker: %w", err)
	}
	s.serve(l)
	return "unix://" + path, nil
}

// ListenTCP serves on addr (e.g. "127.0.0.1:0"), over TLS when cfg is not
// nil, and returns its URL (tcp://host:port).
func (s *Server) ListenTCP(addr string, cfg *tls.Config) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("fakedocker: %w", err)
	}
	if cfg != nil {
		l = tls.NewListener(l, cfg)
	}
	s.serve(l)
	return "tcp://" + l.Addr().String(), nil
}

func (s *Server) serve(l net.Listener) {
	s.mu.Lock()
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	go func() { _ = s.hs.Serve(l) }()
}

// Close stops listening, drops every connection and releases every stalled
// or hanging request.
func (s *Server) Close() error {
	s.mu.Lock()
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	s.mu.Unlock()
	return s.hs.Close()
}

// ID is the daemon ID that /info reports now.
func (s *Server) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	return Stats{
		Conns:          int(s.conns.Load()),
		Streams:        int(s.streams.Load()),
		EventsRequests: s.eventsReqs.Load(),
		SlowDrops:      s.slowDrops.Load(),
	}
}

// Publish stores ev in the replay buffer and sends it to every matching
// stream. It adds the attribute "seq" and returns that sequence number and
// the event's timeNano. The server clock never goes back: two events
// published without TimeNano get distinct, increasing times.
func (s *Server) Publish(ev Event) (seq uint64, timeNano int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	attrs := make(map[string]string, len(ev.Attributes)+1)
	for k, v := range ev.Attributes {
		attrs[k] = v
	}
	attrs["seq"] = strconv.FormatUint(s.seq, 10)
	t := ev.TimeNano
	if t == 0 {
		t = max(s.nowLocked().UnixNano(), s.lastNano+1)
		if s.skew < 0 {
			// A clock stepped back: its events are dated by it, even
			// before the ones it stamped earlier.
			t = s.nowLocked().UnixNano()
		}
	}
	s.lastNano = max(s.lastNano, t)
	msg := events.Message{
		Type:     events.Type(ev.Type),
		Action:   events.Action(ev.Action),
		Actor:    events.Actor{ID: ev.ActorID, Attributes: attrs},
		Scope:    "local",
		Time:     t / 1e9,
		TimeNano: t,
	}
	if ev.Type == string(events.ContainerEventType) {
		// API 1.41 still sends the deprecated fields for containers.
		msg.Status, msg.ID, msg.From = ev.Action, ev.ActorID, attrs["image"]
	}
	line, _ := json.Marshal(msg) // cannot fail: strings and ints only
	st := stored{msg: msg, line: append(line, '\n')}
	if len(s.ring) == RingSize {
		copy(s.ring, s.ring[1:])
		s.ring = s.ring[:RingSize-1]
	}
	s.ring = append(s.ring, st)
	for sub := range s.subs {
		if sub.filter.match(&msg) {
			s.send(sub, st.line)
		}
	}
	return s.seq, t
}

// PublishRaw sends line (a newline is added) to every stream now open, as
// is and unfiltered: garbage, malformed JSON or oversized lines. It is not
// kept for replays.
func (s *Server) PublishRaw(line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := append(append([]byte(nil), line...), '\n')
	for sub := range s.subs {
		s.send(sub, l)
	}
}

func (s *Server) send(sub *subscriber, line []byte) {
	select {
	case sub.ch <- line:
	default:
		s.slowDrops.Add(1)
	}
}

// SetClock sets the daemon's clock to the real one plus skew: /info's
// SystemTime, the Date header, the time of events published without
// TimeNano and the end of an `until` wait follow it. A negative skew after
// events were published is a clock stepped back (NTP, a restored VM): new
// events are then dated before older ones, as dockerd does.
func (s *Server) SetClock(skew time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skew = skew
}

// now is the daemon's clock.
func (s *Server) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time { return time.Now().Add(s.skew) }

// SetDropAfter makes every stream opened from now on drop its connection
// (no clean end of the chunked response) after writing n events, replayed
// ones included; 0 turns it off.
func (s *Server) SetDropAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropAfter = n
}

// Stall stops (on) or resumes (off) the writing of every stream, keeping
// the connections open. Events published meanwhile queue per stream up to
// dockerd's 1024, then are skipped (counted in Stats.SlowDrops).
func (s *Server) Stall(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = toggle(s.stall, on)
}

// Hang makes every request received from now on (pings included) hang
// without a response until Hang(false) or Close: a daemon that accepts
// connections and never answers.
func (s *Server) Hang(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = toggle(s.hang, on)
}

func toggle(c chan struct{}, on bool) chan struct{} {
	switch {
	case on && c == nil:
		return make(chan struct{})
	case !on && c != nil:
		close(c)
		return nil
	}
	return c
}

// Flood makes every /events stream opened from now on write generated
// container events as fast as it can until the client goes away, instead
// of published ones; each stream numbers its own events from 1 in "seq".
func (s *Server) Flood(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flood = on
}

// DropStreams aborts the connection of every open /events stream.
func (s *Server) DropStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropStreamsLocked()
}

func (s *Server) dropStreamsLocked() {
	for sub := range s.subs {
		close(sub.kill)
		delete(s.subs, sub)
	}
}

// Restart simulates a daemon restart: every stream is aborted and the
// replay buffer is lost; the daemon gets a new ID when newID is set (a real
// dockerd keeps its ID across restarts).
func (s *Server) Restart(changeID bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropStreamsLocked()
	s.ring = nil
	if changeID {
		s.id = newID()
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hang := s.hang
	s.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-s.closed:
			return
		case <-r.Context().Done():
			return
		}
	}
	p, ok := s.apiPath(w, r.URL.Path)
	if !ok {
		return
	}
	h := w.Header()
	h.Set("Date", s.now().UTC().Format(http.TimeFormat))
	h.Set("Api-Version", APIVersion)
	h.Set("Docker-Experimental", "false")
	h.Set("Ostype", "linux")
	h.Set("Server", "Docker/"+ServerVersion+" (linux)")
	switch {
	case p == "/_ping" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte("OK"))
		}
	case p == "/version" && r.Method == http.MethodGet:
		writeJSON(w, map[string]any{
			"Version": ServerVersion, "ApiVersion": APIVersion, "MinAPIVersion": MinAPIVersion,
			"Os": "linux", "Arch": "amd64", "GoVersion": "go1.18.1", "KernelVersion": "6.1.0",
		})
	case p == "/info" && r.Method == http.MethodGet:
		s.mu.Lock()
		id := s.id
		s.mu.Unlock()
		writeJSON(w, map[string]any{
			"ID": id, "Name": s.name, "ServerVersion": ServerVersion,
			"SystemTime": s.now().Format(time.RFC3339Nano), "OSType": "linux",
		})
	case p == "/events" && r.Method == http.MethodGet:
		s.events(w, r)
	default:
		if !s.serveInspect(w, r, p) {
			writeError(w, http.StatusNotFound, "page not found")
		}
	}
}

// apiPath strips the /vX.Y prefix and refuses versions the daemon does not
// speak, with dockerd's message.
func (s *Server) apiPath(w http.ResponseWriter, p string) (string, bool) {
	if !strings.HasPrefix(p, "/v") {
		return p, true
	}
	v, rest, _ := strings.Cut(p[2:], "/")
	major, minor, ok := strings.Cut(v, ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil {
		return p, true
	}
	if ma > 1 || (ma == 1 && mi > 41) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too new. Maximum supported API version is %s", v, APIVersion))
		return "", false
	}
	if ma < 1 || (ma == 1 && mi < 12) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", v, MinAPIVersion))
		return "", false
	}
	return "/" + rest, true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// events serves GET /events: the buffered events in [since, until] first,
// then live ones until until (if given) or until the client goes away.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	s.eventsReqs.Add(1)
	q := r.URL.Query()
	since, err := parseTime(q.Get("since"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	until, err := parseTime(q.Get("until"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f, err := parseFilters(q.Get("filters"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if until != 0 && until < since {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("`since` time (%s) cannot be after `until` time (%s)", q.Get("since"), q.Get("until")))
		return
	}
	s.streams.Add(1)
	defer s.streams.Add(-1)

	s.mu.Lock()
	flood, dropAfter := s.flood, s.dropAfter
	sub := &subscriber{ch: make(chan []byte, subscriberBuffer), filter: f, kill: make(chan struct{})}
	var replay [][]byte
	if since != 0 || until != 0 {
		// As dockerd (daemon/events loadBufferedEvents): from the newest
		// back, stopping at the first event older than since, so that
		// events out of time order (a clock stepped back) hide older ones.
		for i := len(s.ring) - 1; i >= 0; i-- {
			m := &s.ring[i].msg
			if m.TimeNano < since {
				break
			}
			if (until == 0 || m.TimeNano <= until) && f.match(m) {
				replay = append(replay, s.ring[i].line)
			}
		}
		slices.Reverse(replay)
	}
	daemonNow := s.nowLocked()
	if !flood {
		s.subs[sub] = struct{}{}
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	}()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	if flood {
		s.floodStream(r.Context(), w, rc, dropAfter)
		return
	}
	written := 0
	write := func(line []byte, flush bool) bool {
		if _, err := w.Write(line); err != nil {
			return false
		}
		written++
		if dropAfter > 0 && written >= dropAfter {
			_ = rc.Flush()
			panic(http.ErrAbortHandler) // drop the connection, no final chunk
		}
		return !flush || rc.Flush() == nil
	}
	for i, line := range replay {
		if !write(line, i == len(replay)-1) {
			return
		}
	}
	var untilC <-chan time.Time
	if until != 0 {
		// dockerd holds a request whose until is in its future open
		// until then.
		d := time.Unix(0, until).Sub(daemonNow)
		if d <= 0 {
			return // a past until: the replay is all
		}
		t := time.NewTimer(d)
		defer t.Stop()
		untilC = t.C
	}
	for {
		select {
		case line := <-sub.ch:
			if !s.waitStall(r.Context(), sub) {
				return
			}
			select {
			case <-sub.kill: // a dead daemon writes nothing more
				panic(http.ErrAbortHandler)
			default:
			}
			if !write(line, len(sub.ch) == 0) {
				return
			}
		case <-sub.kill:
			panic(http.ErrAbortHandler)
		case <-untilC:
			return
		case <-r.Context().Done():
			return
		case <-s.closed:
			return
		}
	}
}

// waitStall blocks while the server is stalled; false means give up.
func (s *Server) waitStall(ctx context.Context, sub *subscriber) bool {
	s.mu.Lock()
	stall := s.stall
	s.mu.Unlock()
	if stall == nil {
		return true
	}
	select {
	case <-stall:
		return true
	case <-sub.kill:
		panic(http.ErrAbortHandler)
	case <-ctx.Done():
	case <-s.closed:
	}
	return false
}

// floodTemplate is a realistic container event (about 400 bytes, labels
// included) with room for the sequence number and the times.
var floodTemplate = [4]string{
	`{"status":"start","id":"3f4e8b2a9c1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f","from":"registry.example.com/team/web:1.4.2","Type":"container","Action":"start","Actor":{"ID":"3f4e8b2a9c1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f","Attributes":{"com.example.team":"payments","com.example.tier":"frontend","image":"registry.example.com/team/web:1.4.2","name":"web-7f9c","seq":"`,
	`"}},"scope":"local","time":`,
	`,"timeNano":`,
	"}\n",
}

// floodStream writes generated events as fast as the connection takes them.
func (s *Server) floodStream(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, dropAfter int) {
	buf := make([]byte, 0, 32<<10)
	base := time.Now().UnixNano()
	tmpl, churn := s.floodShape()
	for seq := 1; ; seq++ {
		t := base + int64(seq)
		if churn > 0 && seq%churn == 0 {
			buf = appendChurn(buf, seq, t)
		}
		buf = append(buf, tmpl[0]...)
		buf = strconv.AppendInt(buf, int64(seq), 10)
		buf = append(buf, tmpl[1]...)
		buf = strconv.AppendInt(buf, t/1e9, 10)
		buf = append(buf, tmpl[2]...)
		buf = strconv.AppendInt(buf, t, 10)
		buf = append(buf, tmpl[3]...)
		last := dropAfter > 0 && seq >= dropAfter
		if len(buf) > cap(buf)-512 || last {
			if _, err := w.Write(buf); err != nil {
				return
			}
			if rc.Flush() != nil || ctx.Err() != nil {
				return
			}
			buf = buf[:0]
		}
		if last {
			panic(http.ErrAbortHandler)
		}
	}
}

// parseTime parses since/until as dockerd does: seconds with an optional
// fraction ("1700000000.000000123"), or RFC 3339. It returns Unix nanoseconds,
// 0 for "".
func parseTime(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UnixNano(), nil
	}
	sec, frac, _ := strings.Cut(v, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || len(frac) > 9 {
		return 0, fmt.Errorf("invalid timestamp %q", v)
	}
	var ns int64
	if frac != "" {
		ns, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid timestamp %q", v)
		}
	}
	return n*1e9 + ns, nil
}

// filter is the parsed ?filters= of a stream: type, event and label.
type filter map[string]map[string]bool

func parseFilters(v string) (filter, error) {
	if v == "" {
		return nil, nil
	}
	// Both encodings dockerd accepts: {"k":{"v":true}} and {"k":["v"]}.
	var asMap map[string]map[string]bool
	if err := json.Unmarshal([]byte(v), &asMap); err != nil {
		var asList map[string][]string
		if err := json.Unmarshal([]byte(v), &asList); err != nil {
			return nil, errors.New("invalid filter: " + err.Error())
		}
		asMap = map[string]map[string]bool{}
		for k, vs := range asList {
			asMap[k] = map[string]bool{}
			for _, x := range vs {
				asMap[k][x] = true
			}
		}
	}
	for k := range asMap {
		switch k {
		case "type", "event", "label":
		default:
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
	}
	return asMap, nil
}

func (f filter) match(m *events.Message) bool {
	if t := f["type"]; len(t) > 0 && !t[string(m.Type)] {
		return false
	}
	if e := f["event"]; len(e) > 0 && !e[string(m.Action)] {
		return false
	}
	for l := range f["label"] {
		k, v, hasV := strings.Cut(l, "=")
		got, ok := m.Actor.Attributes[k]
		if !ok || (hasV && got != v) {
			return false
		}
	}
	return true
}
