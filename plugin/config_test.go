// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xeipuuv/gojsonschema"

	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// The defaults are the declared ones, and those of the stream where the
// plugin has no reason to differ.
func TestDefaultConfig(t *testing.T) {
	want := Config{
		Reconnect:         ReconnectConfig{MinBackoff: Duration(500 * time.Millisecond), MaxBackoff: Duration(30 * time.Second)},
		CallTimeout:       Duration(10 * time.Second),
		PingInterval:      Duration(30 * time.Second),
		StillDownInterval: Duration(5 * time.Minute),
		BufferSize:        32768,
		MaxEventSize:      65536,
		BatchSize:         128,
		Enrich: EnrichConfig{Containers: true, Execs: true, Images: true, Daemon: true,
			Timeout: Duration(2 * time.Second), Concurrency: 16, CacheSize: 4096},
		InventoryInterval: Duration(2 * time.Second),
		CertExpiryWarning: Duration(30 * 24 * time.Hour),
		Shard:             ShardConfig{Count: 1},
	}
	if got := DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultConfig() = %+v, want %+v", got, want)
	}
	if err := want.validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestParseConfigEmptyMeansDefaults(t *testing.T) {
	// Falco passes `init_config: {}` as null, and an empty map or list
	// inside it as null too.
	for _, raw := range []string{"", "  ", "null", "{}", " { } ", `{"tls": null, "filters": null, "reconnect": null}`,
		`{"filters": {"types": null, "actions": null, "labels": null}}`, `{"filters": {"types": []}}`} {
		cfg, err := ParseConfig(raw)
		if err != nil {
			t.Fatalf("ParseConfig(%q): %v", raw, err)
		}
		cfg.Filters.Types = nil // [] and null alike: no filter
		if !reflect.DeepEqual(cfg, DefaultConfig()) {
			t.Errorf("ParseConfig(%q) = %+v, want the defaults %+v", raw, cfg, DefaultConfig())
		}
	}
}

func TestParseConfigReadsEveryKey(t *testing.T) {
	raw := `{
		"tls": {"certDir": "/etc/d", "ca": "/etc/ca.pem", "cert": "/etc/c.pem", "key": "/etc/k.pem"},
		"filters": {"types": ["container", "image"], "actions": ["start", "exec_start", "health_status: unhealthy"], "labels": ["team", "env=prod"]},
		"reconnect": {"minBackoff": "100ms", "maxBackoff": "1m"},
		"callTimeout": "3s",
		"pingInterval": "2s",
		"stillDownInterval": "10m",
		"bufferSize": 100,
		"maxEventSize": 2048,
		"batchSize": 512,
		"useAsync": true,
		"enrich": {"containers": true, "execs": false, "images": false, "daemon": true, "timeout": "500ms", "concurrency": 4, "cacheSize": 100},
		"inventoryInterval": "500ms",
		"certExpiryWarning": "168h",
		"shard": {"count": 4, "fromPodName": true}
	}`
	cfg, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		TLS:               TLSConfig{CertDir: "/etc/d", CA: "/etc/ca.pem", Cert: "/etc/c.pem", Key: "/etc/k.pem"},
		Filters:           FiltersConfig{Types: []string{"container", "image"}, Actions: []string{"start", "exec_start", "health_status: unhealthy"}, Labels: []string{"team", "env=prod"}},
		Reconnect:         ReconnectConfig{MinBackoff: Duration(100 * time.Millisecond), MaxBackoff: Duration(time.Minute)},
		CallTimeout:       Duration(3 * time.Second),
		PingInterval:      Duration(2 * time.Second),
		StillDownInterval: Duration(10 * time.Minute),
		BufferSize:        100,
		MaxEventSize:      2048,
		BatchSize:         512,
		UseAsync:          true,
		Enrich:            EnrichConfig{Containers: true, Daemon: true, Timeout: Duration(500 * time.Millisecond), Concurrency: 4, CacheSize: 100},
		InventoryInterval: Duration(500 * time.Millisecond),
		CertExpiryWarning: Duration(168 * time.Hour),
		Shard:             ShardConfig{Count: 4, FromPodName: true},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestParseConfigKeepsDefaultsOfUnsetKeys(t *testing.T) {
	cfg, err := ParseConfig(`{"reconnect": {"maxBackoff": "2m"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(cfg.Reconnect.MinBackoff); got != 500*time.Millisecond {
		t.Errorf("minBackoff = %s, want the default 500ms", got)
	}
	if got := time.Duration(cfg.Reconnect.MaxBackoff); got != 2*time.Minute {
		t.Errorf("maxBackoff = %s, want 2m", got)
	}
}

func TestParseConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct{ raw, want string }{
		{`{"tsl": {}}`, `unknown key "tsl"`},
		{`{"tls": {"certdir": "/x"}}`, `unknown key "tls.certdir" (did you mean "tls.certDir"?)`},
		{`{"UseAsync": true}`, `unknown key "UseAsync" (did you mean "useAsync"?)`},
		{`{"filters": {"types": ["containers"]}}`, `key "filters.types[0]": "containers" is not an event type (container, image,`},
		{`{"filters": {"types": [1]}}`, `key "filters.types": want an array of strings, got an array holding a number`},
		{`{"filters": {"types": "container"}}`, `key "filters.types": want an array of strings, got a string`},
		{`{"filters": {"actions": ["Start"]}}`, `key "filters.actions[0]": "Start" is not an event action`},
		{`{"filters": {"labels": ["team", "=x"]}}`, `key "filters.labels[1]": "=x" is not a label`},
		{`{"filters": {"labels": [" "]}}`, `key "filters.labels[0]"`},
		{`{"filters": 3}`, `key "filters": want an object, got a number`},
		{`{"reconnect": {"minBackoff": "soon"}}`, `key "reconnect.minBackoff": want a duration such as "500ms" or "5s", from 100ms to 1h, got "soon"`},
		{`{"reconnect": {"minBackoff": "0s"}}`, `key "reconnect.minBackoff": want a duration from 100ms to 1h, got 0s`},
		{`{"reconnect": {"minBackoff": "1ns"}}`, `key "reconnect.minBackoff": want a duration from 100ms to 1h, got 1ns`},
		{`{"reconnect": {"minBackoff": "99ms"}}`, `key "reconnect.minBackoff": want a duration from 100ms to 1h, got 99ms`},
		{`{"reconnect": {"minBackoff": "10s", "maxBackoff": "1s"}}`, `key "reconnect.maxBackoff": 1s is less than reconnect.minBackoff 10s`},
		{`{"reconnect": {"maxBackoff": "2h"}}`, `key "reconnect.maxBackoff": want a duration from 100ms to 1h, got 2h`},
		{`{"callTimeout": 5}`, `key "callTimeout": want a duration such as "500ms" or "5s", from 1s to 10m, got 5`},
		{`{"callTimeout": "-1s"}`, `key "callTimeout": want a duration from 1s to 10m, got -1s`},
		{`{"callTimeout": "100ms"}`, `key "callTimeout": want a duration from 1s to 10m, got 100ms`},
		{`{"pingInterval": "10ms"}`, `key "pingInterval": want a duration from 1s to 24h, got 10ms`},
		{`{"stillDownInterval": "0s"}`, `key "stillDownInterval": want a duration from 1s to 24h, got 0s`},
		{`{"bufferSize": 0}`, `key "bufferSize": want a whole number from 1 to 1048576, got 0`},
		{`{"bufferSize": -1}`, `key "bufferSize": want a whole number from 1 to 1048576, got -1`},
		{`{"bufferSize": 1.5}`, `key "bufferSize": want a whole number from 1 to 1048576, got 1.5`},
		{`{"bufferSize": 5000000000}`, `key "bufferSize": want a whole number from 1 to 1048576, got 5000000000`},
		{`{"maxEventSize": 10}`, `key "maxEventSize": want a whole number from 1024 to 1048576, got 10`},
		{`{"maxEventSize": 2000000}`, `key "maxEventSize": want a whole number from 1024 to 1048576, got 2000000`},
		{`{"maxEventSize": "big"}`, `key "maxEventSize": want a whole number from 1024 to 1048576, got a string`},
		{`{"batchSize": 0}`, `key "batchSize": want a whole number from 1 to 65536, got 0`},
		{`{"batchSize": null}`, `key "batchSize": want a whole number from 1 to 65536, got null`},
		{`{"reconnect": {"minBackoff": null}}`, `key "reconnect.minBackoff": want a duration such as "500ms" or "5s", from 100ms to 1h, got null`},
		{`{"tls": {"ca": null}}`, `key "tls.ca": want a file path (a string), got null`},
		{`{"tls": {"ca": 1}}`, `key "tls.ca": want a file path (a string), got a number`},
		{`{"useAsync": "yes"}`, `key "useAsync": want true or false, got a string`},
		{`{"useAsync": null}`, `key "useAsync": want true or false, got null`},
		{`{"tls": {"key": "/k.pem"}}`, `key "tls.key" is set without "tls.cert"`},
		{`{"tls": {"cert": "/c.pem"}}`, `key "tls.cert" is set without "tls.key"`},
		{`"{}"`, `want a JSON object of settings, got a string`},
		{`[1, 2]`, `want a JSON object of settings, got an array`},
		{`true`, `want a JSON object of settings, got true or false`},
		{`{"batchSize": 1} {}`, `unexpected data`},
		{`{"batchSize": `, `init_config`},
		{`{"batchSize": 1,}`, `invalid JSON at byte`},
	}
	for _, c := range cases {
		_, err := ParseConfig(c.raw)
		if err == nil {
			t.Errorf("ParseConfig(%s) succeeded, want an error containing %q", c.raw, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "init_config: ") {
			t.Errorf("ParseConfig(%s) = %q, want it to start with \"init_config: \" and contain %q", c.raw, err, c.want)
		}
		// JSON words only: no Go type or package names.
		for _, goWord := range []string{"plugin.", "uint32", "[]string", "Go struct", "Go value", "Duration"} {
			if strings.Contains(err.Error(), goWord) {
				t.Errorf("ParseConfig(%s) = %q: speaks Go (%q)", c.raw, err, goWord)
			}
		}
	}
}

// The bounds accepted are the bounds the stream and the payload format
// take: a config with every setting at its maximum opens, and one with
// every setting at its minimum (batchSize aside: that many slots of the
// largest event are mapped at once, which Open reports naming both keys).
func TestExtremeSettingsOpen(t *testing.T) {
	for _, atMax := range []bool{true, false} {
		cfg := DefaultConfig()
		v := reflect.ValueOf(&cfg).Elem()
		for _, s := range settings {
			bound := s.min
			if atMax {
				bound = s.max
			}
			switch s.kind {
			case kindDuration:
				v.FieldByIndex(s.index).SetInt(bound)
			case kindCount:
				v.FieldByIndex(s.index).SetUint(uint64(bound))
			}
		}
		if atMax {
			cfg.BatchSize = 16
		}
		if err := cfg.validate(); err != nil {
			t.Fatalf("at max %v: %v", atMax, err)
		}
		inst, err := openInstance(cfg, "unix://"+t.TempDir()+"/nobody.sock")
		if err != nil {
			t.Fatalf("at max %v: Open refuses what Init accepts: %v", atMax, err)
		}
		inst.Close()
	}
	if s := lookupSetting("maxEventSize"); s.max != payload.MaxLineLen {
		t.Errorf("maxEventSize maximum %d, want payload.MaxLineLen %d", s.max, payload.MaxLineLen)
	}
}

// compiledSchema is the schema Falco checks init_config against, as the
// SDK's loader compiles it.
func compiledSchema(t testing.TB) *gojsonschema.Schema {
	schema, err := gojsonschema.NewSchema(gojsonschema.NewStringLoader(configSchema()))
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return schema
}

func schemaAccepts(t testing.TB, schema *gojsonschema.Schema, doc string) bool {
	res, err := schema.Validate(gojsonschema.NewStringLoader(doc))
	return err == nil && res.Valid()
}

// The schema is what Falco checks before Init; it must accept what Init
// accepts (including the nulls Falco passes for empty maps and lists) and
// refuse what it can tell is wrong the same way.
func TestSchemaAgreesWithParseConfig(t *testing.T) {
	schema := compiledSchema(t)
	accepted := []string{`null`, `{}`, `{"tls": {"certDir": "/d"}}`, `{"tls": null}`, `{"filters": {"types": null}}`,
		`{"filters": {"types": ["container"], "actions": ["die", "health_status: unhealthy"], "labels": ["a=b", "team"]}}`,
		`{"reconnect": {"minBackoff": "1s", "maxBackoff": "2s"}, "callTimeout": "1.5s", "maxEventSize": 4096, "batchSize": 64, "useAsync": false}`,
		`{"reconnect": {"minBackoff": "100ms", "maxBackoff": "1h"}, "pingInterval": "1m30s", "stillDownInterval": "+24h"}`,
		`{"maxEventSize": 1048576, "bufferSize": 1048576, "batchSize": 65536}`}
	for _, doc := range accepted {
		if !schemaAccepts(t, schema, doc) {
			t.Errorf("schema refuses %s", doc)
		}
		if _, err := ParseConfig(doc); err != nil {
			t.Errorf("ParseConfig refuses %s: %v", doc, err)
		}
	}
	refused := []string{`{"unknown": 1}`, `{"tls": {"x": "y"}}`, `{"filters": {"types": ["nope"]}}`,
		`{"filters": {"actions": ["Start"]}}`, `{"filters": {"labels": ["=x"]}}`, `{"filters": {"labels": [" =x"]}}`,
		`{"maxEventSize": 1}`, `{"maxEventSize": 1048577}`, `{"batchSize": 0}`, `{"batchSize": null}`, `{"useAsync": 1}`,
		`{"callTimeout": "soon"}`, `{"callTimeout": 5}`, `{"callTimeout": "-1s"}`, `{"tls": {"ca": null}}`, `[]`, `"x"`}
	for _, doc := range refused {
		if schemaAccepts(t, schema, doc) {
			t.Errorf("schema accepts %s", doc)
		}
		if _, err := ParseConfig(doc); err == nil {
			t.Errorf("ParseConfig accepts %s", doc)
		}
	}
}

// The schema's enum of filters.types is payload.EventTypes, the list the
// configuration is checked against, and every type passes.
func TestSchemaNamesEveryEventType(t *testing.T) {
	var schema struct {
		Properties struct {
			Filters struct {
				Properties struct {
					Types struct {
						Items struct {
							Enum []string `json:"enum"`
						} `json:"items"`
					} `json:"types"`
				} `json:"properties"`
			} `json:"filters"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(configSchema()), &schema); err != nil {
		t.Fatal(err)
	}
	if got := schema.Properties.Filters.Properties.Types.Items.Enum; !slices.Equal(got, payload.EventTypes) {
		t.Errorf("schema enum of filters.types %q, want payload.EventTypes %q", got, payload.EventTypes)
	}
	for _, typ := range payload.EventTypes {
		if _, err := ParseConfig(`{"filters":{"types":["` + typ + `"]}}`); err != nil {
			t.Errorf("type %q refused: %v", typ, err)
		}
	}
}

// The duration pattern of the schema accepts what time.ParseDuration does
// (but a sign), and nothing it refuses.
func TestDurationPattern(t *testing.T) {
	re := regexp.MustCompile(durationPattern)
	for _, s := range []string{"1s", "100ms", "1.5s", "1m30s", ".5h", "1.s", "+5m", "1000000us", "100000000ns", "1µs", "1μs", "1h2m3s4ms5us6ns"} {
		if !re.MatchString(s) {
			t.Errorf("pattern refuses %q", s)
		}
		if _, err := time.ParseDuration(s); err != nil {
			t.Errorf("the test is wrong: %q is no duration: %v", s, err)
		}
	}
	for _, s := range []string{"", "1", "s", "1 s", "1S", "-1s", "1d", "1.5", "soon", ".s", "1s "} {
		if re.MatchString(s) {
			t.Errorf("pattern accepts %q", s)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{"", "{}", "null", `{"tls":{"certDir":"/x"}}`, `{"tls":null}`, `{"filters":{"types":["container"]}}`,
		`{"filters":{"types":null,"actions":["health_status: healthy"],"labels":["a=b"]}}`, `{"filters":{"labels":[" =x"]}}`,
		`{"reconnect":{"minBackoff":"1s"}}`, `{"reconnect":{"minBackoff":"1ns"}}`, `{"reconnect":{"minBackoff":"100ms","maxBackoff":"1h"}}`,
		`{"batchSize": 3}`, `{"batchSize": null}`, `{"bufferSize": 1e3}`, `{"maxEventSize": 1048576}`, `{"maxEventSize": 2000000}`,
		`{"callTimeout": "1h"}`, `{"callTimeout": "+1.5s"}`, `{"pingInterval": "1m30s"}`, `{"useAsync": true}`, `{"TLS":{}}`,
		`"{}"`, `[`, `{"a":1} {}`} {
		f.Add(seed)
	}
	schema := compiledSchema(f)
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, err := ParseConfig(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "init_config: ") {
				t.Fatalf("error without the init_config prefix: %v", err)
			}
			return
		}
		// Whatever is accepted must be usable as it is ...
		if err := cfg.validate(); err != nil {
			t.Fatalf("accepted a config that does not validate (%v) from %q", err, raw)
		}
		if cfg.BatchSize == 0 || cfg.MaxEventSize < 1024 || int(cfg.MaxEventSize) > payload.MaxLineLen ||
			cfg.Reconnect.MinBackoff < Duration(100*time.Millisecond) || cfg.Reconnect.MaxBackoff < cfg.Reconnect.MinBackoff ||
			cfg.CallTimeout < Duration(time.Second) || cfg.PingInterval < Duration(time.Second) {
			t.Fatalf("accepted an unusable config %+v from %q", cfg, raw)
		}
		// ... and pass the schema Falco checks first, when it is what
		// Falco would pass (Init takes an empty string too).
		if doc := strings.TrimSpace(raw); doc != "" && !schemaAccepts(t, schema, doc) {
			t.Fatalf("Init accepts what the schema refuses: %q", raw)
		}
	})
}
