// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package plugin is the Falco entry point of dockerfleet: it declares the
// plugin's identity, reads init_config, opens a stream of the Docker events of
// every host listed in open_params and extracts the docker.* fields.
//
// The package only glues the others together: hosts parses endpoints and
// builds Docker clients, stream watches the hosts, extract owns the fields.
//
// # Configuration
//
// Every init_config key is declared once, in settings (settings.go): its
// default, its bounds and its description. DefaultConfig, the checks of
// ParseConfig, the JSON schema Falco validates init_config against
// (InitSchema, config.schema.json) and the README's table of keys are all
// made from that declaration; tests keep the generated files current.
//
// # Handing events to Falco
//
// Falco reads a batch of events, each a plugin event header followed by
// the payload (event.go has the layout and the one writer of headers).
// The stream's readers leave room for that header before every payload
// they build and write it there (stream.Options.Headroom and Frame), so
// that next_batch hands Falco the payload where it lies, its batch pinned
// until the next call; the plugin's own health events and a payload too
// large for its batch are copied into slots of a batch the plugin maps
// itself (slots.go).
//
// # Sharing the cores with Falco
//
// next_batch runs on Falco's thread, which needs a P of the plugin's Go
// runtime and a core to run on, while the stream's readers, one per host,
// compete for the same. Under a flood from many hosts, runnable readers
// would keep every P busy and next_batch would wait behind them; with as
// many working readers as cores, it would wait for a core instead, the
// queue would fill up and the readers would build events only to drop
// them. So the plugin
//
//   - gives its runtime one P more than it has cores (spareProc), so that
//     Falco's thread always finds a P;
//   - lets one reader fewer than its cores work at once
//     (stream.Options.Workers, readerWorkers), so that it finds a core,
//     but at least two, since one working reader on a 2-core machine
//     binds reading to one core;
//   - queues up to bufferSize events, a default sized for the moments
//     Falco's thread still waits for a core.
//
// The measurements behind each choice are in docs/PERFORMANCE.md.
package plugin

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/source"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/extract"

	extractfields "github.com/dockerfleet/dockerfleet/extract"
	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/stream"
)

const (
	// PluginID is in the range the plugin registry keeps for plugins that are
	// not registered (1073741824-2147483647); it spells "dock" in ASCII. The
	// public registry's ID 5 belongs to the original docker plugin.
	PluginID = 1685021547
	// PluginName is the name used in falco.yaml.
	PluginName = "dockerfleet"
	// EventSource is shared with the original docker plugin, so that rules
	// written for Docker events keep their `source: docker`.
	EventSource = "docker"
	// Version is the plugin's semantic version.
	Version = "0.1.0"
	// RequiredAPIVersion is the plugin API the plugin needs: 3.11.0 is what
	// plugin-sdk-go v0.8.3 is built and tested against, first shipped in
	// Falco 0.41.0.
	RequiredAPIVersion = "3.11.0"
)

// Plugin is one initialised dockerfleet plugin.
type Plugin struct {
	plugins.BasePlugin
	config Config

	// The payload parsed for the event Falco extracts from now. Falco calls
	// Extract once per field of the same event; parsing once per event number
	// saves the work for every field after the first.
	cachedNum  uint64
	cachedData unsafe.Pointer
	cached     payload.Event
	cachedErr  error

	// extractor hands values to the SDK without allocating (created at Init).
	extractor *extractfields.Extractor

	// fleet is the fleet of the latest Open, read by Metrics from the
	// thread Falco collects metrics on.
	fleet atomic.Pointer[stream.Fleet]
}

// Info returns the plugin's identity.
func (p *Plugin) Info() *plugins.Info {
	return &plugins.Info{
		ID:                  PluginID,
		Name:                PluginName,
		Description:         "Docker events of a whole fleet of Docker hosts (unix sockets and tcp with mutual TLS), each tagged with its host",
		Contact:             "github.com/dockerfleet/dockerfleet",
		Version:             Version,
		RequiredAPIVersion:  RequiredAPIVersion,
		EventSource:         EventSource,
		ExtractEventSources: []string{EventSource},
	}
}

// InitSchema describes init_config, so that Falco can check it before Init.
func (p *Plugin) InitSchema() *sdk.SchemaInfo {
	return &sdk.SchemaInfo{Schema: configSchema()}
}

// Init reads init_config. It is called once per plugin instance, and again on
// every hot reload of Falco.
func (p *Plugin) Init(config string) error {
	cfg, err := ParseConfig(config)
	if err != nil {
		balanceFailedInit()
		return err
	}
	p.config = cfg
	p.extractor = extractfields.NewExtractor()
	// Must happen here, before the SDK starts the extraction workers right
	// after Init returns.
	extract.SetAsync(cfg.UseAsync)
	initSucceeded.Store(true)
	return nil
}

// initSucceeded tells whether an Init succeeded in this process, hence
// whether the SDK has installed its before-destroy hook.
var initSucceeded atomic.Bool

// balanceFailedInit works around a crash of plugin-sdk-go v0.8.3: the SDK
// starts async extraction only after a successful Init, but once a first
// Init has succeeded in the process it stops async extraction before every
// destroy, failed Init included; with no other plugin state alive, the
// counter goes below zero and the SDK panics, taking Falco down instead of
// letting it report the bad init_config (Falco destroys failed states, e.g.
// on a hot reload with a broken config). Starting it once more, disabled,
// for the failed state balances the stop that is coming. Disabled, the start
// only counts: it takes no worker and no batch slot.
func balanceFailedInit() {
	if initSucceeded.Load() {
		extract.SetAsync(false)
		extract.StartAsync(0)
	}
}

// Fields lists every field the plugin extracts.
func (p *Plugin) Fields() []sdk.FieldEntry {
	return extractfields.Fields()
}

// Extract serves one field of one event.
func (p *Plugin) Extract(req sdk.ExtractRequest, evt sdk.EventReader) error {
	ev, err := p.event(evt)
	if err != nil {
		return err
	}
	if p.extractor == nil { // Extract before Init: never from Falco
		return extractfields.Extract(req, ev)
	}
	return p.extractor.Extract(req, ev)
}

// String renders an event as the `docker events` line with its host.
func (p *Plugin) String(evt sdk.EventReader) (string, error) {
	ev, err := p.event(evt)
	if err != nil {
		return "", err
	}
	return extractfields.String(ev), nil
}

// OpenParams suggests endpoints for open_params: the local socket when it
// exists and DOCKER_HOST when set.
func (p *Plugin) OpenParams() ([]sdk.OpenParam, error) {
	var params []sdk.OpenParam
	for _, s := range hosts.Suggest(os.Getenv, fileExists) {
		params = append(params, sdk.OpenParam{Value: s, Desc: "Docker daemon endpoint", Separator: ","})
	}
	return params, nil
}

// Open parses open_params and starts watching every host it lists.
func (p *Plugin) Open(params string) (source.Instance, error) {
	inst, err := openInstance(p.config, params)
	if err != nil {
		return nil, err
	}
	p.fleet.Store(inst.fleet)
	return inst, nil
}

// event returns the payload of evt, parsed once per event number. The
// payload is read in place, without copying it out of the memory Falco owns:
// the cache keys on the buffer's address too, since the same event number can
// come back in another buffer (a capture replayed, another instance).
func (p *Plugin) event(evt sdk.EventReader) (*payload.Event, error) {
	data := eventData(evt)
	if evt.EventNum() != p.cachedNum || unsafe.Pointer(unsafe.SliceData(data)) != p.cachedData || p.cachedData == nil {
		p.cachedNum = evt.EventNum()
		p.cachedData = unsafe.Pointer(unsafe.SliceData(data))
		p.cached, p.cachedErr = payload.Parse(data)
		if p.cachedErr != nil {
			p.cachedErr = fmt.Errorf("event %d: %w", evt.EventNum(), p.cachedErr)
		}
	}
	if p.cachedErr != nil {
		return nil, p.cachedErr
	}
	return &p.cached, nil
}

// bufferReader is what the SDK's event reader offers beyond io.ReadSeeker:
// direct access to the payload memory Falco owns.
type bufferReader interface {
	BufferPtr() unsafe.Pointer
	Len() int64
}

// eventData returns the payload of evt. The slice aliases Falco's memory and
// is valid only during the current call from Falco.
func eventData(evt sdk.EventReader) []byte {
	if reflect.TypeOf(evt) == sdkEventReaderType {
		return inputEventData(evt)
	}
	r := evt.Reader()
	if br, ok := r.(bufferReader); ok {
		if n := br.Len(); n > 0 && br.BufferPtr() != nil {
			return unsafe.Slice((*byte)(br.BufferPtr()), int(n))
		}
		return nil
	}
	// Another SDK implementation: copy the payload out.
	data, err := io.ReadAll(r)
	if err != nil {
		return nil
	}
	return data
}

// sdkEventReaderType is the SDK's own EventReader: a pointer to the
// ss_plugin_event_input Falco passes to extract_fields and event_to_string.
var sdkEventReaderType = reflect.TypeOf(sdk.NewEventReader(nil))

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
