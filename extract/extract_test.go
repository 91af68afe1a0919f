// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/docker/docker/api/types/events"
	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// fakeRequest is an sdk.ExtractRequest in memory, as the SDK's C-backed one
// cannot be made without a plugin host.
type fakeRequest struct {
	id     uint64
	name   string
	arg    string
	hasArg bool
	value  any
	set    int
}

func (r *fakeRequest) FieldID() uint64                     { return r.id }
func (r *fakeRequest) FieldType() uint32                   { return sdk.FieldTypeCharBuf }
func (r *fakeRequest) Field() string                       { return r.name }
func (r *fakeRequest) ArgKey() string                      { return r.arg }
func (r *fakeRequest) ArgIndex() uint64                    { return 0 }
func (r *fakeRequest) ArgPresent() bool                    { return r.hasArg }
func (r *fakeRequest) IsList() bool                        { return false }
func (r *fakeRequest) SetValue(v any)                      { r.value = v; r.set++ }
func (r *fakeRequest) SetValueOffset(start, length uint32) {}
func (r *fakeRequest) SetPtr(unsafe.Pointer)               {}
func (r *fakeRequest) SetOffsetPtrs(_, _ unsafe.Pointer)   {}
func (r *fakeRequest) WantOffset() bool                    { return false }

// fieldID returns the ID of a field by name.
func fieldID(t testing.TB, name string) uint64 {
	t.Helper()
	for i, f := range Fields() {
		if f.Name == name {
			return uint64(i)
		}
	}
	t.Fatalf("no field %s", name)
	return 0
}

// extract runs Extract for one field and returns its value, if it set one.
func extract(t testing.TB, ev *payload.Event, name string) (string, bool) {
	t.Helper()
	req := &fakeRequest{name: name}
	if i := strings.IndexByte(name, '['); i >= 0 {
		req.id = fieldID(t, name[:i])
		req.arg, req.hasArg = strings.TrimSuffix(name[i+1:], "]"), true
	} else {
		req.id = fieldID(t, name)
	}
	if err := Extract(req, ev); err != nil {
		t.Fatalf("Extract(%s): %v", name, err)
	}
	switch req.set {
	case 0:
		return "", false
	case 1:
		switch v := req.value.(type) {
		case string:
			return v, true
		case bool:
			if table[req.id].entry.Type != "bool" {
				t.Fatalf("Extract(%s) set a bool for a %s field", name, table[req.id].entry.Type)
			}
			return strconv.FormatBool(v), true
		}
		t.Fatalf("Extract(%s) set a %T", name, req.value)
	}
	t.Fatalf("Extract(%s) set %d values", name, req.set)
	return "", false
}

type fixture struct {
	line []byte
	msg  events.Message // the oracle: moby's own type, decoded by encoding/json
	ev   payload.Event
}

func loadFixtures(t testing.TB, host string) []fixture {
	t.Helper()
	data, err := os.ReadFile("payload/testdata/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var fs []fixture
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := fixture{line: bytes.Clone(sc.Bytes())}
		if err := json.Unmarshal(f.line, &f.msg); err != nil {
			t.Fatal(err)
		}
		p, _, err := payload.Build(nil, host, f.line)
		if err != nil {
			t.Fatal(err)
		}
		if f.ev, err = payload.Parse(p); err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	if len(fs) < 20 {
		t.Fatalf("only %d fixtures", len(fs))
	}
	return fs
}

// oracle gives the value each field must have for a message, from moby's
// decoding and the rules the field table documents.
func oracle(host string, m events.Message, name string) (string, bool) {
	attr := func(k string) (string, bool) {
		v, ok := m.Actor.Attributes[k]
		return v, ok
	}
	oldType := m.Type == events.ContainerEventType || m.Type == events.ImageEventType
	switch name {
	case "docker.truncated":
		return "false", true // the fixtures are Build's, whole
	case "docker.status":
		if m.Status != "" {
			return m.Status, true
		}
		return string(m.Action), oldType
	case "docker.id":
		if m.ID != "" {
			return m.ID, true
		}
		return m.Actor.ID, oldType && m.Actor.ID != ""
	case "docker.from":
		if m.From != "" {
			return m.From, true
		}
		img := m.Actor.Attributes["image"]
		return img, m.Type == events.ContainerEventType && img != ""
	case "docker.type":
		return string(m.Type), true
	case "docker.action":
		return string(m.Action), true
	case "docker.scope":
		return m.Scope, m.Scope != ""
	case "docker.actor.id":
		return m.Actor.ID, m.Actor.ID != ""
	case "docker.host":
		return host, true
	case "docker.stack.namespace":
		return attr("com.docker.stack.namespace")
	case "docker.node.id":
		if v, ok := attr("com.docker.swarm.node.id"); ok {
			return v, true
		}
		return m.Actor.ID, m.Type == events.NodeEventType
	case "docker.swarm.task":
		return attr("com.docker.swarm.task")
	case "docker.swarm.taskid":
		return attr("com.docker.swarm.task.id")
	case "docker.swarm.taskname":
		return attr("com.docker.swarm.task.name")
	case "docker.swarm.servicename":
		return attr("com.docker.swarm.service.name")
	case "docker.node.statenew":
		return attr("state.new")
	case "docker.node.stateold":
		return attr("state.old")
	case "docker.attributes.exitcode":
		return attr("exitCode")
	}
	if k, ok := strings.CutPrefix(name, "docker.attributes."); ok {
		return attr(k) // container, image, name, type, signal
	}
	for _, p := range []string{"docker.container.", "docker.exec.", "docker.daemon."} {
		if strings.HasPrefix(name, p) {
			return "", false // enrichment: the fixtures carry no context
		}
	}
	panic("no oracle for " + name)
}

// TestFieldsEveryFixture checks every field of every fixture event against
// the oracle.
func TestFieldsEveryFixture(t *testing.T) {
	for _, f := range loadFixtures(t, "web-1") {
		for _, fe := range Fields() {
			if fe.Arg.IsKey {
				continue
			}
			got, gotOK := extract(t, &f.ev, fe.Name)
			want, wantOK := oracle("web-1", f.msg, fe.Name)
			if gotOK != wantOK || (wantOK && got != want) {
				t.Errorf("%s of %s: got %q, %v, want %q, %v", fe.Name, f.line, got, gotOK, want, wantOK)
			}
		}
		for k, v := range f.msg.Actor.Attributes {
			if got, ok := extract(t, &f.ev, "docker.attributes["+k+"]"); !ok || got != v {
				t.Errorf("docker.attributes[%s] = %q, %v, want %q", k, got, ok, v)
			}
		}
		if got, ok := extract(t, &f.ev, "docker.attributes[no.such.label]"); ok {
			t.Errorf("docker.attributes[no.such.label] = %q", got)
		}
	}
}

// TestFieldsKnownValues pins down values a rule writer relies on, taken
// from the fixtures by hand.
func TestFieldsKnownValues(t *testing.T) {
	fs := loadFixtures(t, "web-1")
	find := func(sub string) *payload.Event {
		t.Helper()
		for i := range fs {
			if bytes.Contains(fs[i].line, []byte(sub)) {
				return &fs[i].ev
			}
		}
		t.Fatalf("no fixture with %s", sub)
		return nil
	}
	cases := []struct {
		ev     *payload.Event
		fields map[string]string // "" key absent => see absent
		absent []string
	}{
		{find(`"exitCode":"137"`), map[string]string{
			"docker.type": "container", "docker.action": "die", "docker.status": "die",
			"docker.attributes.exitcode": "137", "docker.attributes.name": "confident_kirch",
			"docker.attributes.image": "busybox:dfx", "docker.from": "busybox:dfx",
			"docker.attributes[com.example.team]": "payments",
			"docker.attributes[com.example.note]": `say "hi"\tnow`,
			"docker.host":                         "web-1", "docker.scope": "local",
		}, []string{"docker.attributes.signal", "docker.node.id", "docker.swarm.task"}},
		{find(`"signal":"9"`), map[string]string{"docker.action": "kill", "docker.attributes.signal": "9"},
			[]string{"docker.attributes.exitcode"}},
		{find(`"Action":"exec_start: sh -c date"`), map[string]string{
			"docker.action": "exec_start: sh -c date", "docker.status": "exec_start: sh -c date",
			"docker.attributes[execID]": "fbb7259b927ffcb31802ca53ffa9da1393bbf75bc9d4a592175c6fd5486cee4e",
		}, nil},
		// Docker 29: no status, id, from in the line.
		{find(`"execDuration":"12"`), map[string]string{
			"docker.status": "die", "docker.id": "e327f1fa52a90d79421e416aed60e6de6872231f31101a1cc63401e90cef4bd6",
			"docker.from": "alpine", "docker.attributes.exitcode": "1",
		}, nil},
		{find(`"Action":"pull"`), map[string]string{"docker.status": "pull", "docker.id": "alpine:latest"},
			[]string{"docker.from"}},
		{find(`"Type":"network"`), map[string]string{
			"docker.attributes.type": "bridge", "docker.attributes.name": "bridge",
			"docker.attributes.container": "e327f1fa52a90d79421e416aed60e6de6872231f31101a1cc63401e90cef4bd6",
		}, []string{"docker.status", "docker.id", "docker.from"}},
		{find(`"state.new":"down"`), map[string]string{
			"docker.type": "node", "docker.scope": "swarm", "docker.node.statenew": "down",
			"docker.node.stateold": "ready", "docker.node.id": "x1y2z3w4v5u6t7s8r9q0p1o2n",
		}, []string{"docker.status"}},
		{find(`"com.docker.swarm.task.name"`), map[string]string{
			"docker.stack.namespace": "web", "docker.node.id": "x1y2z3w4v5u6t7s8r9q0p1o2n",
			"docker.swarm.task": "", "docker.swarm.taskid": "3rd4th5th6th7th8th9th0th1",
			"docker.swarm.taskname":    "web_frontend.1.3rd4th5th6th7th8th9th0th1",
			"docker.swarm.servicename": "web_frontend",
		}, nil},
		{find(`"Action":"reload"`), map[string]string{"docker.type": "daemon", "docker.attributes.name": "vm"},
			[]string{"docker.status", "docker.id"}},
		{find(`"Type":"dockerfleet"`), map[string]string{"docker.action": "stream_down", "docker.actor.id": "web-1",
			"docker.attributes[reason]": "dial tcp 10.0.0.5:2376: connect: connection refused"}, nil},
	}
	for _, c := range cases {
		for name, want := range c.fields {
			if got, ok := extract(t, c.ev, name); !ok || got != want {
				t.Errorf("%s of %s = %q, %v, want %q", name, c.ev.JSON(), got, ok, want)
			}
		}
		for _, name := range c.absent {
			if got, ok := extract(t, c.ev, name); ok {
				t.Errorf("%s of %s = %q, want no value", name, c.ev.JSON(), got)
			}
		}
	}
}

func TestFieldsTable(t *testing.T) {
	original := []string{"docker.status", "docker.id", "docker.from", "docker.type", "docker.action",
		"docker.stack.namespace", "docker.node.id", "docker.swarm.task", "docker.swarm.taskid",
		"docker.swarm.taskname", "docker.swarm.servicename", "docker.node.statenew", "docker.node.stateold",
		"docker.attributes.container", "docker.attributes.image", "docker.attributes.name",
		"docker.attributes.type", "docker.attributes.exitcode", "docker.attributes.signal", "docker.scope",
		"docker.actor.id"}
	fields := Fields()
	for i, name := range original {
		if fields[i].Name != name || fields[i].Type != "string" || fields[i].Arg != (sdk.FieldEntryArg{}) {
			t.Errorf("field %d = %+v, want the original %s of type string", i, fields[i], name)
		}
	}
	nameRE := regexp.MustCompile(`^[a-z]+(\.[a-z][a-z_]*)+$`) // underscores as in Falco's own proc.is_exe_writable
	seen := map[string]bool{}
	for i, f := range fields {
		if seen[f.Name] {
			t.Errorf("field %s twice", f.Name)
		}
		seen[f.Name] = true
		if !nameRE.MatchString(f.Name) || f.Desc == "" || f.Display == "" {
			t.Errorf("field %d %+v: bad name or no description", i, f)
		}
		if table[i].entry.Name != f.Name {
			t.Errorf("Fields()[%d] is %s, table[%d] is %s", i, f.Name, i, table[i].entry.Name)
		}
	}
	attrs := fields[fieldID(t, "docker.attributes")]
	if !attrs.Arg.IsKey || !attrs.Arg.IsRequired {
		t.Errorf("docker.attributes arg = %+v", attrs.Arg)
	}
	if !seen["docker.host"] {
		t.Error("no docker.host")
	}
	if _, err := json.Marshal(fields); err != nil {
		t.Error(err)
	}
	fields[0].Name = "changed"
	if Fields()[0].Name != "docker.status" {
		t.Error("changing what Fields returned changed the table")
	}
}

func TestExtractErrors(t *testing.T) {
	f := loadFixtures(t, "h")[0]
	req := &fakeRequest{id: uint64(len(Fields())), name: "docker.nope"}
	if err := Extract(req, &f.ev); err == nil || !strings.Contains(err.Error(), "docker.nope") {
		t.Errorf("unknown field ID: %v", err)
	}
	req = &fakeRequest{id: fieldID(t, "docker.attributes"), name: "docker.attributes"}
	if err := Extract(req, &f.ev); err == nil || !strings.Contains(err.Error(), "needs a key") {
		t.Errorf("docker.attributes without a key: %v", err)
	}
	if req.set != 0 {
		t.Error("a failed Extract set a value")
	}
}

// The description of docker.type names every type a daemon emits.
func TestTypeFieldNamesEveryEventType(t *testing.T) {
	for _, f := range Fields() {
		if f.Name != "docker.type" {
			continue
		}
		for _, typ := range payload.EventTypes {
			if !regexp.MustCompile(`\b` + typ + `\b`).MatchString(f.Desc) {
				t.Errorf("docker.type's description does not name %q: %s", typ, f.Desc)
			}
		}
		return
	}
	t.Fatal("no docker.type field")
}

// TestTruncatedField: docker.truncated is true for a payload flagged
// truncated (a line reduced to fit) and false otherwise.
func TestTruncatedField(t *testing.T) {
	line := []byte(`{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"web"}}}`)
	for _, truncated := range []bool{false, true} {
		p, _, err := payload.BuildExtra(nil, "web-1", line, payload.Extra{Truncated: truncated})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := payload.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := extract(t, &ev, "docker.truncated"); !ok || got != strconv.FormatBool(truncated) {
			t.Errorf("docker.truncated = %q, %v; want %v", got, ok, truncated)
		}
		req := &fakeRequest{id: fieldID(t, "docker.truncated"), name: "docker.truncated"}
		if err := NewExtractor().Extract(req, &ev); err != nil || req.value != truncated {
			t.Errorf("Extractor: %v, %v", req.value, err)
		}
	}
}
