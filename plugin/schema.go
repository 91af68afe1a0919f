// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// durationPattern matches what time.ParseDuration takes, but a sign: a
// duration the bounds of every duration setting could accept.
const durationPattern = `^\+?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`

// configSchema is the JSON schema of init_config (draft-07, as Falco and
// the SDK's loader validate it), made from settings once; compact, since
// Falco prints it in errors. config.schema.json is the same, indented, for
// people (a test keeps it current).
var configSchema = sync.OnceValue(func() string {
	b, err := json.Marshal(schemaDocument())
	if err != nil {
		panic("plugin: the init_config schema does not encode: " + err.Error())
	}
	return string(b)
})

// schemaDocument builds the schema from settings. Falco passes
// `init_config: {}` (and an empty map or list anywhere in it) as null:
// objects and arrays accept null, meaning empty.
func schemaDocument() object {
	root := object{
		{"$schema", "http://json-schema.org/draft-07/schema#"},
		{"title", "dockerfleet init_config"},
		{"description", "Settings that apply to every Docker host of the fleet. Hosts themselves are listed in open_params. Every key is optional; an empty init_config means the defaults."},
		{"type", []string{"object", "null"}},
		{"additionalProperties", false},
	}
	return append(root, member{"properties", propertiesOf("")})
}

// propertiesOf returns the schema of every setting directly under prefix
// ("" or a group's key and a dot), in declaration order.
func propertiesOf(prefix string) object {
	var props object
	for i := range settings {
		s := &settings[i]
		name, ok := strings.CutPrefix(s.key, prefix)
		if !ok || strings.Contains(name, ".") {
			continue
		}
		prop := s.schema()
		if s.kind == kindGroup {
			prop = append(prop, member{"properties", propertiesOf(s.key + ".")})
		}
		props = append(props, member{name, prop})
	}
	return props
}

// schema is the schema of s alone (a group without its properties).
func (s *setting) schema() object {
	doc := s.doc
	if s.kind == kindDuration {
		doc += " A Go duration from " + formatDuration(time.Duration(s.min)) + " to " + formatDuration(time.Duration(s.max)) + "."
	}
	if d := s.defaultText(); d != "" {
		doc += " Default " + d + "."
	}
	switch s.kind {
	case kindGroup:
		return object{{"type", []string{"object", "null"}}, {"description", doc}, {"additionalProperties", false}}
	case kindPath:
		return object{{"type", "string"}, {"description", doc}}
	case kindList:
		items := object{{"type", "string"}}
		if s.enum != nil {
			items = append(items, member{"enum", s.enum})
		}
		if s.pattern != nil {
			items = append(items, member{"pattern", s.pattern.String()})
		}
		return object{{"type", []string{"array", "null"}}, {"items", items}, {"description", doc}}
	case kindDuration:
		return object{
			{"type", "string"},
			{"pattern", durationPattern},
			{"default", formatDuration(time.Duration(s.def))},
			{"description", doc},
		}
	case kindCount:
		return object{{"type", "integer"}, {"minimum", s.min}, {"maximum", s.max}, {"default", s.def}, {"description", doc}}
	default:
		return object{{"type", "boolean"}, {"default", s.def != 0}, {"description", doc}}
	}
}

// object is a JSON object that keeps its members in order.
type object []member

type member struct {
	key   string
	value any
}

// MarshalJSON writes the members in order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := marshalNoEscape(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalNoEscape is json.Marshal without HTML escaping: descriptions and
// patterns stay readable (<, >, &).
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
