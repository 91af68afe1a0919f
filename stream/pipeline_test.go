// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/stream/fakedocker"
)

// withCores gives the test's Fleet n work tokens plus one (Start sizes
// Fleet.work from GOMAXPROCS): a flood's indexer needs a free one.
func withCores(t *testing.T, n int) {
	old := runtime.GOMAXPROCS(n + 1)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
}

// A host flooding: its lines are indexed on a second goroutine, and come
// out all there, once, in order.
func TestFloodIndexedOnASecondGoroutine(t *testing.T) {
	withCores(t, 2)
	srv := fakedocker.New("d1")
	defer srv.Close()
	srv.Flood(true)
	const n = 50000
	srv.SetDropAfter(n) // the stream breaks after n events
	eps := unixHosts(t, srv, t.TempDir(), "h", 1)
	o := testOptions()
	o.Buffer = 2 * n   // room for all: nothing dropped, whatever the pace
	o.PingInterval = 0 // a busy machine's late ping must not cut the stream
	f := startFleet(t, eps, o)
	c := collect(t, f)
	seen := 0 // events looked at by the condition, which runs per event
	docker := 0
	all := c.until(60*time.Second, func(all []got) bool {
		for ; seen < len(all); seen++ {
			if all[seen].typ != HealthType {
				docker++
			}
		}
		return docker >= n
	})
	if s := seqs(all, "h-0")[:n]; !slices.Equal(s, seqRange(1, n)) {
		t.Errorf("the first stream's events are not 1..%d exactly once in order: %s", n, summary(all))
	}
	st := f.Stats()[0]
	if st.Indexers == 0 {
		t.Errorf("stats %+v: the flood was never indexed on a second goroutine", st)
	}
	if st.Dropped != 0 || st.Malformed != 0 {
		t.Errorf("stats %+v: nothing may be dropped or malformed", st)
	}
}

// The tests of resumption and loss again, with an indexer started after
// every line that does not end a read: it starts and stops all the time,
// at every place of a stream.
func TestPipelineStartingAndStoppingLosesNothing(t *testing.T) {
	withCores(t, 2)
	old := floodLines
	floodLines = 1
	t.Cleanup(func() { floodLines = old })
	for name, test := range map[string]func(*testing.T){
		"EveryEventOnceFromEveryHost":    TestEveryEventOnceFromEveryHost,
		"ResumeAfterDroppedConnections":  TestResumeAfterDroppedConnections,
		"ResumeWithEventsOfTheSameNano":  TestResumeWithEventsOfTheSameNanosecond,
		"DaemonRestartReportsLoss":       TestDaemonRestartReportsLoss,
		"GarbageLinesSkippedAndCounted":  TestGarbageLinesSkippedAndCounted,
		"SlowConsumerLossCounted":        TestSlowConsumerLossCountedAndReported,
		"CloseLeavesNothingBehind":       TestCloseLeavesNothingBehind,
		"ShortConsumerPausesLoseNothing": TestShortConsumerPausesLoseNothing,
	} {
		t.Run(name, test)
	}
}
