// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package falcotest runs the real Falco with libdockerfleet.so for tests:
// it finds the Falco binary (Find, Require), turns a shipped example
// falco.yaml into one that runs against test daemons (Derive), validates
// rules files with `falco -V` (Falco.Validate) and runs Falco, collecting
// its JSON alerts (Falco.Start, Run.WaitFor).
//
// Falco is found as $FALCO, else `falco` on PATH. The Falco these tests are
// written for is 0.44.1 built without a driver (MINIMAL_BUILD): it runs
// plugins and rules only, so every run uses `engine: {kind: nodriver}` and
// `--disable-source syscall`.
//
// The end-to-end test of the plugin under Falco (build tag integration)
// lives in this package too: falco_test.go. It needs root (real dockerd
// daemons, see internal/dockerd) and DOCKERFLEET_SO or a Go toolchain to
// build the plugin.
package falcotest
