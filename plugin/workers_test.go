// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import "testing"

// Readers leave one core to Falco's thread, but there are at least two.
func TestReaderWorkersLeaveACore(t *testing.T) {
	for cores, want := range map[int]int{1: 2, 2: 2, 3: 2, 4: 3, 16: 15} {
		if got := readerWorkers(cores); got != want {
			t.Errorf("readerWorkers(%d) = %d, want %d", cores, got, want)
		}
	}
}
