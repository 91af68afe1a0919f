// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package abihost

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The SDK's state and instance "pointers" are cgo.Handle values, small
// integers (1, 2, ...). Held in a pointer-typed Go variable across a call,
// such a value makes the runtime throw "bad pointer in frame" when that
// call grows (or the GC shrinks) the stack and copystack walks the frame.
// stackCopyScenario calls every method that hands a handle to the plugin
// at a sweep of stack depths, from fresh goroutines (2 KiB stacks), so that
// for each method some depth puts a stack growth on each of its calls.
// It runs in a child process: the runtime's throw cannot be recovered.
const stackCopyDepths = 512

func TestHandlesSurviveStackCopies(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=stack-copies", childEnv+"_PLUGIN="+testPluginPath)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "stack-copies ok") {
		if i := strings.Index(string(out), "goroutine "); i > 0 {
			out = out[:i] // the throw's message, not every goroutine's trace
		}
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// atDepth runs f below depth extra frames of atDepth.
//
//go:noinline
func atDepth(depth int, f func() error) error {
	if depth == 0 {
		return f()
	}
	return atDepth(depth-1, f)
}

// sweepDepths runs f at every depth in [0, stackCopyDepths), each time on a
// new goroutine.
func sweepDepths(name string, f func() error) error {
	errc := make(chan error)
	for d := range stackCopyDepths {
		go func() { errc <- atDepth(d, f) }()
		if err := <-errc; err != nil {
			return fmt.Errorf("%s at depth %d: %w", name, d, err)
		}
	}
	return nil
}

func stackCopies() error {
	p, err := Load(testPluginPath)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := sweepDepths("Init+Destroy", func() error {
		if err := p.Init(`{"async": false, "payloadSize": 10}`); err != nil {
			return err
		}
		p.Destroy()
		return nil
	}); err != nil {
		return err
	}
	if err := p.Init(`{"async": false, "payloadSize": 10}`); err != nil {
		return err
	}
	if err := sweepDepths("ListOpenParams", func() error {
		_, err := p.ListOpenParams()
		return err
	}); err != nil {
		return err
	}
	if err := sweepDepths("Open+Close", func() error {
		in, err := p.Open("")
		if err != nil {
			return err
		}
		in.Close()
		return nil
	}); err != nil {
		return err
	}
	in, err := p.Open("")
	if err != nil {
		return err
	}
	defer in.Close()
	reqs := []FieldRequest{}
	for _, e := range []string{"test.count", "test.msg"} {
		r, err := p.Request(e)
		if err != nil {
			return err
		}
		reqs = append(reqs, r)
	}
	x, err := in.NewExtractor(reqs)
	if err != nil {
		return err
	}
	defer x.Close()
	buf := make([]Event, 0, testBatchSize)
	return sweepDepths("ReadBatch+Extract+String+Progress", func() error {
		evts, err := in.ReadBatch(buf)
		if err != nil {
			return err
		}
		if len(evts) == 0 {
			return errors.New("no events")
		}
		if _, err := x.Extract(&evts[0], 0); err != nil {
			return err
		}
		if _, err := in.String(evts[0]); err != nil {
			return err
		}
		_, _, _, err = in.Progress()
		return err
	})
}
