// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build !dockerfleet_copyonly

package payload

// copyOnly is false in every build but the benchmark's reference (see
// copyonly.go), and Build indexes each line.
const copyOnly = false
