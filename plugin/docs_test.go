// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

var update = flag.Bool("update", false, "rewrite the generated sections of README.md")

const readmePath = "../README.md"

// fieldsTable renders the plugin's fields as the README's markdown table.
func fieldsTable(fields []sdk.FieldEntry) string {
	var b strings.Builder
	b.WriteString("| Name | Type | Argument | Description |\n|---|---|---|---|\n")
	for _, f := range fields {
		arg := ""
		switch {
		case f.Arg.IsKey && f.Arg.IsRequired:
			arg = "key, required"
		case f.Arg.IsKey:
			arg = "key, optional"
		case f.Arg.IsIndex && f.Arg.IsRequired:
			arg = "index, required"
		case f.Arg.IsIndex:
			arg = "index, optional"
		}
		typ := f.Type
		if f.IsList {
			typ = "list of " + typ
		}
		desc := strings.ReplaceAll(f.Desc, "|", `\|`)
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, typ, arg, desc)
	}
	return b.String()
}

// replaceSection swaps the text between <!-- name:begin --> and
// <!-- name:end --> markers.
func replaceSection(doc, name, body string) (string, error) {
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("README.md has no %q section markers", name)
	}
	return doc[:i+len(begin)] + body + doc[j:], nil
}

// TestReadmeFields fails when the generated sections of README.md (the
// fields table, the rules table and the init_config table) or
// config.schema.json are not what the plugin and the rules file say; `make
// readme` (go test -run TestReadmeFields -update) rewrites them.
func TestReadmeFields(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := replaceSection(string(raw), "fields", fieldsTable((&Plugin{}).Fields()))
	if err != nil {
		t.Fatal(err)
	}
	want, err = replaceSection(want, "rules", rulesTable(loadRules(t)))
	if err != nil {
		t.Fatal(err)
	}
	want, err = replaceSection(want, "config", configTable())
	if err != nil {
		t.Fatal(err)
	}
	want, err = replaceSection(want, "metrics", metricsTable())
	if err != nil {
		t.Fatal(err)
	}
	checkGenerated(t, readmePath, string(raw), want)
	// The schema as people read it: the one InitSchema gives, indented.
	var schema bytes.Buffer
	if err := json.Indent(&schema, []byte(configSchema()), "", "  "); err != nil {
		t.Fatal(err)
	}
	schema.WriteByte('\n')
	old, err := os.ReadFile(schemaPath)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	checkGenerated(t, schemaPath, string(old), schema.String())
}

const schemaPath = "config.schema.json"

// checkGenerated fails when the file at path does not hold want, or
// rewrites it with -update (`make readme`).
func checkGenerated(t *testing.T, path, have, want string) {
	t.Helper()
	if want == have {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale: run `make readme`", path)
}

// configTable renders the settings of init_config as the README's
// markdown table: the same declaration as the schema and Init's checks.
func configTable() string {
	var b strings.Builder
	b.WriteString("| Key | Default | Bounds | Meaning |\n|---|---|---|---|\n")
	for i := range settings {
		s := &settings[i]
		def, bounds := "", ""
		if d := s.defaultText(); d != "" {
			def = "`" + d + "`"
		}
		switch s.kind {
		case kindList:
			def = "all"
			if s.enum != nil {
				bounds = "`" + strings.Join(s.enum, "`, `") + "`"
			}
		case kindDuration:
			bounds = fmt.Sprintf("`%s` to `%s`", formatDuration(time.Duration(s.min)), formatDuration(time.Duration(s.max)))
		case kindCount:
			bounds = fmt.Sprintf("%d to %d", s.min, s.max)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.key, def, bounds, strings.ReplaceAll(s.doc, "|", `\|`))
	}
	return b.String()
}

// rulesTable lists the rules of the rules file with their priority.
func rulesTable(items []ruleItem) string {
	var b strings.Builder
	b.WriteString("| Rule | Priority | Fires when |\n|---|---|---|\n")
	for _, it := range items {
		if it.Rule == "" {
			continue
		}
		desc := strings.Join(strings.Fields(it.Desc), " ")
		if it.Enabled != nil && !*it.Enabled {
			desc += " *(disabled by default)*"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", it.Rule, it.Priority, strings.ReplaceAll(desc, "|", `\|`))
	}
	return b.String()
}

// fieldRef matches a field reference in a rule condition or output:
// docker.attributes.exitcode, docker.attributes[com.example.team].
var fieldRef = regexp.MustCompile(`\bdocker\.[a-z][a-z0-9_.]*[a-z0-9](\[[^\]]*\])?`)

// numericUse matches a field compared with an ordering operator, which needs
// a numeric field.
var numericUse = regexp.MustCompile(`(docker\.[a-z0-9_.]+(?:\[[^\]]*\])?)\s*(<=|>=|<|>)`)

// checkFieldRefs reports every field reference of text that the plugin does
// not declare, that misses or wrongly has an argument, or that is compared
// numerically while it is a string.
func checkFieldRefs(text string, fields map[string]sdk.FieldEntry) []string {
	var problems []string
	for _, m := range fieldRef.FindAllStringSubmatch(text, -1) {
		name, arg := m[0], m[1]
		name = strings.TrimSuffix(name, arg)
		f, ok := fields[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: no such field", m[0]))
		case arg == "" && f.Arg.IsRequired:
			problems = append(problems, fmt.Sprintf("%s: needs an argument", m[0]))
		case arg != "" && !f.Arg.IsKey && !f.Arg.IsIndex:
			problems = append(problems, fmt.Sprintf("%s: takes no argument", m[0]))
		}
	}
	for _, m := range numericUse.FindAllStringSubmatch(text, -1) {
		name := regexp.MustCompile(`\[.*\]$`).ReplaceAllString(m[1], "")
		if f, ok := fields[name]; ok && f.Type != "uint64" && f.Type != "reltime" && f.Type != "abstime" {
			problems = append(problems, fmt.Sprintf("%s %s: ordering operator on a %s field", m[1], m[2], f.Type))
		}
	}
	return problems
}

func declaredFields() map[string]sdk.FieldEntry {
	fields := map[string]sdk.FieldEntry{}
	for _, f := range (&Plugin{}).Fields() {
		fields[f.Name] = f
	}
	return fields
}

func TestCheckFieldRefsCatchesMistakes(t *testing.T) {
	fields := declaredFields()
	for _, bad := range []string{"docker.no.such.field = x", "docker.attributes = x", "docker.type[x] = y"} {
		if len(checkFieldRefs(bad, fields)) == 0 {
			t.Errorf("checkFieldRefs(%q) found nothing wrong", bad)
		}
	}
	if p := checkFieldRefs("docker.type = container and docker.attributes[com.example.team] = x", fields); len(p) != 0 {
		t.Errorf("checkFieldRefs flags valid references: %v", p)
	}
}

// metricsTable documents MetricNames, in their order.
func metricsTable() string {
	var b strings.Builder
	b.WriteString("| Name | Kind | Meaning |\n|---|---|---|\n")
	for _, m := range (&Plugin{}).Metrics() {
		kind := "gauge"
		if m.Monotonic {
			kind = "counter"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", m.Name, kind, metricDocs[m.Name])
	}
	return b.String()
}
