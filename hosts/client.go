// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/docker/docker/api"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"
)

// UserAgent is the User-Agent of every request to a daemon, so that daemon
// logs and proxies can tell the fleet's requests apart.
const UserAgent = "dockerfleet"

// Transport settings. A fleet may hold 10,000 of these transports, one per
// host, each with a long-lived event stream: they are sized for that.
const (
	// dialTimeout bounds connecting; the docker client uses 10 s too.
	dialTimeout = 10 * time.Second
	// tlsHandshakeTimeout bounds the TLS handshake after connecting.
	tlsHandshakeTimeout = 10 * time.Second
	// idleConnTimeout closes a connection that no request uses: the calls
	// made when a host (re)connects (ping, info, replay) run one after the
	// other on one connection; the live event stream then has one of its
	// own (Dial), and a connection left idle beside it is closed soon after
	// (the stream closes it at once) rather than held for every host.
	idleConnTimeout = 10 * time.Second
	// writeBufferSize: requests are one short GET (filters included);
	// the default 4 KiB per connection is waste times 10,000 hosts.
	writeBufferSize = 1 << 10
	// readBufferSize is the default of net/http: response headers fit and
	// the event stream's reader reads past it in larger chunks anyway.
	readBufferSize = 4 << 10
)

// tcpKeepAlive notices a peer that vanished (host powered off, link cut)
// under a long-lived event stream after about a minute, not the two hours of
// the kernel's default; the stream's own liveness watch remains the main
// defence.
var tcpKeepAlive = net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 10 * time.Second, Count: 3}

// NewClient builds the Docker API client of the endpoint: API version
// negotiation on (the first versioned call negotiates; a bare Ping does
// not), TLS configured by TLSConfig (the files are read and checked here,
// so an error names the endpoint and the file), over an HTTP/1.1 transport
// of its own:
//   - at most one idle connection, closed after 10 s unused;
//   - 1 KiB write and 4 KiB read buffers per connection, no compression;
//   - dial and TLS handshake bounded at 10 s each, TCP keep-alive probes
//     after 30 s idle;
//   - for tcp, proxies from the environment (HTTPS_PROXY, NO_PROXY...), as
//     the docker CLI does;
//   - for ssh, connections that are channels of the Dialer's one SSH
//     connection (see Dialer.Dial); Endpoint.NewClient's Dialer is not
//     the caller's to close: its SSH connection closes a second after the
//     client's last connection (Close, idle timeout).
//
// No response header timeout is set: the event stream is a request that
// lives as long as the connection, so its callers bound every call with
// their context. It does not connect; Close releases idle connections.
func (e Endpoint) NewClient() (*client.Client, error) {
	d, err := e.NewDialer()
	if err != nil {
		return nil, err
	}
	return d.NewClient()
}

// NewClient is Endpoint.NewClient with the TLS configuration d already
// read: a fleet's watcher needs both a client and a Dialer, and reads the
// endpoint's files once.
func (d *Dialer) NewClient() (*client.Client, error) {
	e := d.ep
	hc := d.newHTTPClient()
	host := e.URL
	if e.SSH != nil {
		// The client's own errors name this host; its requests carry
		// it as their Host, which a user part would make invalid.
		host = "ssh://" + e.SSH.Addr
	}
	cli, err := client.NewClientWithOpts(
		client.WithHost(host),
		// After WithHost, which would otherwise reconfigure this transport
		// with the docker client's own dialer.
		client.WithHTTPClient(hc),
		client.WithAPIVersionNegotiation(),
		client.WithUserAgent(UserAgent),
	)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: docker client: %w", e.Name, err)
	}
	return cli, nil
}

// NegotiatedVersion is the API version to speak to a daemon that answered
// a ping with daemonVersion: the daemon's own when it is older than the
// client's newest (api.DefaultVersion), else the client's; "1.24" when the
// daemon does not say, as the docker client does.
func NegotiatedVersion(daemonVersion string) string {
	if daemonVersion == "" {
		return "1.24"
	}
	if versions.LessThan(daemonVersion, api.DefaultVersion) {
		return daemonVersion
	}
	return api.DefaultVersion
}

// newHTTPClient builds the lean transport NewClient documents.
func (d *Dialer) newHTTPClient() *http.Client {
	e := d.ep
	var tlsCfg *tls.Config
	if cfg := d.tls.Load(); cfg != nil {
		// The transport's own, as it may set fields. It serves
		// connections through a proxy; the others are made by Dial,
		// which takes rotated files (DialTLSContext below).
		tlsCfg = cfg.Clone()
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAliveConfig: tcpKeepAlive}
	tr := &http.Transport{
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: tlsHandshakeTimeout,
		DisableCompression:  true,
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     idleConnTimeout,
		WriteBufferSize:     writeBufferSize,
		ReadBufferSize:      readBufferSize,
		// A non-nil empty map keeps the transport on HTTP/1.1: Docker
		// streams events over it, and HTTP/2 would add per-connection
		// state and buffers for nothing.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	switch e.Scheme {
	case "unix":
		socket := e.Address
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, "unix", socket)
			if err != nil {
				return nil, explainDial(e, err)
			}
			return conn, nil
		}
	case "ssh":
		// Channels of the Dialer's SSH connection; no proxy.
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.Dial(ctx)
		}
	default: // "tcp": NewDialer refused any other scheme
		tr.DialContext = dialer.DialContext
		tr.Proxy = http.ProxyFromEnvironment
		if tlsCfg != nil {
			tr.DialTLSContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.Dial(ctx)
			}
		}
	}
	return &http.Client{Transport: tr, CheckRedirect: client.CheckRedirect}
}

// NewRequest builds a request to the daemon of e the way a client from
// e.NewClient builds its own: same scheme, host and Host header (so it
// shares the client's connections), path prefixed with /v<version> (none
// when version is ""), same User-Agent. Send it with cli.HTTPClient().Do,
// or write it (req.Write) on a connection from Dial: the stream does so for
// its raw GET /events, read line by line.
//
// The version is passed in rather than read from the client: the client
// only ever lowers its negotiated version, so a daemon upgraded while the
// fleet runs would keep the old one; the caller works it out on every
// (re)connection instead (see NegotiatedVersion).
func (e Endpoint) NewRequest(ctx context.Context, version, method, p string, query url.Values) (*http.Request, error) {
	scheme := "http"
	if e.TLS != nil {
		scheme = "https"
	}
	apiPath := p
	if v := strings.TrimPrefix(version, "v"); v != "" {
		apiPath = path.Join("/v"+v, p)
	}
	u := &url.URL{Path: apiPath, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", e.Name, err)
	}
	// Set after parsing, as the docker client does: for a unix socket the
	// "host" is the socket path, which no URL string could carry.
	req.URL.Scheme = scheme
	req.URL.Host = e.Address
	if e.SSH != nil {
		req.URL.Host = e.SSH.Addr // as the client's (NewClient)
	}
	if e.Scheme == "unix" {
		// What the docker client sends over a socket, which has no host.
		req.Host = client.DummyHost
	}
	req.Header.Set("User-Agent", UserAgent)
	return req, nil
}
