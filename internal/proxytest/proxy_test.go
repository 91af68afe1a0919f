// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package proxytest

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kinds of forwarded requests the proxy counts.
const (
	kindPing   = "/_ping"
	kindInfo   = "/info"
	kindLive   = "/events"        // the live stream: no until
	kindReplay = "/events?until=" // a reconnection's replay
	kindOther  = "other"
	// kindTunnel is a CONNECT: an https endpoint's connection, whose
	// requests the proxy cannot see.
	kindTunnel = "CONNECT"
)

// forwardProxy is a small forward HTTP proxy, the kind HTTP_PROXY names:
// it receives absolute-form requests ("GET http://host:port/path") and
// forwards each to the daemon routed for that host:port, whatever the name
// (no DNS), streaming the response; for https it tunnels CONNECT host:port
// to that daemon. It counts what it forwarded per
// requested host, can refuse a host's requests (502, as a proxy that cannot
// reach its upstream) and can cut the connections of live event streams.
type forwardProxy struct {
	addr    string // host:port it listens on
	srv     *http.Server
	rp      *httputil.ReverseProxy
	conns   atomic.Int64 // client connections open now, but tunnels
	tunnels atomic.Int64 // CONNECT tunnels open now

	mu       sync.Mutex
	routes   map[string]string                // requested host:port -> daemon's host:port
	blocked  map[string]map[string]bool       // host -> kind -> refused
	refused  map[string]int                   // requests answered 502 while blocked
	counts   map[string]map[string]int        // host -> kind -> forwarded
	streams  map[string]map[net.Conn]struct{} // live streams being forwarded, per host
	rejected []string                         // requests that were not proxy requests
}

type ctxKey int

const (
	connKey   ctxKey = iota // the client connection of a request
	targetKey               // the daemon address a request goes to
)

// startProxy listens on a loopback port and serves until close.
func startProxy() (*forwardProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	p := &forwardProxy{
		addr:    l.Addr().String(),
		routes:  map[string]string{},
		blocked: map[string]map[string]bool{},
		refused: map[string]int{},
		counts:  map[string]map[string]int{},
		streams: map[string]map[net.Conn]struct{}{},
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: pr.In.Context().Value(targetKey).(string)})
		},
		// A connection per forwarded request, closed after it: nothing
		// of the proxy outlives the fleet's own connections, so a test
		// can count goroutines. No Proxy: the daemon is the next hop.
		Transport:     &http.Transport{DisableKeepAlives: true, DisableCompression: true},
		FlushInterval: -1, // an event goes out as soon as the daemon sent it
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey, c)
		},
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				p.conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				p.conns.Add(-1)
			}
		},
		// Cut streams are the point of some tests.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

func (p *forwardProxy) close() error { return p.srv.Close() }

// URL is the proxy's URL, for HTTP_PROXY.
func (p *forwardProxy) URL() string { return "http://" + p.addr }

// route sends the requests for host (host:port, as the endpoint names it)
// to the daemon at target (host:port).
func (p *forwardProxy) route(host, target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.routes[host] = target
	p.counts[host] = map[string]int{}
}

func (p *forwardProxy) unroute(host string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.routes, host)
}

// block makes the proxy answer 502 to the requests of kind for host (on),
// or forward them again (off).
func (p *forwardProxy) block(host, kind string, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blocked[host] == nil {
		p.blocked[host] = map[string]bool{}
	}
	p.blocked[host][kind] = on
}

// dropStreams closes the client connection of every live event stream of
// host being forwarded, abruptly (no end of the chunked body), and returns
// how many it closed.
func (p *forwardProxy) dropStreams(host string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c := range p.streams[host] {
		_ = c.Close()
		n++
	}
	return n
}

// count is how many requests of kind for host were forwarded.
func (p *forwardProxy) count(host, kind string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[host][kind]
}

// refusedCount is how many requests for host were answered 502 because
// they were blocked.
func (p *forwardProxy) refusedCount(host string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refused[host]
}

// notProxied lists the requests that came in origin form (a client that
// took the proxy for the daemon).
func (p *forwardProxy) notProxied() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.rejected...)
}

// kindOf classifies a request by its path without the /vX.Y prefix.
func kindOf(u *url.URL) string {
	path := u.Path
	if strings.HasPrefix(path, "/v") {
		if _, rest, ok := strings.Cut(path[1:], "/"); ok {
			path = "/" + rest
		}
	}
	switch path {
	case "/_ping":
		return kindPing
	case "/info":
		return kindInfo
	case "/events":
		if u.Query().Has("until") {
			return kindReplay
		}
		return kindLive
	}
	return kindOther
}

func (p *forwardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if !r.URL.IsAbs() {
		p.mu.Lock()
		p.rejected = append(p.rejected, r.Method+" "+r.RequestURI)
		p.mu.Unlock()
		http.Error(w, "not a proxy request: "+r.RequestURI, http.StatusBadRequest)
		return
	}
	host := r.URL.Host
	kind := kindOf(r.URL)
	conn, _ := r.Context().Value(connKey).(net.Conn)

	p.mu.Lock()
	target, routed := p.routes[host]
	blocked := p.blocked[host][kind]
	switch {
	case routed && blocked:
		p.refused[host]++
	case routed:
		p.counts[host][kind]++
		if kind == kindLive && conn != nil {
			if p.streams[host] == nil {
				p.streams[host] = map[net.Conn]struct{}{}
			}
			p.streams[host][conn] = struct{}{}
			defer func() {
				p.mu.Lock()
				delete(p.streams[host], conn)
				p.mu.Unlock()
			}()
		}
	}
	p.mu.Unlock()

	switch {
	case !routed:
		http.Error(w, "proxy: no route to "+host, http.StatusBadGateway)
	case blocked:
		http.Error(w, "proxy: upstream "+host+" unreachable", http.StatusBadGateway)
	default:
		p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), targetKey, target)))
	}
}

// connect serves CONNECT host:port: a tunnel to the daemon routed for it.
func (p *forwardProxy) connect(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	p.mu.Lock()
	target, routed := p.routes[host]
	if routed {
		p.counts[host][kindTunnel]++
	}
	p.mu.Unlock()
	if !routed {
		http.Error(w, "proxy: no route to "+host, http.StatusBadGateway)
		return
	}
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		http.Error(w, "proxy: "+err.Error(), http.StatusInternalServerError)
		return
	}
	p.tunnels.Add(1)
	defer p.tunnels.Add(-1)
	closeBoth := func() {
		_ = client.Close()
		_ = up.Close()
	}
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		closeBoth()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// brw.Reader first: what the client sent after its CONNECT may
		// be buffered there already.
		_, _ = io.Copy(up, brw.Reader)
		closeBoth()
	}()
	_, _ = io.Copy(client, up)
	closeBoth()
	<-done
}
