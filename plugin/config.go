// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/dockerfleet/dockerfleet/stream"
)

// Config is the plugin's init_config: what applies to every host of the
// fleet (per-host settings live in open_params). What each key means, its
// default and its bounds are declared once, in settings.
type Config struct {
	// TLS is the default TLS material of tcp endpoints that name none.
	TLS TLSConfig `json:"tls"`
	// Filters go to each daemon's /events.
	Filters FiltersConfig `json:"filters"`
	// Reconnect bounds the backoff between connection attempts to a host.
	Reconnect ReconnectConfig `json:"reconnect"`
	// CallTimeout bounds every call to a daemon but the event stream.
	CallTimeout Duration `json:"callTimeout"`
	// PingInterval is how often a connected daemon is pinged.
	PingInterval Duration `json:"pingInterval"`
	// StillDownInterval is how often a host that stays down is reported again.
	StillDownInterval Duration `json:"stillDownInterval"`
	// BufferSize is the number of events held between the hosts and Falco.
	BufferSize uint32 `json:"bufferSize"`
	// MaxEventSize is the longest event line delivered as the daemon sent it;
	// a longer one is cut to fit and flagged docker.truncated.
	MaxEventSize uint32 `json:"maxEventSize"`
	// BatchSize is the largest number of events handed to Falco per next_batch.
	BatchSize uint32 `json:"batchSize"`
	// UseAsync turns on the SDK's async extraction.
	UseAsync bool `json:"useAsync"`
	// Enrich asks each daemon about its containers, execs and itself.
	Enrich EnrichConfig `json:"enrich"`
	// InventoryInterval is how often the inventory files of open_params
	// are checked for changes.
	InventoryInterval Duration `json:"inventoryInterval"`
	// CertExpiryWarning is how long before its expiry a client certificate
	// is reported (cert_expiring).
	CertExpiryWarning Duration `json:"certExpiryWarning"`
	// Shard keeps this Falco's share of a fleet watched by several.
	Shard ShardConfig `json:"shard"`
}

// ShardConfig splits a fleet over several Falco replicas, each watching
// the hosts that rendezvous hashing of their labels gives it
// (hosts.Shard).
type ShardConfig struct {
	// Count is the number of replicas; 1 watches every host.
	Count uint32 `json:"count"`
	// Index is this replica, from 0.
	Index uint32 `json:"index"`
	// FromPodName takes Index from the ordinal of this pod's name
	// ($HOSTNAME of a StatefulSet pod, falco-2 -> 2).
	FromPodName bool `json:"fromPodName"`
}

// TLSConfig is default TLS material, as paths (never contents).
type TLSConfig struct {
	// CertDir is a directory laid out as DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem.
	CertDir string `json:"certDir"`
	// CA is a CA bundle file; it overrides CertDir's.
	CA string `json:"ca"`
	// Cert is a client certificate file; it overrides CertDir's.
	Cert string `json:"cert"`
	// Key is the private key file of Cert.
	Key string `json:"key"`
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
	// MinBackoff is the first wait.
	MinBackoff Duration `json:"minBackoff"`
	// MaxBackoff is the longest wait.
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
	return json.Marshal(formatDuration(time.Duration(d)))
}

// DefaultConfig returns the configuration used when init_config is empty:
// the default of every setting.
func DefaultConfig() Config {
	var cfg Config
	v := reflect.ValueOf(&cfg).Elem()
	for _, s := range settings {
		f := v.FieldByIndex(s.index)
		switch s.kind {
		case kindDuration:
			f.SetInt(s.def)
		case kindCount:
			f.SetUint(uint64(s.def))
		case kindFlag:
			f.SetBool(s.def != 0)
		}
	}
	return cfg
}

// ParseConfig reads init_config. Empty input and "null" (what Falco passes
// for `init_config: {}`) give the defaults; any key the plugin does not
// know is an error, because Falco does not validate the schema on every
// host and a misspelt key silently falling back to a default is exactly
// what a security team cannot afford. Every error names the key.
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
	// encoding/json matches keys case-insensitively and takes null for
	// "leave as is" anywhere; the schema matches letter for letter and takes
	// null only for an empty map or list. Checking the keys first keeps Init
	// as strict as the schema.
	if err := checkKeys(doc, ""); err != nil {
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

// checkKeys refuses any object key of doc, an object at path (a group:
// "" for init_config itself), that is not, letter for letter, a setting,
// and a null where a setting takes a single value.
func checkKeys(doc json.RawMessage, path string) error {
	if len(doc) == 0 || doc[0] != '{' {
		return nil // not an object here: Unmarshal reports the type mismatch
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(doc, &obj); err != nil {
		return describeJSONError(err)
	}
	for _, k := range sortedKeys(obj) {
		s := lookupSetting(path + k)
		if s == nil {
			return unknownKey(path + k)
		}
		switch {
		case string(obj[k]) == "null" && s.kind != kindGroup && s.kind != kindList:
			return fmt.Errorf("key %q: want %s, got null", s.key, s.want())
		case s.kind == kindGroup:
			if err := checkKeys(obj[k], s.key+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// unknownKey names the key, and the setting it probably meant when only
// the letter case differs.
func unknownKey(key string) error {
	for _, s := range settings {
		if strings.EqualFold(s.key, key) {
			return fmt.Errorf("unknown key %q (did you mean %q?)", key, s.key)
		}
	}
	return fmt.Errorf("unknown key %q", key)
}

// describeJSONError turns encoding/json errors into messages in JSON words
// that name the key.
func describeJSONError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return fmt.Errorf("want a JSON object of settings, got %s", jsonWords(typeErr.Value))
		}
		s := lookupSetting(typeErr.Field)
		if s == nil { // cannot happen: checkKeys knows every key
			return fmt.Errorf("key %q: got %s", typeErr.Field, jsonWords(typeErr.Value))
		}
		got := jsonWords(typeErr.Value)
		if typeErr.Type == durationType {
			got = quoteJSON(typeErr.Value)
		}
		if s.kind == kindList && typeErr.Type.Kind() == reflect.String {
			got = "an array holding " + got
		}
		return fmt.Errorf("key %q: want %s, got %s", s.key, s.want(), got)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Errorf("invalid JSON at byte %d: %s", syntaxErr.Offset, strings.TrimPrefix(err.Error(), "json: "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "json: "))
}

// jsonWords names what encoding/json found (json.UnmarshalTypeError.Value)
// in JSON's words: "a string", "an array", or the number itself.
func jsonWords(value string) string {
	switch value {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	case "array":
		return "an array"
	case "object":
		return "an object"
	}
	if n, ok := strings.CutPrefix(value, "number "); ok {
		return n
	}
	return quoteJSON(value)
}

// quoteJSON shows a piece of the user's JSON, shortened when long.
func quoteJSON(raw string) string {
	const limit = 64
	if len(raw) > limit {
		return raw[:limit] + "..."
	}
	return raw
}

// validate checks what the types alone do not: every setting's bounds, then
// the rules between settings.
func (c *Config) validate() error {
	v := reflect.ValueOf(c).Elem()
	for i := range settings {
		if err := settings[i].check(v.FieldByIndex(settings[i].index)); err != nil {
			return err
		}
	}
	if c.TLS.Key != "" && c.TLS.Cert == "" {
		return errors.New(`key "tls.key" is set without "tls.cert"`)
	}
	if c.TLS.Cert != "" && c.TLS.Key == "" {
		return errors.New(`key "tls.cert" is set without "tls.key"`)
	}
	if err := c.Shard.validate(); err != nil {
		return err
	}
	if c.Reconnect.MaxBackoff < c.Reconnect.MinBackoff {
		return fmt.Errorf(`key "reconnect.maxBackoff": %s is less than reconnect.minBackoff %s`,
			formatDuration(time.Duration(c.Reconnect.MaxBackoff)), formatDuration(time.Duration(c.Reconnect.MinBackoff)))
	}
	return c.Enrich.validate()
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
		Enrich:            cfg.Enrich.options(),
	}
}
