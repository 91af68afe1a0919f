// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// SSH connection settings; variables so that tests can shorten them.
var (
	// sshHandshakeTimeout bounds the SSH handshake and authentication
	// after the TCP connection is made.
	sshHandshakeTimeout = 10 * time.Second
	// sshKeepAliveInterval is the period of keepalive@openssh.com
	// requests on a connection, and sshKeepAliveTimeout how long one may
	// go unanswered before the connection is closed. They notice a server
	// that stopped answering (hung, stopped, a middlebox that keeps the
	// TCP connection up) even with the stream's pings off; TCP keep-alive
	// only notices a peer that vanished.
	sshKeepAliveInterval = 30 * time.Second
	sshKeepAliveTimeout  = 15 * time.Second
	// sshLinger is how long a connection with no channel open is kept:
	// long enough that a watcher's calls, done one after the other, share
	// it, short enough that nothing is left for long once every user
	// closed its connections (a Fleet's Close, a client's Close).
	sshLinger = time.Second
)

// errDialerClosed is what Dial returns after Close.
var errDialerClosed = errors.New("dialer closed")

// sshDialer holds the one SSH connection of an ssh endpoint: every
// connection to the daemon (the event stream, pings, the client's calls)
// is a channel of it to the daemon's socket (streamlocal forwarding,
// direct-streamlocal@openssh.com). A connection that broke is replaced by
// the next Dial.
type sshDialer struct {
	name   string // endpoint label, for errors
	cfg    *SSH
	signer []ssh.Signer // parsed identities; nil when the agent is used

	// connecting admits one connection attempt at a time; it is a
	// channel so that waiting for it obeys the caller's context.
	connecting chan struct{}

	mu     sync.Mutex
	cur    *sshConn // nil when not connected
	closed bool
	dials  int // SSH connections made, for tests
}

// sshConn is one SSH connection and the channels open on it.
type sshConn struct {
	client *ssh.Client
	open   int         // channels open (guarded by sshDialer.mu)
	linger *time.Timer // closes the connection when no channel is open
	alive  *time.Timer // next keep-alive
}

func newSSHDialer(e Endpoint) (*sshDialer, error) {
	d := &sshDialer{name: e.Name, cfg: e.SSH, connecting: make(chan struct{}, 1)}
	for _, p := range e.SSH.Identities {
		s, err := sharedSigner(p)
		if err != nil {
			return nil, fmt.Errorf("endpoint %q: %w", e.Name, err)
		}
		d.signer = append(d.signer, s)
	}
	if _, err := sharedKnownHosts(e.SSH.KnownHosts); err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", e.Name, err)
	}
	return d, nil
}

// dial opens a channel to the daemon's socket, connecting first if needed.
// When the connection it used turns out to be broken, it retries once on
// a new one.
func (d *sshDialer) dial(ctx context.Context) (net.Conn, error) {
	for attempt := 0; ; attempt++ {
		c, fresh, err := d.conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("endpoint %q: ssh %s: %w", d.name, d.cfg.Addr, err)
		}
		ch, err := c.client.DialContext(ctx, "unix", d.cfg.Socket)
		if err == nil {
			return &sshChannel{Conn: ch, d: d, c: c}, nil
		}
		d.release(c)
		var rejected *ssh.OpenChannelError
		switch {
		case errors.As(err, &rejected):
			// The server refused the channel (no such socket, forwarding
			// not allowed): the connection itself is fine.
			return nil, fmt.Errorf("endpoint %q: ssh %s: the server refused to open %s (no such socket, not %s's to open, "+
				"or forwarding off in its sshd_config: AllowStreamLocalForwarding and AllowTcpForwarding): %w",
				d.name, d.cfg.Addr, d.cfg.Socket, d.cfg.User, err)
		case errors.Is(err, context.Canceled):
			return nil, fmt.Errorf("endpoint %q: %w", d.name, err)
		}
		// No answer within the deadline, or the connection broke:
		// it is of no use to anyone any more.
		d.drop(c)
		if fresh || attempt > 0 || ctx.Err() != nil {
			return nil, fmt.Errorf("endpoint %q: ssh %s: opening %s: %w", d.name, d.cfg.Addr, d.cfg.Socket, err)
		}
	}
}

// conn returns the current connection with one more channel counted on
// it, making one if there is none; fresh tells whether it did.
func (d *sshDialer) conn(ctx context.Context) (c *sshConn, fresh bool, err error) {
	if c, err := d.take(); c != nil || err != nil {
		return c, false, err
	}
	select {
	case d.connecting <- struct{}{}:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	defer func() { <-d.connecting }()
	// Another caller may have connected meanwhile.
	if c, err := d.take(); c != nil || err != nil {
		return c, false, err
	}
	client, err := d.connect(ctx)
	if err != nil {
		return nil, false, err
	}
	c = &sshConn{client: client, open: 1}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		client.Close()
		return nil, false, errDialerClosed
	}
	d.cur = c
	d.dials++
	c.alive = time.AfterFunc(sshKeepAliveInterval, func() { d.keepAlive(c) })
	d.mu.Unlock()
	// No goroutine waits for the connection to end (one more per host):
	// a connection that broke fails the next channel opened on it, and
	// dial then drops it and connects anew.
	return c, true, nil
}

// take counts one more channel on the current connection, if any.
func (d *sshDialer) take() (*sshConn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errDialerClosed
	}
	c := d.cur
	if c != nil {
		c.open++
		if c.linger != nil {
			c.linger.Stop()
		}
	}
	return c, nil
}

// release counts one channel of c fewer; the last one arms the linger.
func (d *sshDialer) release(c *sshConn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c.open--
	if c.open > 0 || d.cur != c {
		return
	}
	if c.linger == nil {
		c.linger = time.AfterFunc(sshLinger, func() { d.expire(c) })
	} else {
		c.linger.Reset(sshLinger)
	}
}

// expire closes c if it still has no channel open.
func (d *sshDialer) expire(c *sshConn) {
	d.mu.Lock()
	idle := c.open == 0 && d.cur == c
	d.mu.Unlock()
	if idle {
		d.drop(c)
	}
}

// drop closes c and forgets it, so that the next Dial connects anew.
func (d *sshDialer) drop(c *sshConn) {
	d.mu.Lock()
	if d.cur == c {
		d.cur = nil
	}
	c.stop()
	d.mu.Unlock()
	_ = c.client.Close()
}

// stop stops c's timers (sshDialer.mu held); their callbacks tolerate a
// closed connection.
func (c *sshConn) stop() {
	if c.alive != nil {
		c.alive.Stop()
	}
	if c.linger != nil {
		c.linger.Stop()
	}
}

// keepAlive sends one keepalive@openssh.com request on c and closes c
// when no answer comes within sshKeepAliveTimeout. Any answer will do
// (OpenSSH answers with a failure: it knows no such request).
func (d *sshDialer) keepAlive(c *sshConn) {
	timeout := time.AfterFunc(sshKeepAliveTimeout, func() { d.drop(c) })
	_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
	if !timeout.Stop() || err != nil {
		d.drop(c)
		return
	}
	d.mu.Lock()
	if d.cur == c {
		c.alive.Reset(sshKeepAliveInterval)
	}
	d.mu.Unlock()
}

// close closes the connection and makes every later dial fail.
func (d *sshDialer) close() error {
	d.mu.Lock()
	d.closed = true
	c := d.cur
	d.mu.Unlock()
	if c != nil {
		d.drop(c)
	}
	return nil
}

// connect makes one SSH connection: TCP as for tcp endpoints, then the
// handshake, the host key checked against known_hosts (read again when it
// changed), and public key authentication, all bounded by the handshake
// timeout and ctx.
func (d *sshDialer) connect(ctx context.Context) (*ssh.Client, error) {
	kh, err := sharedKnownHosts(d.cfg.KnownHosts)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User:              d.cfg.User,
		HostKeyCallback:   kh.callback(d.cfg),
		HostKeyAlgorithms: kh.hostKeyAlgorithms(d.cfg.Addr),
	}
	if d.cfg.Agent != "" {
		var ad net.Dialer
		ac, err := ad.DialContext(ctx, "unix", d.cfg.Agent)
		if err != nil {
			return nil, fmt.Errorf("ssh-agent %s: %w", d.cfg.Agent, err)
		}
		// Only needed while authenticating.
		defer ac.Close()
		cfg.Auth = []ssh.AuthMethod{ssh.PublicKeysCallback(agent.NewClient(ac).Signers)}
	} else {
		cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(d.signer...)}
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAliveConfig: tcpKeepAlive}
	conn, err := dialer.DialContext(ctx, "tcp", d.cfg.Addr)
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithTimeout(ctx, sshHandshakeTimeout)
	defer cancel()
	stop := context.AfterFunc(hctx, func() { conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, d.cfg.Addr, cfg)
	if !stop() {
		if err == nil {
			sc.Close()
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errors.New("SSH handshake timeout")
	}
	if err != nil {
		conn.Close()
		return nil, d.explain(err)
	}
	return ssh.NewClient(sc, chans, reqs), nil
}

// explain adds to an authentication failure what was offered.
func (d *sshDialer) explain(err error) error {
	if !strings.Contains(err.Error(), "unable to authenticate") {
		return err
	}
	offered := "the keys of the ssh-agent at " + d.cfg.Agent
	if d.cfg.Agent == "" {
		offered = "the key files " + strings.Join(d.cfg.Identities, ", ")
	}
	return fmt.Errorf("authentication as %q refused (offered %s): %w", d.cfg.User, offered, err)
}

// sshChannel is a channel to the daemon's socket; closing it may let its
// connection linger and close.
type sshChannel struct {
	net.Conn
	d    *sshDialer
	c    *sshConn
	once sync.Once
}

// Close closes the channel.
func (s *sshChannel) Close() error {
	err := s.Conn.Close()
	s.once.Do(func() { s.d.release(s.c) })
	return err
}
