// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build !dockerfleet_copyonly

package stream

import "github.com/dockerfleet/dockerfleet/extract/payload"

// buildPayload makes the payload of one line (payload.BuildExtra); a
// direct call, which copyonly.go replaces in the benchmark's reference.
func buildPayload(dst []byte, host string, line []byte, x payload.Extra) ([]byte, payload.Meta, error) {
	return payload.BuildExtra(dst, host, line, x)
}
