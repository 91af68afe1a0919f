// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// timeLayout is the docker CLI's RFC3339NanoFixed: always 9 fraction digits.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// String returns the event as `docker events` prints it, with the host label
// after the timestamp:
//
//	2026-11-25T10:58:56.370816183Z web-1 container create e327f1fa52a9... (image=alpine, name=confident_kirch)
//
// As in the docker CLI (cli/command/system/events.go), the timestamp is left
// out when the event has none, the actor ID is printed in full, and the
// attributes are sorted by key and joined by ", ". Unlike the CLI, which
// prints local time, the time is in UTC, so that the line is the same on
// every Falco host. Control characters in any part (a label value with a
// newline, say) are written escaped, Go-style (\n, \x1b, \u2028), so
// that an event cannot forge a second line of a log; field values stay
// exact.
func String(ev *payload.Event) string {
	var b strings.Builder
	b.Grow(len(ev.JSON()))
	if tn, _ := ev.TimeNano(); tn != 0 {
		b.WriteString(time.Unix(0, tn).UTC().Format(timeLayout))
		b.WriteByte(' ')
	}
	writeClean(&b, ev.Host())
	b.WriteByte(' ')
	writeClean(&b, ev.Type())
	b.WriteByte(' ')
	writeClean(&b, ev.Action())
	b.WriteByte(' ')
	id, _ := ev.ActorID()
	writeClean(&b, id)
	if n := ev.NumAttrs(); n > 0 {
		type kv struct{ k, v string }
		attrs := make([]kv, 0, n)
		for k, v := range ev.Attrs() {
			attrs = append(attrs, kv{k, v})
		}
		// Stable, so that of a key given twice the last one (the one Attr
		// returns) ends its run.
		slices.SortStableFunc(attrs, func(a, b kv) int { return cmp.Compare(a.k, b.k) })
		b.WriteString(" (")
		first := true
		for i, a := range attrs {
			if i+1 < len(attrs) && attrs[i+1].k == a.k {
				continue
			}
			if !first {
				b.WriteString(", ")
			}
			first = false
			writeClean(&b, a.k)
			b.WriteByte('=')
			writeClean(&b, a.v)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// writeClean writes s with its control characters escaped: C0 and DEL,
// C1 (U+0080-U+009F, NEL among them) and the Unicode line and paragraph
// separators, which some log viewers also break lines at.
func writeClean(b *strings.Builder, s string) {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsControl(r) && r != '\u2028' && r != '\u2029' {
			i += size
			continue
		}
		b.WriteString(s[start:i])
		q := strconv.QuoteRune(r) // 'x' with x escaped
		b.WriteString(q[1 : len(q)-1])
		i += size
		start = i
	}
	b.WriteString(s[start:])
}
