// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import "bytes"

// CopyOnly makes what BuildExtra makes minus the scan: the payload of line
// with an index of zeros (which Parse refuses) and a Meta whose TimeNano
// is the number after the line's last ':' (where the daemon writes
// timeNano) and whose Type and Action are fixed. It is the ingest
// benchmark's copy-only reference (a plugin built with the tag
// dockerfleet_copyonly calls it in place of BuildExtra): what reading each
// line and handing it to Falco costs without indexing it
// (docs/PERFORMANCE.md). Nothing else may use it.
func CopyOnly(dst []byte, host string, line []byte, x Extra) ([]byte, Meta, error) {
	return appendUnindexed(dst, host, x.Context, line), Meta{TimeNano: copyOnlyTime(line), Type: "container", Action: "start"}, nil
}

// copyOnlyTime is the event time of a copy-only build, which the readers
// need to order and resume: the number after the line's last ':', 0 if
// there is none.
func copyOnlyTime(line []byte) int64 {
	i := bytes.LastIndexByte(line, ':') + 1
	if i == 0 {
		return 0
	}
	end := i
	for end < len(line) && '0' <= line[end] && line[end] <= '9' {
		end++
	}
	v, _ := parseInt(line[i:end])
	return v
}
