// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/dockerfleet/dockerfleet/internal/dockerd"
	"github.com/dockerfleet/dockerfleet/internal/sshd"
)

// sshFixture is a real dockerd behind a real OpenSSH server, and the
// known_hosts file of that server.
type sshFixture struct {
	d          *dockerd.Daemon
	s          *sshd.Server
	knownHosts string
	dir        string
}

func newSSHFixture(t *testing.T) *sshFixture {
	t.Helper()
	sshd.Require(t)
	dockerd.Require(t)
	f := &sshFixture{dir: t.TempDir()}
	f.d = dockerd.Start(t, dockerd.Options{})
	f.s = sshd.Start(t)
	var err error
	if f.knownHosts, err = f.s.WriteKnownHosts(f.dir); err != nil {
		t.Fatal(err)
	}
	return f
}

// socket is the daemon's socket path, which the SSH server reaches.
func (f *sshFixture) socket() string { return strings.TrimPrefix(f.d.Endpoint(), "unix://") }

// params is the ssh endpoint of the daemon with the server's client key.
func (f *sshFixture) params(name string) string {
	return f.s.URL("root") + "?name=" + name + "&socket=" + f.socket() + "&identity=" + f.s.ClientKey + "&knownhosts=" + f.knownHosts
}

func (f *sshFixture) dialer(t *testing.T, params string, getenv func(string) string) *Dialer {
	t.Helper()
	eps, err := Parse(params, Defaults{}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	d, err := eps[0].NewDialer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// rawPing sends GET /_ping on a connection of d, as the stream's liveness
// ping does.
func rawPing(ctx context.Context, d *Dialer) error {
	conn, err := d.Dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	req, err := d.ep.NewRequest(ctx, "", http.MethodGet, "/_ping", nil)
	if err != nil {
		return err
	}
	req.Close = true
	if err := req.Write(conn); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "OK" {
		return errors.New("ping answered " + resp.Status + ": " + string(body))
	}
	return nil
}

// TestSSHRealServer: through a real OpenSSH server to a real dockerd, the
// client's calls and raw connections (the stream's pings) share one SSH
// connection; a killed server breaks it and the next Dial after a restart
// reconnects; Close leaves no connection and no goroutine.
func TestSSHRealServer(t *testing.T) {
	f := newSSHFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := runtime.NumGoroutine()

	d := f.dialer(t, f.params("web-1"), nil)
	cli, err := d.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	// Pings first, all at once on a Dialer not yet connected: one
	// connection is made, and shared.
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() { errs <- rawPing(ctx, d) }()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent ping through ssh: %v", err)
		}
	}
	info, err := cli.Info(ctx)
	if err != nil {
		t.Fatalf("info through ssh: %v\n%s", err, f.s.Log())
	}
	if info.ID != f.d.ID() {
		t.Fatalf("info: daemon %q, want %q", info.ID, f.d.ID())
	}
	for i := 0; i < 3; i++ {
		if err := rawPing(ctx, d); err != nil {
			t.Fatalf("ping %d through ssh: %v", i, err)
		}
	}
	if _, err := cli.ServerVersion(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.s.Connections(); n != 1 {
		t.Errorf("%d SSH connections for a client's calls and 11 pings, want 1", n)
	}
	if n := d.ssh.dials; n != 1 {
		t.Errorf("%d SSH connections made, want 1", n)
	}

	// The server dies: the host is down; it comes back: the next Dial
	// reconnects.
	f.s.Kill()
	if err := rawPing(ctx, d); err == nil {
		t.Fatal("ping succeeded with the SSH server killed")
	} else {
		t.Logf("while down: %v", err)
	}
	if err := f.s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := rawPing(ctx, d); err != nil {
		t.Fatalf("ping after the server restarted: %v", err)
	}
	if _, err := cli.Info(ctx); err != nil {
		t.Fatalf("info after the server restarted: %v", err)
	}
	// Killed and back before anyone dialled: the connection still held
	// is dead, and the one Dial replaces it.
	f.s.Kill()
	if err := f.s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := rawPing(ctx, d); err != nil {
		t.Fatalf("ping on a dead connection the server came back behind: %v", err)
	}
	if n := d.ssh.dials; n != 3 {
		t.Errorf("%d SSH connections made over two server restarts, want 3", n)
	}

	cli.Close()
	d.Close()
	if err := rawPing(ctx, d); !errors.Is(err, errDialerClosed) {
		t.Errorf("Dial after Close: %v, want %v", err, errDialerClosed)
	}
	waitFor(t, 5*time.Second, "the server's connections to close", func() bool { return f.s.Connections() == 0 })
	waitFor(t, 5*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// TestSSHLinger: once the last channel closes, the SSH connection closes
// by itself (a Fleet's Close closes every channel but not the Dialer).
func TestSSHLinger(t *testing.T) {
	f := newSSHFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := f.dialer(t, f.params("web-1"), nil)
	cli, err := d.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := d.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	cli.Close()                 // closes the client's idle connection
	time.Sleep(2 * time.Second) // past the linger
	if n := f.s.Connections(); n != 1 {
		t.Fatalf("%d SSH connections with a channel open, want 1", n)
	}
	conn.Close()
	waitFor(t, 5*time.Second, "the unused SSH connection to close", func() bool { return f.s.Connections() == 0 })
	if err := rawPing(ctx, d); err != nil {
		t.Fatalf("ping after the linger: %v", err)
	}
}

// TestSSHKeepAlive: a server that stops answering (SIGSTOP: the TCP
// connection stays up) is noticed by the keep-alives and dropped, with no
// channel open to notice it.
func TestSSHKeepAlive(t *testing.T) {
	f := newSSHFixture(t)
	oldI, oldT := sshKeepAliveInterval, sshKeepAliveTimeout
	// A generous timeout: an answer slowed by a loaded machine must not
	// count as silence.
	sshKeepAliveInterval, sshKeepAliveTimeout = 200*time.Millisecond, time.Second
	t.Cleanup(func() { sshKeepAliveInterval, sshKeepAliveTimeout = oldI, oldT })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := f.dialer(t, f.params("web-1"), nil)
	conn, err := d.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(4 * sshKeepAliveInterval) // answered keep-alives keep it
	d.ssh.mu.Lock()
	alive := d.ssh.cur != nil
	d.ssh.mu.Unlock()
	if !alive {
		t.Fatal("connection dropped while the server answered")
	}
	f.s.Signal(syscall.SIGSTOP)
	defer f.s.Signal(syscall.SIGCONT)
	waitFor(t, 5*time.Second, "the keep-alive to drop the silent connection", func() bool {
		d.ssh.mu.Lock()
		defer d.ssh.mu.Unlock()
		return d.ssh.cur == nil
	})
	buf := make([]byte, 1)
	if _, err := conn.Read(buf); err == nil {
		t.Error("channel still readable after its connection was dropped")
	}
	// A new connection to the silent server: TCP connects (the kernel
	// accepts), the handshake gets no answer and is given up.
	oldH := sshHandshakeTimeout
	sshHandshakeTimeout = 500 * time.Millisecond
	start := time.Now()
	err = rawPing(ctx, d)
	sshHandshakeTimeout = oldH
	if err == nil || !strings.Contains(err.Error(), "SSH handshake timeout") {
		t.Fatalf("dial to a silent server: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the handshake timeout took %s", took)
	}
	f.s.Signal(syscall.SIGCONT)
	if err := rawPing(ctx, d); err != nil {
		t.Fatalf("ping once the server answers again: %v", err)
	}
}

// TestSSHRefusals: a host key that changed, a host that known_hosts lost
// after Open, a key the server does not accept, a socket that does not
// exist: each a clear error, nothing connected.
func TestSSHRefusals(t *testing.T) {
	f := newSSHFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("changed host key", func(t *testing.T) {
		other, _, err := sshd.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		kh := filepath.Join(t.TempDir(), "known_hosts")
		line := knownhosts.Line([]string{knownhosts.Normalize(f.s.Addr())}, other) + "\n"
		if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		d := f.dialer(t, f.s.URL("root")+"?identity="+f.s.ClientKey+"&socket="+f.socket()+"&knownhosts="+kh, nil)
		err = rawPing(ctx, d)
		if err == nil || !strings.Contains(err.Error(), "CHANGED") || !strings.Contains(err.Error(), "man-in-the-middle") {
			t.Fatalf("changed host key: %v", err)
		}
		t.Log(err)
	})
	t.Run("unknown host after Open", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(kh, []byte(f.s.KnownHostsLine()), 0o600); err != nil {
			t.Fatal(err)
		}
		d := f.dialer(t, f.s.URL("root")+"?identity="+f.s.ClientKey+"&socket="+f.socket()+"&knownhosts="+kh, nil)
		// The host's line removed (and the file's stamp changed).
		if err := os.WriteFile(kh, []byte("# emptied\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := rawPing(ctx, d)
		if err == nil || !strings.Contains(err.Error(), "is not in "+kh) || !strings.Contains(err.Error(), "ssh-keyscan -p") {
			t.Fatalf("unknown host: %v", err)
		}
		t.Log(err)
	})
	t.Run("key not authorized", func(t *testing.T) {
		_, pemBytes, err := sshd.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		key := filepath.Join(t.TempDir(), "id_ed25519")
		if err := os.WriteFile(key, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
		d := f.dialer(t, f.s.URL("root")+"?identity="+key+"&socket="+f.socket()+"&knownhosts="+f.knownHosts, nil)
		err = rawPing(ctx, d)
		if err == nil || !strings.Contains(err.Error(), `authentication as "root" refused`) || !strings.Contains(err.Error(), key) {
			t.Fatalf("wrong key: %v", err)
		}
		t.Log(err)
	})
	t.Run("no such socket", func(t *testing.T) {
		d := f.dialer(t, f.s.URL("root")+"?identity="+f.s.ClientKey+"&socket=/nonexistent/docker.sock&knownhosts="+f.knownHosts, nil)
		err := rawPing(ctx, d)
		if err == nil || !strings.Contains(err.Error(), "refused to open /nonexistent/docker.sock") {
			t.Fatalf("missing socket: %v", err)
		}
		t.Log(err)
	})
	waitFor(t, 5*time.Second, "no connection left", func() bool { return f.s.Connections() == 0 })
}

// TestSSHAgent: without identity=, the keys of the ssh-agent at
// SSH_AUTH_SOCK authenticate (an in-process agent on a unix socket).
func TestSSHAgent(t *testing.T) {
	f := newSSHFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	keyring := agent.NewKeyring()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	env := func(k string) string {
		switch k {
		case "SSH_AUTH_SOCK":
			return sock
		case "HOME":
			return t.TempDir() // no key files: the agent's keys only
		}
		return ""
	}
	d := f.dialer(t, f.s.URL("root")+"?socket="+f.socket()+"&knownhosts="+f.knownHosts, env)
	if d.ep.SSH.Agent != sock || d.ep.SSH.Identities != nil {
		t.Fatalf("agent not chosen: %+v", d.ep.SSH)
	}
	// An empty agent: refused, saying what was offered.
	if err := rawPing(ctx, d); err == nil || !strings.Contains(err.Error(), "ssh-agent at "+sock) {
		t.Fatalf("empty agent: %v", err)
	}
	if err := keyring.Add(agent.AddedKey{PrivateKey: f.s.ClientSigner}); err != nil {
		t.Fatal(err)
	}
	if err := rawPing(ctx, d); err != nil {
		t.Fatalf("ping with the agent's key: %v", err)
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
