// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// ruleItem is one element of a Falco rules file.
type ruleItem struct {
	RequiredEngineVersion  string `yaml:"required_engine_version"`
	RequiredPluginVersions []struct {
		Name    string `yaml:"name"`
		Version string `yaml:"version"`
	} `yaml:"required_plugin_versions"`
	Rule      string `yaml:"rule"`
	Macro     string `yaml:"macro"`
	List      string `yaml:"list"`
	Condition string `yaml:"condition"`
	Output    string `yaml:"output"`
	Priority  string `yaml:"priority"`
	Source    string `yaml:"source"`
	Desc      string `yaml:"desc"`
	Enabled   *bool  `yaml:"enabled"`
}

func loadRules(t *testing.T) []ruleItem {
	t.Helper()
	raw, err := os.ReadFile("../rules/dockerfleet_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var items []ruleItem
	if err := yaml.Unmarshal(raw, &items); err != nil {
		t.Fatalf("rules file is not valid YAML: %v", err)
	}
	return items
}

func TestRulesUseDeclaredFields(t *testing.T) {
	fields := declaredFields()
	var rules int
	for _, it := range loadRules(t) {
		name := it.Rule + it.Macro
		for _, p := range checkFieldRefs(it.Condition+"\n"+it.Output, fields) {
			t.Errorf("%s: %s", name, p)
		}
		if it.Rule == "" {
			continue
		}
		rules++
		if it.Source != EventSource {
			t.Errorf("rule %q: source %q, want %q", it.Rule, it.Source, EventSource)
		}
		if !strings.Contains(it.Output, "%docker.host") {
			t.Errorf("rule %q: output does not name the host (%%docker.host)", it.Rule)
		}
		if it.Condition == "" || it.Desc == "" || it.Priority == "" {
			t.Errorf("rule %q: condition, desc and priority are all required", it.Rule)
		}
	}
	if rules < 10 {
		t.Errorf("only %d rules found", rules)
	}
}

func TestRulesDeclareVersions(t *testing.T) {
	var engine, plugin bool
	for _, it := range loadRules(t) {
		if it.RequiredEngineVersion != "" {
			engine = true
		}
		for _, p := range it.RequiredPluginVersions {
			if p.Name == PluginName {
				plugin = true
				if p.Version != Version {
					t.Errorf("rules require %s %s, the plugin is %s", PluginName, p.Version, Version)
				}
			}
		}
	}
	if !engine || !plugin {
		t.Errorf("rules file lacks required_engine_version (%v) or required_plugin_versions for %s (%v)", engine, PluginName, plugin)
	}
}
