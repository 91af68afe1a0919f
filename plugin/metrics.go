// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import "github.com/dockerfleet/dockerfleet/stream"

// Metric is one of the plugin's metrics as Falco publishes them in its
// metrics snapshots (plugin_get_metrics; `metrics.plugins_metrics_enabled`
// in falco.yaml). Values are totals over the fleet: per-host series would
// multiply Falco's output by the size of the fleet; the health events give
// the per-host view.
type Metric struct {
	Name string
	// Monotonic is true for counters, false for gauges.
	Monotonic bool
	Value     uint64
}

// MetricNames lists the metrics in the order Metrics returns them.
var MetricNames = []string{
	"hosts_configured",
	"hosts_up",
	"hosts_down",
	"events_delivered",
	"events_duplicates_dropped",
	"events_dropped_backpressure",
	"lines_malformed",
	"stream_connects",
	"events_lost_reports",
	"inspect_failures",
	"queue_batches",
}

// metricDocs describes each metric, for the README and the doc test.
var metricDocs = map[string]string{
	"hosts_configured":            "hosts this Falco watches (after sharding)",
	"hosts_up":                    "hosts whose event stream is connected",
	"hosts_down":                  "hosts whose event stream is not connected (down, or not yet up)",
	"events_delivered":            "daemon events handed to Falco, all hosts",
	"events_duplicates_dropped":   "replayed events dropped at a resume boundary (already delivered)",
	"events_dropped_backpressure": "events dropped because Falco fell behind (each one also reported by an events_lost health event)",
	"lines_malformed":             "daemon lines that were not Docker events",
	"stream_connects":             "event streams established, reconnections included",
	"events_lost_reports":         "events_lost health events delivered",
	"inspect_failures":            "enrichment inspects (container, exec, image, daemon) that failed or came too late; their events went out without the summary, saying why (see inspect_failed health events)",
	"queue_batches":               "batches of 1 to 16 events waiting for Falco: how far behind it reads",
}

// Metrics returns the plugin's metrics now: zeros but for hosts_configured
// before Open, the last values of the closed fleet after Close.
func (p *Plugin) Metrics() []Metric {
	var total stream.HostStats
	configured, up, queued := 0, 0, 0
	if f := p.fleet.Load(); f != nil {
		queued = f.QueuedBatches()
		for _, h := range f.Stats() {
			configured++
			if h.Up {
				up++
			}
			total.Delivered += h.Delivered
			total.Duplicates += h.Duplicates
			total.Dropped += h.Dropped
			total.Malformed += h.Malformed
			total.Connects += h.Connects
			total.Losses += h.Losses
			total.InspectFailures += h.InspectFailures
		}
	}
	return []Metric{
		{Name: "hosts_configured", Value: uint64(configured)},
		{Name: "hosts_up", Value: uint64(up)},
		{Name: "hosts_down", Value: uint64(configured - up)},
		{Name: "events_delivered", Monotonic: true, Value: total.Delivered},
		{Name: "events_duplicates_dropped", Monotonic: true, Value: total.Duplicates},
		{Name: "events_dropped_backpressure", Monotonic: true, Value: total.Dropped},
		{Name: "lines_malformed", Monotonic: true, Value: total.Malformed},
		{Name: "stream_connects", Monotonic: true, Value: total.Connects},
		{Name: "events_lost_reports", Monotonic: true, Value: total.Losses},
		{Name: "inspect_failures", Monotonic: true, Value: total.InspectFailures},
		{Name: "queue_batches", Value: uint64(queued)},
	}
}
