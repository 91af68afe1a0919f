// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package abihost

/*
#include "abihost.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Metric is one value of a plugin's get_metrics.
type Metric struct {
	Name      string
	Monotonic bool
	// Value is the value as an unsigned integer; only the U64 and U32
	// value types are read, the others are an error.
	Value uint64
}

// ErrNoMetrics is returned by Metrics for a plugin without get_metrics.
var ErrNoMetrics = errors.New("abihost: the plugin exports no plugin_get_metrics")

// Metrics calls get_metrics, as Falco does for its metrics snapshots, and
// copies what it returns.
func (p *Plugin) Metrics() ([]Metric, error) {
	if p.state == 0 {
		return nil, ErrNotInitialized
	}
	if C.abihost_has_metrics(p.api) == 0 {
		return nil, ErrNoMetrics
	}
	var n C.uint32_t
	arr := C.abihost_get_metrics(p.api, p.state, &n)
	if n == 0 {
		return nil, nil
	}
	if arr == nil {
		return nil, fmt.Errorf("abihost: get_metrics of plugin %s returned %d metrics and no array", p.info.Name, int(n))
	}
	out := make([]Metric, 0, int(n))
	for _, m := range unsafe.Slice(arr, int(n)) {
		if m.name == nil {
			return nil, fmt.Errorf("abihost: get_metrics of plugin %s: a metric without a name", p.info.Name)
		}
		v := Metric{Name: C.GoString(m.name), Monotonic: m._type == C.SS_PLUGIN_METRIC_TYPE_MONOTONIC}
		raw := unsafe.Pointer(&m.value)
		switch m.value_type {
		case C.SS_PLUGIN_METRIC_VALUE_TYPE_U64:
			v.Value = *(*uint64)(raw)
		case C.SS_PLUGIN_METRIC_VALUE_TYPE_U32:
			v.Value = uint64(*(*uint32)(raw))
		default:
			return nil, fmt.Errorf("abihost: get_metrics of plugin %s: metric %s has value type %d", p.info.Name, v.Name, int(m.value_type))
		}
		out = append(out, v)
	}
	return out, nil
}
