// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import "unicode/utf8"

// MaxReasonLen caps the reason attribute of health events, so that a health
// event always fits the slot the plugin sizes for it, whatever error text a
// transport returns.
const MaxReasonLen = 1024

// capReason shortens an error text to MaxReasonLen bytes, on a rune boundary.
func capReason(s string) string {
	if len(s) <= MaxReasonLen {
		return s
	}
	cut := MaxReasonLen - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
