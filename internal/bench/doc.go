// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package bench measures libdockerfleet.so the way Falco drives it: loaded
// through the SDK's plugin_loader.c (internal/abihost), next_batch in a loop,
// then one extract_fields call per field. It holds only tests and
// benchmarks (issue 4; figures in docs/PERFORMANCE.md):
//
//   - BenchmarkIngest: events/s from 1 to 1,000 flooding fake hosts, beside
//     the raw read limit, the ABI floor and a straightforward plugin;
//   - BenchmarkExtract: ns per single-field extract and per event (all
//     fields) on a realistic event mix, beside the ABI floor;
//   - BenchmarkScale: RSS and goroutines per idle host, CPU of an idle
//     fleet, Close time;
//   - BenchmarkLatency: daemon write to next_batch return, p50 and p99;
//
// and for enrichment (issue 12):
//
//   - BenchmarkEnrichLatency: the latency enrichment adds for hosts that
//     each run 100 new containers a second, inspects answered in 20 ms
//     and at once;
//   - BenchmarkScale/unix=1000,containers=100: memory per host and per
//     container summary cached, 100 containers on each of 1,000 hosts.
//
// The plugin under test is DOCKERFLEET_SO when set (make bench sets it),
// else built from ./plugin/libdockerfleet into a temporary directory. The
// references are built from internal/abihost/testdata/testplugin (floor mode)
// and testdata/naiveplugin. Libraries are built only when a benchmark or
// test needs them, so that a plain `go test` stays quick.
package bench
