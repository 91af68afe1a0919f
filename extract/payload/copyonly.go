// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build dockerfleet_copyonly

package payload

// copyOnly is set by the build tag dockerfleet_copyonly, which only the
// copy-only reference of the ingest benchmark (internal/bench) uses: see
// appendUnindexed. Such a build is never shipped.
const copyOnly = true
