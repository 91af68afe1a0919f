// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package bench

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockerfleet/dockerfleet/internal/dockerd"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// shortDir is a fresh directory with a short path: unix socket paths are
// limited to 107 bytes, which b.TempDir() can exceed.
func shortDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "dfb")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// unixFleet makes srv listen on n unix sockets in dir and returns the
// open_params that lists them (names h-0, h-1, ...).
func unixFleet(tb testing.TB, srv *fakedocker.Server, dir string, n int) string {
	tb.Helper()
	urls := make([]string, n)
	for i := range urls {
		u, err := srv.ListenUnix(filepath.Join(dir, fmt.Sprintf("h-%d.sock", i)))
		if err != nil {
			tb.Fatal(err)
		}
		urls[i] = fmt.Sprintf("%s?name=h-%d", u, i)
	}
	return strings.Join(urls, ",")
}

// serverChildEnv holds the JSON childSpec of a test binary re-executed as a
// fake Docker server: the scale benchmarks keep the server's own memory
// and goroutines out of the process they measure.
const serverChildEnv = "DOCKERFLEET_BENCH_SERVER"

// childSpec says what a server child serves.
type childSpec struct {
	Dir   string // unix: sockets h-First.sock ... in Dir
	First int    // index of the first host
	N     int    // number of hosts
	TLS   *dockerd.Certs
}

// runServerChild serves spec until its stdin closes. It prints one URL per
// host and then "ready".
func runServerChild(raw string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "server child:", err)
		return 2
	}
	raiseNoFile()
	srv := fakedocker.New("scale")
	var cfg *tls.Config
	if spec.TLS != nil {
		var err error
		if cfg, err = spec.TLS.ServerTLSConfig(); err != nil {
			fmt.Fprintln(os.Stderr, "server child:", err)
			return 2
		}
	}
	out := bufio.NewWriter(os.Stdout)
	for i := spec.First; i < spec.First+spec.N; i++ {
		var u string
		var err error
		if cfg != nil {
			u, err = srv.ListenTCP("127.0.0.1:0", cfg)
		} else {
			u, err = srv.ListenUnix(filepath.Join(spec.Dir, fmt.Sprintf("h-%d.sock", i)))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "server child:", err)
			return 2
		}
		fmt.Fprintln(out, u)
	}
	fmt.Fprintln(out, "ready")
	_ = out.Flush()
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
	return 0
}

// perChild is how many hosts one server child serves: each costs it a
// listener and a connection, and the hard limit of open files here is
// 20,000.
const perChild = 5000

// childFleet starts server children for n hosts and returns their URLs,
// in host order. Cleanup stops the children.
func childFleet(tb testing.TB, n int, certs *dockerd.Certs) []string {
	tb.Helper()
	dir := shortDir(tb)
	var urls []string
	for first := 0; first < n; first += perChild {
		spec, err := json.Marshal(childSpec{Dir: dir, First: first, N: min(perChild, n-first), TLS: certs})
		if err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), serverChildEnv+"="+string(spec))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			tb.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			tb.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			_ = stdin.Close()
			_ = cmd.Wait()
		})
		sc := bufio.NewScanner(stdout)
		ready := false
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready = true
				break
			}
			urls = append(urls, sc.Text())
		}
		if !ready {
			tb.Fatalf("server child for hosts %d..: no ready line (%v)", first, sc.Err())
		}
	}
	return urls
}

// openParams lists urls with names h-0, h-1, ... and query options extra
// (e.g. "&certdir=...").
func openParams(urls []string, extra string) string {
	parts := make([]string, len(urls))
	for i, u := range urls {
		parts[i] = fmt.Sprintf("%s?name=h-%d%s", u, i, extra)
	}
	return strings.Join(parts, ",")
}
