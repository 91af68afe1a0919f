// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"encoding/binary"
	"fmt"
)

// MaxContextLen bounds Extra.Context.
const MaxContextLen = 16 << 10

// Extra is what a payload carries besides its line.
type Extra struct {
	// Truncated tells that the line was cut.
	Truncated bool
	// Context is opaque enrichment bytes, at most MaxContextLen.
	Context []byte
}

// BuildExtra is Build with x appended after the index (flags byte, uint32
// length, context) when x is not empty. Build == BuildExtra(..., Extra{}).
func BuildExtra(dst []byte, host string, line []byte, x Extra) ([]byte, Meta, error) {
	if len(x.Context) > MaxContextLen {
		return dst, Meta{}, fmt.Errorf("payload: context of %d bytes, more than %d", len(x.Context), MaxContextLen)
	}
	out, meta, err := Build(dst, host, line)
	if err != nil || (!x.Truncated && len(x.Context) == 0) {
		return out, meta, err
	}
	var flags byte
	if x.Truncated {
		flags = 1
	}
	out = append(out, flags)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(x.Context)))
	return append(out, x.Context...), meta, nil
}

// splitExtra cuts the extra trailer off the attribute entries of n entries.
func splitExtra(attrs []byte, n int) (entries, ctx []byte, truncated bool, err error) {
	if len(attrs) < n*attrLen {
		return nil, nil, false, fmt.Errorf("payload: %d attribute entries need %d bytes, %d left", n, n*attrLen, len(attrs))
	}
	rest := attrs[n*attrLen:]
	attrs = attrs[:n*attrLen]
	if len(rest) == 0 {
		return attrs, nil, false, nil
	}
	if len(rest) < 5 || rest[0] > 1 || int(binary.LittleEndian.Uint32(rest[1:])) != len(rest)-5 || len(rest)-5 > MaxContextLen {
		return nil, nil, false, fmt.Errorf("payload: bad extra trailer of %d bytes", len(rest))
	}
	if len(rest) == 5 {
		return attrs, nil, rest[0] == 1, nil
	}
	return attrs, rest[5:], rest[0] == 1, nil
}

// Context returns the enrichment bytes of the event (nil: none). They
// alias the payload.
func (e *Event) Context() []byte { return e.context }

// Truncated tells whether the line was cut.
func (e *Event) Truncated() bool { return e.truncated }
