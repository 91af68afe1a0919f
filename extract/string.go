// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"cmp"
	"slices"
	"strings"
	"time"

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
// every Falco host.
func String(ev *payload.Event) string {
	var b strings.Builder
	b.Grow(len(ev.JSON()))
	if tn, _ := ev.TimeNano(); tn != 0 {
		b.WriteString(time.Unix(0, tn).UTC().Format(timeLayout))
		b.WriteByte(' ')
	}
	b.WriteString(ev.Host())
	b.WriteByte(' ')
	b.WriteString(ev.Type())
	b.WriteByte(' ')
	b.WriteString(ev.Action())
	b.WriteByte(' ')
	id, _ := ev.ActorID()
	b.WriteString(id)
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
			b.WriteString(a.k)
			b.WriteByte('=')
			b.WriteString(a.v)
		}
		b.WriteByte(')')
	}
	return b.String()
}
