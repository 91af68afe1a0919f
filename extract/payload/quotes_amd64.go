// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build amd64 && !purego

package payload

import "golang.org/x/sys/cpu"

// haveQuoteMask tells whether quoteMask works on this CPU.
var haveQuoteMask = cpu.X86.HasAVX2

// quoteMaskAVX2 is in quotes_amd64.s.
//
//go:noescape
func quoteMaskAVX2(line []byte, mask *[maskWords]uint32) (plain bool)

// quoteMask sets in mask the bit of each '"' of line and reports whether
// line is plain: no backslash, no control character, no non-ASCII byte.
// It needs haveQuoteMask and minMaskLine <= len(line) <= maxMaskLine; mask
// must be zero.
func quoteMask(line []byte, mask *[maskWords]uint32) bool {
	return quoteMaskAVX2(line, mask)
}
