// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"sync"

	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// truncators hold the Truncators of lines longer than MaxLineSize: they
// are rare, and a host keeps no memory for them between two.
var truncators sync.Pool

// getTruncator returns a Truncator reset for lines of at most max bytes.
func getTruncator(max int) *payload.Truncator {
	tr, _ := truncators.Get().(*payload.Truncator)
	if tr == nil {
		tr = new(payload.Truncator)
	}
	tr.Reset(max)
	return tr
}

func putTruncator(tr *payload.Truncator) { truncators.Put(tr) }
