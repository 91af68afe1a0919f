// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package bench

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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
	// Inspect answers container, image and exec inspects at once
	// (fakedocker.InspectOK) instead of 404.
	Inspect bool
}

// runServerChild serves spec until its stdin closes. It prints one URL per
// host and then "ready". Each line "containers FIRST COUNT" on its stdin
// publishes, on every host, the create and the start of the containers
// numbered FIRST to FIRST+COUNT-1 (containerID), and is answered by "ok",
// the inspect requests received so far and the event streams served now.
func runServerChild(raw string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "server child:", err)
		return 2
	}
	raiseNoFile()
	srv := fakedocker.New("scale")
	if spec.Inspect {
		srv.SetInspect(fakedocker.InspectOK, 0)
	}
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
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var first, count int
		if _, err := fmt.Sscanf(in.Text(), "containers %d %d", &first, &count); err != nil {
			fmt.Fprintf(os.Stderr, "server child: command %q: %v\n", in.Text(), err)
			return 2
		}
		for i := first; i < first+count; i++ {
			publishContainer(srv, i, false)
		}
		fmt.Fprintln(out, "ok", srv.InspectRequests(), srv.Stats().Streams)
		_ = out.Flush()
	}
	_ = srv.Close()
	return 0
}

// containerID is the ID of the container numbered i: 64 hex digits, as
// the daemon writes them.
func containerID(i int) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(strconv.Itoa(i))))
}

// publishContainer publishes what `docker run` of the container numbered i
// shows: its create, its connection to the bridge network (with network)
// and its start.
func publishContainer(srv *fakedocker.Server, i int, network bool) {
	id := containerID(i)
	attrs := map[string]string{"image": "busybox:1.36", "name": "run-" + strconv.Itoa(i)}
	srv.Publish(fakedocker.Event{Type: "container", Action: "create", ActorID: id, Attributes: attrs})
	if network {
		srv.Publish(fakedocker.Event{Type: "network", Action: "connect", ActorID: bridgeNetworkID,
			Attributes: map[string]string{"container": id, "name": "bridge", "type": "bridge"}})
	}
	srv.Publish(fakedocker.Event{Type: "container", Action: "start", ActorID: id, Attributes: attrs})
}

// bridgeNetworkID is the ID of the fake daemons' bridge network.
const bridgeNetworkID = "5c2f1e0b9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b"

// perChild is how many hosts one server child serves: each costs it a
// listener and a connection, and the hard limit of open files here is
// 20,000.
const perChild = 5000

// childFleet starts server children for n hosts and returns their URLs,
// in host order. Cleanup stops the children.
func childFleet(tb testing.TB, n int, certs *dockerd.Certs) []string {
	tb.Helper()
	urls, _ := startChildren(tb, childSpec{N: n, TLS: certs})
	return urls
}

// serverChild is a running server child, and what commands it (see
// runServerChild).
type serverChild struct {
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// startChildren starts server children for all.N hosts, each child with
// all's settings for its share of them, and returns the hosts' URLs, in
// host order, and the children. Cleanup stops the children.
func startChildren(tb testing.TB, all childSpec) ([]string, []*serverChild) {
	tb.Helper()
	dir := shortDir(tb)
	var urls []string
	var children []*serverChild
	for first := 0; first < all.N; first += perChild {
		s := all
		s.Dir, s.First, s.N = dir, first, min(perChild, all.N-first)
		spec, err := json.Marshal(s)
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
		children = append(children, &serverChild{stdin: stdin, out: sc})
	}
	return urls, children
}

// childState is what a server child answers a command with.
type childState struct {
	inspects uint64 // inspect requests received since it started
	streams  int    // event streams it serves now
}

// publishContainers makes the child publish the create and start of the
// containers numbered first to first+count-1 on each of its hosts, and
// returns its state once they are published.
func (c *serverChild) publishContainers(tb testing.TB, first, count int) childState {
	tb.Helper()
	if _, err := fmt.Fprintf(c.stdin, "containers %d %d\n", first, count); err != nil {
		tb.Fatal(err)
	}
	if !c.out.Scan() {
		tb.Fatalf("server child: no answer to publish (%v)", c.out.Err())
	}
	var st childState
	if _, err := fmt.Sscanf(c.out.Text(), "ok %d %d", &st.inspects, &st.streams); err != nil {
		tb.Fatalf("server child: answer %q: %v", c.out.Text(), err)
	}
	return st
}

// waitChildStreams waits until the children serve n event streams in all.
func waitChildStreams(tb testing.TB, children []*serverChild, n int) {
	tb.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		streams := 0
		for _, c := range children {
			streams += c.publishContainers(tb, 0, 0).streams
		}
		if streams == n {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("server children: %d event streams after 3 minutes, want %d", streams, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
