// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"bytes"
	"testing"
)

func TestBuildExtraContext(t *testing.T) {
	line := []byte(`{"Type":"container","Action":"create","Actor":{"ID":"abc","Attributes":{"image":"busybox"}},"time":1}`)
	for _, ctx := range [][]byte{nil, []byte(`{"c":{"p":true}}`)} {
		p, _, err := BuildExtra(nil, "h", line, Extra{Context: ctx})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ev.Context(), ctx) {
			t.Fatalf("context %q, want %q", ev.Context(), ctx)
		}
		if v, _ := ev.Attr("image"); v != "busybox" {
			t.Fatalf("image %q", v)
		}
	}
	if _, _, err := BuildExtra(nil, "h", line, Extra{Context: make([]byte, MaxContextLen+1)}); err == nil {
		t.Fatal("oversized context accepted")
	}
}
