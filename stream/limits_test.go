// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dockerfleet/dockerfleet/extract/payload"
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

// TestHealthLinesFitMaxHealthLineLen: every health event, with its
// longest attributes and a label at the longest, fits the bound the
// plugin sizes its slots with.
func TestHealthLinesFitMaxHealthLineLen(t *testing.T) {
	host := strings.Repeat(`"`, 512) // escaped: twice as long in JSON
	w := &watcher{host: host}
	reason := strings.Repeat(`"`, MaxReasonLen) // capped below
	extreme := []int64{math.MinInt64, math.MaxInt64, 0}
	check := func(name, action string, now int64, attrs map[string]string) {
		t.Helper()
		ev, ok := w.healthEvent(action, now, attrs)
		if !ok {
			t.Fatalf("%s: not built", name)
		}
		p, err := payload.Parse(ev.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if n, limit := len(p.JSON()), MaxHealthLineLen(len(host)); n > limit {
			t.Errorf("%s: %d bytes, over MaxHealthLineLen %d", name, n, limit)
		}
	}
	for _, ts := range extreme {
		for r := range numReasons {
			check(reasonNames[r], ActionEventsLost, ts, map[string]string{
				AttrReason: reasonNames[r], AttrFrom: formatRFC3339(ts), AttrUntil: formatRFC3339(ts),
				AttrCount: strconv.FormatUint(math.MaxUint64, 10),
			})
		}
		check("down", ActionStreamDown, ts, map[string]string{AttrReason: capText(reason, MaxReasonLen), AttrSince: formatRFC3339(ts)})
		check("still", ActionStreamStillDown, ts, map[string]string{
			AttrReason: capText(reason, MaxReasonLen), AttrSince: formatRFC3339(ts),
			AttrDownFor: strconv.FormatInt(math.MaxInt64/int64(time.Second), 10),
		})
		check("up", ActionStreamUp, ts, map[string]string{
			AttrDaemonID:   capText(strings.Repeat(`"`, 500), maxDaemonIDLen),
			AttrDaemonName: capText(strings.Repeat(`"`, 500), maxDaemonNameLen),
			AttrAPIVersion: capText(strings.Repeat(`"`, 500), maxAPIVersionLen),
		})
	}
}
