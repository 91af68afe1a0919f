// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build integration

// Package integration tests libdockerfleet.so as Falco uses it: loaded
// through the plugin C ABI (internal/abihost, around the SDK's
// plugin_loader.c), against real dockerd instances started for the tests.
package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/abihost"
	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// soPath is the plugin library under test: $DOCKERFLEET_SO (set by `make
// integration`), else built once for this test binary.
var soPath string

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	soPath = os.Getenv("DOCKERFLEET_SO")
	if soPath == "" {
		dir, err := os.MkdirTemp("", "dockerfleet-so-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		soPath = filepath.Join(dir, "libdockerfleet.so")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", soPath, "../../plugin/libdockerfleet")
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("building the plugin: %v\n%s", err, out)
		}
	}
	if _, err := os.Stat(soPath); err != nil {
		return 0, fmt.Errorf("plugin library: %w", err)
	}
	return m.Run(), nil
}

// loadPlugin loads and initialises the plugin; Destroy runs at cleanup.
func loadPlugin(t *testing.T, initConfig string) *abihost.Plugin {
	t.Helper()
	p, err := abihost.Load(soPath)
	if err != nil {
		t.Fatalf("loading %s: %v", soPath, err)
	}
	if err := p.Init(initConfig); err != nil {
		p.Close()
		t.Fatalf("init(%q): %v", initConfig, err)
	}
	t.Cleanup(p.Close)
	return p
}

// record is one event as the tests look at it: the fields a rule would
// read, extracted through the C ABI.
type record struct {
	Timestamp uint64
	String    string
	Fields    map[string]string // "" when the field had no value
}

// recordFields are extracted from every event.
var recordFields = []string{
	"docker.host", "docker.type", "docker.action", "docker.actor.id", "docker.scope",
	"docker.status", "docker.id", "docker.from",
	"docker.attributes.name", "docker.attributes.image", "docker.attributes.exitcode",
	"docker.attributes.signal", "docker.attributes.container", "docker.attributes.type",
	"docker.attributes[com.example.team]", "docker.attributes[reason]", "docker.attributes[execID]", "docker.attributes[line]",
	"docker.attributes[days_left]", "docker.attributes[hosts]", "docker.attributes[file]",
	"docker.truncated",
}

func (r record) get(field string) string { return r.Fields[field] }

func (r record) key() string {
	return fmt.Sprintf("%s|%d|%s|%s|%s", r.get("docker.host"), r.Timestamp, r.get("docker.type"), r.get("docker.action"), r.get("docker.actor.id"))
}

// collector reads an open instance like Falco: next_batch, then extraction
// of every field of each event before the next call.
type collector struct {
	t    *testing.T
	inst *abihost.Instance
	x    *abihost.Extractor
	got  []record
}

func newCollector(t *testing.T, p *abihost.Plugin, inst *abihost.Instance) *collector {
	t.Helper()
	reqs := make([]abihost.FieldRequest, len(recordFields))
	for i, f := range recordFields {
		r, err := p.Request(f)
		if err != nil {
			t.Fatal(err)
		}
		reqs[i] = r
	}
	x, err := inst.NewExtractor(reqs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Close)
	return &collector{t: t, inst: inst, x: x}
}

// pollOnce calls next_batch once and records what it returns.
func (c *collector) pollOnce() {
	c.t.Helper()
	evts, err := c.inst.NextBatch()
	if err != nil && !errors.Is(err, abihost.ErrTimeout) {
		c.t.Fatalf("next_batch: %v", err)
	}
	for i := range evts {
		ev := &evts[i]
		vals, err := c.x.ExtractAll(ev)
		if err != nil {
			c.t.Fatalf("extract of event %d: %v", ev.Num, err)
		}
		str, err := c.inst.String(*ev)
		if err != nil {
			c.t.Fatalf("event_to_string of event %d: %v", ev.Num, err)
		}
		r := record{Timestamp: ev.Timestamp, String: str, Fields: map[string]string{}}
		for j, v := range vals {
			if v.Len() > 0 {
				r.Fields[recordFields[j]] = v.String()
			}
		}
		c.got = append(c.got, r)
	}
}

// until polls until cond holds for the records so far, or fails the test
// after timeout with what was seen.
func (c *collector) until(timeout time.Duration, what string, cond func([]record) bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond(c.got) {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %s waiting for %s; %d events seen:\n%s", timeout, what, len(c.got), dump(c.got))
		}
		c.pollOnce()
	}
}

// drain keeps polling for d, to catch late duplicates.
func (c *collector) drain(d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c.pollOnce()
	}
}

func dump(rs []record) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("  " + r.String + "\n")
	}
	return b.String()
}

// health returns the plugin's own events of host with the given action.
func health(rs []record, host, action string) []record {
	var out []record
	for _, r := range rs {
		if r.get("docker.type") == "dockerfleet" && r.get("docker.host") == host && r.get("docker.action") == action {
			out = append(out, r)
		}
	}
	return out
}

func hasHealth(host, action string) func([]record) bool {
	return func(rs []record) bool { return len(health(rs, host, action)) > 0 }
}

// truthEvent is one event as the daemon itself reports it through the
// docker CLI: the ground truth the plugin's events are checked against.
type truthEvent struct {
	Type   string `json:"Type"`
	Action string `json:"Action"`
	Actor  struct {
		ID         string            `json:"ID"`
		Attributes map[string]string `json:"Attributes"`
	} `json:"Actor"`
	Scope    string `json:"scope"`
	TimeNano int64  `json:"timeNano"`
}

// daemonEvents asks the daemon for its events between since and until
// (nanoseconds), as `docker events --format '{{json .}}'` prints them.
func daemonEvents(t *testing.T, d *dockerd.Daemon, since, until int64) []truthEvent {
	t.Helper()
	out, err := d.Docker("events", "--since", nanoArg(since), "--until", nanoArg(until), "--format", "{{json .}}")
	if err != nil {
		t.Fatal(err)
	}
	var evs []truthEvent
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var ev truthEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("docker events printed %q: %v", line, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func nanoArg(ns int64) string {
	return strconv.FormatInt(ns/1e9, 10) + "." + fmt.Sprintf("%09d", ns%1e9)
}

// socketCount is the number of sockets this process holds open.
func socketCount(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}
