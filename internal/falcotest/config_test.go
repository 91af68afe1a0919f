// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package falcotest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// examplePaths are the init_config paths of each shipped example, replaced
// by every test config (falco_test.go sets them to the test daemons' files).
var examplePaths = map[string][]string{
	"falco-single-host.yaml": nil,
	"falco-tls.yaml":         {"tls.ca", "tls.cert", "tls.key"},
	"falco-fleet.yaml":       {"tls.certDir"},
	"falco-inventory.yaml":   {"tls.certDir"},
}

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v in:\n%s", err, b)
	}
	return m
}

func pathsFor(keys []string) map[string]string {
	p := map[string]string{}
	for _, k := range keys {
		p[k] = "/test/" + k
	}
	return p
}

// Every example derives, with the plugin's library, open_params, the paths
// and the rules replaced, Runtime set, and every other setting kept as the
// example has it.
func TestDeriveKeepsTheExample(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples (%v)", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		keys, ok := examplePaths[name]
		if !ok {
			t.Errorf("examples/%s is new: list its init_config paths in examplePaths", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			example := readExample(t, name)
			paths := pathsFor(keys)
			out, err := Derive(example, Setup{Library: "/test/lib.so", OpenParams: new("unix:///test.sock?name=x"), Paths: paths, RulesFiles: []string{"/test/rules.yaml"}})
			if err != nil {
				t.Fatal(err)
			}
			got, want := decode(t, out), decode(t, example)

			plugin := got["plugins"].([]any)[0].(map[string]any)
			if plugin["library_path"] != "/test/lib.so" || plugin["open_params"] != "unix:///test.sock?name=x" {
				t.Errorf("plugin entry not rewritten: %v", plugin)
			}
			if ic, ok := plugin["init_config"].(map[string]any); ok {
				for k, v := range paths {
					if got := lookup(ic, k); got != v {
						t.Errorf("init_config.%s = %v, want %s", k, got, v)
					}
				}
			}
			if !reflect.DeepEqual(got["rules_files"], []any{"/test/rules.yaml"}) {
				t.Errorf("rules_files = %v", got["rules_files"])
			}
			for k := range Runtime {
				if _, ok := got[k]; !ok {
					t.Errorf("Runtime key %s not set", k)
				}
			}
			if got["engine"].(map[string]any)["kind"] != "nodriver" || got["json_output"] != true {
				t.Errorf("engine %v, json_output %v", got["engine"], got["json_output"])
			}

			// The rest is the example's: put the rewritten values back and
			// compare.
			wantPlugin := want["plugins"].([]any)[0].(map[string]any)
			plugin["library_path"], plugin["open_params"] = wantPlugin["library_path"], wantPlugin["open_params"]
			if ic, ok := plugin["init_config"].(map[string]any); ok {
				wantIC := wantPlugin["init_config"].(map[string]any)
				for k := range paths {
					setPath(ic, k, lookup(wantIC, k))
				}
			}
			got["rules_files"] = want["rules_files"]
			for k := range Runtime {
				if v, ok := want[k]; ok {
					got[k] = v
				} else {
					delete(got, k)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("derived config differs from the example beyond the rewritten keys:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func lookup(m map[string]any, dotted string) any {
	var cur any = m
	for _, part := range strings.Split(dotted, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[part]
	}
	return cur
}

func setPath(m map[string]any, dotted string, v any) {
	parts := strings.Split(dotted, ".")
	for _, part := range parts[:len(parts)-1] {
		m = m[part].(map[string]any)
	}
	m[parts[len(parts)-1]] = v
}

// A path of the example left as it is would make the test read files of
// this machine (or miss them): Derive refuses it, naming the key.
func TestDeriveRefusesAPathNotReplaced(t *testing.T) {
	paths := pathsFor(examplePaths["falco-tls.yaml"])
	delete(paths, "tls.key")
	_, err := Derive(readExample(t, "falco-tls.yaml"), Setup{Library: "/test/lib.so", Paths: paths})
	if err == nil || !strings.Contains(err.Error(), "init_config.tls.key") || !strings.Contains(err.Error(), "/etc/dockerfleet/client/key.pem") {
		t.Fatalf("err = %v, want one naming init_config.tls.key and its path", err)
	}

	paths = pathsFor(examplePaths["falco-tls.yaml"])
	paths["tls.certDir"] = "/test/dir"
	_, err = Derive(readExample(t, "falco-tls.yaml"), Setup{Library: "/test/lib.so", Paths: paths})
	if err == nil || !strings.Contains(err.Error(), "tls.certDir") {
		t.Fatalf("err = %v, want one naming tls.certDir, which the example lacks", err)
	}
}

// InitConfig replaces init_config whole; `{}` stays a map and `""` a
// string, the two forms Falco passes on differently.
func TestDeriveInitConfig(t *testing.T) {
	for text, want := range map[string]any{`{}`: map[string]any{}, `""`: ""} {
		out, err := Derive(readExample(t, "falco-fleet.yaml"), Setup{Library: "/l.so", InitConfig: &text})
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		got := decode(t, out)["plugins"].([]any)[0].(map[string]any)["init_config"]
		if !reflect.DeepEqual(got, want) {
			t.Errorf("init_config %s derived as %#v", text, got)
		}
	}
}

func TestDeriveRefusesConfigsWithoutThePlugin(t *testing.T) {
	for _, cfg := range []string{
		"plugins: [{name: other, library_path: /x.so}]",
		"json_output: true",
		"- a list",
	} {
		if _, err := Derive([]byte(cfg), Setup{Library: "/l.so"}); err == nil {
			t.Errorf("Derive(%q) succeeded", cfg)
		}
	}
	if _, err := Derive(readExample(t, "falco-single-host.yaml"), Setup{}); err == nil || !strings.Contains(err.Error(), "Library") {
		t.Errorf("Derive without Library: %v", err)
	}
}

func TestFindNamesWhereItLooked(t *testing.T) {
	t.Setenv(EnvFalco, "/nonexistent/falco")
	if _, err := Find(); err == nil || !strings.Contains(err.Error(), "/nonexistent/falco") {
		t.Errorf("Find with a missing $FALCO: %v", err)
	}
	t.Setenv(EnvFalco, "")
	t.Setenv("PATH", t.TempDir())
	if _, err := Find(); err == nil || !strings.Contains(err.Error(), "PATH") {
		t.Errorf("Find without falco anywhere: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "falco")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", filepath.Dir(bin))
	if f, err := Find(); err != nil || f.Path != bin {
		t.Errorf("Find with falco on PATH = %v, %v; want %s", f, err, bin)
	}
}
