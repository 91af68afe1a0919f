// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/stream"
)

// Config is the plugin's init_config: what applies to every host of the fleet.
// Per-host settings live in open_params.
type Config struct {
	// TLS is the default TLS material of tcp endpoints that do not name their own.
	TLS TLSConfig `json:"tls"`
	// Filters are passed to each daemon's /events, so that what a rule never
	// looks at does not even cross the network.
	Filters FiltersConfig `json:"filters"`
	// Reconnect bounds the exponential backoff between two connection attempts
	// to the same host.
	Reconnect ReconnectConfig `json:"reconnect"`
	// CallTimeout bounds every call to a daemon except the event stream itself.
	CallTimeout Duration `json:"callTimeout"`
	// PingInterval is how often a connected daemon is pinged, to tell a hung
	// daemon from an idle one (an idle event stream is normal for Docker).
	PingInterval Duration `json:"pingInterval"`
	// StillDownInterval is how often a host that stays unreachable is
	// reported again (stream_still_down), so that rules can alert on hosts
	// silent for longer than that.
	StillDownInterval Duration `json:"stillDownInterval"`
	// BufferSize is the number of events held between the hosts and Falco;
	// past it, events are dropped, counted and reported as lost. It holds
	// at most BufferSize/16 batches of 16 KiB of payloads (32 MiB for the
	// default) while Falco falls behind, none while it keeps up. The
	// default absorbs the moments when Falco's thread waits for a core
	// under a flood from many hosts (see readerWorkers).
	BufferSize uint32 `json:"bufferSize"`
	// MaxEventSize is the largest event, in bytes, that reaches Falco; a larger
	// one is cut to fit (payload.Truncator) and flagged docker.truncated.
	MaxEventSize uint32 `json:"maxEventSize"`
	// BatchSize is the largest number of events handed to Falco per next_batch.
	BatchSize uint32 `json:"batchSize"`
	// UseAsync turns on the SDK's async extraction. Off by default: see
	// defaultUseAsync.
	UseAsync bool `json:"useAsync"`
}

// TLSConfig is default TLS material, as paths (never contents).
type TLSConfig struct {
	// CertDir is a directory laid out as DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem.
	CertDir string `json:"certDir"`
	// CA, Cert and Key are single files that override CertDir.
	CA   string `json:"ca"`
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// FiltersConfig selects, daemon side, which events are sent at all.
type FiltersConfig struct {
	// Types are event types (container, image, volume, ...).
	Types []string `json:"types"`
	// Actions are event actions (start, die, exec_start, ...).
	Actions []string `json:"actions"`
	// Labels are "key" or "key=value" container/object labels.
	Labels []string `json:"labels"`
}

// ReconnectConfig bounds the backoff between reconnection attempts.
type ReconnectConfig struct {
	MinBackoff Duration `json:"minBackoff"`
	MaxBackoff Duration `json:"maxBackoff"`
}

// Duration is a time.Duration written in JSON as a Go duration string ("500ms", "30s").
type Duration time.Duration

// UnmarshalJSON accepts a duration string such as "1.5s". Its errors are
// *json.UnmarshalTypeError, to which encoding/json adds the key's path.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: durationType}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: durationType}
	}
	*d = Duration(v)
	return nil
}

var durationType = reflect.TypeFor[Duration]()

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

const (
	// defaultUseAsync is off: on the 2-core machine of docs/PERFORMANCE.md,
	// the SDK's async extraction (a worker busy-waiting for requests in
	// shared memory) made a single-field extract 1.6-2.5x slower than the
	// synchronous C-to-Go call (about 500-850 ns against 300-350 ns, and
	// 1270 against 311 ns per field over all fields of an event), since the
	// spinning worker competes for the cores with the stream's readers. It
	// stays switchable for hosts with cores to spare.
	defaultUseAsync = false
	// defaultMaxEventSize is below the stream's own default line limit
	// (stream.DefaultMaxLineSize, 256 KiB) on purpose: every one of Falco's
	// batchSize slots is allocated this large, and Docker's event lines are
	// well under 4 KiB.
	defaultMaxEventSize = 64 * 1024
	defaultBatchSize    = 128
	maxMaxEventSize     = 16 * 1024 * 1024
	maxBatchSize        = 65536
	defaultBufferSize   = 32768
	maxBufferSize       = 1 << 20
)

// DefaultConfig returns the configuration used when init_config is empty.
func DefaultConfig() Config {
	return Config{
		Reconnect: ReconnectConfig{
			MinBackoff: Duration(500 * time.Millisecond),
			MaxBackoff: Duration(30 * time.Second),
		},
		CallTimeout:       Duration(10 * time.Second),
		PingInterval:      Duration(30 * time.Second),
		StillDownInterval: Duration(5 * time.Minute),
		BufferSize:        defaultBufferSize,
		MaxEventSize:      defaultMaxEventSize,
		BatchSize:         defaultBatchSize,
		UseAsync:          defaultUseAsync,
	}
}

//go:embed config.schema.json
var configSchema string

// eventTypes are the event types a Docker daemon emits; a filter naming
// another type could never match, which is almost surely a typo.
var eventTypes = func() map[string]bool {
	m := make(map[string]bool, len(payload.EventTypes))
	for _, t := range payload.EventTypes {
		m[t] = true
	}
	return m
}()

// actionPattern matches an action as the daemon's event filter takes it:
// a name, optionally with the suffix some actions carry
// ("health_status: healthy").
var actionPattern = regexp.MustCompile(`^[a-z][a-z_]*(: [^\x00-\x1f]+)?$`)

// ParseConfig reads init_config. Empty input, "{}" and "null" give the
// defaults; any key the plugin does not know is an error, because Falco does
// not validate the schema on every host and a misspelt key silently falling
// back to a default is exactly what a security team cannot afford.
func ParseConfig(raw string) (Config, error) {
	cfg := DefaultConfig()
	trimmed := strings.TrimSpace(raw)
	if trimmed == "" || trimmed == "null" {
		return cfg, nil
	}
	dec := json.NewDecoder(strings.NewReader(trimmed))
	var doc json.RawMessage
	if err := dec.Decode(&doc); err != nil {
		return Config{}, fmt.Errorf("init_config: %w", describeJSONError(err))
	}
	if dec.More() {
		return Config{}, errors.New("init_config: unexpected data after the JSON object")
	}
	// encoding/json matches keys case-insensitively; the schema does not.
	// Checking the exact keys first keeps Init as strict as the schema.
	if err := checkKeys(doc, reflect.TypeOf(cfg), ""); err != nil {
		return Config{}, fmt.Errorf("init_config: %w", err)
	}
	if err := json.Unmarshal(doc, &cfg); err != nil {
		return Config{}, fmt.Errorf("init_config: %w", describeJSONError(err))
	}
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("init_config: %w", err)
	}
	return cfg, nil
}

// checkKeys refuses any object key of doc that is not, letter for letter,
// the JSON name of a field of typ (recursively for nested structs).
func checkKeys(doc json.RawMessage, typ reflect.Type, path string) error {
	if typ.Kind() != reflect.Struct || len(doc) == 0 || doc[0] != '{' {
		return nil // not an object here: Unmarshal reports the type mismatch
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(doc, &obj); err != nil {
		return describeJSONError(err)
	}
	fields := make(map[string]reflect.Type, typ.NumField())
	for i := 0; i < typ.NumField(); i++ {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		fields[name] = typ.Field(i).Type
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		ft, ok := fields[k]
		if !ok {
			return fmt.Errorf("unknown key %q", path+k)
		}
		if err := checkKeys(obj[k], ft, path+k+"."); err != nil {
			return err
		}
	}
	return nil
}

// describeJSONError turns encoding/json errors into messages that name the key.
func describeJSONError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Type == durationType {
			return fmt.Errorf("key %q: want a duration such as \"500ms\" or \"5s\", got %s", typeErr.Field, typeErr.Value)
		}
		return fmt.Errorf("key %q: want %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Errorf("invalid JSON at byte %d: %v", syntaxErr.Offset, err)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "json: "))
}

func (c *Config) validate() error {
	if c.TLS.Key != "" && c.TLS.Cert == "" {
		return errors.New(`key "tls.key" is set without "tls.cert"`)
	}
	if c.TLS.Cert != "" && c.TLS.Key == "" {
		return errors.New(`key "tls.cert" is set without "tls.key"`)
	}
	for i, t := range c.Filters.Types {
		if !eventTypes[t] {
			return fmt.Errorf("key \"filters.types[%d]\": unknown event type %q (want one of %s)", i, t, knownTypes())
		}
	}
	for i, a := range c.Filters.Actions {
		if !actionPattern.MatchString(a) {
			return fmt.Errorf("key \"filters.actions[%d]\": %q is not an event action such as \"start\" or \"exec_start\"", i, a)
		}
	}
	for i, l := range c.Filters.Labels {
		key, _, _ := strings.Cut(l, "=")
		if strings.TrimSpace(key) == "" || strings.ContainsAny(l, "\x00\n\r") {
			return fmt.Errorf("key \"filters.labels[%d]\": %q is not \"key\" or \"key=value\"", i, l)
		}
	}
	minB, maxB := time.Duration(c.Reconnect.MinBackoff), time.Duration(c.Reconnect.MaxBackoff)
	if minB <= 0 {
		return fmt.Errorf(`key "reconnect.minBackoff": must be positive, got %s`, minB)
	}
	if maxB < minB {
		return fmt.Errorf(`key "reconnect.maxBackoff": %s is less than reconnect.minBackoff %s`, maxB, minB)
	}
	if time.Duration(c.CallTimeout) <= 0 {
		return fmt.Errorf(`key "callTimeout": must be positive, got %s`, time.Duration(c.CallTimeout))
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"pingInterval", c.PingInterval}, {"stillDownInterval", c.StillDownInterval}} {
		if time.Duration(d.v) < time.Second {
			return fmt.Errorf("key %q: must be at least 1s, got %s", d.key, time.Duration(d.v))
		}
	}
	if c.BufferSize < 1 || c.BufferSize > maxBufferSize {
		return fmt.Errorf(`key "bufferSize": %d is out of range [1, %d]`, c.BufferSize, maxBufferSize)
	}
	if c.MaxEventSize < 1024 || c.MaxEventSize > maxMaxEventSize {
		return fmt.Errorf(`key "maxEventSize": %d is out of range [1024, %d]`, c.MaxEventSize, maxMaxEventSize)
	}
	if c.BatchSize < 1 || c.BatchSize > maxBatchSize {
		return fmt.Errorf(`key "batchSize": %d is out of range [1, %d]`, c.BatchSize, maxBatchSize)
	}
	return nil
}

func knownTypes() string {
	names := slices.Clone(payload.EventTypes)
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// compactSchema strips the schema's indentation; Falco prints it in errors.
func compactSchema() string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(configSchema)); err != nil {
		// The schema is embedded at build time and checked by a test.
		return configSchema
	}
	return b.String()
}

// streamOptions maps init_config onto the stream's options.
func streamOptions(cfg Config) stream.Options {
	return stream.Options{
		Filters: stream.Filters{
			Types:   cfg.Filters.Types,
			Actions: cfg.Filters.Actions,
			Labels:  cfg.Filters.Labels,
		},
		MinBackoff:        time.Duration(cfg.Reconnect.MinBackoff),
		MaxBackoff:        time.Duration(cfg.Reconnect.MaxBackoff),
		CallTimeout:       time.Duration(cfg.CallTimeout),
		MaxLineSize:       int(cfg.MaxEventSize),
		PingInterval:      time.Duration(cfg.PingInterval),
		StillDownInterval: time.Duration(cfg.StillDownInterval),
		Buffer:            int(cfg.BufferSize),
	}
}
