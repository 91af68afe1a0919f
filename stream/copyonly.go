// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build dockerfleet_copyonly

package stream

import "github.com/dockerfleet/dockerfleet/extract/payload"

// The build tag dockerfleet_copyonly makes the ingest benchmark's
// copy-only reference (internal/bench): each line is copied into its
// payload without being indexed (payload.CopyOnly). Such a build is never
// shipped.
func init() { buildPayload = payload.CopyOnly }
