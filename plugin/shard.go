// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"errors"
	"fmt"

	"github.com/dockerfleet/dockerfleet/hosts"
)

// validate checks what can be checked before Open: the pod name is only
// read at Open.
func (s ShardConfig) validate() error {
	switch {
	case s.Count <= 1 && s.Index != 0:
		return errors.New(`key "shard.index": set without a "shard.count" above 1`)
	case s.Count <= 1 && s.FromPodName:
		return errors.New(`key "shard.fromPodName": set without a "shard.count" above 1`)
	case s.FromPodName && s.Index != 0:
		return errors.New(`keys "shard.index" and "shard.fromPodName": give one of them, not both`)
	case s.Index >= s.Count && s.Count > 1:
		return fmt.Errorf(`key "shard.index": %d is not below "shard.count" %d`, s.Index, s.Count)
	}
	return nil
}

// resolve is the hosts.Shard of this replica; getenv reads HOSTNAME for
// FromPodName.
func (s ShardConfig) resolve(getenv func(string) string) (hosts.Shard, error) {
	shard := hosts.Shard{Count: int(s.Count), Index: int(s.Index)}
	if !s.FromPodName {
		return shard, nil
	}
	ordinal, err := hosts.PodOrdinal(getenv("HOSTNAME"))
	if err != nil {
		return hosts.Shard{}, fmt.Errorf(`key "shard.fromPodName": $HOSTNAME: %w`, err)
	}
	if ordinal >= shard.Count {
		return hosts.Shard{}, fmt.Errorf(`key "shard.fromPodName": pod ordinal %d (from $HOSTNAME %q) is not below "shard.count" %d: the StatefulSet has more replicas than shard.count`,
			ordinal, getenv("HOSTNAME"), shard.Count)
	}
	shard.Index = ordinal
	return shard, nil
}
