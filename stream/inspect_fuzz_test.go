// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"encoding/json"
	"testing"

	containertypes "github.com/docker/docker/api/types/container"

	"github.com/dockerfleet/dockerfleet/extract/inspected"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// FuzzSummarizeContainer: any inspect answer a daemon may send is
// summarised without a panic, within the caps of a summary, and its part
// decodes back to what was summarised.
func FuzzSummarizeContainer(f *testing.F) {
	f.Add([]byte(fakedocker.OKContainerAnswer))
	f.Add([]byte(`{"Id":"x","Config":{"Image":"reg:5000/a/b:1@sha256:x"},"HostConfig":{"PortBindings":{"2375/tcp":[{"HostIp":"","HostPort":"1"}]},"Devices":[{"PathOnHost":"/dev/x"}],"SecurityOpt":["seccomp:unconfined","no-new-privileges:false"]}}`))
	f.Fuzz(func(t *testing.T, answer []byte) {
		var c containertypes.InspectResponse
		if json.Unmarshal(answer, &c) != nil || c.ContainerJSONBase == nil || c.HostConfig == nil || c.Config == nil {
			return
		}
		s := summarizeContainer(&c)
		for _, l := range [][]string{s.CapAdd, s.CapDrop, s.SecurityOpt, s.Devices, s.Ports, s.PublishedPorts} {
			if len(l) > maxSummaryList {
				t.Fatalf("list of %d entries", len(l))
			}
			for _, v := range l {
				if len(v) > maxSummaryString {
					t.Fatalf("string of %d bytes", len(v))
				}
			}
		}
		if len(s.Mounts) > maxSummaryList || len(s.Cmdline) > maxSummaryString {
			t.Fatalf("mounts %d, cmdline %d bytes", len(s.Mounts), len(s.Cmdline))
		}
		got, err := inspected.Decode(inspected.Append(nil, nil, inspected.Encode(s), nil))
		if err != nil || got.Container == nil || got.Container.Privileged != s.Privileged || len(got.Container.Mounts) != len(s.Mounts) {
			t.Fatalf("round trip: %v %+v", err, got.Container)
		}
	})
}
