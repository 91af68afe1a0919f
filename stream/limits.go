// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"strings"
	"unicode/utf8"
)

// MaxReasonLen caps the reason attribute of health events, as it appears
// in the event's JSON (escapes included), so that a health event always
// fits the slot the plugin sizes for it, whatever error text a transport
// or a daemon returns.
const MaxReasonLen = 1024

// healthFrameLen bounds the JSON of a health event besides its reason and
// its host label (written twice: docker.host and Actor.ID): the frame,
// the timestamps and the other attributes, each capped below.
const healthFrameLen = 1024

// MaxHealthLineLen is the longest line of a health event of a host whose
// label is hostLen bytes long. A consumer that sizes its buffers for the
// events the stream delivers takes the larger of this and
// Options.MaxLineSize.
func MaxHealthLineLen(hostLen int) int { return healthFrameLen + MaxReasonLen + 2*hostLen }

// Caps of what a daemon says about itself in stream_up, in the JSON: a
// daemon ID is 64 characters or so, a name a hostname (at most 253), an
// API version "1.41". Together with the timestamps and the JSON frame they
// stay far below healthFrameLen.
const (
	maxDaemonIDLen   = 128
	maxDaemonNameLen = 256
	maxAPIVersionLen = 16
)

// capText makes s safe to carry in a health event attribute of at most
// limit bytes of JSON: control characters become spaces, invalid UTF-8
// becomes U+FFFD, and a text that would not fit is cut on a rune boundary
// and ends with "...". The health events are encoded without HTML
// escaping, so only '"' and '\' take two bytes.
func capText(s string, limit int) string {
	size := func(r rune, n int) int {
		switch {
		case r == '"' || r == '\\':
			return 2
		case r == '\u2028' || r == '\u2029':
			return 6 // encoding/json always writes them as \u2028, \u2029
		case r == utf8.RuneError && n <= 1:
			return utf8.RuneLen(utf8.RuneError)
		}
		return n
	}
	total := 0
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		total += size(r, n)
		clean = clean && r >= 0x20 && r != 0x7f && !(r == utf8.RuneError && n <= 1)
		i += n
	}
	if clean && total <= limit {
		return s
	}
	var b strings.Builder
	total = 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n <= 1:
			r = utf8.RuneError
		case r < 0x20 || r == 0x7f:
			r = ' '
		}
		k := size(r, utf8.RuneLen(r))
		if total+k > limit-len("...") && (i < len(s) || total+k > limit) {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
		total += k
	}
	return b.String()
}
