// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fixtures returns the event lines of testdata/events.jsonl.
func fixtures(t testing.TB) [][]byte {
	t.Helper()
	data, err := os.ReadFile("testdata/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
	}
	if len(lines) < 20 {
		t.Fatalf("only %d fixture lines", len(lines))
	}
	return lines
}

// ref is an event decoded by encoding/json with exact key matching (through
// maps of raw messages), the oracle Build and Parse are checked against.
type ref struct {
	str   map[string]*string // Type, Action, scope, status, id, from, Actor.ID
	num   map[string]*int64  // time, timeNano
	attrs map[string]string
}

func decodeRef(line []byte) (ref, error) {
	r := ref{str: map[string]*string{}, num: map[string]*int64{}}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(line, &top); err != nil {
		return r, err
	}
	isNull := func(m json.RawMessage) bool { return m == nil || string(m) == "null" }
	for _, k := range []string{"Type", "Action", "scope", "status", "id", "from"} {
		if m, ok := top[k]; ok && !isNull(m) {
			var s string
			if err := json.Unmarshal(m, &s); err != nil {
				return r, fmt.Errorf("%s: %w", k, err)
			}
			r.str[k] = &s
		}
	}
	for _, k := range []string{"time", "timeNano"} {
		if m, ok := top[k]; ok && !isNull(m) {
			var v int64
			if err := json.Unmarshal(m, &v); err != nil {
				return r, fmt.Errorf("%s: %w", k, err)
			}
			r.num[k] = &v
		}
	}
	if m, ok := top["Actor"]; ok && !isNull(m) {
		var actor map[string]json.RawMessage
		if err := json.Unmarshal(m, &actor); err != nil {
			return r, err
		}
		if m, ok := actor["ID"]; ok && !isNull(m) {
			var s string
			if err := json.Unmarshal(m, &s); err != nil {
				return r, err
			}
			r.str["Actor.ID"] = &s
		}
		if m, ok := actor["Attributes"]; ok && !isNull(m) {
			if err := json.Unmarshal(m, &r.attrs); err != nil {
				return r, err
			}
		}
	}
	return r, nil
}

func optEqual(t *testing.T, what string, got string, gotOK bool, want *string) {
	t.Helper()
	switch {
	case want == nil && gotOK:
		t.Errorf("%s = %q, want absent", what, got)
	case want != nil && !gotOK:
		t.Errorf("%s absent, want %q", what, *want)
	case want != nil && got != *want:
		t.Errorf("%s = %q, want %q", what, got, *want)
	}
}

// checkAgainstRef checks every accessor of ev against the oracle.
func checkAgainstRef(t *testing.T, ev *Event, meta Meta, host string, line []byte, r ref) {
	t.Helper()
	if ev.Host() != host {
		t.Errorf("Host = %q, want %q", ev.Host(), host)
	}
	if !bytes.Equal(ev.JSON(), line) {
		t.Errorf("JSON = %q, want the line %q", ev.JSON(), line)
	}
	if r.str["Type"] == nil || r.str["Action"] == nil {
		t.Fatalf("Build accepted a line without Type or Action: %q", line)
	}
	if ev.Type() != *r.str["Type"] || meta.Type != *r.str["Type"] {
		t.Errorf("Type = %q, Meta.Type = %q, want %q", ev.Type(), meta.Type, *r.str["Type"])
	}
	if ev.Action() != *r.str["Action"] || meta.Action != *r.str["Action"] {
		t.Errorf("Action = %q, Meta.Action = %q, want %q", ev.Action(), meta.Action, *r.str["Action"])
	}
	v, ok := ev.ActorID()
	optEqual(t, "ActorID", v, ok, r.str["Actor.ID"])
	v, ok = ev.Scope()
	optEqual(t, "Scope", v, ok, r.str["scope"])
	if r.str["status"] != nil {
		v, ok = ev.Status()
		optEqual(t, "Status", v, ok, r.str["status"])
	}
	if r.str["id"] != nil {
		v, ok = ev.ID()
		optEqual(t, "ID", v, ok, r.str["id"])
	}
	if r.str["from"] != nil {
		v, ok = ev.From()
		optEqual(t, "From", v, ok, r.str["from"])
	}
	var wantTime int64
	wantHas := true
	switch {
	case r.num["timeNano"] != nil && (*r.num["timeNano"] != 0 || r.num["time"] == nil):
		wantTime = *r.num["timeNano"]
	case r.num["time"] != nil:
		wantTime = *r.num["time"] * 1e9
	default:
		wantHas = false
	}
	if tn, has := ev.TimeNano(); tn != wantTime || has != wantHas || meta.TimeNano != wantTime {
		t.Errorf("TimeNano = %d, %v, Meta.TimeNano = %d, want %d, %v", tn, has, meta.TimeNano, wantTime, wantHas)
	}
	if ev.NumAttrs() < len(r.attrs) {
		t.Errorf("NumAttrs = %d, want at least %d", ev.NumAttrs(), len(r.attrs))
	}
	for k, want := range r.attrs {
		if got, ok := ev.Attr(k); !ok || got != want {
			t.Errorf("Attr(%q) = %q, %v, want %q", k, got, ok, want)
		}
	}
	n := 0
	for k := range ev.Attrs() {
		if _, ok := r.attrs[k]; !ok {
			t.Errorf("Attrs yields key %q, not in the line's attributes", k)
		}
		n++
	}
	if n != ev.NumAttrs() {
		t.Errorf("Attrs yields %d entries, NumAttrs = %d", n, ev.NumAttrs())
	}
	if _, ok := ev.Attr("no such attribute"); ok {
		t.Error("Attr of a missing key is present")
	}
}

func TestBuildParseFixtures(t *testing.T) {
	prefix := []byte("previous payload")
	for i, line := range fixtures(t) {
		t.Run(fmt.Sprint(i+1), func(t *testing.T) {
			r, err := decodeRef(line)
			if err != nil {
				t.Fatalf("fixture does not decode: %v", err)
			}
			dst := append([]byte(nil), prefix...)
			out, meta, err := Build(dst, "web-1", line)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if !bytes.HasPrefix(out, prefix) {
				t.Fatalf("Build changed what dst held")
			}
			ev, err := Parse(out[len(prefix):])
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkAgainstRef(t, &ev, meta, "web-1", line, r)
		})
	}
}

// TestDeprecatedFieldsFallback strips status, id and from from every fixture
// an old engine sent, as Docker 29 does, and checks that Status, ID and From
// still give what the old engine said.
func TestDeprecatedFieldsFallback(t *testing.T) {
	checked := map[string]int{}
	for i, line := range fixtures(t) {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(line, &top); err != nil {
			t.Fatal(err)
		}
		if _, old := top["status"]; !old {
			continue
		}
		r, err := decodeRef(line)
		if err != nil {
			t.Fatal(err)
		}
		delete(top, "status")
		delete(top, "id")
		delete(top, "from")
		stripped, err := json.Marshal(top)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := Build(nil, "h", stripped)
		if err != nil {
			t.Fatalf("line %d: Build: %v", i+1, err)
		}
		ev, err := Parse(out)
		if err != nil {
			t.Fatalf("line %d: Parse: %v", i+1, err)
		}
		v, ok := ev.Status()
		optEqual(t, fmt.Sprintf("line %d Status", i+1), v, ok, r.str["status"])
		v, ok = ev.ID()
		optEqual(t, fmt.Sprintf("line %d ID", i+1), v, ok, r.str["id"])
		v, ok = ev.From()
		optEqual(t, fmt.Sprintf("line %d From", i+1), v, ok, r.str["from"])
		checked[ev.Type()]++
	}
	if checked["container"] == 0 || checked["image"] == 0 {
		t.Fatalf("fixtures lack old-engine container or image lines: %v", checked)
	}
}

func TestDeprecatedFieldsOtherTypes(t *testing.T) {
	for _, line := range []string{
		`{"Type":"volume","Action":"create","Actor":{"ID":"v1","Attributes":{"driver":"local","image":"x"}}}`,
		`{"Type":"network","Action":"connect","Actor":{"ID":"n1","Attributes":{"container":"c1"}}}`,
		`{"Type":"container","Action":"start","Actor":{"ID":"","Attributes":{"image":""}}}`,
		`{"Type":"container","Action":"start"}`,
	} {
		out, _, err := Build(nil, "h", []byte(line))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := ev.ID(); ok {
			t.Errorf("%s: ID = %q, want absent", line, v)
		}
		if v, ok := ev.From(); ok {
			t.Errorf("%s: From = %q, want absent", line, v)
		}
		st, ok := ev.Status()
		if isContainer := ev.Type() == "container"; ok != isContainer || (ok && st != ev.Action()) {
			t.Errorf("%s: Status = %q, %v", line, st, ok)
		}
	}
}

func TestBuildStrings(t *testing.T) {
	cases := []string{
		`{"Type":"container","Action":"exec_start: sh -c \"echo \\\"hi\\\"\"","Actor":{"ID":"c\u00e9","Attributes":{"k\u0065y":"v\/al\tue","emoji":"\ud83d\ude00","lone":"\ud800x","pair-bad":"\ud800\u0041","utf8":"héllo wörld ✓","\"quoted\"":"\\"}}}`,
		"{ \"Type\" : \"image\" ,\n\t\"Action\":\"pull\", \"Actor\":{\"ID\":\"\",\"Attributes\":{}},\"scope\":\"\"}\r\n",
		`{"Type":"container","Action":"die","Actor":{"Attributes":null,"ID":null},"status":null,"time":1700000000}`,
		`{"\u0054ype":"container","Act\u0069on":"start","Actor":{"I\u0044":"abc","Attribute\u0073":{"a":"b"}}}`,
		`{"Type":"x","Action":"y","time":-5,"timeNano":0}`,
		`{"Type":"x","Action":"y","timeNano":0,"time":7}`,
		`{"Type":"x","Action":"y","timeNano":-9223372036854775808,"time":99}`,
		`{"Type":"x","Action":"y","time":0}`,
		`{"Type":"x","Action":"y","extra":{"deep":[1,2.5e-3,-0.0,true,false,null,"s\n",{"a":[]}]},"Actor":{"x":[{}],"ID":"i"}}`,
		`{"Type":"a","Type":"container","Action":"b","Actor":{"ID":"first","Attributes":{"k":"1"}},"Actor":{"Attributes":{"k":"2","k":"3"}}}`,
	}
	for _, line := range cases {
		r, err := decodeRef([]byte(line))
		if err != nil {
			t.Fatalf("oracle refuses %s: %v", line, err)
		}
		out, meta, err := Build(nil, "host-é", []byte(line))
		if err != nil {
			t.Fatalf("Build(%s): %v", line, err)
		}
		ev, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		checkAgainstRef(t, &ev, meta, "host-é", []byte(line), r)
	}
}

func TestBuildErrors(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	cases := []struct{ line, want string }{
		{``, "unexpected end"},
		{`   `, "unexpected end"},
		{`[]`, `unexpected '['`},
		{`"Type"`, `unexpected '"'`},
		{`{"Type":"container"}`, "no Action"},
		{`{"Action":"start"}`, "no Type"},
		{`{"Type":null,"Action":"start"}`, "no Type"},
		{`{"Type":"a","Action":"b"} x`, "after the event object"},
		{`{"Type":"a","Action":"b"}{}`, "after the event object"},
		{`{"Type":"a","Action":"b",}`, "want a string"},
		{`{"Type":"a" "Action":"b"}`, "want ',' or '}'"},
		{`{"Type":1,"Action":"b"}`, "want a string"},
		{`{"Type":"a","Action":"b","time":"1"}`, "want a number"},
		{`{"Type":"a","Action":"b","time":1.5}`, "time is not an integer"},
		{`{"Type":"a","Action":"b","timeNano":1e9}`, "timeNano is not an integer"},
		{`{"Type":"a","Action":"b","timeNano":99999999999999999999}`, "out of range"},
		{`{"Type":"a","Action":"b","time":9999999999}`, "out of range"},
		{`{"Type":"a","Action":"b","timeNano":5,"time":99999999999999999999}`, "time \"99999999999999999999\" out of range"},
		{`{"Type":"a","Action":"b","time":01}`, "want ',' or '}'"},
		{`{"Type":"a","Action":"b","Actor":[]}`, `want '{'`},
		{`{"Type":"a","Action":"b","Actor":{"ID":5}}`, "want a string"},
		{`{"Type":"a","Action":"b","Actor":{"Attributes":{"k":5}}}`, "string attribute value"},
		{`{"Type":"a","Action":"b","Actor":{"Attributes":{"k":null}}}`, "string attribute value"},
		{`{"Type":"a","Action":"b","Actor":{"Attributes":[]}}`, `want '{'`},
		{`{"Type":"a\x","Action":"b"}`, "invalid escape"},
		{`{"Type":"a\u12","Action":"b"}`, `invalid \u escape`},
		{"{\"Type\":\"a\tb\",\"Action\":\"b\"}", "control character"},
		{"{\"Type\":\"a\xffb\",\"Action\":\"b\"}", "invalid UTF-8"},
		{`{"Type":"a","Action":"b`, "unterminated string"},
		{`{"Type":"a","Action":"b\`, "unterminated escape"},
		{`{"Type":"a","Action":"b","x":tru}`, "want true"},
		{`{"Type":"a","Action":"b","x":-}`, "want a number"},
		{`{"Type":"a","Action":"b","x":1.}`, "want a digit"},
		{`{"Type":"a","Action":"b","x":` + deep + `}`, "nested deeper"},
		{`{"Type":"a","Action":"b","x":[1 2]}`, "want ',' or ']'"},
	}
	for _, c := range cases {
		dst := []byte("keep")
		out, meta, err := Build(dst, "h", []byte(c.line))
		if err == nil {
			t.Errorf("Build(%q) accepted it", c.line)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Build(%q) error %q, want it to say %q", c.line, err, c.want)
		}
		if string(out) != "keep" || !reflect.DeepEqual(meta, Meta{}) {
			t.Errorf("Build(%q) failed but returned %q, %+v", c.line, out, meta)
		}
	}
}

func TestBuildLimits(t *testing.T) {
	line := []byte(`{"Type":"a","Action":"b"}`)
	if _, _, err := Build(nil, "", line); err == nil || !strings.Contains(err.Error(), "empty host") {
		t.Errorf("empty host: %v", err)
	}
	if _, _, err := Build(nil, strings.Repeat("h", MaxHostLen+1), line); err == nil || !strings.Contains(err.Error(), "host label of") {
		t.Errorf("long host: %v", err)
	}
	if _, _, err := Build(nil, strings.Repeat("h", MaxHostLen), line); err != nil {
		t.Errorf("host of MaxHostLen: %v", err)
	}
	if _, _, err := Build(nil, "h\xff", line); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("invalid host: %v", err)
	}
	long := append([]byte(`{"Type":"a","Action":"b","x":"`), bytes.Repeat([]byte("x"), MaxLineLen)...)
	long = append(long, `"}`...)
	if _, _, err := Build(nil, "h", long); err == nil || !strings.Contains(err.Error(), "event line of") {
		t.Errorf("long line: %v", err)
	}
	// No limit on a string but the line's: a label value or an exec
	// command may be large.
	big := `{"Type":"a","Action":"` + strings.Repeat("x", 70<<10) + `","Actor":{"Attributes":{"k":"` + strings.Repeat("v", 200<<10) + `"}}}`
	out, meta, err := Build(nil, "h", []byte(big))
	if err != nil || meta.Truncated {
		t.Fatalf("long strings: %v, truncated %v", err, meta.Truncated)
	}
	if ev, err := Parse(out); err != nil || len(ev.Action()) != 70<<10 || ev.Truncated() {
		t.Errorf("long strings: %v", err)
	} else if v, _ := ev.Attr("k"); len(v) != 200<<10 {
		t.Errorf("long value: %d bytes", len(v))
	}
	attrs := func(n int) []byte {
		var b strings.Builder
		b.WriteString(`{"Type":"a","Action":"b","Actor":{"Attributes":{`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":"v%d"`, i, i)
		}
		b.WriteString(`}}}`)
		return []byte(b.String())
	}
	// 1,100 labels (more than the former limit of 1,024) are indexed in
	// full.
	out, meta, err = Build(nil, "h", attrs(1100))
	if err != nil || meta.Truncated {
		t.Fatalf("1100 attributes: %v, truncated %v", err, meta.Truncated)
	}
	ev, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := ev.Attr("k1099"); ev.NumAttrs() != 1100 || v != "v1099" {
		t.Errorf("NumAttrs = %d, last = %q", ev.NumAttrs(), v)
	}
}

// TestBuildTooManyAttributes: past MaxAttrs, the first attributes and
// the kept keys (whichever come last) are indexed, and the payload is
// flagged truncated, never refused.
func TestBuildTooManyAttributes(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"first",`)
	for i := range MaxAttrs + 100 {
		fmt.Fprintf(&b, `"k%d":"v",`, i)
	}
	b.WriteString(`"exitCode":"0","image":"busybox","n\u0061me":"web","name":"web2","signal":"9","zz":"dropped"}}}`)
	for _, build := range []func([]byte, string, []byte) ([]byte, Meta, error){Build, refBuild} {
		out, meta, err := build(nil, "h", []byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		if !meta.Truncated || !ev.Truncated() {
			t.Errorf("not flagged truncated")
		}
		if ev.NumAttrs() != softAttrs+4 {
			t.Errorf("NumAttrs %d, want %d", ev.NumAttrs(), softAttrs+4)
		}
		for k, want := range map[string]string{"name": "web2", "image": "busybox", "exitCode": "0", "signal": "9", "k0": "v"} {
			if v, ok := ev.Attr(k); !ok || v != want {
				t.Errorf("%s = %q, %v; want %q", k, v, ok, want)
			}
		}
		if _, ok := ev.Attr("zz"); ok {
			t.Errorf("an attribute past the limit was kept")
		}
	}
}

// TestBuildExtra: the flag and the context reach the payload, Parse
// returns them, and Build equals BuildExtra with no Extra.
func TestBuildExtra(t *testing.T) {
	line := fixtures(t)[3]
	ctx := []byte(`{"k8s.pod":"web-0"}`)
	out, meta, err := BuildExtra([]byte("keep"), "h", line, Extra{Truncated: true, Context: ctx})
	if err != nil || !meta.Truncated {
		t.Fatalf("BuildExtra: %v, %+v", err, meta)
	}
	ev, err := Parse(out[4:])
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Truncated() || string(ev.Context()) != string(ctx) || string(ev.JSON()) != string(line) {
		t.Errorf("truncated %v, context %q, json %q", ev.Truncated(), ev.Context(), ev.JSON())
	}
	plain, _, _ := Build(nil, "h", line)
	extra, _, _ := BuildExtra(nil, "h", line, Extra{})
	if string(plain) != string(extra) {
		t.Errorf("Build differs from BuildExtra with no Extra")
	}
	if ev, _ := Parse(plain); ev.Truncated() || ev.Context() != nil {
		t.Errorf("plain payload: truncated %v, context %q", ev.Truncated(), ev.Context())
	}
	if len(out)-4 > MaxSizeContext(1, len(ctx), len(line)) || len(out)-4 > SizeHintContext(1, len(ctx), len(line)) {
		t.Errorf("payload of %d bytes, more than MaxSizeContext or SizeHintContext", len(out)-4)
	}
	if _, _, err := BuildExtra(nil, "h", line, Extra{Context: make([]byte, MaxContextLen+1)}); err == nil || !strings.Contains(err.Error(), "context of") {
		t.Errorf("long context: %v", err)
	}
	if _, _, err := BuildExtra(nil, "h", line, Extra{Context: make([]byte, MaxContextLen)}); err != nil {
		t.Errorf("context of MaxContextLen: %v", err)
	}
	// Parse refuses unknown flags and a context over the limit.
	bad := slices.Clone(out[4:])
	bad[4] |= 2
	if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "unknown flags") {
		t.Errorf("unknown flag: %v", err)
	}
	bad = slices.Clone(out[4:])
	binary.LittleEndian.PutUint32(bad[headerLen+1:], MaxContextLen+1)
	if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "context of") {
		t.Errorf("long context: %v", err)
	}
}

// TestParseCorrupt mutates and truncates valid payloads at every byte: Parse
// must return an error or an Event whose accessors all work.
func TestParseCorrupt(t *testing.T) {
	lines := fixtures(t)
	for _, line := range [][]byte{lines[3], lines[len(lines)-2], []byte(`{"Type":"c\u00e9","Action":"a\"b","Actor":{"ID":"\n","Attributes":{"k\t":"v\\"}}}`)} {
		p, _, err := Build(nil, "web-1", line)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p {
			if _, err := Parse(p[:i]); err == nil {
				t.Fatalf("Parse of the first %d of %d bytes succeeded", i, len(p))
			}
			for _, x := range []byte{0, 1, 0x7f, 0x80, 0xff} {
				q := bytes.Clone(p)
				q[i] ^= x
				if ev, err := Parse(q); err == nil {
					touch(&ev)
				}
			}
		}
		if _, err := Parse(append(bytes.Clone(p), 0)); err == nil {
			t.Error("Parse accepted a trailing byte")
		}
	}
}

// touch calls every accessor, so that a corrupt payload shows as a panic.
func touch(ev *Event) int {
	n := len(ev.Host()) + len(ev.JSON()) + len(ev.Type()) + len(ev.Action())
	for _, f := range []func() (string, bool){ev.ActorID, ev.Scope, ev.Status, ev.ID, ev.From} {
		v, _ := f()
		n += len(v)
	}
	tn, _ := ev.TimeNano()
	n += int(tn & 1)
	for k, v := range ev.Attrs() {
		w, _ := ev.Attr(k)
		n += len(k) + len(v) + len(w)
	}
	return n
}

func TestBuildAppendsAndReuses(t *testing.T) {
	lines := fixtures(t)
	buf := make([]byte, 0, 64<<10)
	var offs []int
	for _, l := range lines {
		offs = append(offs, len(buf))
		var err error
		if buf, _, err = Build(buf, "h", l); err != nil {
			t.Fatal(err)
		}
	}
	offs = append(offs, len(buf))
	for i := range lines {
		ev, err := Parse(buf[offs[i]:offs[i+1]])
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if !bytes.Equal(ev.JSON(), lines[i]) {
			t.Errorf("payload %d holds %q", i, ev.JSON())
		}
	}
	// Meta.Action is a constant for Docker's plain actions; an action with
	// a suffix (exec_start: CMD) is the one case that costs a string.
	var plain [][]byte
	for _, l := range lines {
		if !bytes.Contains(l, []byte(`"Action":"exec_`)) {
			plain = append(plain, l)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() {
		buf = buf[:0]
		for _, l := range plain {
			buf, _, _ = Build(buf, "h", l)
		}
	}); allocs != 0 {
		t.Errorf("Build into a large enough buffer allocates %.1f times per %d lines", allocs, len(plain))
	}
}

// MaxSize must bound every payload Build accepts, including lines made of
// nothing but the smallest attributes.
func TestMaxSizeBoundsEveryPayload(t *testing.T) {
	for _, n := range []int{0, 1, 2, 10, 100, 1023, 1024} {
		var line strings.Builder
		line.WriteString(`{"Type":"container","Action":"x","Actor":{"ID":"i","Attributes":{`)
		for i := 0; i < n; i++ {
			if i > 0 {
				line.WriteByte(',')
			}
			line.WriteString(`"":""`)
		}
		line.WriteString(`}}}`)
		p, _, err := Build(nil, "h", []byte(line.String()))
		if err != nil {
			t.Fatalf("%d attributes: %v", n, err)
		}
		if max := MaxSize(1, line.Len()); len(p) > max {
			t.Errorf("%d attributes: payload of %d bytes, MaxSize says %d", n, len(p), max)
		}
	}
}

// A NUL byte is not the end of the line: what follows the object must be
// whitespace only (found by FuzzBuild).
func TestBuildRefusesDataAfterNUL(t *testing.T) {
	for _, line := range []string{
		"{\"Type\":\"container\",\"Action\":\"start\"}\x00{garbage",
		"{\"Type\":\"container\",\"Action\":\"start\"}\x00",
		"{\"Type\":\"container\",\"Action\":\"start\"} \x00",
	} {
		if _, _, err := Build(nil, "h", []byte(line)); err == nil {
			t.Errorf("Build(%q) accepted data after the object", line)
		}
	}
}

// internSink keeps intern's result alive, so that a copy would allocate.
var internSink string

// Every event type, the plugin's own included, is a constant of intern:
// reading Type off a payload allocates nothing.
func TestEventTypesAreInterned(t *testing.T) {
	for _, typ := range append(slices.Clone(EventTypes), "dockerfleet") {
		line := []byte(`"` + typ + `"`)
		s := slot{off: 1, n: uint32(len(typ))}
		if got := intern(line, s); got != typ {
			t.Fatalf("intern of %q: %q", typ, got)
		}
		if n := testing.AllocsPerRun(10, func() { internSink = intern(line, s) }); n != 0 {
			t.Errorf("intern of %q allocates (%v per call): not a constant", typ, n)
		}
	}
}

// TestBuildCopyOnly checks the payload of the benchmark's copy-only build:
// the header, host and line of a payload, then an index of zeros, which
// Parse refuses (no Type): a copy-only build cannot pass for the plugin.
func TestBuildCopyOnly(t *testing.T) {
	p, meta, err := CopyOnly([]byte("x"), "h-0", floodLine, Extra{})
	if err != nil || meta.TimeNano != 1700000000123456789 {
		t.Fatalf("CopyOnly: %v, %+v", err, meta)
	}
	want := append([]byte("x"+Magic+"\x00\x00\x03\x00h-0\x00\x00\x00\x00"), byte(len(floodLine)), byte(len(floodLine)>>8), 0, 0)
	want = append(append(want, floodLine...), make([]byte, fixedIndex)...)
	if !bytes.Equal(p, want) {
		t.Fatalf("copy-only payload:\n%q\nwant\n%q", p, want)
	}
	if _, err := Parse(p[1:]); err == nil {
		t.Error("Parse accepted a copy-only payload")
	}
	if got := copyOnlyTime(floodLine); got != 1700000000123456789 {
		t.Errorf("copyOnlyTime %d", got)
	}
	if got := copyOnlyTime([]byte(`{"a":"b"}`)); got != 0 {
		t.Errorf("copyOnlyTime of a line without a number: %d", got)
	}
}

// Meta.ActorID is the plain Actor ID as a view of the line, nil when it is
// absent or needs unescaping (Event.ActorID has it then).
func TestMetaActorID(t *testing.T) {
	for line, want := range map[string]string{
		`{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"x":"{\"ID\":\"no\"}"}},"timeNano":1}`: "abc",
		`{"Type":"container","Action":"start","Actor":{"ID":"a\u0062c"},"timeNano":1}`:                                 "",
		`{"Type":"container","Action":"start","timeNano":1}`:                                                           "",
	} {
		p, meta, err := Build(nil, "h", []byte(line))
		if err != nil {
			t.Fatal(err)
		}
		if string(meta.ActorID) != want || (want == "") != (meta.ActorID == nil) {
			t.Errorf("%s: Meta.ActorID %q, want %q", line, meta.ActorID, want)
		}
		ev, err := Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := ev.ActorID(); meta.ActorID != nil && id != string(meta.ActorID) {
			t.Errorf("%s: Meta.ActorID %q, Event.ActorID %q", line, meta.ActorID, id)
		}
	}
}
