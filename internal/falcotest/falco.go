// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package falcotest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// EnvFalco names the Falco binary to use; when unset, `falco` on PATH is used.
const EnvFalco = "FALCO"

// commandTimeout bounds a Falco command that ends by itself (--version, -V).
const commandTimeout = 60 * time.Second

// Falco is a Falco binary.
type Falco struct {
	// Path is the binary's absolute path.
	Path string
}

// Find returns the Falco named by $FALCO, else `falco` on PATH. The error
// says where it looked.
func Find() (*Falco, error) {
	if p := os.Getenv(EnvFalco); p != "" {
		abs, err := exec.LookPath(p)
		if err != nil {
			return nil, fmt.Errorf("falcotest: $%s=%s is not an executable: %w", EnvFalco, p, err)
		}
		return &Falco{Path: abs}, nil
	}
	abs, err := exec.LookPath("falco")
	if err != nil {
		return nil, fmt.Errorf("falcotest: $%s is unset and no falco is on PATH", EnvFalco)
	}
	return &Falco{Path: abs}, nil
}

// Require returns the Falco to test with. Without one it fails the test when
// the environment says CI=true (CI must run the Falco tests), else skips it
// with a message that says loudly what did not run and how to run it.
func Require(t testing.TB) *Falco {
	t.Helper()
	f, err := Find()
	if err == nil {
		return f
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("falcotest: CI=true but no Falco to test with: %v (.ci/run sets %s to ../shared/tools/falco/falco when it exists)", err, EnvFalco)
	}
	t.Skipf("\n"+
		"*********************************************************************\n"+
		"* SKIPPED: the end-to-end test with the real Falco did NOT run:     *\n"+
		"*   %v\n"+
		"* Set %s=/path/to/falco (e.g. ../shared/tools/falco/falco) to run it.\n"+
		"*********************************************************************", err, EnvFalco)
	return nil
}

// Version returns the first line of `falco --version`, e.g.
// "Falco version: 0.44.1".
func (f *Falco) Version() (string, error) {
	out, err := f.output(nil, "--version")
	if err != nil {
		return "", err
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first, nil
}

// output runs Falco to completion and returns its standard output; the error
// carries the arguments and the standard error.
func (f *Falco) output(env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.Path, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && ctx.Err() == nil {
			return out, &CommandError{Args: args, Err: err, Stderr: stderr.String()}
		}
		return out, fmt.Errorf("falcotest: %s %s: %w: %s", f.Path, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// CommandError is a Falco command that ran and exited with a failure.
type CommandError struct {
	Args   []string
	Err    error // *exec.ExitError
	Stderr string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("falcotest: falco %s: %v: %s", strings.Join(e.Args, " "), e.Err, strings.TrimSpace(e.Stderr))
}

func (e *CommandError) Unwrap() error { return e.Err }
