// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Command naiveplugin is the "straightforward implementation" reference of
// the benchmarks (issue 4): a Falco plugin built the way the original docker
// plugin is. One Docker client per host decodes each event into an
// events.Message (client.Events), next_batch re-encodes it to JSON as the
// payload, and extract decodes that JSON again for every field. It declares
// the same field names as dockerfleet for the fields the benchmarks use.
//
// open_params is a comma-separated list of unix:// or tcp:// daemon URLs,
// each optionally followed by "?name=LABEL" (tls is not supported).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/client"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/extractor"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/source"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/extract"
)

// message is the payload: the host label and the decoded event.
type message struct {
	Host string         `json:"host"`
	Msg  events.Message `json:"msg"`
}

type naivePlugin struct {
	plugins.BasePlugin
}

type hostMsg struct {
	host string
	msg  events.Message
}

type instance struct {
	source.BaseInstance
	cancel  context.CancelFunc
	clients []*client.Client
	ch      chan hostMsg
}

func init() {
	plugins.SetFactory(func() plugins.Plugin {
		p := &naivePlugin{}
		source.Register(p)
		extractor.Register(p)
		return p
	})
}

func (p *naivePlugin) Info() *plugins.Info {
	return &plugins.Info{
		ID:                  998,
		Name:                "naivedocker",
		Description:         "straightforward Docker events plugin (benchmark reference)",
		Contact:             "github.com/dockerfleet/dockerfleet",
		Version:             "0.1.0",
		EventSource:         "docker",
		ExtractEventSources: []string{"docker"},
	}
}

func (p *naivePlugin) Init(string) error {
	// Synchronous extraction, as dockerfleet's default: the comparison is
	// about the plugin's own work, not the SDK's extraction mode.
	extract.SetAsync(false)
	return nil
}

func (p *naivePlugin) Open(params string) (source.Instance, error) {
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{cancel: cancel, ch: make(chan hostMsg, 4096)}
	for _, raw := range strings.Split(params, ",") {
		raw = strings.TrimSpace(raw)
		u, err := url.Parse(raw)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("endpoint %q: %w", raw, err)
		}
		name := u.Query().Get("name")
		if name == "" {
			name = raw
		}
		u.RawQuery = ""
		cli, err := client.NewClientWithOpts(client.WithHost(u.String()), client.WithAPIVersionNegotiation())
		if err != nil {
			cancel()
			return nil, fmt.Errorf("endpoint %q: %w", raw, err)
		}
		in.clients = append(in.clients, cli)
		go in.watch(ctx, cli, name)
	}
	return in, nil
}

func (in *instance) watch(ctx context.Context, cli *client.Client, name string) {
	msgs, errs := cli.Events(ctx, events.ListOptions{})
	for {
		select {
		case m := <-msgs:
			select {
			case in.ch <- hostMsg{host: name, msg: m}:
			case <-ctx.Done():
				return
			}
		case <-errs:
			return
		case <-ctx.Done():
			return
		}
	}
}

func (in *instance) NextBatch(_ sdk.PluginState, evts sdk.EventWriters) (int, error) {
	timeout := time.After(30 * time.Millisecond)
	n := 0
	for n < evts.Len() {
		var hm hostMsg
		select {
		case hm = <-in.ch:
		case <-timeout:
			if n == 0 {
				return 0, sdk.ErrTimeout
			}
			return n, nil
		}
		b, err := json.Marshal(message{Host: hm.host, Msg: hm.msg})
		if err != nil {
			return n, err
		}
		w := evts.Get(n)
		if _, err := w.Writer().Write(b); err != nil {
			return n, err
		}
		w.SetTimestamp(uint64(hm.msg.TimeNano))
		n++
		if len(in.ch) == 0 {
			break
		}
	}
	return n, nil
}

func (in *instance) Close() {
	in.cancel()
	for _, c := range in.clients {
		_ = c.Close()
	}
}

func (p *naivePlugin) Fields() []sdk.FieldEntry {
	return []sdk.FieldEntry{
		{Type: "string", Name: "docker.type", Desc: "type"},
		{Type: "string", Name: "docker.action", Desc: "action"},
		{Type: "string", Name: "docker.actor.id", Desc: "actor ID"},
		{Type: "string", Name: "docker.host", Desc: "host label"},
		{Type: "string", Name: "docker.attributes.name", Desc: "name attribute"},
		{Type: "string", Name: "docker.attributes.image", Desc: "image attribute"},
		{Type: "string", Name: "docker.attributes", Desc: "attribute by key", Arg: sdk.FieldEntryArg{IsKey: true, IsRequired: true}},
	}
}

func (p *naivePlugin) Extract(req sdk.ExtractRequest, evt sdk.EventReader) error {
	b, err := io.ReadAll(evt.Reader())
	if err != nil {
		return err
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	var v string
	var ok bool
	switch req.FieldID() {
	case 0:
		v, ok = string(m.Msg.Type), true
	case 1:
		v, ok = string(m.Msg.Action), true
	case 2:
		v, ok = m.Msg.Actor.ID, true
	case 3:
		v, ok = m.Host, true
	case 4:
		v, ok = m.Msg.Actor.Attributes["name"]
	case 5:
		v, ok = m.Msg.Actor.Attributes["image"]
	case 6:
		v, ok = m.Msg.Actor.Attributes[req.ArgKey()]
	default:
		return fmt.Errorf("unknown field %s", req.Field())
	}
	if ok {
		req.SetValue(v)
	}
	return nil
}

func main() {}
