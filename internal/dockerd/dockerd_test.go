// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package dockerd

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLaunchRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{
		{Name: "under_score"},
		{Name: "-leading"},
		{Name: strings.Repeat("a", 64)},
		{StartTimeout: -time.Second},
	} {
		d, err := Launch(opts)
		if err == nil {
			d.Close()
			t.Errorf("Launch(%+v) succeeded", opts)
			continue
		}
		culprit := opts.Name
		if culprit == "" {
			culprit = "StartTimeout"
		}
		if !strings.Contains(err.Error(), culprit) {
			t.Errorf("Launch(%+v): error %q does not name %q", opts, err, culprit)
		}
	}
}

func TestInCgroup(t *testing.T) {
	text := "4:memory:/sandbox/x/dockerd-42/abc\n0::/dockerd-42\n"
	if !inCgroup(text, "dockerd-42") {
		t.Error("dockerd-42 not found")
	}
	if inCgroup(text, "dockerd-4") || inCgroup(text, "abcd") || inCgroup("garbage", "garbage") {
		t.Error("partial names must not match")
	}
}

// lifecycle produces a real event history on d and checks that the daemon
// reports it: image import, a container's create/start/exec/kill/die/start/
// destroy, a volume and a network created and removed.
func lifecycle(t *testing.T, d *Daemon) {
	t.Helper()
	since := time.Now().Add(-time.Second).Unix()
	must := func(_ string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.ImportBusybox("busybox:test"))
	id, err := d.Run("--name", "c1", "--label", "fleet.test=yes", "busybox:test", "sleep", "600")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := d.Exec("c1", "echo", "hello"); err != nil || out != "hello" {
		t.Fatalf("exec: %q, %v", out, err)
	}
	if err := d.KillContainer("c1", "KILL"); err != nil {
		t.Fatal(err)
	}
	if err := d.StartContainer("c1"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveContainer(id); err != nil {
		t.Fatal(err)
	}
	must(d.Create("--name", "c2", "busybox:test", "true"))
	must(d.Docker("volume", "create", "v1"))
	must(d.Docker("volume", "rm", "v1"))
	must(d.Docker("network", "create", "--internal", "n1"))
	must(d.Docker("network", "rm", "n1"))

	until := time.Now().Add(time.Second).Unix()
	out, err := d.Docker("events", "--since", strconv.FormatInt(since, 10), "--until", strconv.FormatInt(until, 10),
		"--format", "{{.Type}} {{.Action}} {{.Actor.ID}}")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		action := strings.TrimSuffix(f[1], ":") // exec_start: echo hello
		if f[0] == "container" && f[len(f)-1] != id && !strings.HasPrefix(action, "create") {
			continue
		}
		seen[f[0]+" "+action] = true
	}
	for _, want := range []string{"image import", "container create", "container start", "container exec_create",
		"container exec_start", "container exec_die", "container kill", "container die", "container destroy",
		"volume create", "volume destroy", "network create", "network destroy"} {
		if !seen[want] {
			t.Errorf("%s: event %q missing from:\n%s", d, want, out)
		}
	}
}

// TestParallelDaemons runs two unix daemons and one TLS daemon side by side,
// drives a container lifecycle on each, stops them and proves nothing is left.
func TestParallelDaemons(t *testing.T) {
	Require(t)
	cases := []Options{{Name: "unix-one"}, {Name: "unix-two"}, {Name: "tls-one", TLS: true}}
	daemons := make([]*Daemon, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	began := time.Now()
	for i, opts := range cases {
		wg.Go(func() {
			daemons[i], errs[i] = Launch(opts)
		})
	}
	wg.Wait()
	for i, d := range daemons {
		if d != nil {
			t.Cleanup(func() { d.Close() })
		} else {
			t.Fatalf("%s: %v", cases[i].Name, errs[i])
		}
	}
	t.Logf("3 daemons answering after %v", time.Since(began).Round(time.Millisecond))

	ids := map[string]string{}
	for i, d := range daemons {
		if d.Name() != cases[i].Name {
			t.Errorf("%s: /info Name %q", d, d.Name())
		}
		if other, dup := ids[d.ID()]; dup {
			t.Errorf("%s and %s share the ID %s", other, d, d.ID())
		}
		ids[d.ID()] = d.String()
		if want := cases[i].TLS; d.TLS() != want || strings.HasPrefix(d.Endpoint(), "tcp://127.0.0.1:") != want || (d.CertDir() != "") != want {
			t.Errorf("%s: TLS %v, endpoint %s, cert dir %q", d, d.TLS(), d.Endpoint(), d.CertDir())
		}
		if rss, err := rssKiB(d.PID()); err == nil {
			t.Logf("%s: dockerd RSS %d MiB", d, rss/1024)
		}
	}

	t.Run("lifecycle", func(t *testing.T) {
		for _, d := range daemons {
			t.Run(d.Name(), func(t *testing.T) {
				t.Parallel()
				lifecycle(t, d)
			})
		}
	})
	t.Run("tls-refuses-strangers", func(t *testing.T) { tlsRefusesStrangers(t, daemons[2]) })

	for _, d := range daemons {
		// A running container must not slow the stop down: Close removes it.
		if _, err := d.Run("busybox:test", "sleep", "600"); err != nil {
			t.Fatal(err)
		}
	}
	began = time.Now()
	wg = sync.WaitGroup{}
	for i, d := range daemons {
		wg.Go(func() { errs[i] = d.Close() })
	}
	wg.Wait()
	t.Logf("3 daemons closed after %v", time.Since(began).Round(time.Millisecond))
	for i, d := range daemons {
		if errs[i] != nil {
			t.Errorf("%s: close: %v", d, errs[i])
		}
		if left := d.Leftovers(); len(left) > 0 {
			t.Errorf("%s left behind:\n%s", d, strings.Join(left, "\n"))
		}
	}
}

// tlsRefusesStrangers checks the daemon's mutual TLS both ways, with the
// material GenerateCerts provides for such tests.
func tlsRefusesStrangers(t *testing.T, d *Daemon) {
	c := d.Certs()
	url := "https://" + strings.TrimPrefix(d.Endpoint(), "tcp://") + "/_ping"
	roots := func(path string) *x509.CertPool {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p := x509.NewCertPool()
		p.AppendCertsFromPEM(data)
		return p
	}
	pair := func(cert, key string) []tls.Certificate {
		kp, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{kp}
	}
	ping := func(cfg *tls.Config, url string) error {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	}

	if err := ping(&tls.Config{RootCAs: roots(c.CA), Certificates: pair(c.Cert, c.Key)}, url); err != nil {
		t.Fatalf("accepted client refused: %v", err)
	}
	refused := map[string]error{
		"no client certificate":         ping(&tls.Config{RootCAs: roots(c.CA)}, url),
		"client cert of another CA":     ping(&tls.Config{RootCAs: roots(c.CA), Certificates: pair(c.OtherCert, c.OtherKey)}, url),
		"server not trusted by client":  ping(&tls.Config{RootCAs: roots(c.OtherCA), Certificates: pair(c.Cert, c.Key)}, url),
		"plain HTTP on the TLS port":    ping(nil, strings.Replace(url, "https://", "http://", 1)),
		"docker CLI with other CA dir ": dockerWithCertDir(d, c.OtherDir),
	}
	for what, err := range refused {
		if err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
	if err := dockerWithCertDir(d, c.Dir); err != nil {
		t.Errorf("docker CLI with DOCKER_CERT_PATH=%s: %v", c.Dir, err)
	}
}

// dockerWithCertDir runs `docker version` the way a user would, with
// DOCKER_CERT_PATH pointing at dir.
func dockerWithCertDir(d *Daemon, dir string) error {
	_, err := (&Daemon{endpoint: d.endpoint, dir: d.dir, certs: &Certs{
		CA: dir + "/ca.pem", Cert: dir + "/cert.pem", Key: dir + "/key.pem",
	}}).Docker("version", "--format", "{{.Server.APIVersion}}")
	return err
}

// TestKillAndRestart crashes a daemon with a running container, checks that
// nothing of it survives, and brings it back on the same endpoint and ID.
func TestKillAndRestart(t *testing.T) {
	d := Start(t, Options{})
	id, endpoint := d.ID(), d.Endpoint()
	if _, err := d.ImportBusybox("busybox:test"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Run("--name", "sleeper", "busybox:test", "sleep", "600"); err != nil {
		t.Fatal(err)
	}
	if procs := d.processes(); len(procs) < 4 { // dockerd, containerd, shim, sleep
		t.Fatalf("expected dockerd, containerd, shim and sleep, found:\n%s", strings.Join(procs, "\n"))
	}

	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
	if d.Running() || d.PID() != 0 {
		t.Fatal("daemon still running after Kill")
	}
	if procs := d.processes(); len(procs) > 0 {
		t.Fatalf("Kill left processes:\n%s", strings.Join(procs, "\n"))
	}
	// The cgroups stay until Close; finding them proves Leftovers can see them.
	if dirs, err := cgroupDirs(d.cgroupParent); err != nil || len(dirs) == 0 {
		t.Errorf("cgroup parent %s not found after Kill: %v", d.cgroupParent, err)
	}

	began := time.Now()
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart after kill: %v", time.Since(began).Round(time.Millisecond))
	if d.ID() != id || d.Endpoint() != endpoint {
		t.Errorf("after restart: ID %s endpoint %s, want %s %s", d.ID(), d.Endpoint(), id, endpoint)
	}
	state, err := d.Docker("inspect", "--format", "{{.State.Status}}", "sleeper")
	if err != nil {
		t.Fatal(err)
	}
	if state != "exited" {
		t.Errorf("container after crash and restart: %s, want exited", state)
	}

	began = time.Now()
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("graceful stop: %v", time.Since(began).Round(time.Millisecond))
	if err := d.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := d.Docker("version"); err == nil {
		t.Error("stopped daemon still answers")
	}
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	if d.ID() != id {
		t.Errorf("ID changed across graceful restart: %s, want %s", d.ID(), id)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if left := d.Leftovers(); len(left) > 0 {
		t.Errorf("left behind:\n%s", strings.Join(left, "\n"))
	}
	if err := d.Restart(); err == nil {
		t.Error("Restart after Close succeeded")
	}
}

// TestLaunchFailureReportsLog starts a daemon that cannot start and checks
// that the error carries dockerd's own complaint and nothing is left behind.
func TestLaunchFailureReportsLog(t *testing.T) {
	Require(t)
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "dockerd-*"))
	d, err := Launch(Options{Args: []string{"--no-such-flag"}})
	if err == nil {
		d.Close()
		t.Fatal("Launch with an unknown dockerd flag succeeded")
	}
	if !strings.Contains(err.Error(), "exited during start-up") || !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("error does not carry the daemon's log: %v", err)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "dockerd-*"))
	if len(after) > len(before) {
		t.Errorf("temporary directories left: before %v, after %v", before, after)
	}
}

// TestTLSRestartKeepsPort checks that a TLS daemon comes back on its port
// with the same certificates.
func TestTLSRestartKeepsPort(t *testing.T) {
	d := Start(t, Options{TLS: true, Name: "tls-restart"})
	endpoint := d.Endpoint()
	began := time.Now()
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Logf("graceful restart: %v", time.Since(began).Round(time.Millisecond))
	if d.Endpoint() != endpoint {
		t.Errorf("endpoint %s after restart, want %s", d.Endpoint(), endpoint)
	}
	if _, err := d.Docker("info", "--format", "{{.Name}}"); err != nil {
		t.Error(err)
	}
}

// rssKiB reads a process's resident set size.
func rssKiB(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
