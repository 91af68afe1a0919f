// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package falcotest

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// PluginName is the plugins entry Derive rewrites.
const PluginName = "dockerfleet"

// Runtime is what Derive sets in every config, whatever the example says,
// as YAML values by top-level key: the Falco of the tests has no driver
// (engine nodriver), alerts are read as JSON from standard output unbuffered,
// Falco's log goes to standard error, and a config or rules file written
// while Falco runs must not reload it.
var Runtime = map[string]string{
	"engine":                       "{kind: nodriver}",
	"json_output":                  "true",
	"json_include_output_property": "true",
	"buffered_outputs":             "false",
	"stdout_output":                "{enabled: true}",
	"log_stderr":                   "true",
	"log_syslog":                   "false",
	"log_level":                    "info",
	"watch_config_files":           "false",
}

// Setup says how Derive turns an example falco.yaml into one that runs in a
// test. What it does not name is kept as the example has it.
type Setup struct {
	// Library replaces the plugin's library_path (required).
	Library string
	// OpenParams, when set, replaces the plugin's open_params.
	OpenParams *string
	// InitConfig, when set, is YAML text that replaces init_config whole
	// (e.g. `{}` or `""`); Paths then applies to it.
	InitConfig *string
	// Paths replaces values inside init_config, by dotted key ("tls.ca",
	// "tls.certDir"). Every absolute path left in init_config is an error:
	// a test must not read the files an example names on this machine.
	Paths map[string]string
	// RulesFiles, when set, replaces rules_files.
	RulesFiles []string
}

// Derive returns the example config rewritten by s, with Runtime set. It
// fails on a config that is not a YAML mapping, has no plugins entry named
// PluginName, or names a path that s does not replace.
func Derive(example []byte, s Setup) ([]byte, error) {
	if s.Library == "" {
		return nil, fmt.Errorf("falcotest: Derive: Setup.Library is empty")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(example, &doc); err != nil {
		return nil, fmt.Errorf("falcotest: example config: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("falcotest: example config is not a YAML mapping")
	}
	root := doc.Content[0]

	plugin, err := findPlugin(root)
	if err != nil {
		return nil, err
	}
	setScalar(plugin, "library_path", s.Library)
	if s.OpenParams != nil {
		setScalar(plugin, "open_params", *s.OpenParams)
	}
	if s.InitConfig != nil {
		v, err := parseValue(*s.InitConfig)
		if err != nil {
			return nil, fmt.Errorf("falcotest: Setup.InitConfig: %w", err)
		}
		set(plugin, "init_config", v)
	}
	if ic := get(plugin, "init_config"); ic != nil {
		used := map[string]bool{}
		if err := replacePaths(ic, "", s.Paths, used); err != nil {
			return nil, err
		}
		for k := range s.Paths {
			if !used[k] {
				return nil, fmt.Errorf("falcotest: Setup.Paths names %s, which init_config does not have", k)
			}
		}
	} else if len(s.Paths) > 0 {
		return nil, fmt.Errorf("falcotest: Setup.Paths given, but the config has no init_config")
	}
	if s.RulesFiles != nil {
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, f := range s.RulesFiles {
			seq.Content = append(seq.Content, scalar(f))
		}
		set(root, "rules_files", seq)
	}

	keys := make([]string, 0, len(Runtime))
	for k := range Runtime {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, err := parseValue(Runtime[k])
		if err != nil {
			return nil, fmt.Errorf("falcotest: Runtime[%s]: %w", k, err)
		}
		set(root, k, v)
	}

	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("falcotest: encoding the config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("falcotest: encoding the config: %w", err)
	}
	return out.Bytes(), nil
}

// findPlugin returns the mapping of the plugins entry named PluginName.
func findPlugin(root *yaml.Node) (*yaml.Node, error) {
	plugins := get(root, "plugins")
	if plugins == nil || plugins.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("falcotest: example config: %w (no plugins list)", errNoPlugin)
	}
	for _, p := range plugins.Content {
		if p.Kind == yaml.MappingNode {
			if name := get(p, "name"); name != nil && name.Value == PluginName {
				return p, nil
			}
		}
	}
	return nil, fmt.Errorf("falcotest: example config: %w", errNoPlugin)
}

// replacePaths rewrites the scalars of n found in paths (by dotted key below
// prefix) and refuses any other absolute path.
func replacePaths(n *yaml.Node, prefix string, paths map[string]string, used map[string]bool) error {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix != "" {
				key = prefix + "." + key
			}
			if err := replacePaths(n.Content[i+1], key, paths, used); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := replacePaths(c, fmt.Sprintf("%s[%d]", prefix, i), paths, used); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if v, ok := paths[prefix]; ok {
			used[prefix] = true
			*n = *scalar(v)
			return nil
		}
		if path.IsAbs(n.Value) || strings.HasPrefix(n.Value, "~") {
			return fmt.Errorf("falcotest: init_config.%s is the path %s of the example; Setup.Paths must replace it", prefix, n.Value)
		}
	}
	return nil
}

// get returns the value of key in mapping m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// set replaces the value of key in mapping m, or appends the key.
func set(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

func setScalar(m *yaml.Node, key, value string) { set(m, key, scalar(value)) }

// scalar is a string scalar, double-quoted so that "" and values like
// "true" stay strings.
func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
}

// parseValue parses YAML text into the node of its value.
func parseValue(text string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("%q is not one YAML value", text)
	}
	return doc.Content[0], nil
}

// errNoPlugin is the error of Derive for a config without the plugin.
var errNoPlugin = fmt.Errorf("no plugins entry named %s", PluginName)
