// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package abihost

/*
#include <stdlib.h>
#include "abihost.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unsafe"
)

// FieldType is the type code of a field (ss_plugin_field_type).
type FieldType uint32

// The field types of the plugin API.
const (
	FieldUint64  FieldType = C.FTYPE_UINT64
	FieldString  FieldType = C.FTYPE_STRING
	FieldRelTime FieldType = C.FTYPE_RELTIME
	FieldAbsTime FieldType = C.FTYPE_ABSTIME
	FieldBool    FieldType = C.FTYPE_BOOL
	FieldIPAddr  FieldType = C.FTYPE_IPADDR
	FieldIPNet   FieldType = C.FTYPE_IPNET
)

var fieldTypeNames = map[string]FieldType{
	"uint64": FieldUint64, "string": FieldString, "reltime": FieldRelTime, "abstime": FieldAbsTime,
	"bool": FieldBool, "ipaddr": FieldIPAddr, "ipnet": FieldIPNet,
}

// fieldType maps the type name of the fields JSON to its code.
func fieldType(name string) (FieldType, error) {
	if t, ok := fieldTypeNames[name]; ok {
		return t, nil
	}
	return 0, fmt.Errorf("unknown field type %q", name)
}

// FieldRequest is one field to extract, as Falco fills ss_plugin_extract_field.
type FieldRequest struct {
	ID         uint32 // index of the field in the plugin's fields JSON
	Name       string
	ArgKey     string // key argument: foo[key]
	ArgIndex   uint64 // index argument: foo[3]
	ArgPresent bool
	Type       FieldType
	List       bool
}

// Request resolves a field expression as written in a Falco rule, e.g.
// "docker.host" or "docker.attributes[com.example.team]", against the
// plugin's fields: id, type, list flag, and argument checked against what
// the field accepts.
func (p *Plugin) Request(expr string) (FieldRequest, error) {
	name, arg, hasArg := expr, "", false
	if i := strings.IndexByte(expr, '['); i >= 0 {
		if !strings.HasSuffix(expr, "]") {
			return FieldRequest{}, fmt.Errorf("abihost: field %q: argument not closed by ]", expr)
		}
		name, arg, hasArg = expr[:i], expr[i+1:len(expr)-1], true
	}
	for id, f := range p.fields {
		if f.Name != name {
			continue
		}
		t, err := fieldType(f.Type)
		if err != nil {
			return FieldRequest{}, fmt.Errorf("abihost: field %q: %v", expr, err)
		}
		r := FieldRequest{ID: uint32(id), Name: name, Type: t, List: f.IsList}
		switch {
		case hasArg && !f.Arg.IsKey && !f.Arg.IsIndex:
			return FieldRequest{}, fmt.Errorf("abihost: field %q: %s takes no argument", expr, name)
		case !hasArg && f.Arg.IsRequired:
			return FieldRequest{}, fmt.Errorf("abihost: field %q: %s requires an argument", expr, name)
		case hasArg && arg == "":
			return FieldRequest{}, fmt.Errorf("abihost: field %q: empty argument", expr)
		case hasArg && f.Arg.IsIndex:
			idx, err := strconv.ParseUint(arg, 10, 64)
			if err != nil {
				if !f.Arg.IsKey {
					return FieldRequest{}, fmt.Errorf("abihost: field %q: index argument %q is not a number", expr, arg)
				}
				r.ArgKey = arg
			} else {
				r.ArgIndex = idx
			}
			r.ArgPresent = true
		case hasArg:
			r.ArgKey, r.ArgPresent = arg, true
		}
		return r, nil
	}
	return FieldRequest{}, fmt.Errorf("abihost: field %q: plugin %s has no field %q", expr, p.info.Name, name)
}

// Value is what one extraction of one field gave: zero values when the
// field does not apply to the event, one unless the field is a list.
type Value struct {
	Type    FieldType
	List    bool
	Strings []string // FieldString
	Uint64s []uint64 // FieldUint64, FieldRelTime, FieldAbsTime
	Bools   []bool   // FieldBool
	Bytes   [][]byte // FieldIPAddr, FieldIPNet
}

// Len is the number of values extracted.
func (v Value) Len() int {
	return len(v.Strings) + len(v.Uint64s) + len(v.Bools) + len(v.Bytes)
}

// String formats the value as Falco prints it in an output: "<NA>" when
// absent, lists in parentheses separated by commas.
func (v Value) String() string {
	var parts []string
	for _, s := range v.Strings {
		parts = append(parts, s)
	}
	for _, u := range v.Uint64s {
		parts = append(parts, strconv.FormatUint(u, 10))
	}
	for _, b := range v.Bools {
		parts = append(parts, strconv.FormatBool(b))
	}
	for _, b := range v.Bytes {
		parts = append(parts, net.IP(b).String())
	}
	switch {
	case len(parts) == 0:
		return "<NA>"
	case v.List:
		return "(" + strings.Join(parts, ",") + ")"
	default:
		return parts[0]
	}
}

// Extractor holds a prepared ss_plugin_extract_field array in C memory and
// calls extract_fields with one field per call, as Falco does. Once built,
// Extract allocates nothing in Go. An Extractor belongs to one Instance.
type Extractor struct {
	in     *Instance
	reqs   []FieldRequest
	fields *C.ss_plugin_extract_field // C array, len(reqs)
	xin    *C.ss_plugin_field_extract_input
	cstrs  []*C.char
	last   int // index of the field of the last successful Extract, -1 if none
}

// NewExtractor prepares reqs (from Plugin.Request) for repeated extraction
// on the events of in. Close releases its C memory.
func (in *Instance) NewExtractor(reqs []FieldRequest) (*Extractor, error) {
	if in.h == 0 {
		return nil, errors.New("abihost: instance is closed")
	}
	p := in.p
	if p.info.Capabilities&CapExtraction == 0 {
		return nil, fmt.Errorf("abihost: plugin %s has no field extraction capability", p.info.Name)
	}
	if len(reqs) == 0 {
		return nil, errors.New("abihost: no field to extract")
	}
	for _, r := range reqs {
		if int(r.ID) >= len(p.fields) || p.fields[r.ID].Name != r.Name {
			return nil, fmt.Errorf("abihost: field request %s (id %d) does not match plugin %s's fields", r.Name, r.ID, p.info.Name)
		}
	}
	x := &Extractor{
		in:     in,
		reqs:   append([]FieldRequest(nil), reqs...),
		fields: (*C.ss_plugin_extract_field)(C.calloc(C.size_t(len(reqs)), C.sizeof_ss_plugin_extract_field)),
		xin:    (*C.ss_plugin_field_extract_input)(C.calloc(1, C.sizeof_ss_plugin_field_extract_input)),
		last:   -1,
	}
	C.abihost_init_extract_input(x.xin, C.uintptr_t(p.owner))
	x.xin.num_fields = 1
	for i, r := range x.reqs {
		f := x.field(i)
		f.field_id = C.uint32_t(r.ID)
		f.field = x.cstr(r.Name)
		if r.ArgKey != "" {
			f.arg_key = x.cstr(r.ArgKey)
		}
		f.arg_index = C.uint64_t(r.ArgIndex)
		f.arg_present = boolC(r.ArgPresent)
		f.ftype = C.uint32_t(r.Type)
		f.flist = boolC(r.List)
	}
	return x, nil
}

func boolC(b bool) C.ss_plugin_bool {
	if b {
		return 1
	}
	return 0
}

func (x *Extractor) cstr(s string) *C.char {
	c := C.CString(s)
	x.cstrs = append(x.cstrs, c)
	return c
}

func (x *Extractor) field(i int) *C.ss_plugin_extract_field {
	return (*C.ss_plugin_extract_field)(unsafe.Add(unsafe.Pointer(x.fields), uintptr(i)*C.sizeof_ss_plugin_extract_field))
}

// Extract calls extract_fields for field i (an index into the requests
// given to NewExtractor) on ev, an event of the instance's latest batch, and
// returns the number of values the plugin set. Read them with Value or
// Uint64 before the next Extract: the plugin owns them until then.
func (x *Extractor) Extract(ev *Event, i int) (int, error) {
	x.last = -1
	if x.fields == nil {
		return 0, errors.New("abihost: extractor is closed")
	}
	if i < 0 || i >= len(x.reqs) {
		return 0, fmt.Errorf("abihost: field index %d out of range [0,%d)", i, len(x.reqs))
	}
	in := x.in
	if err := in.check(ev); err != nil {
		return 0, err
	}
	f := x.field(i)
	x.xin.fields = f
	p := in.p
	rc := C.abihost_extract(p.api, p.state, in.setEvent(ev), x.xin)
	if rc != C.SS_PLUGIN_SUCCESS {
		return 0, p.lastErr("extract_fields("+x.reqs[i].Name+")", rc)
	}
	n := uint64(f.res_len)
	if n > 1 && !x.reqs[i].List {
		return 0, fmt.Errorf("abihost: extract_fields of plugin %s set %d values for non-list field %s", p.info.Name, n, x.reqs[i].Name)
	}
	if n > 0 && resPtr(f) == nil {
		return 0, fmt.Errorf("abihost: extract_fields of plugin %s set %d values and no result array for %s", p.info.Name, n, x.reqs[i].Name)
	}
	x.last = i
	return int(n), nil
}

// resPtr reads the res union of f, which always holds a pointer.
func resPtr(f *C.ss_plugin_extract_field) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&f.res))
}

// Uint64 returns value j of the last extracted field, which must be of an
// integer type (uint64, reltime, abstime) or bool (as 0 or 1), without
// allocating; ok is false otherwise.
func (x *Extractor) Uint64(j int) (v uint64, ok bool) {
	if x.last < 0 {
		return 0, false
	}
	f := x.field(x.last)
	if j < 0 || uint64(j) >= uint64(f.res_len) {
		return 0, false
	}
	switch x.reqs[x.last].Type {
	case FieldUint64, FieldRelTime, FieldAbsTime:
		return *(*uint64)(unsafe.Add(resPtr(f), j*8)), true
	case FieldBool:
		return uint64(*(*uint32)(unsafe.Add(resPtr(f), j*4))), true
	}
	return 0, false
}

// Value copies the values of the last extracted field into Go memory.
func (x *Extractor) Value() (Value, error) {
	if x.last < 0 {
		return Value{}, errors.New("abihost: no successful extraction to read")
	}
	r := x.reqs[x.last]
	f := x.field(x.last)
	n := int(f.res_len)
	v := Value{Type: r.Type, List: r.List}
	if n == 0 {
		return v, nil
	}
	ptr := resPtr(f)
	switch r.Type {
	case FieldString:
		for _, s := range unsafe.Slice((**C.char)(ptr), n) {
			if s == nil {
				return Value{}, fmt.Errorf("abihost: extract_fields set a NULL string for %s", r.Name)
			}
			v.Strings = append(v.Strings, C.GoString(s))
		}
	case FieldUint64, FieldRelTime, FieldAbsTime:
		v.Uint64s = append(v.Uint64s, unsafe.Slice((*uint64)(ptr), n)...)
	case FieldBool:
		for _, b := range unsafe.Slice((*uint32)(ptr), n) {
			v.Bools = append(v.Bools, b != 0)
		}
	case FieldIPAddr, FieldIPNet:
		for _, b := range unsafe.Slice((*C.ss_plugin_byte_buffer)(ptr), n) {
			v.Bytes = append(v.Bytes, C.GoBytes(b.ptr, C.int(b.len)))
		}
	default:
		return Value{}, fmt.Errorf("abihost: field %s has unsupported type %d", r.Name, r.Type)
	}
	return v, nil
}

// ExtractAll extracts every field of the Extractor from ev, one
// extract_fields call per field, and returns copies of the values.
func (x *Extractor) ExtractAll(ev *Event) ([]Value, error) {
	out := make([]Value, len(x.reqs))
	for i := range x.reqs {
		if _, err := x.Extract(ev, i); err != nil {
			return nil, err
		}
		v, err := x.Value()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Close frees the Extractor's C memory. Closing twice does nothing.
func (x *Extractor) Close() {
	if x.fields == nil {
		return
	}
	for _, c := range x.cstrs {
		C.free(unsafe.Pointer(c))
	}
	C.free(unsafe.Pointer(x.fields))
	C.free(unsafe.Pointer(x.xin))
	x.fields, x.xin, x.cstrs, x.last = nil, nil, nil, -1
}

// Extract extracts reqs from ev as Falco does (one extract_fields call per
// field) and returns copies of the values. For repeated extraction, build
// an Extractor once instead.
func (in *Instance) Extract(ev Event, reqs []FieldRequest) ([]Value, error) {
	x, err := in.NewExtractor(reqs)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	return x.ExtractAll(&ev)
}
