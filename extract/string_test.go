// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// cliLine is the docker CLI's prettyPrintEvent (cli/command/system/events.go)
// with the host inserted after the timestamp and the time in UTC.
func cliLine(host string, m events.Message) string {
	var out strings.Builder
	if m.TimeNano != 0 {
		fmt.Fprintf(&out, "%s ", time.Unix(0, m.TimeNano).UTC().Format("2006-01-02T15:04:05.000000000Z07:00"))
	} else if m.Time != 0 {
		fmt.Fprintf(&out, "%s ", time.Unix(m.Time, 0).UTC().Format("2006-01-02T15:04:05.000000000Z07:00"))
	}
	fmt.Fprintf(&out, "%s %s %s %s", host, m.Type, m.Action, m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		var keys, attrs []string
		for k := range m.Actor.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			attrs = append(attrs, k+"="+m.Actor.Attributes[k])
		}
		fmt.Fprintf(&out, " (%s)", strings.Join(attrs, ", "))
	}
	return out.String()
}

func TestStringLikeTheCLI(t *testing.T) {
	for _, f := range loadFixtures(t, "web-1") {
		if got, want := String(&f.ev), cliLine("web-1", f.msg); got != want {
			t.Errorf("String of %s\n got %s\nwant %s", f.line, got, want)
		}
	}
}

func TestStringKnown(t *testing.T) {
	fs := loadFixtures(t, "web-1")
	var die *payload.Event
	for i := range fs {
		if bytes.Contains(fs[i].line, []byte(`"exitCode":"137"`)) {
			die = &fs[i].ev
		}
	}
	want := `2026-11-25T23:33:19.901156667Z web-1 container die 810f7cc6879ef6788777d5845f3cb4382ac7d6b8aab17122b4d0538db427a7c7 (com.example.note=say "hi"\tnow, com.example.team=payments, exitCode=137, image=busybox:dfx, name=confident_kirch)`
	if got := String(die); got != want {
		t.Errorf("String\n got %s\nwant %s", got, want)
	}
	for _, c := range []struct{ line, want string }{
		{`{"Type":"image","Action":"pull"}`, `h image pull `},
		{`{"Type":"volume","Action":"create","Actor":{"ID":"v","Attributes":{}},"time":1795649707}`,
			`2026-11-25T23:35:07.000000000Z h volume create v`},
		{`{"Type":"x","Action":"y","time":1,"timeNano":0,"Actor":{"ID":"i","Attributes":{"b":"2","a":"1","b":"3"}}}`,
			`1970-01-01T00:00:01.000000000Z h x y i (a=1, b=3)`},
	} {
		p, _, err := payload.Build(nil, "h", []byte(c.line))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := payload.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := String(&ev); got != c.want {
			t.Errorf("String(%s)\n got %q\nwant %q", c.line, got, c.want)
		}
	}
}

// TestStringEscapesControlCharacters: a label value, an action or an ID
// with a newline (or another control character) cannot forge a second,
// genuine-looking event line in the string form; the field value stays
// exact.
func TestStringEscapesControlCharacters(t *testing.T) {
	forged := "x\n2026-11-25T23:33:19.901156667Z web-1 container exec_start: sh 1 (name=victim)"
	line, err := json.Marshal(map[string]any{
		"Type": "container", "Action": "start\r", "timeNano": 1795649599901156667,
		"Actor": map[string]any{"ID": "id\x1b[2J", "Attributes": map[string]string{"note": forged, "sep": "a\u2028b\u0085c\x7f", "ok": "é\\t"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := payload.Build(nil, "web-1", line)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := payload.Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	got := String(&ev)
	want := `2026-11-25T23:33:19.901156667Z web-1 container start\r id\x1b[2J (note=x\n2026-11-25T23:33:19.901156667Z web-1 container exec_start: sh 1 (name=victim), ok=é\t, sep=a\u2028b\u0085c\x7f)`
	if got != want {
		t.Errorf("String:\n%s\nwant\n%s", got, want)
	}
	if strings.ContainsAny(got, "\n\r\x1b\x7f\u2028\u0085") {
		t.Errorf("control characters left in %q", got)
	}
	if v, _ := extract(t, &ev, "docker.attributes[note]"); v != forged {
		t.Errorf("field value changed: %q", v)
	}
}
