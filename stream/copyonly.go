// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build dockerfleet_copyonly

package stream

import "github.com/dockerfleet/dockerfleet/extract/payload"

// buildPayload, with the build tag dockerfleet_copyonly (the ingest
// benchmark's copy-only reference, internal/bench, never shipped), copies
// each line into its payload without indexing it (payload.CopyOnly).
func buildPayload(dst []byte, host string, line []byte, x payload.Extra) ([]byte, payload.Meta, error) {
	return payload.CopyOnly(dst, host, line, x)
}
