// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/dockerfleet/dockerfleet/internal/abihost"
)

// libs are the plugin libraries of this run, built at most once.
var libs struct {
	once                sync.Once
	err                 error
	dir                 string
	fleet, floor, naive string
	// copyOnly is the plugin built with the tag dockerfleet_copyonly:
	// each line copied into its payload, not indexed.
	copyOnly string
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(serverChildEnv); spec != "" {
		os.Exit(runServerChild(spec))
	}
	raiseNoFile()
	code := m.Run()
	if libs.dir != "" {
		_ = os.RemoveAll(libs.dir)
	}
	os.Exit(code)
}

// raiseNoFile lifts the soft limit of open files to the hard one: a fleet
// of 10,000 hosts holds 10,000 sockets.
func raiseNoFile() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// noFileLimit is the current soft limit of open files.
func noFileLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return l.Cur
}

// buildLibs builds (or finds) the three libraries.
func buildLibs(tb testing.TB) {
	tb.Helper()
	libs.once.Do(func() {
		libs.dir, libs.err = os.MkdirTemp("", "dockerfleet-bench-")
		if libs.err != nil {
			return
		}
		root, err := moduleRoot()
		if err != nil {
			libs.err = err
			return
		}
		libs.fleet = os.Getenv("DOCKERFLEET_SO")
		if libs.fleet == "" {
			libs.fleet = filepath.Join(libs.dir, "libdockerfleet.so")
			if libs.err = buildSO(root, "./plugin/libdockerfleet", libs.fleet); libs.err != nil {
				return
			}
		}
		libs.floor = filepath.Join(libs.dir, "libabitest.so")
		if libs.err = buildSO(root, "./internal/abihost/testdata/testplugin", libs.floor); libs.err != nil {
			return
		}
		libs.copyOnly = filepath.Join(libs.dir, "libdockerfleet-copyonly.so")
		if libs.err = buildSO(root, "./plugin/libdockerfleet", libs.copyOnly, "-tags=dockerfleet_copyonly"); libs.err != nil {
			return
		}
		libs.naive = filepath.Join(libs.dir, "libnaive.so")
		libs.err = buildSO(root, "./internal/bench/testdata/naiveplugin", libs.naive)
	})
	if libs.err != nil {
		tb.Fatal(libs.err)
	}
}

// moduleRoot is the directory of go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the dockerfleet module")
	}
	return filepath.Dir(mod), nil
}

// buildSO builds pkg as a c-shared library, with flags added to go build.
// -race is dropped from GOFLAGS: a race-instrumented c-shared library does
// not load into a Go process.
func buildSO(root, pkg, out string, flags ...string) error {
	args := append([]string{"build", "-trimpath", "-buildmode=c-shared", "-o", out}, flags...)
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = root
	env := os.Environ()
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			env[i] = "GOFLAGS=" + strings.Join(slicesDelete(strings.Fields(v), "-race"), " ")
		}
	}
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func slicesDelete(s []string, drop string) []string {
	out := s[:0]
	for _, v := range s {
		if v != drop {
			out = append(out, v)
		}
	}
	return out
}

// open loads lib, inits it with config and opens params; cleanup closes
// both.
func open(tb testing.TB, lib, config, params string) (*abihost.Plugin, *abihost.Instance) {
	tb.Helper()
	p, err := abihost.Load(lib)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	if err := p.Init(config); err != nil {
		tb.Fatal(err)
	}
	in, err := p.Open(params)
	if err != nil {
		tb.Fatal(err)
	}
	return p, in
}

func requests(tb testing.TB, p *abihost.Plugin, exprs ...string) []abihost.FieldRequest {
	tb.Helper()
	out := make([]abihost.FieldRequest, 0, len(exprs))
	for _, e := range exprs {
		r, err := p.Request(e)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
