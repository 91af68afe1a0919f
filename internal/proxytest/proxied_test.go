// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package proxytest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/dockerd"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
	"github.com/dockerfleet/dockerfleet/stream"
)

// testOptions reconnect quickly and ping often. CallTimeout is generous:
// on a loaded 2-core machine under -race, a spurious ping timeout would
// add a reconnection the tests count as a failure.
func testOptions() stream.Options {
	return stream.Options{
		MinBackoff:   10 * time.Millisecond,
		MaxBackoff:   100 * time.Millisecond,
		CallTimeout:  2 * time.Second,
		PingInterval: 100 * time.Millisecond,
	}
}

var hostSeq atomic.Int64

// daemon is a fake daemon reached by a name only the proxy knows.
type daemon struct {
	srv  *fakedocker.Server
	host string // host:port as the endpoint names it
	ep   hosts.Endpoint
}

// newDaemon starts a fake daemon on loopback and routes a fresh name,
// which does not resolve (.invalid), to it through the proxy: a request
// that did not go through the proxy cannot reach it.
func newDaemon(t *testing.T, label string) *daemon {
	t.Helper()
	return startDaemon(t, label, "2375", nil, "tls=off")
}

// newTLSDaemon is newDaemon for a daemon that speaks mutual TLS, as
// dockerd with --tlsverify does; the endpoint uses certs.Dir and checks
// the daemon's certificate against "localhost", the name it carries.
func newTLSDaemon(t *testing.T, label string, certs *dockerd.Certs) *daemon {
	t.Helper()
	cfg, err := certs.ServerTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	return startDaemon(t, label, "2376", cfg, "certdir="+optionValue(certs.Dir)+"&servername=localhost")
}

// optionValue percent-encodes v for an open_params option, whose values
// are path-unescaped (a '+' stays a '+').
func optionValue(v string) string {
	return strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
}

func startDaemon(t *testing.T, label, port string, cfg *tls.Config, options string) *daemon {
	t.Helper()
	srv := fakedocker.New(label)
	t.Cleanup(func() { srv.Close() })
	u, err := srv.ListenTCP("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	host := fmt.Sprintf("d%d.proxytest.invalid:%s", hostSeq.Add(1), port)
	proxy.route(host, strings.TrimPrefix(u, "tcp://"))
	t.Cleanup(func() { proxy.unroute(host) })
	eps, err := hosts.Parse("tcp://"+host+"?name="+label+"&"+options, hosts.Defaults{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 1 {
		t.Fatalf("Parse gave %d endpoints", len(eps))
	}
	// Without this the test would silently exercise the direct path.
	if !eps[0].Proxied() {
		t.Fatalf("endpoint %s is not Proxied with the proxy %s in the environment: it was read before TestMain set it", eps[0], proxy.URL())
	}
	return &daemon{srv: srv, host: host, ep: eps[0]}
}

// publish publishes n container events whose actor names the daemon, so
// that an event delivered under another host's label shows.
func (d *daemon) publish(n int) {
	for range n {
		d.srv.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: "actor-of-" + d.ep.Name, Attributes: map[string]string{"image": "alpine"}})
	}
}

func startFleet(t *testing.T, eps []hosts.Endpoint, o stream.Options) *stream.Fleet {
	t.Helper()
	f, err := stream.Start(context.Background(), eps, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// got is one delivered event, copied out of its payload.
type got struct {
	host, typ, action, actor string
	seq                      int // 0 without "seq"
	attrs                    map[string]string
	err                      error // the payload did not parse
}

func (g got) health() bool { return g.typ == stream.HealthType }

func decode(ev stream.Event) got {
	p, err := payload.Parse(ev.Payload)
	if err != nil {
		return got{err: err}
	}
	// Copies: the batch is recycled, and its payloads with it.
	g := got{host: strings.Clone(p.Host()), typ: strings.Clone(p.Type()), action: strings.Clone(p.Action()), attrs: map[string]string{}}
	if id, ok := p.ActorID(); ok {
		g.actor = strings.Clone(id)
	}
	for k, v := range p.Attrs() {
		g.attrs[strings.Clone(k)] = strings.Clone(v)
	}
	if s, ok := g.attrs["seq"]; ok {
		if g.seq, err = strconv.Atoi(s); err != nil {
			g.err = fmt.Errorf("seq %q: %w", s, err)
		}
	}
	return g
}

// collector reads a fleet's events in the background, recycling every
// batch as the plugin does.
type collector struct {
	t   *testing.T
	ch  chan got
	all []got // everything received so far, in order
}

func collect(t *testing.T, f *stream.Fleet) *collector {
	c := &collector{t: t, ch: make(chan got, 1<<14)}
	go func() {
		for b := range f.Batches() {
			for _, ev := range b.Events {
				c.ch <- decode(ev)
			}
			f.Recycle(b)
		}
		close(c.ch)
	}()
	return c
}

func (c *collector) take(g got) {
	c.t.Helper()
	if g.err != nil {
		c.t.Fatalf("bad payload: %v", g.err)
	}
	c.all = append(c.all, g)
}

// until receives events until done holds for everything received,
// failing after timeout.
func (c *collector) until(what string, timeout time.Duration, done func(all []got) bool) {
	c.t.Helper()
	deadline := time.After(timeout)
	for !done(c.all) {
		select {
		case g, ok := <-c.ch:
			if !ok {
				c.t.Fatalf("Batches closed while waiting for %s; got %s", what, summary(c.all))
			}
			c.take(g)
		case <-deadline:
			c.t.Fatalf("no %s within %v; got %s", what, timeout, summary(c.all))
		}
	}
}

// quiet receives whatever comes within d: duplicates or strays that a
// test that stopped at the expected count would miss.
func (c *collector) quiet(d time.Duration) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case g, ok := <-c.ch:
			if !ok {
				return
			}
			c.take(g)
		case <-deadline:
			return
		}
	}
}

// afterReconnect waits for the host's second stream_up, has the daemon
// publish n more events, and waits until the host's first total events came
// and nothing more comes.
func (c *collector) afterReconnect(d *daemon, name string, n, total int) {
	c.t.Helper()
	c.waitHealth(name, stream.ActionStreamUp, 2)
	d.publish(n)
	c.until(fmt.Sprintf("events 1..%d", total), 10*time.Second, func(all []got) bool { return len(seqs(all, name)) >= total })
	c.quiet(200 * time.Millisecond)
}

// waitHealth waits until host has had n health events of action.
func (c *collector) waitHealth(host, action string, n int) {
	c.t.Helper()
	c.until(fmt.Sprintf("%d %s of %s", n, action, host), 10*time.Second, func(all []got) bool {
		return len(healthOf(all, host, action)) >= n
	})
}

func healthOf(all []got, host, action string) []got {
	var out []got
	for _, g := range all {
		if g.health() && g.host == host && g.action == action {
			out = append(out, g)
		}
	}
	return out
}

// seqs are the sequence numbers of host's Docker events, in order.
func seqs(all []got, host string) []int {
	var s []int
	for _, g := range all {
		if g.host == host && !g.health() {
			s = append(s, g.seq)
		}
	}
	return s
}

// script is host's events as one string: Docker events as their seq,
// health events as their action, e.g. "stream_up 1 2 stream_down 3".
func script(all []got, host string) string {
	var parts []string
	for _, g := range all {
		switch {
		case g.host != host:
		case g.health():
			parts = append(parts, g.action)
		default:
			parts = append(parts, strconv.Itoa(g.seq))
		}
	}
	return strings.Join(parts, " ")
}

func seqScript(from, to int) string {
	var parts []string
	for i := from; i <= to; i++ {
		parts = append(parts, strconv.Itoa(i))
	}
	return strings.Join(parts, " ")
}

func seqRange(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func summary(all []got) string {
	hostsSeen := map[string]bool{}
	var b strings.Builder
	for _, g := range all {
		if !hostsSeen[g.host] {
			hostsSeen[g.host] = true
			fmt.Fprintf(&b, "\n  %s: %s", g.host, script(all, g.host))
		}
	}
	if b.Len() == 0 {
		return "nothing"
	}
	return b.String()
}

func statsOf(t *testing.T, f *stream.Fleet, host string) stream.HostStats {
	t.Helper()
	for _, s := range f.Stats() {
		if s.Host == host {
			return s
		}
	}
	t.Fatalf("no stats for %s in %+v", host, f.Stats())
	return stream.HostStats{}
}

// eventually polls cond every 10 ms for up to timeout.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// TestDialerRefusesProxiedEndpoint: the stream's own connections are not
// for a proxied endpoint, so the stream must fall back to the client.
func TestDialerRefusesProxiedEndpoint(t *testing.T) {
	d := newDaemon(t, "web-1")
	dialer, err := d.ep.NewDialer()
	if err != nil {
		t.Fatal(err)
	}
	if !dialer.Proxied() {
		t.Fatal("Dialer.Proxied is false for a proxied endpoint")
	}
	conn, err := dialer.Dial(context.Background())
	if conn != nil {
		conn.Close()
	}
	if !errors.Is(err, hosts.ErrProxied) {
		t.Fatalf("Dial = %v, want ErrProxied", err)
	}
}

// TestEventsAndPingsGoThroughProxy: two daemons behind the proxy; their
// events arrive under the right label, in order, exactly once, and the
// live streams and the liveness pings are requests the proxy forwarded.
func TestEventsAndPingsGoThroughProxy(t *testing.T) {
	a, b := newDaemon(t, "web-1"), newDaemon(t, "web-2")
	f := startFleet(t, []hosts.Endpoint{a.ep, b.ep}, testOptions())
	c := collect(t, f)
	for _, d := range []*daemon{a, b} {
		c.waitHealth(d.ep.Name, stream.ActionStreamUp, 1)
	}

	const n = 40
	for range n {
		a.publish(1)
		b.publish(1)
	}
	c.until("every event", 10*time.Second, func(all []got) bool {
		return len(seqs(all, "web-1")) >= n && len(seqs(all, "web-2")) >= n
	})
	// Liveness pings: /_ping requests while the stream stays up, i.e.
	// with no new /info (every connection asks /info once).
	for _, d := range []*daemon{a, b} {
		if !eventually(5*time.Second, func() bool { return proxy.count(d.host, kindPing) >= 4 }) {
			t.Errorf("%s: only %d pings went through the proxy", d.ep.Name, proxy.count(d.host, kindPing))
		}
	}
	// An idle host holds its stream's connection alone: the connection's
	// other calls and every ping close theirs after the answer.
	if !eventually(5*time.Second, func() bool { return proxy.conns.Load() == 2 }) {
		t.Errorf("%d connections open at the proxy, want 2 (the streams)", proxy.conns.Load())
	}
	c.quiet(200 * time.Millisecond)

	for _, d := range []*daemon{a, b} {
		name := d.ep.Name
		if got := seqs(c.all, name); !slices.Equal(got, seqRange(1, n)) {
			t.Errorf("%s: events %v, want 1..%d once each, in order", name, got, n)
		}
		if want := "stream_up " + seqScript(1, n); script(c.all, name) != want {
			t.Errorf("%s: got %q, want %q", name, script(c.all, name), want)
		}
		for _, g := range c.all {
			if g.host == name && !g.health() && g.actor != "actor-of-"+name {
				t.Errorf("%s delivered an event of %s (seq %d)", name, g.actor, g.seq)
				break
			}
		}
		// One connection: one /info, one live stream, no replay; the
		// pings beyond the connection's own are liveness pings.
		for kind, want := range map[string]int{kindInfo: 1, kindLive: 1, kindReplay: 0} {
			if got := proxy.count(d.host, kind); got != want {
				t.Errorf("%s: proxy forwarded %d %s, want %d", name, got, kind, want)
			}
		}
		s := statsOf(t, f, name)
		if !s.Up || s.Delivered != n || s.Connects != 1 || s.Duplicates != 0 || s.Losses != 0 {
			t.Errorf("%s: stats %+v, want up, %d delivered, 1 connect, no duplicates or losses", name, s, n)
		}
		t.Logf("%s: proxy forwarded %d pings, %d /info, %d live streams", name, proxy.count(d.host, kindPing), proxy.count(d.host, kindInfo), proxy.count(d.host, kindLive))
	}
	if bad := proxy.notProxied(); len(bad) > 0 {
		t.Errorf("requests sent to the proxy as to a daemon: %q", bad)
	}
}

// TestReconnectThroughProxy: the stream is cut, by the proxy or by the
// daemon, while the proxy cannot reach the daemon for a while; the host
// reconnects through the proxy and resumes: the events of the outage come
// from the replay, none twice, between a stream_down and a stream_up.
func TestReconnectThroughProxy(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(t *testing.T, d *daemon)
	}{
		{"proxy cuts", func(t *testing.T, d *daemon) {
			if n := proxy.dropStreams(d.host); n != 1 {
				t.Fatalf("proxy cut %d live streams, want 1", n)
			}
		}},
		{"daemon cuts", func(_ *testing.T, d *daemon) { d.srv.DropStreams() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDaemon(t, "web-1")
			name := d.ep.Name
			f := startFleet(t, []hosts.Endpoint{d.ep}, testOptions())
			c := collect(t, f)
			c.waitHealth(name, stream.ActionStreamUp, 1)
			d.publish(10)
			c.until("events 1..10", 10*time.Second, func(all []got) bool { return len(seqs(all, name)) >= 10 })

			// The outage: the stream is cut and the proxy refuses the
			// host's /info, so that its reconnections fail, until the
			// events of the outage are published. Pings go on: a
			// refused liveness ping would end the stream before the cut.
			proxy.block(d.host, kindInfo, true)
			tc.cut(t, d)
			c.waitHealth(name, stream.ActionStreamDown, 1)
			d.publish(10)
			if !eventually(5*time.Second, func() bool { return proxy.refusedCount(d.host) > 0 }) {
				t.Fatal("no reconnection attempt reached the proxy during the outage")
			}
			proxy.block(d.host, kindInfo, false)
			c.afterReconnect(d, name, 10, 30)

			if got := seqs(c.all, name); !slices.Equal(got, seqRange(1, 30)) {
				t.Errorf("events %v, want 1..30 once each, in order", got)
			}
			// The outage's events come from the replay, which runs
			// before the new live stream is up.
			want := "stream_up " + seqScript(1, 10) + " stream_down " + seqScript(11, 20) + " stream_up " + seqScript(21, 30)
			if got := script(c.all, name); got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
			if down := healthOf(c.all, name, stream.ActionStreamDown); len(down) > 0 {
				t.Logf("stream_down reason: %s", down[0].attrs[stream.AttrReason])
				if down[0].attrs[stream.AttrReason] == "" {
					t.Error("stream_down without a reason")
				}
			}
			if lost := healthOf(c.all, name, stream.ActionEventsLost); len(lost) > 0 {
				t.Errorf("events_lost reported although the replay held everything: %v", lost[0].attrs)
			}
			s := statsOf(t, f, name)
			// The replay starts at the last event delivered (since is
			// inclusive): at least that one is a duplicate dropped.
			if !s.Up || s.Delivered != 30 || s.Connects != 2 || s.Duplicates < 1 || s.Losses != 0 {
				t.Errorf("stats %+v, want up, 30 delivered, 2 connects, a duplicate dropped, no losses", s)
			}
			if got := proxy.count(d.host, kindLive); got != 2 {
				t.Errorf("proxy forwarded %d live streams, want 2", got)
			}
			if got := proxy.count(d.host, kindReplay); got != 1 {
				t.Errorf("proxy forwarded %d replays, want 1", got)
			}
			if got := d.srv.Stats().EventsRequests; got != 3 {
				t.Errorf("daemon served %d /events, want 3 (2 live, 1 replay), all through the proxy", got)
			}
		})
	}
}

// TestLivenessPingThroughProxy: a daemon that hangs (its stream open but
// silent, new requests unanswered) is caught by the liveness ping sent
// through the proxy, and the host comes back when it answers again.
func TestLivenessPingThroughProxy(t *testing.T) {
	d := newDaemon(t, "web-1")
	name := d.ep.Name
	o := testOptions()
	o.CallTimeout = 500 * time.Millisecond // how long a hung ping takes to fail
	f := startFleet(t, []hosts.Endpoint{d.ep}, o)
	c := collect(t, f)
	c.waitHealth(name, stream.ActionStreamUp, 1)
	d.publish(3)
	c.until("events 1..3", 10*time.Second, func(all []got) bool { return len(seqs(all, name)) >= 3 })

	d.srv.Hang(true)
	c.waitHealth(name, stream.ActionStreamDown, 1)
	reason := healthOf(c.all, name, stream.ActionStreamDown)[0].attrs[stream.AttrReason]
	if !strings.Contains(reason, "liveness ping") {
		t.Errorf("stream_down reason %q, want a failed liveness ping", reason)
	}
	d.srv.Hang(false)
	c.afterReconnect(d, name, 3, 6)
	want := "stream_up " + seqScript(1, 3) + " stream_down stream_up " + seqScript(4, 6)
	if got := script(c.all, name); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := proxy.count(d.host, kindLive); got != 2 {
		t.Errorf("proxy forwarded %d live streams, want 2", got)
	}
}

// TestCloseThroughProxyLeavesNothingBehind: Close returns promptly with a
// live stream and a hung call in flight through the proxy, and leaves no
// goroutine and no connection behind.
func TestCloseThroughProxyLeavesNothingBehind(t *testing.T) {
	good, hung := newDaemon(t, "good"), newDaemon(t, "hung")
	hung.srv.Hang(true)
	before := runtime.NumGoroutine()

	f, err := stream.Start(context.Background(), []hosts.Endpoint{good.ep, hung.ep}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() }) // on a failure before the Close below
	c := collect(t, f)
	c.waitHealth("good", stream.ActionStreamUp, 1)
	good.publish(5)
	c.until("events 1..5", 10*time.Second, func(all []got) bool { return len(seqs(all, "good")) >= 5 })
	if !eventually(5*time.Second, func() bool { return proxy.count(hung.host, kindPing) > 0 }) {
		t.Fatal("the hung host's ping never reached the proxy")
	}
	if !eventually(5*time.Second, func() bool { return proxy.count(good.host, kindPing) >= 3 }) {
		t.Fatal("no liveness ping of the good host reached the proxy")
	}

	start := time.Now()
	f.Close()
	took := time.Since(start)
	t.Logf("Close took %v", took)
	if took > time.Second {
		t.Errorf("Close took %v", took)
	}
	for g := range c.ch { // ends when Batches is closed
		c.take(g)
	}

	// Goroutines in the stream package's code, or of a net/http client
	// connection (the fleet's transports; the proxy's closes its own
	// after each request), and goroutines beyond those running before
	// Start; connections still open at the proxy or the daemons.
	var stacks string
	check := func() (fleet, extra, conns int) {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		fleet = strings.Count(stacks, "dockerfleet/stream.") + strings.Count(stacks, "net/http.(*persistConn)")
		extra = runtime.NumGoroutine() - before
		conns = int(proxy.conns.Load()) + good.srv.Stats().Conns + hung.srv.Stats().Conns
		return fleet, extra, conns
	}
	if !eventually(5*time.Second, func() bool {
		fleet, extra, conns := check()
		return fleet == 0 && extra <= 0 && conns == 0
	}) {
		fleet, extra, conns := check()
		t.Fatalf("after Close: %d goroutine frames of the fleet, %d goroutines more than before Start, %d connections open\n%s", fleet, extra, conns, stacks)
	}
}

// TestTLSThroughConnectProxy: a host on tcp with mutual TLS, reached
// through the proxy's CONNECT tunnels (how a production fleet behind a
// proxy runs): its events arrive, every liveness ping has a tunnel of
// its own (closed after the answer), and a cut stream resumes without
// duplicates.
func TestTLSThroughConnectProxy(t *testing.T) {
	dir, err := os.MkdirTemp("", "dfp") // short: certificate paths go in the open_params
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	certs, err := dockerd.GenerateCerts(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := newTLSDaemon(t, "tls-1", certs)
	name := d.ep.Name
	if d.ep.TLS == nil {
		t.Fatalf("endpoint %s has no TLS", d.ep)
	}
	f := startFleet(t, []hosts.Endpoint{d.ep}, testOptions())
	c := collect(t, f)
	c.waitHealth(name, stream.ActionStreamUp, 1)
	// A tunnel for the connection's ping and /info, one for the live
	// stream, one per liveness ping.
	upTunnels := proxy.count(d.host, kindTunnel)
	d.publish(5)
	c.until("events 1..5", 10*time.Second, func(all []got) bool { return len(seqs(all, name)) >= 5 })
	if !eventually(5*time.Second, func() bool { return proxy.count(d.host, kindTunnel) >= upTunnels+3 }) {
		t.Errorf("%d tunnels at stream_up, %d now: the liveness pings do not go through the proxy", upTunnels, proxy.count(d.host, kindTunnel))
	}
	if got := d.srv.Stats().EventsRequests; got != 1 {
		t.Errorf("daemon served %d /events, want 1", got)
	}

	d.srv.DropStreams()
	c.afterReconnect(d, name, 5, 10)
	want := "stream_up " + seqScript(1, 5) + " stream_down stream_up " + seqScript(6, 10)
	if got := script(c.all, name); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if s := statsOf(t, f, name); s.Delivered != 10 || s.Connects != 2 || s.Duplicates < 1 {
		t.Errorf("stats %+v, want 10 delivered, 2 connects, a duplicate dropped at the resume", s)
	}
	f.Close()
	if !eventually(5*time.Second, func() bool { return proxy.tunnels.Load() == 0 && d.srv.Stats().Conns == 0 }) {
		t.Errorf("after Close: %d tunnels, %d daemon connections open", proxy.tunnels.Load(), d.srv.Stats().Conns)
	}
	t.Logf("%d tunnels in all", proxy.count(d.host, kindTunnel))
}
