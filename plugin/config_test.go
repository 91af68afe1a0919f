// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xeipuuv/gojsonschema"

	"github.com/dockerfleet/dockerfleet/extract/payload"
)

func TestParseConfigEmptyMeansDefaults(t *testing.T) {
	for _, raw := range []string{"", "  ", "null", "{}", " { } "} {
		cfg, err := ParseConfig(raw)
		if err != nil {
			t.Fatalf("ParseConfig(%q): %v", raw, err)
		}
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
		"enrich": {"containers": true, "execs": false, "images": false, "daemon": true, "timeout": "500ms", "concurrency": 4, "cacheSize": 100}
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
		{`{"tls": {"certdir": "/x"}}`, `unknown key "tls.certdir"`},
		{`{"UseAsync": true}`, `unknown key "UseAsync"`},
		{`{"filters": {"types": ["containers"]}}`, `filters.types[0]`},
		{`{"filters": {"actions": ["Start"]}}`, `filters.actions[0]`},
		{`{"filters": {"labels": ["=x"]}}`, `filters.labels[0]`},
		{`{"reconnect": {"minBackoff": "soon"}}`, `key "reconnect.minBackoff": want a duration such as "500ms" or "5s", got "soon"`},
		{`{"reconnect": {"minBackoff": "0s"}}`, `reconnect.minBackoff`},
		{`{"reconnect": {"minBackoff": "10s", "maxBackoff": "1s"}}`, `reconnect.maxBackoff`},
		{`{"callTimeout": 5}`, `key "callTimeout": want a duration`},
		{`{"callTimeout": "-1s"}`, `callTimeout`},
		{`{"maxEventSize": 10}`, `maxEventSize`},
		{`{"pingInterval": "10ms"}`, `key "pingInterval": must be at least 1s`},
		{`{"stillDownInterval": "0s"}`, `key "stillDownInterval"`},
		{`{"bufferSize": 0}`, `key "bufferSize"`},
		{`{"maxEventSize": "big"}`, `key "maxEventSize"`},
		{`{"batchSize": 0}`, `batchSize`},
		{`{"useAsync": "yes"}`, `key "useAsync"`},
		{`{"tls": {"key": "/k.pem"}}`, `"tls.key" is set without "tls.cert"`},
		{`{"tls": {"cert": "/c.pem"}}`, `"tls.cert" is set without "tls.key"`},
		{`[1, 2]`, `init_config`},
		{`{"batchSize": 1} {}`, `unexpected data`},
		{`{"batchSize": `, `init_config`},
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
	}
}

// The schema is what Falco checks before Init; it must accept what Init
// accepts (including the null Falco passes for `init_config: {}`) and refuse
// unknown keys the same way.
func TestSchemaAgreesWithParseConfig(t *testing.T) {
	schema, err := gojsonschema.NewSchema(gojsonschema.NewStringLoader(compactSchema()))
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	accepted := []string{`null`, `{}`, `{"tls": {"certDir": "/d"}}`,
		`{"filters": {"types": ["container"], "actions": ["die"], "labels": ["a=b"]}}`,
		`{"reconnect": {"minBackoff": "1s", "maxBackoff": "2s"}, "callTimeout": "1s", "maxEventSize": 4096, "batchSize": 64, "useAsync": false}`}
	for _, doc := range accepted {
		res, err := schema.Validate(gojsonschema.NewStringLoader(doc))
		if err != nil || !res.Valid() {
			t.Errorf("schema refuses %s: %v %v", doc, err, res.Errors())
		}
		if _, err := ParseConfig(doc); err != nil {
			t.Errorf("ParseConfig refuses %s: %v", doc, err)
		}
	}
	refused := []string{`{"unknown": 1}`, `{"tls": {"x": "y"}}`, `{"filters": {"types": ["nope"]}}`,
		`{"maxEventSize": 1}`, `{"batchSize": 0}`, `{"useAsync": 1}`, `[]`}
	for _, doc := range refused {
		res, err := schema.Validate(gojsonschema.NewStringLoader(doc))
		if err == nil && res.Valid() {
			t.Errorf("schema accepts %s", doc)
		}
		if _, err := ParseConfig(doc); err == nil {
			t.Errorf("ParseConfig accepts %s", doc)
		}
	}
}

// Every JSON key of Config must be described in the schema, and the other way
// round, so that the two cannot drift apart.
func TestSchemaDescribesEveryConfigKey(t *testing.T) {
	var schema struct {
		Properties map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(configSchema), &schema); err != nil {
		t.Fatal(err)
	}
	fromSchema := map[string]bool{}
	for k, v := range schema.Properties {
		fromSchema[k] = true
		for sub := range v.Properties {
			fromSchema[k+"."+sub] = true
		}
	}
	fromStruct := map[string]bool{}
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name := prefix + strings.Split(f.Tag.Get("json"), ",")[0]
			fromStruct[name] = true
			if f.Type.Kind() == reflect.Struct {
				walk(name+".", f.Type)
			}
		}
	}
	walk("", reflect.TypeOf(Config{}))
	if !reflect.DeepEqual(fromSchema, fromStruct) {
		t.Errorf("schema keys %v\nstruct keys %v", fromSchema, fromStruct)
	}
}

// The schema's enum of filters.types is payload.EventTypes, the list the
// configuration is checked against.
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
	if err := json.Unmarshal([]byte(configSchema), &schema); err != nil {
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

func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{"", "{}", "null", `{"tls":{"certDir":"/x"}}`, `{"filters":{"types":["container"]}}`,
		`{"reconnect":{"minBackoff":"1s"}}`, `{"batchSize": 3}`, `{"callTimeout": "1h"}`, `[`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, err := ParseConfig(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "init_config: ") {
				t.Fatalf("error without the init_config prefix: %v", err)
			}
			return
		}
		// Whatever is accepted must be usable as it is.
		if cfg.BatchSize == 0 || cfg.MaxEventSize < 1024 || cfg.Reconnect.MinBackoff <= 0 ||
			cfg.Reconnect.MaxBackoff < cfg.Reconnect.MinBackoff || cfg.CallTimeout <= 0 {
			t.Fatalf("accepted an unusable config %+v from %q", cfg, raw)
		}
	})
}
