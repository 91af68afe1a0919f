// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
)

// ErrProxied is what Dial returns for an endpoint whose requests go through
// a proxy from the environment: such a connection needs the client's
// transport (which speaks CONNECT), not a direct one.
var ErrProxied = errors.New("requests go through a proxy from the environment")

// Proxied reports whether the client of e (NewClient) sends its requests
// through a proxy: for tcp endpoints, when http.ProxyFromEnvironment names
// one for e's URL (HTTPS_PROXY / HTTP_PROXY, less NO_PROXY), or when those
// variables are invalid, in which case the client reports the error itself.
// Unix sockets never use a proxy.
func (e Endpoint) Proxied() bool {
	if e.Scheme != "tcp" {
		return false
	}
	req, err := e.NewRequest(context.Background(), "", http.MethodGet, "/", nil)
	if err != nil {
		return true // the client fails alike; let it say why
	}
	proxy, err := http.ProxyFromEnvironment(req)
	return proxy != nil || err != nil
}

// Dialer opens connections of their own to one endpoint's daemon, for a
// long-lived request that the caller writes and reads itself (the event
// stream, which would otherwise cost the two goroutines and buffers of a
// net/http connection). It holds the endpoint's TLS configuration, read
// once by NewDialer.
type Dialer struct {
	ep Endpoint
	// tls is the TLS configuration of the latest good read of the
	// endpoint's files (nil without TLS; ServerName set): a connection
	// takes the files as they are when it is made (currentTLS).
	tls     atomic.Pointer[tls.Config]
	proxied bool       // e.Proxied(): net/http reads the environment once
	ssh     *sshDialer // the SSH connection of an ssh endpoint; nil otherwise
}

// Proxied is the endpoint's Proxied, worked out by NewDialer.
func (d *Dialer) Proxied() bool { return d.proxied }

// NewDialer returns the Dialer of e. Like NewClient, it reads and checks
// the TLS files, or the SSH identity and known_hosts files, now (errors
// name the endpoint and the file), never later. For an ssh endpoint it
// does not connect either: the first Dial does. Close releases what it
// holds.
func (e Endpoint) NewDialer() (*Dialer, error) {
	d := &Dialer{ep: e, proxied: e.Proxied()}
	switch e.Scheme {
	case "unix":
	case "ssh":
		if e.SSH == nil {
			return nil, fmt.Errorf("endpoint %q: ssh endpoint without SSH material (not from Parse)", e.Name)
		}
		s, err := newSSHDialer(e)
		if err != nil {
			return nil, err
		}
		d.ssh = s
	case "tcp":
		cfg, err := e.dialTLSConfig()
		if err != nil {
			return nil, err
		}
		d.tls.Store(cfg)
	default:
		return nil, fmt.Errorf("endpoint %q: unknown scheme %q", e.Name, e.Scheme)
	}
	return d, nil
}

// Dial connects as the transport of NewClient does: the unix socket, or
// tcp with the same dial timeout and TCP keep-alive probes, then for TLS
// the handshake bounded by the same handshake timeout, with the
// ServerName the transport would set (the endpoint's servername, else the
// host part of Address) and HTTP/1.1 only (no ALPN).
//
// For an ssh endpoint, the connection is a channel to the daemon's socket
// (streamlocal forwarding) on the Dialer's one SSH connection to the host,
// shared by every connection of the Dialer and of its client (NewClient);
// Dial makes that SSH connection when there is none (first use, or after
// it broke or was left unused: see sshLinger), checking the host key
// against known_hosts. Such a connection has no deadlines (SetDeadline
// fails): bound its use with a context and close it.
//
// ctx bounds connecting and the handshake only. It returns ErrProxied for
// an endpoint that is Proxied: send its requests through the client
// instead. Errors name the endpoint.
func (d *Dialer) Dial(ctx context.Context) (net.Conn, error) {
	e := d.ep
	if d.ssh != nil {
		return d.ssh.dial(ctx)
	}
	if d.proxied {
		return nil, fmt.Errorf("endpoint %q: %w", e.Name, ErrProxied)
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAliveConfig: tcpKeepAlive}
	conn, err := dialer.DialContext(ctx, e.Scheme, e.Address)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", e.Name, explainDial(e, err))
	}
	cfg := d.currentTLS()
	if cfg == nil {
		return conn, nil
	}
	tc := tls.Client(conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		if hctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			err = errors.New("TLS handshake timeout") // the transport's words
		}
		return nil, fmt.Errorf("endpoint %q: %w", e.Name, err)
	}
	return tc, nil
}

// Close closes the SSH connection of an ssh endpoint's Dialer, and with it
// every connection from Dial and from the Dialer's client; later Dials
// fail. Without it, that SSH connection closes itself a second after its
// last channel (see sshLinger). For other endpoints it does nothing: their
// connections are the caller's to close.
func (d *Dialer) Close() error {
	if d.ssh != nil {
		return d.ssh.close()
	}
	return nil
}

// tlsHost is the name net/http's transport checks the daemon's certificate
// against when none is configured: the address without its port (an IPv6
// address keeps its brackets, which crypto/tls strips).
func tlsHost(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 && !strings.HasSuffix(addr, "]") {
		return addr[:i]
	}
	return addr
}

// explainDial names the cause the kernel leaves ambiguous: connecting to a
// path that is not a socket (a regular file, a directory) fails with
// "connection refused", as does a socket nobody listens on any more.
func explainDial(e Endpoint, err error) error {
	if e.Scheme != "unix" || !errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	fi, serr := os.Stat(e.Address)
	if serr != nil || fi.Mode().Type() == fs.ModeSocket {
		return err
	}
	return fmt.Errorf("%s is not a socket: %w", e.Address, err)
}

// dialTLSConfig is the endpoint's TLS configuration as a connection of
// its own uses it; nil without TLS.
func (e Endpoint) dialTLSConfig() (*tls.Config, error) {
	cfg, err := e.TLSConfig()
	if err != nil || cfg == nil {
		return nil, err
	}
	if cfg.ServerName == "" {
		cfg.ServerName = tlsHost(e.Address)
	}
	// TLSConfig sets no NextProtos, and the transport offers none either
	// (HTTP/2 is off): the daemon answers in HTTP/1.1.
	cfg.NextProtos = nil
	return cfg, nil
}

// currentTLS is the TLS configuration for a new connection: the
// endpoint's files as they are now, so that certificates rotated on disk
// (cert-manager, Vault) are used from the next connection on, without a
// restart. The files are read again only when they changed (sharedConfig
// keys on their size and time); while they do not make a valid set (a
// rotation half written), the last good configuration goes on.
func (d *Dialer) currentTLS() *tls.Config {
	last := d.tls.Load()
	if last == nil {
		return nil
	}
	cfg, err := d.ep.dialTLSConfig()
	if err != nil || cfg == nil {
		return last
	}
	d.tls.Store(cfg)
	return cfg
}

// ClientCertificate is the client certificate a new connection of d would
// present (nil without one): what an expiry check looks at.
func (d *Dialer) ClientCertificate() *x509.Certificate {
	cfg := d.currentTLS()
	if cfg == nil || len(cfg.Certificates) == 0 {
		return nil
	}
	c := cfg.Certificates[0]
	if c.Leaf != nil {
		return c.Leaf
	}
	if len(c.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}
