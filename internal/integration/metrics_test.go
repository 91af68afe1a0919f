// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build integration

package integration

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/abihost"
	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// metricsOf reads get_metrics through the C ABI into a map by name.
func metricsOf(t *testing.T, p *abihost.Plugin) map[string]abihost.Metric {
	t.Helper()
	ms, err := p.Metrics()
	if err != nil {
		t.Fatalf("get_metrics: %v", err)
	}
	out := make(map[string]abihost.Metric, len(ms))
	for _, m := range ms {
		if _, dup := out[m.Name]; dup {
			t.Fatalf("get_metrics: %s twice", m.Name)
		}
		out[m.Name] = m
	}
	return out
}

// TestMetricsThroughTheABI: plugin_get_metrics, as Falco calls it for its
// metrics snapshots, reports the fleet as it is: hosts configured, up and
// down, and the events delivered.
func TestMetricsThroughTheABI(t *testing.T) {
	dockerd.Require(t)
	up := dockerd.Start(t, dockerd.Options{Name: "metrics-up"})
	ghost := "unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	p := loadPlugin(t, `{"reconnect": {"minBackoff": "100ms", "maxBackoff": "200ms"}, "enrich": {"containers": true, "daemon": true}}`)
	// A container made before Open: its first event the plugin sees is its
	// destroy, whose inspect finds it gone (an inspect failure).
	if _, err := up.ImportBusybox("metrics:1"); err != nil {
		t.Fatal(err)
	}
	gone, err := up.Create("metrics:1", "true")
	if err != nil {
		t.Fatal(err)
	}

	before := metricsOf(t, p)
	if before["hosts_configured"].Value != 0 || before["events_delivered"].Value != 0 {
		t.Fatalf("before Open: %+v", before)
	}
	inst, err := p.Open(fmt.Sprintf("%s?name=ghost, %s?name=up", ghost, up.Endpoint()))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	c := newCollector(t, p, inst)
	c.until(30*time.Second, "up's stream_up and ghost's stream_down", func(rs []record) bool {
		return len(health(rs, "up", "stream_up")) > 0 && len(health(rs, "ghost", "stream_down")) > 0
	})
	for i := 0; i < 3; i++ {
		if _, err := up.Docker("volume", "create", fmt.Sprintf("metrics-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := up.RemoveContainer(gone); err != nil {
		t.Fatal(err)
	}
	c.until(30*time.Second, "three volume creates and the destroy", func(rs []record) bool {
		n, destroyed := 0, false
		for _, r := range rs {
			if r.get("docker.type") == "volume" && r.get("docker.action") == "create" {
				n++
			}
			destroyed = destroyed || (r.get("docker.actor.id") == gone && r.get("docker.action") == "destroy")
		}
		return n == 3 && destroyed
	})

	m := metricsOf(t, p)
	for name, want := range map[string]uint64{"hosts_configured": 2, "hosts_up": 1, "hosts_down": 1} {
		if got := m[name]; got.Value != want || got.Monotonic {
			t.Errorf("%s = %+v, want the gauge %d", name, got, want)
		}
	}
	// The daemon's own events only (health events are the plugin's): at
	// least the three volume creates.
	if got := m["events_delivered"]; got.Value < 3 || !got.Monotonic {
		t.Errorf("events_delivered = %+v, want a counter of at least 3", got)
	}
	if got := m["stream_connects"]; got.Value != 1 || !got.Monotonic {
		t.Errorf("stream_connects = %+v, want the counter 1", got)
	}
	if got := m["events_lost_reports"]; got.Value != 0 {
		t.Errorf("events_lost_reports = %d with no loss", got.Value)
	}
	// Enrichment is on by default: up's /info and /version are asked and
	// answered (ghost's are never asked), volumes are not inspected, the
	// container destroyed was gone when asked about.
	if got := m["inspect_failures"]; got.Value != 1 || !got.Monotonic {
		t.Errorf("inspect_failures = %+v, want the counter 1", got)
	}
}
