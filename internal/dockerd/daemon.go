// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package dockerd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// DefaultStartTimeout bounds how long Launch and Restart wait for /_ping.
	DefaultStartTimeout = 30 * time.Second
	// stopTimeout bounds a graceful stop before falling back to SIGKILL. A
	// daemon without containers stops in about 3 s.
	stopTimeout = 30 * time.Second
	// maxSocketPath keeps the daemon's and containerd's unix sockets below the
	// 108-byte sun_path limit; containerd.sock.ttrpc is the longest name.
	maxSocketPath = 100
	// logTailLines is how much of the daemon's log an error carries.
	logTailLines = 40
)

// Options configures one daemon.
type Options struct {
	// Name is the daemon's hostname, hence the Name in `docker info`.
	// Letters, digits and hyphens, at most 63. Default: the base name of the
	// daemon's temporary directory, which is unique.
	Name string
	// TLS makes the daemon listen on tcp://127.0.0.1:PORT (a free port) with
	// --tlsverify and freshly generated certificates, instead of a unix socket.
	TLS bool
	// Args are extra dockerd arguments, appended after the package's own.
	Args []string
	// StartTimeout bounds the wait for /_ping. Default DefaultStartTimeout.
	StartTimeout time.Duration
}

// Daemon is one running (or stopped, restartable) dockerd. Its methods are
// safe for concurrent use.
type Daemon struct {
	dir          string // temporary directory holding everything of this daemon
	hostname     string
	endpoint     string // unix:///... or tcp://127.0.0.1:PORT
	certs        *Certs // nil for unix
	cgroupParent string // also the containerd namespace: unique per daemon
	startTimeout time.Duration
	extraArgs    []string
	http         *http.Client
	baseURL      string // for /_ping and /info

	mu      sync.Mutex // serializes start, stop, kill and close
	proc    *process   // nil when not running
	id      string
	name    string
	closed  bool
	cleanMu sync.Mutex // guards cleanup of leftovers (may run while mu is held)
}

// process is one run of dockerd.
type process struct {
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd.Wait returned
	logOff int64         // where this run's output starts in the log
}

var hostnamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// Available reports why real daemons cannot run here, or nil if they can:
// root is needed, and dockerd, containerd, the docker CLI, unshare, hostname
// and mount must be on PATH.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("real Docker daemons need root (running as uid %d)", os.Geteuid())
	}
	for _, bin := range []string{"dockerd", "containerd", "docker", "unshare", "hostname", "mount"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found on PATH (dockerd, containerd and docker come with the docker.io Debian package): %w", bin, err)
		}
	}
	return nil
}

// Require skips the test when real daemons cannot run here (see Available),
// or fails it when the environment says CI=true: CI must run these tests.
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dockerd: CI=true but real daemons cannot run: %v", err)
		}
		t.Skipf("dockerd: skipping, real daemons cannot run: %v", err)
	}
}

// Start launches a daemon for the test (see Launch), waits until it answers
// and registers its Close with t.Cleanup. It calls Require first.
func Start(t testing.TB, opts Options) *Daemon {
	t.Helper()
	Require(t)
	d, err := Launch(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("dockerd: close %s: %v", d.endpoint, err)
		}
	})
	return d
}

// Launch starts a daemon and waits until it answers /_ping. The caller must
// Close it. Unlike Start it needs no testing.TB (benchmarks' helpers, demos).
func Launch(opts Options) (*Daemon, error) {
	if opts.Name != "" && !hostnamePattern.MatchString(opts.Name) {
		return nil, fmt.Errorf("dockerd: option Name %q is not a valid hostname (letters, digits, hyphens, at most 63)", opts.Name)
	}
	if opts.StartTimeout < 0 {
		return nil, fmt.Errorf("dockerd: option StartTimeout %v is negative", opts.StartTimeout)
	}
	if err := Available(); err != nil {
		return nil, fmt.Errorf("dockerd: %w", err)
	}
	// The mount points must exist on the host; a system dockerd would create
	// the same directories.
	for _, p := range privateDirs {
		if err := os.MkdirAll(p.host, 0o700); err != nil {
			return nil, fmt.Errorf("dockerd: mount point: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "dockerd-")
	if err != nil {
		return nil, fmt.Errorf("dockerd: %w", err)
	}
	d := &Daemon{
		dir:          dir,
		hostname:     opts.Name,
		cgroupParent: filepath.Base(dir),
		startTimeout: opts.StartTimeout,
		extraArgs:    append([]string(nil), opts.Args...),
	}
	if d.hostname == "" {
		d.hostname = d.cgroupParent
	}
	if d.startTimeout == 0 {
		d.startTimeout = DefaultStartTimeout
	}
	if err := d.prepare(opts.TLS); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	// A free port found by listening on :0 can be taken by someone else before
	// dockerd binds it; try a few ports before giving up.
	for attempt := 1; ; attempt++ {
		err = d.start()
		if err == nil {
			return d, nil
		}
		if !opts.TLS || attempt == 3 || !errors.Is(err, errAddressInUse) {
			break
		}
		if err = d.pickPort(); err != nil {
			break
		}
	}
	_ = d.sweep()
	_ = removeCgroups(d.cgroupParent)
	_ = os.RemoveAll(dir)
	return nil, err
}

// prepare lays out the directory and the client used to probe the daemon.
func (d *Daemon) prepare(useTLS bool) error {
	subdirs := []string{"data", "exec", "cli-config"}
	for _, p := range privateDirs {
		subdirs = append(subdirs, p.own)
	}
	for _, sub := range subdirs {
		if err := os.Mkdir(filepath.Join(d.dir, sub), 0o700); err != nil {
			return fmt.Errorf("dockerd: %w", err)
		}
	}
	// An empty config file keeps a host's /etc/docker/daemon.json (and its
	// registry mirrors, log drivers...) out of the test.
	if err := os.WriteFile(filepath.Join(d.dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	if sock := filepath.Join(d.dir, "exec", "containerd", "containerd.sock.ttrpc"); len(sock) > maxSocketPath {
		return fmt.Errorf("dockerd: temporary directory %s is too deep for unix sockets (%d bytes > %d); set TMPDIR shorter", d.dir, len(sock), maxSocketPath)
	}
	if !useTLS {
		sock := filepath.Join(d.dir, "docker.sock")
		d.endpoint = "unix://" + sock
		d.baseURL = "http://docker"
		d.http = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dialer net.Dialer
				return dialer.DialContext(ctx, "unix", sock)
			},
			DisableKeepAlives: true,
		}}
		return nil
	}
	certDir := filepath.Join(d.dir, "certs")
	if err := os.Mkdir(certDir, 0o700); err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	certs, err := GenerateCerts(certDir)
	if err != nil {
		return err
	}
	tlsConfig, err := certs.ClientTLSConfig()
	if err != nil {
		return err
	}
	d.certs = certs
	d.http = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}}
	return d.pickPort()
}

// pickPort chooses a free loopback port for the tcp endpoint.
func (d *Daemon) pickPort() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("dockerd: finding a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return fmt.Errorf("dockerd: finding a free port: %w", err)
	}
	d.endpoint = "tcp://" + addr
	d.baseURL = "https://" + addr
	return nil
}

// errAddressInUse marks a start that failed because the tcp port was taken.
var errAddressInUse = errors.New("address already in use")

// privateDirs are the host directories each daemon gets its own copy of,
// bind-mounted in its private mount namespace: /etc/docker for its identity
// (key.json), /run/containerd so that its shims' sockets (/run/containerd/s)
// go away with the daemon's directory even after a crash, and so that a
// system containerd's socket there is not picked up, and /run/docker for its
// plugin sockets. The value is the name of the per-daemon copy.
var privateDirs = []struct{ host, own string }{
	{"/etc/docker", "etc-docker"},
	{"/run/containerd", "run-containerd"},
	{"/run/docker", "run-docker"},
}

// launchScript runs as `sh -c` inside the new mount and UTS namespaces:
// $1 hostname, $2 to $4 the directories to mount over privateDirs, then the
// dockerd command line. exec keeps the pid: unshare and sh both exec, so the
// pid we started is dockerd's.
const launchScript = `set -e
hostname "$1"
mount --bind "$2" /etc/docker
mount --bind "$3" /run/containerd
mount --bind "$4" /run/docker
shift 4
exec "$@"`

// start runs dockerd and waits for /_ping. d.mu must be held.
func (d *Daemon) start() error {
	if d.closed {
		return fmt.Errorf("dockerd: %s is closed", d.endpoint)
	}
	if d.proc != nil {
		return fmt.Errorf("dockerd: %s is already running", d.endpoint)
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	// Stale pid files of a killed run would make dockerd or its containerd
	// refuse to start if their pids were reused; nothing of ours runs now.
	for _, p := range []string{filepath.Join(d.dir, "dockerd.pid"), filepath.Join(d.dir, "exec", "containerd", "containerd.pid")} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("dockerd: %w", err)
		}
	}

	logFile, err := os.OpenFile(d.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	off, err := logFile.Seek(0, io.SeekEnd)
	if err != nil {
		logFile.Close()
		return fmt.Errorf("dockerd: %w", err)
	}

	args := []string{"--mount", "--uts", "--propagation", "private",
		"sh", "-c", launchScript, "dockerd-launch", d.hostname}
	for _, p := range privateDirs {
		args = append(args, filepath.Join(d.dir, p.own))
	}
	args = append(args, dockerd)
	args = append(args, d.dockerdArgs()...)
	cmd := exec.Command("unshare", args...)
	cmd.Dir = d.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true, // keep terminal signals (Ctrl-C) for the test process
		// If the test process dies, take dockerd (and, through its own
		// Pdeathsig, containerd) with it.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("dockerd: starting %s: %w", d.endpoint, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{}), logOff: off}
	go func() {
		_ = cmd.Wait() // the exit status is reported through the log
		logFile.Close()
		close(p.done)
	}()
	d.proc = p

	if err := d.waitReady(); err != nil {
		_ = d.killLocked()
		return err
	}
	id, name, err := d.info()
	if err != nil {
		_ = d.killLocked()
		return err
	}
	d.id, d.name = id, name
	return nil
}

// dockerdArgs is the daemon's command line (after the binary).
func (d *Daemon) dockerdArgs() []string {
	args := []string{
		"--data-root", filepath.Join(d.dir, "data"),
		"--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "dockerd.pid"),
		"--config-file", filepath.Join(d.dir, "daemon.json"),
		"--containerd-namespace", d.cgroupParent,
		"--containerd-plugins-namespace", d.cgroupParent + "-plugins",
		"--cgroup-parent", d.cgroupParent,
		"--storage-driver", "vfs",
		"--iptables=false", "--ip6tables=false", "--ip-forward=false", "--bridge=none",
	}
	if d.certs == nil {
		args = append(args, "--host", d.endpoint)
	} else {
		args = append(args, "--host", d.endpoint, "--tlsverify",
			"--tlscacert", d.certs.CA, "--tlscert", d.certs.ServerCert, "--tlskey", d.certs.ServerKey)
	}
	return append(args, d.extraArgs...)
}

// waitReady polls /_ping until it answers OK, the process exits or the
// deadline passes. d.mu must be held.
func (d *Daemon) waitReady() error {
	deadline := time.Now().Add(d.startTimeout)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		lastErr = d.get(ctx, "/_ping", nil)
		cancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-d.proc.done:
			tail := d.logTail()
			err := fmt.Errorf("dockerd: %s exited during start-up (%v); log:\n%s", d.endpoint, d.proc.cmd.ProcessState, tail)
			if strings.Contains(tail, "address already in use") {
				err = fmt.Errorf("%w: %w", errAddressInUse, err)
			}
			return err
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd: %s did not answer /_ping within %v (last error: %v); log:\n%s", d.endpoint, d.startTimeout, lastErr, d.logTail())
		}
	}
}

// get performs GET path and decodes a JSON answer into out (if not nil).
func (d *Daemon) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.baseURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// info reads the daemon's ID and Name from /info.
func (d *Daemon) info() (id, name string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var info struct{ ID, Name string }
	if err := d.get(ctx, "/info", &info); err != nil {
		return "", "", fmt.Errorf("dockerd: %s: %w", d.endpoint, err)
	}
	if info.ID == "" || info.Name == "" {
		return "", "", fmt.Errorf("dockerd: %s: /info has no ID or Name", d.endpoint)
	}
	return info.ID, info.Name, nil
}

// logTail returns the last lines the current run wrote to the log.
func (d *Daemon) logTail() string {
	data, err := os.ReadFile(d.LogPath())
	if err != nil {
		return "(log unreadable: " + err.Error() + ")"
	}
	if d.proc != nil && d.proc.logOff <= int64(len(data)) {
		data = data[d.proc.logOff:]
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

// Endpoint is the daemon's address as a Docker client takes it:
// unix:///.../docker.sock or tcp://127.0.0.1:PORT.
func (d *Daemon) Endpoint() string { return d.endpoint }

// TLS reports whether the daemon listens on tcp with mutual TLS.
func (d *Daemon) TLS() bool { return d.certs != nil }

// Certs is the TLS material of a TLS daemon, nil for a unix one.
func (d *Daemon) Certs() *Certs { return d.certs }

// CertDir is the DOCKER_CERT_PATH directory of an accepted client, "" for a
// unix daemon.
func (d *Daemon) CertDir() string {
	if d.certs == nil {
		return ""
	}
	return d.certs.Dir
}

// ID is the daemon's ID from /info (stable across Restart).
func (d *Daemon) ID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.id
}

// Name is the daemon's Name from /info, i.e. its hostname.
func (d *Daemon) Name() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.name
}

// Dir is the daemon's temporary directory, removed by Close.
func (d *Daemon) Dir() string { return d.dir }

// LogPath is the file that collects the daemon's output across restarts.
func (d *Daemon) LogPath() string { return filepath.Join(d.dir, "dockerd.log") }

// PID is the process id of the running dockerd, 0 when it is not running.
func (d *Daemon) PID() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc == nil {
		return 0
	}
	return d.proc.cmd.Process.Pid
}

// Running reports whether the daemon process is up (started and not exited).
func (d *Daemon) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc == nil {
		return false
	}
	select {
	case <-d.proc.done:
		return false
	default:
		return true
	}
}

// Stop removes every container (a running one would add its 10 s stop timeout
// to the daemon's shutdown), then stops the daemon with SIGTERM and waits. If
// it does not exit in time it is killed and Stop returns an error. The
// directories stay: Restart brings the daemon back. Stopping a stopped daemon
// does nothing.
func (d *Daemon) Stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopLocked()
}

func (d *Daemon) stopLocked() error {
	if d.proc == nil {
		return nil
	}
	p := d.proc
	var errs []error
	select {
	case <-p.done:
		errs = append(errs, fmt.Errorf("dockerd: %s had exited on its own (%v); log:\n%s", d.endpoint, p.cmd.ProcessState, d.logTail()))
	default:
		if err := d.removeAllContainers(); err != nil {
			errs = append(errs, err)
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("dockerd: SIGTERM %s: %w", d.endpoint, err))
		}
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			errs = append(errs, fmt.Errorf("dockerd: %s did not stop within %v after SIGTERM, killed it; log:\n%s", d.endpoint, stopTimeout, d.logTail()))
		}
	}
	if err := d.killLocked(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removeAllContainers force-removes every container of the daemon.
func (d *Daemon) removeAllContainers() error {
	out, err := d.Docker("ps", "--all", "--quiet", "--no-trunc")
	if err != nil {
		return err
	}
	ids := strings.Fields(out)
	if len(ids) == 0 {
		return nil
	}
	_, err = d.Docker(append([]string{"rm", "--force", "--volumes"}, ids...)...)
	return err
}

// Kill simulates a crash: SIGKILL to dockerd, then SIGKILL to everything it
// had started (containerd, shims, container processes), so that nothing is
// left behind. The directories stay: Restart brings the daemon back with its
// containers as they were stored (the running ones exited).
func (d *Daemon) Kill() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.killLocked()
}

func (d *Daemon) killLocked() error {
	if d.proc == nil {
		return d.sweep()
	}
	p := d.proc
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("dockerd: SIGKILL %s: %w", d.endpoint, err)
	}
	<-p.done // SIGKILL cannot be ignored: this returns promptly
	d.proc = nil
	return d.sweep()
}

// Restart stops the daemon if it runs (see Stop) and starts it again on the
// same directories and the same socket or port, waiting for /_ping. Its ID
// stays the same; the event history does not survive.
func (d *Daemon) Restart() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.stopLocked(); err != nil {
		return err
	}
	return d.start()
}

// Close stops the daemon (see Stop), makes sure none of its processes,
// cgroups or files remain, and removes its directory. It is idempotent.
func (d *Daemon) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	errs := []error{d.stopLocked(), d.sweep(), removeCgroups(d.cgroupParent)}
	if err := os.RemoveAll(d.dir); err != nil {
		errs = append(errs, fmt.Errorf("dockerd: %w", err))
	}
	return errors.Join(errs...)
}

// String names the daemon for logs.
func (d *Daemon) String() string { return d.endpoint + " (" + d.hostname + ")" }
