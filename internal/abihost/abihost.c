// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

#include "abihost.h"
#include "_cgo_export.h"

#include <time.h>

// The SDK's loader, compiled here (once) under the names abihost.h gives it.
#include "plugin_loader.c"

const char* abihost_info_str(const char* (*f)(void)) {
	return f ? f() : "";
}

uint32_t abihost_info_u32(uint32_t (*f)(void)) {
	return f ? f() : 0;
}

const char* abihost_get_init_schema(const plugin_api* p, ss_plugin_schema_type* t) {
	*t = SS_PLUGIN_SCHEMA_NONE;
	if(!p->get_init_schema) {
		return "";
	}
	const char* s = p->get_init_schema(t);
	return s ? s : "";
}

// The owner is an opaque value for the plugin: the host passes a Go
// cgo.Handle through it, so that the log callback finds its Plugin.
static const char* abihost_owner_last_error(ss_plugin_owner_t* o) {
	(void)o;
	return NULL;  // the host performs no owner operation that can fail
}

static void abihost_log(ss_plugin_owner_t* o, const char* component, const char* msg, ss_plugin_log_severity sev) {
	abihostLog((uintptr_t)o, (char*)component, (char*)msg, (uint32_t)sev);
}

void abihost_call_log_fn(uintptr_t owner, const char* component, const char* msg, uint32_t sev) {
	ss_plugin_log_fn_t fn = abihost_log;
	fn((ss_plugin_owner_t*)owner, component, msg, (ss_plugin_log_severity)sev);
}

uintptr_t abihost_init(const plugin_api* p, const char* config, uintptr_t owner, ss_plugin_rc* rc) {
	ss_plugin_init_input in = {0};
	in.config = config;
	in.owner = (ss_plugin_owner_t*)owner;
	in.get_owner_last_error = abihost_owner_last_error;
	in.tables = NULL;  // no state tables: the host has none to offer
	in.log_fn = abihost_log;
	return (uintptr_t)p->init(&in, rc);
}

void abihost_destroy(const plugin_api* p, uintptr_t s) {
	p->destroy((ss_plugin_t*)s);
}

const char* abihost_get_last_error(const plugin_api* p, uintptr_t s) {
	const char* e = p->get_last_error((ss_plugin_t*)s);
	return e ? e : "";
}

int abihost_has_metrics(const plugin_api* p) { return p->get_metrics != NULL; }

ss_plugin_metric* abihost_get_metrics(const plugin_api* p, uintptr_t s, uint32_t* n) {
	*n = 0;
	return p->get_metrics((ss_plugin_t*)s, n);
}

uintptr_t abihost_open(const plugin_api* p, uintptr_t s, const char* params, ss_plugin_rc* rc) {
	return (uintptr_t)p->open((ss_plugin_t*)s, params, rc);
}

void abihost_close(const plugin_api* p, uintptr_t s, uintptr_t h) {
	p->close((ss_plugin_t*)s, (ss_instance_t*)h);
}

const char* abihost_list_open_params(const plugin_api* p, uintptr_t s, ss_plugin_rc* rc) {
	if(!p->list_open_params) {
		*rc = SS_PLUGIN_SUCCESS;
		return "";
	}
	const char* r = p->list_open_params((ss_plugin_t*)s, rc);
	return r ? r : "";
}

int abihost_has_progress(const plugin_api* p) {
	return p->get_progress != NULL;
}

const char* abihost_get_progress(const plugin_api* p, uintptr_t s, uintptr_t h, uint32_t* pct) {
	const char* r = p->get_progress((ss_plugin_t*)s, (ss_instance_t*)h, pct);
	return r ? r : "";
}

int abihost_has_event_to_string(const plugin_api* p) {
	return p->event_to_string != NULL;
}

const char* abihost_event_to_string(const plugin_api* p, uintptr_t s, const ss_plugin_event_input* e) {
	const char* r = p->event_to_string((ss_plugin_t*)s, e);
	return r ? r : "";
}

ss_plugin_rc abihost_next_batch(const plugin_api* p, uintptr_t s, uintptr_t h, abihost_batch* out) {
	out->n = 0;
	out->evts = NULL;
	return p->next_batch((ss_plugin_t*)s, (ss_instance_t*)h, &out->n, &out->evts);
}

// PPME_PLUGINEVENT_E, the type of every plugin event in libscap.
#define ABIHOST_PLUGIN_EVENT_TYPE 322

// abihost_drain is Falco's event loop reduced to its calls into the plugin:
// next_batch again and again on one thread until want events came, reading
// each event's header as libscap does when it hands the events on one by
// one. It runs in C so that the loop costs what Falco's own does: a Go
// loop around a cgo call per batch adds the Go runtime's cgo transitions,
// and its sysmon takes the P of a call that waits in the plugin, to the
// benchmark's account, not the plugin's. It stops early, returning the
// plugin's code, on EOF or failure, and on a malformed event (st->bad).
static ss_plugin_rc abihost_drain_loop(const plugin_api* p, uintptr_t s, uintptr_t h, uint64_t want, abihost_drain_stats* st);

ss_plugin_rc abihost_drain(const plugin_api* p, uintptr_t s, uintptr_t h, uint64_t want, abihost_drain_stats* st) {
	memset(st, 0, sizeof(*st));
	st->bad = -1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	ss_plugin_rc rc = abihost_drain_loop(p, s, h, want, st);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	st->thread_cpu_ns = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
	return rc;
}

static ss_plugin_rc abihost_drain_loop(const plugin_api* p, uintptr_t s, uintptr_t h, uint64_t want, abihost_drain_stats* st) {
	// The smallest plugin event: header, two parameter lengths, plugin ID.
	const uint32_t fixed = (uint32_t)sizeof(ss_plugin_event) + 2 * 4 + 4;
	while(st->events < want) {
		uint32_t n = 0;
		ss_plugin_event** evts = NULL;
		ss_plugin_rc rc = p->next_batch((ss_plugin_t*)s, (ss_instance_t*)h, &n, &evts);
		st->calls++;
		if(rc == SS_PLUGIN_TIMEOUT) {
			st->timeouts++;
		} else if(rc != SS_PLUGIN_SUCCESS) {
			return rc;
		}
		if(n > 0 && evts == NULL) {
			st->bad = 0;
			st->bad_batch_len = n;
			return SS_PLUGIN_FAILURE;
		}
		for(uint32_t i = 0; i < n; i++) {
			const ss_plugin_event* e = evts[i];
			if(e == NULL || e->type != ABIHOST_PLUGIN_EVENT_TYPE || e->nparams != 2 || e->len < fixed) {
				st->bad = (int64_t)i;
				st->bad_batch_len = n;
				return SS_PLUGIN_FAILURE;
			}
			st->bytes += e->len;
		}
		st->events += n;
	}
	return SS_PLUGIN_SUCCESS;
}

ss_plugin_rc abihost_extract(const plugin_api* p, uintptr_t s, const ss_plugin_event_input* e, ss_plugin_field_extract_input* in) {
	return p->extract_fields((ss_plugin_t*)s, e, in);
}

void abihost_init_extract_input(ss_plugin_field_extract_input* in, uintptr_t owner) {
	memset(in, 0, sizeof(*in));
	in->owner = (ss_plugin_owner_t*)owner;
	in->get_owner_last_error = abihost_owner_last_error;
	in->value_offsets = NULL;  // as Falco for extract_fields without offsets
}
