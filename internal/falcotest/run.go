// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package falcotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// stopTimeout bounds Falco's shutdown after SIGTERM (it closes the
	// plugin's instance, which closes every host's stream) before SIGKILL.
	stopTimeout = 15 * time.Second
	// pollInterval is how often WaitFor reads Falco's output again.
	pollInterval = 50 * time.Millisecond
)

// Alert is one alert of Falco's JSON output (json_output: true).
type Alert struct {
	Rule     string         `json:"rule"`
	Priority string         `json:"priority"`
	Source   string         `json:"source"`
	Output   string         `json:"output"`
	Fields   map[string]any `json:"output_fields"`
	Tags     []string       `json:"tags"`
	Time     string         `json:"time"`
}

// Field is an output field as text ("" when absent): the fields of the
// rule's output, as Falco extracted them.
func (a Alert) Field(name string) string {
	v, ok := a.Fields[name]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// Host is the alert's docker.host field.
func (a Alert) Host() string { return a.Field("docker.host") }

// Run is one Falco process started by Start.
type Run struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdout string // file collecting standard output: the alerts
	stderr string // file collecting Falco's log
	done   chan struct{}

	mu       sync.Mutex
	waitErr  error
	stopped  bool
	stopErr  error
	consumed int     // bytes of stdout already parsed
	alerts   []Alert // parsed so far
	other    []string
}

// Start runs `falco -c config --disable-source syscall args...` with the
// environment env (nil: none at all, so that DOCKER_HOST and the like stay
// out unless given). Falco's output goes to files in dir. Stop runs at the
// test's cleanup; Falco also dies with the test process (Pdeathsig).
func (f *Falco) Start(t testing.TB, dir string, env []string, config string, args ...string) *Run {
	t.Helper()
	r := &Run{
		t:      t,
		stdout: filepath.Join(dir, "falco.stdout"),
		stderr: filepath.Join(dir, "falco.stderr"),
		done:   make(chan struct{}),
	}
	outF, err := os.Create(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	errF, err := os.Create(r.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer errF.Close()
	r.cmd = exec.Command(f.Path, append([]string{"-c", config, "--disable-source", "syscall"}, args...)...)
	r.cmd.Env = env
	r.cmd.Stdout, r.cmd.Stderr = outF, errF
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("falcotest: starting %s: %v", r.cmd, err)
	}
	go func() {
		err := r.cmd.Wait()
		r.mu.Lock()
		r.waitErr = err
		r.mu.Unlock()
		close(r.done)
	}()
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// Stop ends Falco with SIGTERM, as a service manager does, and waits; after
// stopTimeout it kills it and reports that. An exit status other than 0 is
// an error carrying Falco's log. Stopping again returns the first result.
func (r *Run) Stop() error {
	r.mu.Lock()
	if r.stopped {
		defer r.mu.Unlock()
		return r.stopErr
	}
	r.stopped = true
	r.mu.Unlock()

	var err error
	select {
	case <-r.done:
		err = fmt.Errorf("falcotest: falco had exited by itself")
	default:
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(stopTimeout):
			_ = r.cmd.Process.Kill()
			<-r.done
			err = fmt.Errorf("falcotest: falco did not exit within %v of SIGTERM; killed", stopTimeout)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil && r.waitErr != nil {
		err = fmt.Errorf("falcotest: falco exited with %w", r.waitErr)
	} else if err != nil && r.waitErr != nil {
		err = fmt.Errorf("%w (%v)", err, r.waitErr)
	}
	if err != nil {
		err = fmt.Errorf("%w; its log:\n%s", err, r.Log())
	}
	r.stopErr = err
	return err
}

// Exited reports whether Falco has exited (by itself or after Stop).
func (r *Run) Exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Log is what Falco wrote to its standard error so far.
func (r *Run) Log() string {
	b, err := os.ReadFile(r.stderr)
	if err != nil {
		return "(cannot read the log: " + err.Error() + ")"
	}
	return string(b)
}

// Alerts returns the alerts Falco printed so far, in order.
func (r *Run) Alerts() []Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.readLocked()
	return append([]Alert(nil), r.alerts...)
}

// Other returns the lines of standard output that are not alerts (Falco's
// summary at exit, and anything unexpected).
func (r *Run) Other() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.readLocked()
	return append([]string(nil), r.other...)
}

// readLocked parses the complete lines Falco added to its output since the
// last call.
func (r *Run) readLocked() {
	b, err := os.ReadFile(r.stdout)
	if err != nil {
		r.t.Errorf("falcotest: reading falco's output: %v", err)
		return
	}
	b = b[r.consumed:]
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return
		}
		line := b[:i]
		b = b[i+1:]
		r.consumed += i + 1
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var a Alert
		if line[0] == '{' && json.Unmarshal(line, &a) == nil && a.Rule != "" {
			r.alerts = append(r.alerts, a)
			continue
		}
		r.other = append(r.other, string(line))
	}
}

// Match is a condition on one alert.
type Match func(Alert) bool

// Rule matches the alerts of a rule whose output fields hold the given
// values (docker.host among them, typically).
func Rule(name string, fields map[string]string) Match {
	return func(a Alert) bool {
		if a.Rule != name {
			return false
		}
		for k, v := range fields {
			if a.Field(k) != v {
				return false
			}
		}
		return true
	}
}

// WaitFor polls Falco's output until an alert matches, and returns it. It
// fails the test after timeout, or as soon as Falco exits, with every alert
// seen and Falco's log.
func (r *Run) WaitFor(timeout time.Duration, what string, m Match) Alert {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		exited := r.Exited() // before reading: output written before the exit is then read
		for _, a := range r.Alerts() {
			if m(a) {
				return a
			}
		}
		switch {
		case exited:
			r.t.Fatalf("falcotest: falco exited while waiting for %s\n%s", what, r.dump())
		case time.Now().After(deadline):
			r.t.Fatalf("falcotest: no alert for %s within %v\n%s", what, timeout, r.dump())
		}
		time.Sleep(pollInterval)
	}
}

// Count is the number of alerts so far that match.
func (r *Run) Count(m Match) int {
	n := 0
	for _, a := range r.Alerts() {
		if m(a) {
			n++
		}
	}
	return n
}

// dump is the alerts, other output and log of Falco, for test failures.
func (r *Run) dump() string {
	var b strings.Builder
	alerts := r.Alerts()
	fmt.Fprintf(&b, "%d alerts:\n", len(alerts))
	for _, a := range alerts {
		fmt.Fprintf(&b, "  [%s] %s\n", a.Rule, a.Output)
	}
	if other := r.Other(); len(other) > 0 {
		fmt.Fprintf(&b, "other output:\n  %s\n", strings.Join(other, "\n  "))
	}
	fmt.Fprintf(&b, "falco's log:\n%s", r.Log())
	return b.String()
}
