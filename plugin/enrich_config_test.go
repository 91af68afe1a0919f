// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"strings"
	"testing"
	"time"
)

// On by default, with room for the context in every slot; off when every
// switch is turned off (the bare stream's cost: docs/PERFORMANCE.md).
func TestEnrichConfigOnByDefaultAndOff(t *testing.T) {
	for _, raw := range []string{"", "{}", `{"enrich": {}}`} {
		cfg, err := ParseConfig(raw)
		if err != nil {
			t.Fatal(err)
		}
		if o := streamOptions(cfg).Enrich; !o.Containers || !o.Execs || !o.Images || !o.Daemon || contextRoom(cfg.Enrich) == 0 ||
			o.Timeout != 2*time.Second || o.Concurrency != 16 || o.CacheSize != 4096 {
			t.Errorf("ParseConfig(%q): enrich %+v", raw, o)
		}
	}
	cfg, err := ParseConfig(`{"enrich": {"containers": false, "execs": false, "images": false, "daemon": false}}`)
	if err != nil {
		t.Fatal(err)
	}
	if o := streamOptions(cfg).Enrich; o.On() || contextRoom(cfg.Enrich) != 0 {
		t.Errorf("enrich off gives %+v", o)
	}
}

func TestEnrichConfigNamesBadKeys(t *testing.T) {
	for raw, want := range map[string]string{
		`{"enrich": {"timeout": "0s"}}`:     `"enrich.timeout"`,
		`{"enrich": {"concurrency": 257}}`:  `"enrich.concurrency"`,
		`{"enrich": {"timeout": "2m"}}`:     `"enrich.timeout"`,
		`{"enrich": {"concurrency": 0}}`:    `"enrich.concurrency"`,
		`{"enrich": {"cacheSize": 0}}`:      `"enrich.cacheSize"`,
		`{"enrich": {"containers": false}}`: `"enrich.images"`,
		`{"enrich": {"container": true}}`:   `"enrich.container"`,
		`{"enrich": {"timeout": 5}}`:        `duration`,
	} {
		_, err := ParseConfig(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%s) = %v, want an error naming %s", raw, err, want)
		}
	}
}
