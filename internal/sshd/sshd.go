// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package sshd starts and stops real, throwaway OpenSSH servers for tests
// of ssh endpoints: `sshd -D -e` with a configuration, host key and
// authorized keys of its own, on 127.0.0.1 and a free port, allowing root
// to log in with a key and to forward unix sockets (what reaching a
// daemon's socket needs), nothing else. The keys are generated in Go for
// each server.
//
// It needs root (sshd's privilege separation) and the openssh-server
// Debian package. Start skips the test when they are missing, except under
// CI (CI=true) where that is a failure, as in internal/dockerd.
package sshd

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Binary is where Debian's openssh-server installs the server.
const Binary = "/usr/sbin/sshd"

// privSepDir is the privilege separation directory sshd requires (its
// package's systemd unit creates it at boot, which a container lacks).
const privSepDir = "/run/sshd"

// startTimeout bounds the wait for the server's banner.
const startTimeout = 10 * time.Second

// Available reports why a server cannot run here, or nil if it can.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("sshd needs root (running as uid %d)", os.Geteuid())
	}
	if _, err := os.Stat(Binary); err != nil {
		return fmt.Errorf("%s missing (Debian package openssh-server): %w", Binary, err)
	}
	return nil
}

// Require skips the test when a server cannot run here (see Available), or
// fails it when the environment says CI=true: CI must run these tests.
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sshd: CI=true but an OpenSSH server cannot run: %v", err)
		}
		t.Skipf("sshd: SKIPPING, an OpenSSH server cannot run here: %v", err)
	}
}

// Server is one OpenSSH server. Its methods are safe for concurrent use.
type Server struct {
	dir     string
	port    int
	hostKey ssh.PublicKey

	// ClientKey is an unencrypted private key file (ed25519) that the
	// server accepts for root; ClientPub its public key.
	ClientKey string
	ClientPub ssh.PublicKey
	// ClientSigner is ClientKey parsed, for an in-process ssh-agent.
	ClientSigner ed25519.PrivateKey

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start generates the keys and configuration of a server, starts it, waits
// for its banner and registers its Close with t.Cleanup. It calls Require.
func Start(t testing.TB) *Server {
	t.Helper()
	Require(t)
	s, err := launch(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func launch(dir string) (*Server, error) {
	if err := os.MkdirAll(privSepDir, 0o755); err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	hostPub, hostPEM, err := NewKey()
	if err != nil {
		return nil, err
	}
	s.hostKey = hostPub
	if err := os.WriteFile(s.path("host_ed25519"), hostPEM, 0o600); err != nil {
		return nil, err
	}
	var clientPEM []byte
	s.ClientPub, clientPEM, err = NewKey()
	if err != nil {
		return nil, err
	}
	s.ClientKey = s.path("client_ed25519")
	if err := os.WriteFile(s.ClientKey, clientPEM, 0o600); err != nil {
		return nil, err
	}
	raw, err := ssh.ParseRawPrivateKey(clientPEM)
	if err != nil {
		return nil, err
	}
	s.ClientSigner = *raw.(*ed25519.PrivateKey)
	if err := os.WriteFile(s.path("authorized_keys"), ssh.MarshalAuthorizedKey(s.ClientPub), 0o600); err != nil {
		return nil, err
	}
	if s.port, err = freePort(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.path("sshd_config"), []byte(s.config()), 0o600); err != nil {
		return nil, err
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

// NewKey returns a fresh ed25519 key: its public half and its private
// half as an unencrypted OpenSSH PEM file.
func NewKey() (ssh.PublicKey, []byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, nil, err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return sp, pem.EncodeToMemory(block), nil
}

func (s *Server) path(name string) string { return filepath.Join(s.dir, name) }

// config is the server's sshd_config: root by key only, unix socket
// forwarding only, no PAM, files in the server's directory whatever
// their modes.
func (s *Server) config() string {
	return strings.Join([]string{
		"Port " + strconv.Itoa(s.port),
		"ListenAddress 127.0.0.1",
		"HostKey " + s.path("host_ed25519"),
		"PidFile " + s.path("sshd.pid"),
		"AuthorizedKeysFile " + s.path("authorized_keys"),
		"StrictModes no",
		"UsePAM no",
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"AllowStreamLocalForwarding yes",
		// OpenSSH permits no path to connect to under
		// AllowTcpForwarding no, streamlocal forwarding allowed or not.
		"AllowTcpForwarding local",
		"X11Forwarding no",
		"PermitTTY no",
		"PrintMotd no",
		"MaxStartups 100",
		"MaxSessions 100",
		"LogLevel VERBOSE",
		"",
	}, "\n")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs sshd and waits for its banner.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("sshd: already running")
	}
	log, err := os.OpenFile(s.path("sshd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	// An absolute path: sshd re-executes itself for every connection.
	cmd := exec.Command(Binary, "-D", "-e", "-f", s.path("sshd_config"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("sshd: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(startTimeout)
	for {
		if err := s.banner(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			s.killLocked()
			return fmt.Errorf("sshd: no banner on %s after %s: %v\n%s", s.Addr(), startTimeout, err, s.Log())
		}
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("sshd exited at start:\n%s", s.Log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Server) banner() error {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "SSH-2.0-") {
		return fmt.Errorf("not an SSH banner: %q", line)
	}
	return nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port is the server's port.
func (s *Server) Port() int { return s.port }

// URL is ssh://user@127.0.0.1:PORT.
func (s *Server) URL(user string) string { return "ssh://" + user + "@" + s.Addr() }

// HostKey is the server's public host key.
func (s *Server) HostKey() ssh.PublicKey { return s.hostKey }

// KnownHostsLine is the known_hosts line of the server's host key.
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, s.hostKey) + "\n"
}

// WriteKnownHosts writes a known_hosts file holding the server's host key
// in dir and returns its path.
func (s *Server) WriteKnownHosts(dir string) (string, error) {
	p := filepath.Join(dir, "known_hosts")
	return p, os.WriteFile(p, []byte(s.KnownHostsLine()), 0o600)
}

// Log is what the server wrote so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.path("sshd.log"))
	return string(b)
}

// Running reports whether the listening server runs.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Kill kills the server and every process it forked for a connection, so
// that every connection breaks at once, as when the host's sshd dies.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

func (s *Server) killLocked() {
	if s.cmd == nil {
		return
	}
	// Collected before the kill: orphans are adopted by init, out of
	// reach of the tree walk.
	pids := append(descendants(s.cmd.Process.Pid), s.cmd.Process.Pid)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	<-s.done
	s.cmd = nil
}

// Restart starts the server again after Kill, on the same port with the
// same keys.
func (s *Server) Restart() error { return s.start() }

// Signal sends sig to the server and to every process it forked: SIGSTOP
// makes a server that accepts TCP connections and answers nothing,
// SIGCONT brings it back.
func (s *Server) Signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	for _, pid := range append(descendants(s.cmd.Process.Pid), s.cmd.Process.Pid) {
		_ = syscall.Kill(pid, sig)
	}
}

// Connections counts the connections the server holds: one process per
// connection is a child of the listening one.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return len(children(s.cmd.Process.Pid))
}

// Close kills the server. Safe to call more than once.
func (s *Server) Close() { s.Kill() }

// children lists the processes whose parent is pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// descendants lists every process below pid.
func descendants(pid int) []int {
	var out []int
	for _, c := range children(pid) {
		out = append(out, c)
		out = append(out, descendants(c)...)
	}
	return out
}
