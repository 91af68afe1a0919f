// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Built by TestMain: the abihost test plugin and this command.
var testPlugin, dockerfleetBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dockerfleet-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testPlugin = filepath.Join(dir, "libabitest.so")
	dockerfleetBin = filepath.Join(dir, "dockerfleet")
	// Neither is race-instrumented: a -race c-shared library cannot be
	// loaded, and the binary only serves the tests that need a process.
	for _, b := range [][]string{
		{"-buildmode=c-shared", "-o", testPlugin, "../../../internal/abihost/testdata/testplugin"},
		{"-o", dockerfleetBin, "."},
	} {
		cmd := exec.Command("go", append([]string{"build"}, b...)...)
		cmd.Env = append(os.Environ(), "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %v: %v\n%s", b, err, out)
			return 1
		}
	}
	return m.Run()
}

func tailCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCmd(t, append([]string{"tail"}, args...)...)
}

func TestPrintsStringForms(t *testing.T) {
	code, out, errs := tailCmd(t, "-plugin", testPlugin, "-init", `{"message":"tail"}`, "-open", "3")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "#1 ts=1700000000000000000 count=0 msg=tail parity=even\n" +
		"#2 ts=1700000000000001000 count=1 msg=tail parity=odd\n" +
		"#3 ts=1700000000000002000 count=2 msg=tail parity=even\n"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(errs, "end of stream after 3 events") {
		t.Errorf("stderr %q", errs)
	}
}

func TestPrintsFields(t *testing.T) {
	code, out, errs := tailCmd(t, "-plugin", testPlugin, "-n", "11",
		"-fields", "test.count, test.attr[parity],test.attr[none],test.digits,test.even")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 11 {
		t.Fatalf("%d lines, want 11:\n%s", len(lines), out)
	}
	if want := "test.count=10 test.attr[parity]=even test.attr[none]=<NA> test.digits=(1,0) test.even=true"; lines[10] != want {
		t.Errorf("line 11 %q, want %q", lines[10], want)
	}
}

func TestStopsAfterDuration(t *testing.T) {
	start := time.Now()
	code, out, errs := tailCmd(t, "-plugin", testPlugin, "-for", "200ms", "-fields", "test.count")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("returned after %s, before -for ran out", el)
	}
	if !strings.HasPrefix(out, "test.count=0\ntest.count=1\n") {
		t.Errorf("output starts %q", out[:min(len(out), 40)])
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "-plugin is required"},
		{[]string{"-plugin", testPlugin, "-n", "-1"}, exitUsage, "-n -1"},
		{[]string{"-plugin", testPlugin, "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"-plugin", testPlugin, "-fields", "test.count,,test.msg"}, exitUsage, "empty field name at position 2"},
		{[]string{"-plugin", "/nonexistent/lib.so"}, exitError, "/nonexistent/lib.so"},
		{[]string{"-plugin", testPlugin, "-fields", "test.nope"}, exitError, `has no field "test.nope"`},
		{[]string{"-plugin", testPlugin, "-open", "many"}, exitError, `open params "many"`},
		{[]string{"-plugin", testPlugin, "-fields", "test.fail"}, exitError, "test.fail always fails"},
	} {
		code, _, errs := tailCmd(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}

// TestBadInitConfig runs the binary: a failed init is destroyed as Falco
// does, which plugin-sdk-go v0.8.3 only survives in a process where no
// earlier plugin state was destroyed (see package abihost).
func TestBadInitConfig(t *testing.T) {
	cmd := exec.Command(dockerfleetBin, "tail", "-plugin", testPlugin, "-init", `{"bogus":true}`)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitError || !strings.Contains(errb.String(), `unknown field "bogus"`) {
		t.Errorf("exit %v, stderr %q; want exit %d naming the bad key", err, errb.String(), exitError)
	}
}

func TestSplitFields(t *testing.T) {
	got, err := splitFields(" a.b , c[x,y] ,d")
	if err != nil || strings.Join(got, "|") != "a.b|c[x,y]|d" {
		t.Errorf("splitFields = %q, %v", got, err)
	}
}

// TestSignalStopsCleanly runs the command on an endless stream and sends it
// SIGINT and SIGTERM once it prints: it must close and exit 0 promptly.
func TestSignalStopsCleanly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := exec.Command(dockerfleetBin, "tail", "-plugin", testPlugin, "-fields", "test.count")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(stdout)
		if line, err := r.ReadString('\n'); err != nil || line != "test.count=0\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, _ = r.WriteTo(io.Discard)
			done <- cmd.Wait()
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v, stderr %q", sig, err, errb.String())
			}
			if !strings.Contains(errb.String(), "stopped after") {
				t.Errorf("%s: stderr %q", sig, errb.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("%s: still running 10s after the signal", sig)
		}
	}
}
