// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package falcotest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// LoadResult is Falco's verdict on one rules file (`falco -V`, JSON output).
type LoadResult struct {
	Name           string            `json:"name"`
	Successful     bool              `json:"successful"`
	SchemaValid    bool              `json:"schema_valid"`
	Errors         []json.RawMessage `json:"errors"`
	Warnings       []json.RawMessage `json:"warnings"`
	SchemaWarnings []json.RawMessage `json:"schema_warnings"`
}

// Clean reports whether Falco loaded the file without an error or a
// warning of any kind.
func (r LoadResult) Clean() bool {
	return r.Successful && r.SchemaValid && len(r.Errors) == 0 && len(r.Warnings) == 0 && len(r.SchemaWarnings) == 0
}

// String is the verdict with every error and warning, for test failures.
func (r LoadResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: successful=%v schema_valid=%v", r.Name, r.Successful, r.SchemaValid)
	for _, l := range []struct {
		what  string
		items []json.RawMessage
	}{{"error", r.Errors}, {"warning", r.Warnings}, {"schema warning", r.SchemaWarnings}} {
		for _, it := range l.items {
			fmt.Fprintf(&b, "\n  %s: %s", l.what, it)
		}
	}
	return b.String()
}

// Validate runs `falco -c config -V rules...` (rules files validated with
// the plugins of config loaded, so that their fields are known) and returns
// Falco's verdict on each file. A file Falco refuses is a LoadResult that
// is not Clean, not an error; the error is for Falco failing otherwise.
func (f *Falco) Validate(env []string, config string, rules ...string) ([]LoadResult, error) {
	if len(rules) == 0 {
		return nil, errors.New("falcotest: Validate needs at least one rules file")
	}
	args := []string{"-c", config, "-o", "json_output=true"}
	for _, r := range rules {
		args = append(args, "-V", r)
	}
	out, err := f.output(env, args...)
	var cmdErr *CommandError
	if err != nil && !errors.As(err, &cmdErr) {
		return nil, err
	}
	var doc struct {
		Results []LoadResult `json:"falco_load_results"`
	}
	if jerr := json.Unmarshal(out, &doc); jerr != nil || len(doc.Results) == 0 {
		return nil, fmt.Errorf("falcotest: falco %s printed no load results (%v; exit: %v): %s", strings.Join(args, " "), jerr, err, out)
	}
	if err != nil && allClean(doc.Results) {
		return doc.Results, fmt.Errorf("falcotest: every rules file is clean, yet: %w", err)
	}
	return doc.Results, nil
}

func allClean(rs []LoadResult) bool {
	for _, r := range rs {
		if !r.Clean() {
			return false
		}
	}
	return true
}
