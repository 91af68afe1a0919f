// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCapTextFitsItsJSON(t *testing.T) {
	for name, s := range map[string]string{
		"short":      "ping: connection refused",
		"long":       strings.Repeat("é", 2000),
		"quotes":     strings.Repeat(`"\`, 1000),
		"controls":   strings.Repeat("\x00\n\x7f", 1000),
		"invalid":    strings.Repeat("\xff", 1000),
		"html":       strings.Repeat("<>&", 1000),
		"exact":      strings.Repeat("x", MaxReasonLen),
		"one over":   strings.Repeat("x", MaxReasonLen+1),
		"quote over": strings.Repeat("x", MaxReasonLen-1) + `"`,
	} {
		got := capText(s, MaxReasonLen)
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(got); err != nil {
			t.Fatal(err)
		}
		if n := b.Len() - 3; n > MaxReasonLen { // quotes and newline
			t.Errorf("%s: %d bytes of JSON, over %d", name, n, MaxReasonLen)
		}
		if !utf8.ValidString(got) {
			t.Errorf("%s: invalid UTF-8 kept", name)
		}
		if (name == "short" || name == "exact") != (got == s) {
			t.Errorf("%s: changed %v, want a change only when needed", name, got != s)
		}
		if len(s) > MaxReasonLen && !strings.HasSuffix(got, "...") {
			t.Errorf("%s: cut without an ellipsis", name)
		}
	}
}
