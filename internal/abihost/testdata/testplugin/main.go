// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Command testplugin is a tiny Falco plugin (event sourcing and field
// extraction, written with plugin-sdk-go) built as a c-shared library by the
// abihost tests. It emits counter events and, with "floor": true, is the ABI
// floor reference of the benchmarks: next_batch writes a fixed payload and
// extract sets a constant, so that what is measured is the plugin ABI and
// the SDK, not the plugin's own work.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/extractor"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/source"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/extract"
)

// baseTimestamp is the timestamp of event 0; event n is stamped
// baseTimestamp + n*1000, so that a test can check the header.
const baseTimestamp = 1_700_000_000_000_000_000

type config struct {
	// Floor makes the plugin the ABI floor reference.
	Floor bool `json:"floor"`
	// Async is passed to extract.SetAsync at every init (the setting is
	// global to the library and sticky across init/destroy cycles).
	Async bool `json:"async"`
	// Message goes into every event payload (normal mode).
	Message string `json:"message"`
	// PayloadSize is the size of the fixed payload (floor mode).
	PayloadSize int `json:"payloadSize"`
}

type testPlugin struct {
	plugins.BasePlugin
	cfg   config
	fixed []byte
}

type instance struct {
	source.BaseInstance
	p     *testPlugin
	next  uint64
	limit uint64 // 0: endless
	// filled marks the batch slots that hold the fixed payload (floor mode).
	filled []bool
}

func init() {
	plugins.SetFactory(func() plugins.Plugin {
		p := &testPlugin{}
		source.Register(p)
		extractor.Register(p)
		return p
	})
}

func (p *testPlugin) Info() *plugins.Info {
	return &plugins.Info{
		ID:                  999,
		Name:                "abitest",
		Description:         "abihost test plugin",
		Contact:             "github.com/dockerfleet/dockerfleet",
		Version:             "0.1.0",
		EventSource:         "docker",
		ExtractEventSources: []string{"docker"},
	}
}

func (p *testPlugin) InitSchema() *sdk.SchemaInfo {
	return &sdk.SchemaInfo{Schema: `{"type":["object","null"],"additionalProperties":false,"properties":{` +
		`"floor":{"type":"boolean"},"async":{"type":"boolean"},"message":{"type":"string"},` +
		`"payloadSize":{"type":"integer","minimum":1}}}`}
}

func (p *testPlugin) Init(raw string) error {
	cfg := config{Async: true, Message: "hello", PayloadSize: 64}
	if strings.TrimSpace(raw) != "" {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return fmt.Errorf("init config: %w", err)
		}
	}
	if cfg.PayloadSize < 1 {
		return fmt.Errorf("init config: payloadSize %d: must be at least 1", cfg.PayloadSize)
	}
	extract.SetAsync(cfg.Async)
	p.cfg = cfg
	p.fixed = bytes.Repeat([]byte{'x'}, cfg.PayloadSize)
	return nil
}

func (p *testPlugin) OpenParams() ([]sdk.OpenParam, error) {
	return []sdk.OpenParam{{Value: "10", Desc: "ten events"}, {Value: "", Desc: "endless"}}, nil
}

func (p *testPlugin) Open(params string) (source.Instance, error) {
	in := &instance{p: p}
	if params != "" {
		n, err := strconv.ParseUint(params, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("open params %q: want a count of events or nothing", params)
		}
		in.limit = n
	}
	return in, nil
}

func (in *instance) NextBatch(_ sdk.PluginState, evts sdk.EventWriters) (int, error) {
	n := 0
	for ; n < evts.Len(); n++ {
		if in.limit != 0 && in.next >= in.limit {
			break
		}
		w := evts.Get(n)
		w.SetTimestamp(baseTimestamp + in.next*1000)
		var err error
		if in.p.cfg.Floor {
			// The SDK's writer copies a byte at a time, which would make the
			// floor a measure of that loop: each slot gets the fixed payload
			// once and keeps it, so the floor is next_batch itself.
			if in.filled == nil {
				in.filled = make([]bool, evts.Len())
			}
			if !in.filled[n] {
				_, err = w.Writer().Write(in.p.fixed)
				in.filled[n] = true
			}
		} else {
			parity := "odd"
			if in.next%2 == 0 {
				parity = "even"
			}
			_, err = fmt.Fprintf(w.Writer(), "count=%d msg=%s parity=%s", in.next, in.p.cfg.Message, parity)
		}
		if err != nil {
			return n, err
		}
		in.next++
	}
	if n == 0 {
		return 0, sdk.ErrEOF
	}
	return n, nil
}

func (in *instance) Progress(_ sdk.PluginState) (float64, string) {
	if in.limit == 0 {
		return 0, fmt.Sprintf("%d/endless", in.next)
	}
	return float64(in.next) / float64(in.limit), fmt.Sprintf("%d/%d", in.next, in.limit)
}

func (p *testPlugin) String(evt sdk.EventReader) (string, error) {
	b, err := io.ReadAll(evt.Reader())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("#%d ts=%d %s", evt.EventNum(), evt.Timestamp(), b), nil
}

func (p *testPlugin) Fields() []sdk.FieldEntry {
	return []sdk.FieldEntry{
		{Type: "uint64", Name: "test.count", Desc: "the event counter"},
		{Type: "string", Name: "test.msg", Desc: "the message of the init config"},
		{Type: "string", Name: "test.attr", Desc: "a payload attribute by key", Arg: sdk.FieldEntryArg{IsRequired: true, IsKey: true}},
		{Type: "bool", Name: "test.even", Desc: "whether the counter is even"},
		{Type: "string", Name: "test.digits", IsList: true, Desc: "the decimal digits of the counter"},
		{Type: "uint64", Name: "test.evtnum", Desc: "the event number the host passed"},
		{Type: "string", Name: "test.fail", Desc: "always fails to extract"},
	}
}

// attrs parses "k=v k=v" payloads.
func attrs(evt sdk.EventReader) (map[string]string, error) {
	b, err := io.ReadAll(evt.Reader())
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, kv := range strings.Fields(string(b)) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("payload %q: %q is not key=value", b, kv)
		}
		m[k] = v
	}
	return m, nil
}

func (p *testPlugin) Extract(req sdk.ExtractRequest, evt sdk.EventReader) error {
	if req.Field() == "test.fail" {
		return errors.New("test.fail always fails")
	}
	if p.cfg.Floor {
		switch req.FieldType() {
		case sdk.FieldTypeUint64:
			req.SetValue(uint64(42))
		case sdk.FieldTypeBool:
			req.SetValue(true)
		default:
			if req.IsList() {
				req.SetValue([]string{"floor"})
			} else {
				req.SetValue("floor")
			}
		}
		return nil
	}
	if req.Field() == "test.evtnum" {
		req.SetValue(evt.EventNum())
		return nil
	}
	m, err := attrs(evt)
	if err != nil {
		return err
	}
	count, err := strconv.ParseUint(m["count"], 10, 64)
	if err != nil {
		return fmt.Errorf("payload count %q: %w", m["count"], err)
	}
	switch req.Field() {
	case "test.count":
		req.SetValue(count)
	case "test.msg":
		req.SetValue(m["msg"])
	case "test.attr":
		if v, ok := m[req.ArgKey()]; ok {
			req.SetValue(v)
		}
	case "test.even":
		req.SetValue(count%2 == 0)
	case "test.digits":
		req.SetValue(strings.Split(strconv.FormatUint(count, 10), ""))
	default:
		return fmt.Errorf("unknown field %s", req.Field())
	}
	return nil
}

func main() {}
