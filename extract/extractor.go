// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"

	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// maxPad bounds the padding of Extractor: values up to this length are
// handed over padded to the longest value seen for the field; longer ones
// as they are.
const maxPad = 256

// Extractor is Extract for the plugin's hot path: it hands each value to
// the SDK without allocating and without making the SDK reallocate its C
// string buffer. One per plugin state: it is not safe for concurrent use
// (Falco extracts from one thread per plugin state).
//
// Two costs of ExtractRequest.SetValue(string) showed in the profiles of
// plugin-sdk-go v0.8.3 (docs/PERFORMANCE.md):
//   - converting a string to the interface SetValue takes copies its header
//     to the heap, one allocation per field per event. The Extractor keeps
//     one interface value whose data word points at a string header it
//     owns, and rewrites that header;
//   - the SDK copies the string into a C buffer (one per field ID) that it
//     frees and mallocs again whenever a value is longer than the previous
//     one, since it records the last length, not the capacity. The
//     Extractor hands values padded, after a NUL byte, to the longest value
//     seen for the field (up to maxPad): the C string Falco reads ends at
//     the NUL, so the value is unchanged, and the buffer only grows.
type Extractor struct {
	box     any     // a string whose header is *hdr
	hdr     *string // rewritten before each SetValue
	scratch []byte  // the padded value
	longest []int   // per field ID: the longest value up to maxPad so far
	ctx     contextCache
}

// NewExtractor returns an Extractor.
func NewExtractor() *Extractor {
	x := &Extractor{hdr: new(string), scratch: make([]byte, maxPad+1), longest: make([]int, len(table))}
	x.box = ""
	// An interface holding a string is (type, pointer to the header); point
	// it at our header instead of the static empty string.
	(*[2]unsafe.Pointer)(unsafe.Pointer(&x.box))[1] = unsafe.Pointer(x.hdr)
	return x
}

// Extract sets the value of the field req asks for, read from ev, as the
// package's Extract does.
func (x *Extractor) Extract(req sdk.ExtractRequest, ev *payload.Event) error {
	if id := req.FieldID(); id < uint64(len(table)) && table[id].src == srcInspected {
		return extractInspected(req, ev, &table[id], &x.ctx)
	}
	if extractBool(req, ev) {
		return nil
	}
	v, ok, err := value(req, ev)
	if !ok {
		return err
	}
	id := req.FieldID() // < len(table): value checked it
	n := len(v)
	switch longest := x.longest[id]; {
	case n >= longest:
		if n <= maxPad {
			x.longest[id] = n
		}
		*x.hdr = v
	default:
		copy(x.scratch, v)
		x.scratch[n] = 0
		*x.hdr = unsafe.String(&x.scratch[0], longest)
	}
	req.SetValue(x.box)
	*x.hdr = "" // keep no reference to Falco's memory
	return err
}
