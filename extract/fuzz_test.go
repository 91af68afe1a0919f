// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"testing"

	"github.com/dockerfleet/dockerfleet/extract/inspected"
	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// FuzzExtract: any line Build accepts, and any payload Parse accepts, can
// have every field extracted and be turned into a string without a panic.
func FuzzExtract(f *testing.F) {
	for _, fx := range loadFixtures(f, "web-1") {
		p, _, err := payload.Build(nil, "web-1", fx.line)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fx.line, false)
		f.Add(p, true)
	}
	// Payloads with an enrichment context, well formed and not.
	ctx := inspected.Append(nil, inspected.Encode(&inspected.Daemon{Inspected: true, ID: "D"}),
		inspected.Encode(&inspected.Container{Inspected: true, Privileged: true, Mounts: []inspected.Mount{{Source: "/", Dest: "/host"}}}),
		inspected.Encode(&inspected.Exec{Inspected: true, User: "0"}))
	for _, c := range [][]byte{ctx, ctx[:len(ctx)/2], []byte(`{"c":{"ok":"yes"}}`)} {
		p, _, err := payload.BuildExtra(nil, "web-1", []byte(`{"Type":"container","Action":"create","Actor":{"ID":"x"}}`), payload.Extra{Context: c})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, isPayload bool) {
		p := data
		if !isPayload {
			var err error
			if p, _, err = payload.Build(nil, "fuzz", data); err != nil {
				return
			}
		}
		ev, err := payload.Parse(p)
		if err != nil {
			if !isPayload {
				t.Fatalf("Parse of a built payload: %v", err)
			}
			return
		}
		for i, fe := range Fields() {
			req := &fakeRequest{id: uint64(i), name: fe.Name, arg: "k", hasArg: fe.Arg.IsKey}
			if err := Extract(req, &ev); err != nil {
				// Only a context that does not decode is an error, of
				// the fields that read it.
				if _, derr := inspected.Decode(ev.Context()); derr == nil || table[i].src != srcInspected {
					t.Fatalf("Extract(%s): %v", fe.Name, err)
				}
			}
			if req.set > 1 {
				t.Fatalf("Extract(%s) set %d values", fe.Name, req.set)
			}
		}
		_ = String(&ev)
	})
}
