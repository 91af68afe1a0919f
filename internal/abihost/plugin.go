// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package abihost

/*
#cgo CFLAGS: -I${SRCDIR}/loader
#cgo linux LDFLAGS: -ldl
#include <stdlib.h>
#include "abihost.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Capabilities is the set of plugin capabilities, as the loader reports them.
type Capabilities uint32

// The capabilities a plugin may have (plugin_caps_t).
const (
	CapSourcing         Capabilities = C.CAP_SOURCING
	CapExtraction       Capabilities = C.CAP_EXTRACTION
	CapParsing          Capabilities = C.CAP_PARSING
	CapAsync            Capabilities = C.CAP_ASYNC
	CapCaptureListening Capabilities = C.CAP_CAPTURE_LISTENING
)

// String lists the capabilities, e.g. "sourcing|extraction".
func (c Capabilities) String() string {
	names := []struct {
		c Capabilities
		n string
	}{
		{CapSourcing, "sourcing"}, {CapExtraction, "extraction"}, {CapParsing, "parsing"},
		{CapAsync, "async"}, {CapCaptureListening, "capture_listening"},
	}
	var out []string
	for _, n := range names {
		if c&n.c != 0 {
			out = append(out, n.n)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "|")
}

// Info is the static description of a plugin.
type Info struct {
	Name, Version, Description, Contact string
	ID                                  uint32
	EventSource                         string
	RequiredAPIVersion                  string
	ExtractEventSources                 []string // nil: the plugin does not say (all sources)
	Capabilities                        Capabilities
}

// Field is one entry of the plugin's fields JSON (plugin_get_fields).
type Field struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	IsList     bool     `json:"isList"`
	Arg        FieldArg `json:"arg"`
	Display    string   `json:"display"`
	Desc       string   `json:"desc"`
	Properties []string `json:"properties"`
}

// FieldArg says whether a field takes an argument and of which kind.
type FieldArg struct {
	IsRequired bool `json:"isRequired"`
	IsIndex    bool `json:"isIndex"`
	IsKey      bool `json:"isKey"`
}

// OpenParam is one suggestion of list_open_params.
type OpenParam struct {
	Value     string `json:"value"`
	Desc      string `json:"desc"`
	Separator string `json:"separator"`
}

// Severity is the severity of a plugin log line (ss_plugin_log_severity).
type Severity uint32

// Log severities, as in the plugin API.
const (
	SevFatal    Severity = C.SS_PLUGIN_LOG_SEV_FATAL
	SevCritical Severity = C.SS_PLUGIN_LOG_SEV_CRITICAL
	SevError    Severity = C.SS_PLUGIN_LOG_SEV_ERROR
	SevWarning  Severity = C.SS_PLUGIN_LOG_SEV_WARNING
	SevNotice   Severity = C.SS_PLUGIN_LOG_SEV_NOTICE
	SevInfo     Severity = C.SS_PLUGIN_LOG_SEV_INFO
	SevDebug    Severity = C.SS_PLUGIN_LOG_SEV_DEBUG
	SevTrace    Severity = C.SS_PLUGIN_LOG_SEV_TRACE
)

// LogLine is one message the plugin sent through the init_input log_fn.
type LogLine struct {
	Component string // "" when the plugin passed NULL (Falco then uses the plugin name)
	Message   string
	Severity  Severity
}

// ErrNotInitialized is returned by calls that need Init first.
var ErrNotInitialized = errors.New("abihost: plugin is not initialized")

// Plugin is one loaded plugin library and, after Init, its plugin state.
type Plugin struct {
	path   string
	handle *C.plugin_handle_t
	api    *C.plugin_api // &handle.api, in C memory
	info   Info
	fields []Field
	schema string

	// state is the ss_plugin_t*, 0 before Init and after Destroy. It is
	// opaque, and an integer to Go: the SDK makes it a cgo handle (1, 2,
	// ...), which the runtime rejects in a pointer-typed variable (see
	// abihost.h).
	state  C.uintptr_t
	owner  uintptr   // passed as the owner pointer: finds this Plugin in the log callback
	evtsrc *C.char   // event source name passed in every ss_plugin_event_input
	evtnum uint64    // last event number given out, shared by all instances like Falco's
	inst   *Instance // the open instance, if any
	// lastError is what get_last_error said after the latest failure.
	lastError string

	logMu sync.Mutex
	logs  []LogLine
}

// Load loads the plugin library at path and checks it as Falco does: the
// required API version must be compatible with this host's (3.11), the
// required symbols present and the capabilities consistent. It reads the
// static info, the fields JSON and the init schema. The library itself stays
// mapped after Close (Go c-shared libraries are NODELETE), so loading the
// same path again is cheap and reuses the plugin's global state.
func Load(path string) (*Plugin, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	errBuf := (*C.char)(C.calloc(C.PLUGIN_MAX_ERRLEN, 1))
	defer C.free(unsafe.Pointer(errBuf))

	h := C.abihost_plugin_load(cpath, errBuf)
	if h == nil {
		return nil, fmt.Errorf("abihost: loading %s: %s", path, C.GoString(errBuf))
	}
	p := &Plugin{path: path, handle: h, api: &h.api}
	fail := func(format string, args ...any) (*Plugin, error) {
		C.abihost_plugin_unload(h)
		return nil, fmt.Errorf("abihost: plugin %s: "+format, append([]any{path}, args...)...)
	}
	if !C.abihost_plugin_check_required_api_version(h, errBuf) {
		return fail("%s", C.GoString(errBuf))
	}
	if !C.abihost_plugin_check_required_symbols(h, errBuf) {
		return fail("%s", C.GoString(errBuf))
	}
	caps := C.abihost_plugin_get_capabilities(h, errBuf)
	if caps&C.CAP_BROKEN != 0 {
		return fail("broken capabilities: %s", C.GoString(errBuf))
	}
	if caps == C.CAP_NONE {
		return fail("supports no capability")
	}

	api := p.api
	p.info = Info{
		Name:               C.GoString(C.abihost_info_str(api.get_name)),
		Version:            C.GoString(C.abihost_info_str(api.get_version)),
		Description:        C.GoString(C.abihost_info_str(api.get_description)),
		Contact:            C.GoString(C.abihost_info_str(api.get_contact)),
		RequiredAPIVersion: C.GoString(C.abihost_info_str(api.get_required_api_version)),
		ID:                 uint32(C.abihost_info_u32(api.anon0.get_id)),
		EventSource:        C.GoString(C.abihost_info_str(api.anon0.get_event_source)),
		Capabilities:       Capabilities(caps),
	}
	var schemaType C.ss_plugin_schema_type
	schema := C.GoString(C.abihost_get_init_schema(api, &schemaType))
	if schemaType == C.SS_PLUGIN_SCHEMA_JSON {
		p.schema = schema
	}
	if p.info.Capabilities&CapExtraction != 0 {
		if src := C.GoString(C.abihost_info_str(api.anon1.get_extract_event_sources)); src != "" {
			if err := json.Unmarshal([]byte(src), &p.info.ExtractEventSources); err != nil {
				return fail("get_extract_event_sources is not a JSON array of strings: %v", err)
			}
		}
		if err := json.Unmarshal([]byte(C.GoString(C.abihost_info_str(api.anon1.get_fields))), &p.fields); err != nil {
			return fail("get_fields is not a JSON array of fields: %v", err)
		}
		for i, f := range p.fields {
			if _, err := fieldType(f.Type); err != nil {
				return fail("field %d (%s): %v", i, f.Name, err)
			}
		}
	}
	// Falco passes the name of the source the event belongs to; for a
	// sourcing plugin that is its own event source.
	p.evtsrc = C.CString(p.info.EventSource)
	return p, nil
}

// Path is the library path given to Load.
func (p *Plugin) Path() string { return p.path }

// Info returns the plugin's static description.
func (p *Plugin) Info() Info { return p.info }

// Fields returns the plugin's fields, in field id order (nil without the
// extraction capability).
func (p *Plugin) Fields() []Field { return append([]Field(nil), p.fields...) }

// InitSchema returns the JSON schema of init_config ("" when the plugin has none).
func (p *Plugin) InitSchema() string { return p.schema }

// Init calls plugin_init with config, as Falco does (it does not validate
// config against the schema first). On failure the error carries the
// plugin's last error text and the failed state is destroyed, as Falco does.
// A Plugin may be initialized again after Destroy.
func (p *Plugin) Init(config string) error {
	if p.handle == nil {
		return errors.New("abihost: plugin is closed")
	}
	if p.state != 0 {
		return errors.New("abihost: plugin is already initialized")
	}
	ccfg := C.CString(config)
	defer C.free(unsafe.Pointer(ccfg))
	p.owner = registerOwner(p)
	var rc C.ss_plugin_rc
	state := C.abihost_init(p.api, ccfg, C.uintptr_t(p.owner), &rc)
	if rc != C.SS_PLUGIN_SUCCESS {
		msg := "no state returned"
		if state != 0 {
			msg = C.GoString(C.abihost_get_last_error(p.api, state))
			p.lastError = msg
			C.abihost_destroy(p.api, state)
		}
		unregisterOwner(p.owner)
		p.owner = 0
		return fmt.Errorf("abihost: init of plugin %s failed (rc %d): %s", p.info.Name, int(rc), msg)
	}
	if state == 0 {
		unregisterOwner(p.owner)
		p.owner = 0
		return fmt.Errorf("abihost: init of plugin %s returned success and no state", p.info.Name)
	}
	p.state = state
	p.lastError = ""
	return nil
}

// LastError returns the text get_last_error gave after the latest failed
// call ("" when no call failed since Init). get_last_error is only called
// right after a failure, as Falco does: plugin-sdk-go v0.8.3 crashes (nil
// error dereference) when it is called with no error set.
func (p *Plugin) LastError() string { return p.lastError }

// lastErr reads the plugin's last error after a failed call named what and
// builds the error returned for it.
func (p *Plugin) lastErr(what string, rc C.ss_plugin_rc) error {
	p.lastError = C.GoString(C.abihost_get_last_error(p.api, p.state))
	return fmt.Errorf("abihost: %s of plugin %s failed (rc %d): %s", what, p.info.Name, int(rc), p.lastError)
}

// ListOpenParams calls list_open_params (nil when the plugin has none).
func (p *Plugin) ListOpenParams() ([]OpenParam, error) {
	if p.state == 0 {
		return nil, ErrNotInitialized
	}
	var rc C.ss_plugin_rc
	s := C.GoString(C.abihost_list_open_params(p.api, p.state, &rc))
	if rc != C.SS_PLUGIN_SUCCESS {
		return nil, p.lastErr("list_open_params", rc)
	}
	if s == "" {
		return nil, nil
	}
	var out []OpenParam
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("abihost: list_open_params of plugin %s is not a JSON array of params: %v", p.info.Name, err)
	}
	return out, nil
}

// Destroy closes the open instance if any and calls plugin_destroy. The
// Plugin can then be initialized again. Destroy without Init does nothing.
func (p *Plugin) Destroy() {
	if p.inst != nil {
		p.inst.Close()
	}
	if p.state != 0 {
		C.abihost_destroy(p.api, p.state)
		p.state = 0
	}
	if p.owner != 0 {
		unregisterOwner(p.owner)
		p.owner = 0
	}
}

// Close destroys the plugin state and releases the loader handle. The
// library stays mapped (NODELETE); Load it again to reuse it.
func (p *Plugin) Close() {
	if p.handle == nil {
		return
	}
	p.Destroy()
	C.abihost_plugin_unload(p.handle)
	p.handle = nil
	p.api = nil
	C.free(unsafe.Pointer(p.evtsrc))
	p.evtsrc = nil
}

// Logs returns the lines the plugin logged through log_fn so far.
func (p *Plugin) Logs() []LogLine {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return append([]LogLine(nil), p.logs...)
}

// owners maps the owner values given to plugins to their Plugin. Unlike a
// cgo.Handle, a stale owner (a plugin goroutine logging after destroy) finds
// nothing instead of panicking.
var (
	owners    sync.Map // uintptr -> *Plugin
	lastOwner atomic.Uintptr
)

func registerOwner(p *Plugin) uintptr {
	id := lastOwner.Add(1)
	owners.Store(id, p)
	return id
}

func unregisterOwner(id uintptr) { owners.Delete(id) }

//export abihostLog
func abihostLog(owner C.uintptr_t, component, msg *C.char, sev C.uint32_t) {
	v, ok := owners.Load(uintptr(owner))
	if !ok {
		return // a plugin thread logging after destroy: nobody to tell
	}
	p := v.(*Plugin)
	line := LogLine{Message: C.GoString(msg), Severity: Severity(sev)}
	if component != nil {
		line.Component = C.GoString(component)
	}
	p.logMu.Lock()
	p.logs = append(p.logs, line)
	p.logMu.Unlock()
}

// callLogFn calls the log_fn this host gives the plugin in init_input, with
// this plugin's owner, exactly as a plugin would. The Go SDK never calls
// log_fn itself, so this is how the test reaches the callback through C.
func (p *Plugin) callLogFn(component, msg string, sev Severity) {
	var ccomp *C.char
	if component != "" {
		ccomp = C.CString(component)
		defer C.free(unsafe.Pointer(ccomp))
	}
	cmsg := C.CString(msg)
	defer C.free(unsafe.Pointer(cmsg))
	C.abihost_call_log_fn(C.uintptr_t(p.owner), ccomp, cmsg, C.uint32_t(sev))
}
