// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package main

/*
#include <stdint.h>
#include <stdlib.h>

// The layout of ss_plugin_metric of the plugin API (plugin_types.h, API
// 3.x): the SDK has no Go binding for plugin metrics, and cgo cannot include
// the SDK's header from the module cache. internal/abihost reads these
// through the SDK's own header, which checks the layout.
typedef struct {
	const char* name;
	int type;       // ss_plugin_metric_type: 0 monotonic, 1 non-monotonic
	uint64_t value; // ss_plugin_metric_value, used as u64
	int value_type; // ss_plugin_metric_value_type: 2 is U64
} df_metric;
*/
import "C"

import (
	"sync"
	"unsafe"

	sdkcgo "github.com/falcosecurity/plugin-sdk-go/pkg/cgo"

	"github.com/dockerfleet/dockerfleet/plugin"
)

const (
	metricMonotonic    = 0
	metricNonMonotonic = 1
	metricValueU64     = 2
)

// metricArrays holds, per plugin state, the C array handed to Falco: it
// must stay valid until the next call, and its names for as long as the
// state lives. Handles are reused by the SDK (at most 256), so this never
// grows past that.
var (
	metricMu     sync.Mutex
	metricArrays = map[uintptr]*C.df_metric{}
)

// plugin_get_metrics is the plugin API's get_metrics: Falco calls it when
// metrics.plugins_metrics_enabled is on, and publishes the values in its
// metrics snapshots (output rule, file, Prometheus).
//
//export plugin_get_metrics
func plugin_get_metrics(s C.uintptr_t, n *C.uint32_t) *C.df_metric {
	*n = 0
	p, ok := sdkcgo.Handle(s).Value().(*plugin.Plugin)
	if !ok {
		return nil
	}
	metrics := p.Metrics()
	metricMu.Lock()
	defer metricMu.Unlock()
	arr, ok := metricArrays[uintptr(s)]
	if !ok {
		arr = (*C.df_metric)(C.calloc(C.size_t(len(plugin.MetricNames)), C.size_t(unsafe.Sizeof(C.df_metric{}))))
		for i, name := range plugin.MetricNames {
			unsafe.Slice(arr, len(plugin.MetricNames))[i].name = C.CString(name)
		}
		metricArrays[uintptr(s)] = arr
	}
	out := unsafe.Slice(arr, len(plugin.MetricNames))
	for i, m := range metrics {
		out[i].value = C.uint64_t(m.Value)
		out[i].value_type = metricValueU64
		out[i]._type = metricNonMonotonic
		if m.Monotonic {
			out[i]._type = metricMonotonic
		}
	}
	*n = C.uint32_t(len(metrics))
	return arr
}
