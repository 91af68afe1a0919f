// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"fmt"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// Extract sets the value of the field req asks for, read from ev. The field
// is found by its ID (its index in Fields), not by name, so that a call costs
// an index and the payload lookups. A field the event has no value for is
// left unset, as the SDK expects.
//
// Extract allocates the interface that carries the value to the SDK; the
// plugin's hot path uses an Extractor instead.
func Extract(req sdk.ExtractRequest, ev *payload.Event) error {
	if id := req.FieldID(); id < uint64(len(table)) && table[id].src == srcInspected {
		return extractInspected(req, ev, &table[id], &contextCache{})
	}
	if extractBool(req, ev) {
		return nil
	}
	v, ok, err := value(req, ev)
	if ok {
		req.SetValue(v)
	}
	return err
}

// extractBool sets the value of a boolean field and reports whether the
// field req asks for was one; a bool in an interface takes no allocation.
func extractBool(req sdk.ExtractRequest, ev *payload.Event) bool {
	if id := req.FieldID(); id < uint64(len(table)) && table[id].src == srcTruncated {
		req.SetValue(ev.Truncated())
		return true
	}
	return false
}

// value reads the value of the field req asks for; ok is false when the
// event has none.
func value(req sdk.ExtractRequest, ev *payload.Event) (v string, ok bool, err error) {
	id := req.FieldID()
	if id >= uint64(len(table)) {
		return "", false, fmt.Errorf("extract: unknown field ID %d (%s)", id, req.Field())
	}
	f := &table[id]
	switch f.src {
	case srcStatus:
		v, ok = ev.Status()
	case srcID:
		v, ok = ev.ID()
	case srcFrom:
		v, ok = ev.From()
	case srcType:
		v, ok = ev.Type(), true
	case srcAction:
		v, ok = ev.Action(), true
	case srcScope:
		v, ok = ev.Scope()
	case srcActorID:
		v, ok = ev.ActorID()
	case srcHost:
		v, ok = ev.Host(), true
	case srcNodeID:
		v, ok = nodeID(ev)
	case srcAttr:
		v, ok = ev.Attr(f.key)
	case srcAttrArg:
		if !req.ArgPresent() {
			return "", false, fmt.Errorf("extract: %s needs a key, e.g. %s[com.example.team]", f.entry.Name, f.entry.Name)
		}
		v, ok = ev.Attr(req.ArgKey())
	default:
		return "", false, fmt.Errorf("extract: field %s has no source", f.entry.Name)
	}
	return v, ok, nil
}
