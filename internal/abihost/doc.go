// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package abihost is a small Falco-like host: it loads a plugin shared
// library through the plugin-sdk-go loader (plugin_loader.c, the same code
// Falco's libs use) and drives it through the plugin C ABI the way Falco
// does: init with an init_input carrying an owner and a log callback, open,
// next_batch, extract_fields once per field per event with an incrementing
// event number, event_to_string, close, destroy.
//
// It exists for tests, benchmarks and the dockerfleet command (tail): whatever
// passes here went through the real ABI, not through Go calls into the
// plugin's packages.
//
// The C files in loader/ are copied verbatim from
// github.com/falcosecurity/plugin-sdk-go v0.8.3 (pkg/loader and pkg/sdk)
// because cgo compiles only the C files of the package's own directory and
// includes only paths known when the file is written, not the module
// cache's; TestLoaderFilesMatchSDK keeps them equal to the SDK in go.mod.
// Upstream, in falcosecurity/libs, plugin_loader.c includes
// <plugin/plugin_api.h> and <libscap/strl.h>; the SDK's patches (kept in its
// pkg/loader) flatten the include paths and bring private
// plugin_loader_strlcpy/strlcat copies, because libscap is not available to
// a Go build and glibc 2.38 declares its own strlcpy/strlcat, which would
// clash. The copies here already carry those patches. abihost.h renames the
// loader's global functions so that this package and the SDK's pkg/loader
// can be linked into one binary.
//
// Memory: plugin-owned memory (event batches, extracted values, strings) is
// only valid until the next call of the same kind, as the plugin API says;
// everything this package returns is copied into Go memory unless a method
// says otherwise (ReadBatch, Extractor). The plugin's state and instance
// pointers are opaque and kept as integers, never in pointer-typed Go
// variables: plugin-sdk-go makes them cgo handles (1, 2, ...), and the Go
// runtime aborts with "invalid pointer found on stack" when it copies a
// goroutine stack that holds such a value in a pointer slot.
//
// Concurrency: like Falco's event loop, a Plugin, its Instance and its
// Extractors must be used from one goroutine at a time. Only the log
// callback may be called by the plugin from any thread.
package abihost
