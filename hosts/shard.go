// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Shard is one Falco replica's share of a fleet that several replicas
// watch together: replica Index of Count. The zero Shard (Count 0) and a
// Shard of Count 1 own every host.
//
// Hosts are assigned by rendezvous (highest random weight) hashing of
// their labels: each replica scores every host and a host goes to the
// replica with the highest score. Every replica works the assignment out
// alone, from the label and the count, so that no coordination is needed;
// and going from n to n+1 replicas moves only the hosts the new replica
// wins, about 1/(n+1) of them, all to the new replica.
type Shard struct {
	Count int // number of replicas; 0 or 1: no sharding
	Index int // this replica, 0..Count-1
}

// Validate reports a Shard whose index is outside its count.
func (s Shard) Validate() error {
	switch {
	case s.Count < 0:
		return fmt.Errorf("shard count %d is negative", s.Count)
	case s.Count <= 1 && s.Index != 0:
		return fmt.Errorf("shard index %d given without a shard count above 1", s.Index)
	case s.Count > 1 && (s.Index < 0 || s.Index >= s.Count):
		return fmt.Errorf("shard index %d is outside 0..%d (count %d)", s.Index, s.Count-1, s.Count)
	}
	return nil
}

// Owns reports whether this replica watches the host labelled label.
func (s Shard) Owns(label string) bool {
	if s.Count <= 1 {
		return true
	}
	return Owner(label, s.Count) == s.Index
}

// Select returns the endpoints this replica owns, in their order.
func (s Shard) Select(eps []Endpoint) []Endpoint {
	if s.Count <= 1 {
		return eps
	}
	var mine []Endpoint
	for _, ep := range eps {
		if s.Owns(ep.Name) {
			mine = append(mine, ep)
		}
	}
	return mine
}

// Owner is the replica, of count, that owns the host labelled label.
func Owner(label string, count int) int {
	best, bestScore := 0, uint64(0)
	for i := 0; i < count; i++ {
		if sc := shardScore(label, i); i == 0 || sc > bestScore {
			best, bestScore = i, sc
		}
	}
	return best
}

// shardScore is the weight of replica i for label: a 64-bit hash of both.
// xxhash is stable across processes and releases, which the assignment
// needs (every replica must compute the same owner); Go's maphash is not.
func shardScore(label string, i int) uint64 {
	var d xxhash.Digest
	d.Reset()
	var idx [8]byte
	binary.LittleEndian.PutUint64(idx[:], uint64(i))
	_, _ = d.Write(idx[:])
	_, _ = d.WriteString(label)
	return d.Sum64()
}

// PodOrdinal is the ordinal of a Kubernetes StatefulSet pod from its name
// (falco-2 -> 2): the replica index of a sharded StatefulSet.
func PodOrdinal(podName string) (int, error) {
	i := strings.LastIndexByte(podName, '-')
	if i < 0 || i == len(podName)-1 {
		return 0, fmt.Errorf("pod name %q does not end in -ORDINAL as a StatefulSet pod's does", podName)
	}
	digits := podName[i+1:]
	n, err := strconv.Atoi(digits)
	if err != nil || strings.Trim(digits, "0123456789") != "" {
		return 0, fmt.Errorf("pod name %q does not end in -ORDINAL as a StatefulSet pod's does", podName)
	}
	return n, nil
}
