// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// rowOf returns the table row of host, split into its columns.
func rowOf(t *testing.T, table, host string) string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, host+" ") {
			return line
		}
	}
	t.Fatalf("no row for %s in:\n%s", host, table)
	return ""
}

// TestCheckRealFleet: a unix daemon and a TLS daemon answer with their
// names and versions, the TLS one with its certificates' expiry; a dead
// socket fails with the real cause and a hint, and the exit code says so.
func TestCheckRealFleet(t *testing.T) {
	dockerd.Require(t)
	plain := dockerd.Start(t, dockerd.Options{Name: "check-unix"})
	secure := dockerd.Start(t, dockerd.Options{Name: "check-tls", TLS: true})
	ghost := "unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	params := fmt.Sprintf("%s?name=plain, %s?name=secure&certdir=%s, %s?name=ghost",
		plain.Endpoint(), secure.Endpoint(), secure.CertDir(), ghost)

	code, out, errOut := runCmd(t, "check", "-timeout", "5s", params)
	if code != exitError {
		t.Errorf("exit code %d with a dead host, want %d; stderr: %s", code, exitError, errOut)
	}
	if !strings.Contains(errOut, "1 of 3 hosts failed") {
		t.Errorf("stderr does not count the failure: %q", errOut)
	}
	row := rowOf(t, out, "plain")
	for _, want := range []string{" ok ", "check-unix", "1.41"} {
		if !strings.Contains(row, want) {
			t.Errorf("plain's row lacks %q: %s", want, row)
		}
	}
	row = rowOf(t, out, "secure")
	// The test certificates live a day: both expiries read 0 days.
	for _, want := range []string{" ok ", "check-tls", "0d ("} {
		if !strings.Contains(row, want) {
			t.Errorf("secure's row lacks %q: %s", want, row)
		}
	}
	if strings.Count(row, "0d (") != 2 {
		t.Errorf("secure's row should give the server's and the client's certificate expiry: %s", row)
	}
	row = rowOf(t, out, "ghost")
	for _, want := range []string{"FAILED", "no such file or directory", "no socket at that path"} {
		if !strings.Contains(row, want) {
			t.Errorf("ghost's row lacks %q: %s", want, row)
		}
	}

	// The same fleet, healthy, from an inventory file: exit 0.
	inv := filepath.Join(t.TempDir(), "hosts")
	content := fmt.Sprintf("# test fleet\n%s?name=plain\n%s?name=secure&certdir=%s\n", plain.Endpoint(), secure.Endpoint(), secure.CertDir())
	if err := os.WriteFile(inv, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCmd(t, "check", inv); code != exitOK {
		t.Errorf("healthy fleet: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestCheckTLSFailuresAreExplained: a client certificate from another CA
// is refused by the daemon, and the table says what to do.
func TestCheckTLSFailuresAreExplained(t *testing.T) {
	dockerd.Require(t)
	secure := dockerd.Start(t, dockerd.Options{Name: "check-tls-bad", TLS: true})
	c := secure.Certs()
	params := fmt.Sprintf("%s?name=wrongca&ca=%s&cert=%s&key=%s", secure.Endpoint(), c.OtherCA, c.Cert, c.Key)
	code, out, _ := runCmd(t, "check", "-timeout", "5s", params)
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	row := rowOf(t, out, "wrongca")
	if !strings.Contains(row, "unknown authority") || !strings.Contains(row, "did not sign the daemon's certificate") {
		t.Errorf("wrongca's row: %s", row)
	}
}

func TestCheckUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"check"},
		{"check", "tcp://x:1?bogus=1"},
		{"check", "-concurrency", "0", "unix:///x.sock"},
		{"check", "-init", `{"nope": 1}`, "unix:///x.sock"},
		{"frobnicate"},
		{},
	} {
		if code, _, errOut := runCmd(t, args...); code != exitUsage || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want %d and a message", args, code, errOut, exitUsage)
		}
	}
}
