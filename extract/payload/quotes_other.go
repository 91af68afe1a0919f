// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build !amd64 || purego

package payload

// haveQuoteMask is false where there is no assembly quoteMask: Build then
// scans strings a word at a time.
const haveQuoteMask = false

func quoteMask(line []byte, mask *[maskWords]uint32) bool { return false }
