// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import "math/bits"

// Lines that quoteMask indexes: at least one vector, at most the mask.
const (
	maskWords   = 128
	minMaskLine = 32
	maxMaskLine = 32 * maskWords
)

// nextQuote returns the offset of the first '"' of the line at from or
// after, or -1, from the quote mask of a plain line.
func (b *builder) nextQuote(from int) int {
	end := (len(b.b) + 31) >> 5
	w := from >> 5
	if w >= end {
		return -1
	}
	if m := b.mask[w] >> (uint(from) & 31); m != 0 {
		return from + bits.TrailingZeros32(m)
	}
	for w++; w < end; w++ {
		if m := b.mask[w]; m != 0 {
			return w<<5 + bits.TrailingZeros32(m)
		}
	}
	return -1
}
