// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"fmt"
	"testing"
)

func fleetLabels(n int) []string {
	labels := make([]string, n)
	for i := range labels {
		labels[i] = fmt.Sprintf("web-%04d.example.internal", i)
	}
	return labels
}

// Every host is owned by exactly one replica, and replicas get a fair share.
func TestShardEveryHostOnceAndBalanced(t *testing.T) {
	labels := fleetLabels(1000)
	for count := 1; count <= 8; count++ {
		owned := make([]int, count)
		for _, l := range labels {
			owners := 0
			for idx := 0; idx < count; idx++ {
				if (Shard{Count: count, Index: idx}).Owns(l) {
					owners++
					owned[idx]++
				}
			}
			if owners != 1 {
				t.Fatalf("count %d: host %q has %d owners", count, l, owners)
			}
		}
		fair := len(labels) / count
		for idx, n := range owned {
			// Binomial spread: 1,000 hosts over 8 replicas is 125 +- 10;
			// 30 % leaves room for that without hiding a skewed hash.
			if n < fair*7/10 || n > fair*13/10 {
				t.Errorf("count %d: replica %d owns %d hosts, fair share %d", count, idx, n, fair)
			}
		}
	}
}

// Going from n to n+1 replicas moves about 1/(n+1) of the hosts, each to
// the new replica.
func TestShardGrowingMovesOnlyToTheNewReplica(t *testing.T) {
	labels := fleetLabels(1000)
	for n := 1; n < 8; n++ {
		moved := 0
		for _, l := range labels {
			before, after := Owner(l, n), Owner(l, n+1)
			if before == after {
				continue
			}
			moved++
			if after != n {
				t.Fatalf("%d -> %d replicas: host %q moved from %d to %d, not to the new replica", n, n+1, l, before, after)
			}
		}
		want := len(labels) / (n + 1)
		if moved < want*7/10 || moved > want*13/10 {
			t.Errorf("%d -> %d replicas: %d hosts moved, expected about %d", n, n+1, moved, want)
		}
	}
}

func TestShardSelectKeepsOrder(t *testing.T) {
	var eps []Endpoint
	for _, l := range fleetLabels(50) {
		eps = append(eps, Endpoint{Name: l})
	}
	total := 0
	for idx := 0; idx < 3; idx++ {
		mine := Shard{Count: 3, Index: idx}.Select(eps)
		total += len(mine)
		for i := 1; i < len(mine); i++ {
			if mine[i-1].Name >= mine[i].Name {
				t.Fatalf("replica %d: order lost: %q before %q", idx, mine[i-1].Name, mine[i].Name)
			}
		}
	}
	if total != len(eps) {
		t.Fatalf("the replicas own %d hosts in all, want %d", total, len(eps))
	}
	if got := (Shard{}).Select(eps); len(got) != len(eps) {
		t.Fatalf("no sharding kept %d of %d hosts", len(got), len(eps))
	}
}

func TestShardValidate(t *testing.T) {
	for _, s := range []Shard{{}, {Count: 1}, {Count: 4, Index: 3}} {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	for _, s := range []Shard{{Count: -1}, {Count: 1, Index: 1}, {Count: 4, Index: 4}, {Count: 4, Index: -1}} {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v: accepted", s)
		}
	}
}

func TestPodOrdinal(t *testing.T) {
	for name, want := range map[string]int{"falco-0": 0, "falco-dockerfleet-12": 12} {
		if got, err := PodOrdinal(name); err != nil || got != want {
			t.Errorf("PodOrdinal(%q) = %d, %v; want %d", name, got, err, want)
		}
	}
	for _, name := range []string{"falco", "falco-", "falco-x", "falco-+1", ""} {
		if _, err := PodOrdinal(name); err == nil {
			t.Errorf("PodOrdinal(%q) accepted", name)
		}
	}
}
