// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// abihost.h: the C side of package abihost. It includes the SDK's plugin
// loader (loader/, copied verbatim from plugin-sdk-go v0.8.3) under renamed
// symbols, and declares the thin wrappers Go calls, because cgo cannot call
// through C function pointers.

#pragma once

// The loader's public functions are global symbols. plugin-sdk-go's
// pkg/loader compiles the same file, so a binary that links both packages
// (a test using pkg/loader for schema validation, say) would fail with
// duplicate symbols. Renaming them here keeps the copy private.
#define plugin_load abihost_plugin_load
#define plugin_load_api abihost_plugin_load_api
#define plugin_unload abihost_plugin_unload
#define plugin_is_loaded abihost_plugin_is_loaded
#define plugin_check_required_api_version abihost_plugin_check_required_api_version
#define plugin_check_required_symbols abihost_plugin_check_required_symbols
#define plugin_get_capabilities abihost_plugin_get_capabilities

#include "plugin_loader.h"

#include <stdint.h>

// abihost_batch holds what next_batch returns. It lives in C memory, one per
// instance, so that a call passes no Go pointer and allocates nothing.
typedef struct abihost_batch {
	uint32_t n;
	ss_plugin_event** evts;
} abihost_batch;

// abihost_drain_stats is what abihost_drain counted.
typedef struct abihost_drain_stats {
	uint64_t events;    // events returned by next_batch
	uint64_t calls;     // next_batch calls
	uint64_t timeouts;  // calls that returned SS_PLUGIN_TIMEOUT
	uint64_t bytes;     // sum of the events' lengths (header included)
	uint64_t thread_cpu_ns;  // CPU time of the calling thread in the loop
	int64_t bad;        // index in its batch of the first malformed event; -1: none
	uint32_t bad_batch_len;
} abihost_drain_stats;

// The plugin state (ss_plugin_t*) and instance (ss_instance_t*) cross into
// Go as uintptr_t, never as pointers: they are opaque to the host, and
// plugin-sdk-go makes them cgo handles, small integers (1, 2, ...). Held
// in a pointer-typed Go variable, such a value makes the Go runtime throw
// "invalid pointer found on stack" when it copies a stack that holds it.
const char* abihost_info_str(const char* (*f)(void));
uint32_t abihost_info_u32(uint32_t (*f)(void));
const char* abihost_get_init_schema(const plugin_api* p, ss_plugin_schema_type* t);
uintptr_t abihost_init(const plugin_api* p, const char* config, uintptr_t owner, ss_plugin_rc* rc);
void abihost_destroy(const plugin_api* p, uintptr_t s);
const char* abihost_get_last_error(const plugin_api* p, uintptr_t s);
uintptr_t abihost_open(const plugin_api* p, uintptr_t s, const char* params, ss_plugin_rc* rc);
void abihost_close(const plugin_api* p, uintptr_t s, uintptr_t h);
const char* abihost_list_open_params(const plugin_api* p, uintptr_t s, ss_plugin_rc* rc);
int abihost_has_progress(const plugin_api* p);
const char* abihost_get_progress(const plugin_api* p, uintptr_t s, uintptr_t h, uint32_t* pct);
int abihost_has_event_to_string(const plugin_api* p);
const char* abihost_event_to_string(const plugin_api* p, uintptr_t s, const ss_plugin_event_input* e);
ss_plugin_rc abihost_next_batch(const plugin_api* p, uintptr_t s, uintptr_t h, abihost_batch* out);
ss_plugin_rc abihost_drain(const plugin_api* p, uintptr_t s, uintptr_t h, uint64_t want, abihost_drain_stats* st);
ss_plugin_rc abihost_extract(const plugin_api* p, uintptr_t s, const ss_plugin_event_input* e, ss_plugin_field_extract_input* in);
void abihost_init_extract_input(ss_plugin_field_extract_input* in, uintptr_t owner);
int abihost_has_metrics(const plugin_api* p);
ss_plugin_metric* abihost_get_metrics(const plugin_api* p, uintptr_t s, uint32_t* n);
void abihost_call_log_fn(uintptr_t owner, const char* component, const char* msg, uint32_t sev);
