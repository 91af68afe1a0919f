// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"testing"

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
				t.Fatalf("Extract(%s): %v", fe.Name, err)
			}
			if req.set > 1 {
				t.Fatalf("Extract(%s) set %d values", fe.Name, req.set)
			}
		}
		_ = String(&ev)
	})
}
