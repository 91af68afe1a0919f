// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"fmt"
	"strings"
	"testing"
)

func TestShardConfigRefusals(t *testing.T) {
	for raw, want := range map[string]string{
		`{"shard": {"index": 1}}`:                                  `"shard.index": set without a "shard.count" above 1`,
		`{"shard": {"fromPodName": true}}`:                         `"shard.fromPodName": set without`,
		`{"shard": {"count": 3, "index": 3}}`:                      `"shard.index": 3 is not below "shard.count" 3`,
		`{"shard": {"count": 3, "index": 1, "fromPodName": true}}`: `give one of them, not both`,
		`{"shard": {"count": 0}}`:                                  `"shard.count"`,
	} {
		if _, err := ParseConfig(raw); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%s) = %v, want an error with %q", raw, err, want)
		}
	}
}

// fleetParams lists n unix endpoints (Parse does not connect).
func fleetParams(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("unix:///run/docker-%d.sock?name=docker-%03d", i, i)
	}
	return strings.Join(parts, ",")
}

// Three replicas configured as a StatefulSet's pods split the fleet:
// every host once, none twice.
func TestEndpointsShardedByPodName(t *testing.T) {
	params := fleetParams(60)
	seen := map[string]int{}
	for pod := 0; pod < 3; pod++ {
		t.Setenv("HOSTNAME", fmt.Sprintf("dockerfleet-falco-%d", pod))
		cfg, err := ParseConfig(`{"shard": {"count": 3, "fromPodName": true}}`)
		if err != nil {
			t.Fatal(err)
		}
		eps, err := cfg.Endpoints(params)
		if err != nil {
			t.Fatal(err)
		}
		if len(eps) == 0 || len(eps) == 60 {
			t.Errorf("replica %d watches %d of 60 hosts", pod, len(eps))
		}
		for _, ep := range eps {
			seen[ep.Name]++
		}
	}
	if len(seen) != 60 {
		t.Errorf("%d of 60 hosts are watched", len(seen))
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s is watched by %d replicas", name, n)
		}
	}

	t.Setenv("HOSTNAME", "dockerfleet-falco-3")
	cfg, _ := ParseConfig(`{"shard": {"count": 3, "fromPodName": true}}`)
	if _, err := cfg.Endpoints(params); err == nil || !strings.Contains(err.Error(), "more replicas than shard.count") {
		t.Errorf("a fourth pod of a 3-way shard: %v", err)
	}
	t.Setenv("HOSTNAME", "falco")
	if _, err := cfg.Endpoints(params); err == nil || !strings.Contains(err.Error(), `"shard.fromPodName"`) {
		t.Errorf("a pod name without ordinal: %v", err)
	}
}
