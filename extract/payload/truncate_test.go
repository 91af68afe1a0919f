// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// truncate runs a Truncator over line written in pieces of chunk bytes.
func truncate(t testing.TB, tr *Truncator, line []byte, max, chunk int) ([]byte, error) {
	t.Helper()
	tr.Reset(max)
	for p := line; len(p) > 0; {
		n := min(chunk, len(p))
		if _, err := tr.Write(p[:n]); err != nil {
			break
		}
		p = p[n:]
	}
	return tr.Line()
}

// bigContainer is a container event line as dockerd writes it, with the
// attributes given (sorted as the daemon sorts them) besides image and
// name.
func bigContainer(action string, attrs map[string]string) []byte {
	attrs["image"] = "busybox:latest"
	attrs["name"] = "big-one"
	var b strings.Builder
	b.WriteString(`{"status":"` + action + `","id":"810f7cc6879ef6788777d5845f3cb4382ac7d6b8aab17122b4d0538db427a7c7","from":"busybox:latest","Type":"container","Action":"` + action + `","Actor":{"ID":"810f7cc6879ef6788777d5845f3cb4382ac7d6b8aab17122b4d0538db427a7c7","Attributes":{`)
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slicesSort(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%q", k, attrs[k])
	}
	b.WriteString(`}},"scope":"local","time":1795649599,"timeNano":1795649599618677307}` + "\n")
	return []byte(b.String())
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func mustParse(t *testing.T, line []byte) Event {
	t.Helper()
	p, _, err := Build(nil, "h", line)
	if err != nil {
		t.Fatalf("Build of the reduced line: %v\n%.300s", err, line)
	}
	ev, err := Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestTruncatorBigLabel: a 70 KiB label value is cut with the marker, the
// rest of the event stays whole.
func TestTruncatorBigLabel(t *testing.T) {
	line := bigContainer("create", map[string]string{"big": strings.Repeat("x", 70<<10), "com.example.team": "payments"})
	var tr Truncator
	for _, chunk := range []int{1, 7, 4096, len(line)} {
		out, err := truncate(t, &tr, line, 64<<10, chunk)
		if err != nil {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
		if len(out) > 64<<10 {
			t.Fatalf("%d bytes", len(out))
		}
		ev := mustParse(t, out)
		id, _ := ev.ActorID()
		if ev.Type() != "container" || ev.Action() != "create" || !strings.HasPrefix(id, "810f7cc6") {
			t.Errorf("type %q action %q id %q", ev.Type(), ev.Action(), id)
		}
		if tn, _ := ev.TimeNano(); tn != 1795649599618677307 {
			t.Errorf("timeNano %d", tn)
		}
		for k, want := range map[string]string{"name": "big-one", "image": "busybox:latest", "com.example.team": "payments"} {
			if v, _ := ev.Attr(k); v != want {
				t.Errorf("%s = %q", k, v)
			}
		}
		big, _ := ev.Attr("big")
		if !strings.HasSuffix(big, CutMarker) || len(big) > TruncatedValueLen || !strings.HasPrefix(big, "xxxx") {
			t.Errorf("big label: %d bytes, %.20q...", len(big), big)
		}
		if s, _ := ev.Scope(); s != "local" {
			t.Errorf("scope %q", s)
		}
	}
}

// TestTruncatorBigExec: an exec of a 70 KiB command keeps its action cut.
func TestTruncatorBigExec(t *testing.T) {
	line := bigContainer("exec_create: sh -c "+strings.Repeat("a", 70<<10), map[string]string{"execID": "e1"})
	var tr Truncator
	out, err := truncate(t, &tr, line, 64<<10, 4096)
	if err != nil {
		t.Fatal(err)
	}
	ev := mustParse(t, out)
	if a := ev.Action(); !strings.HasPrefix(a, "exec_create: sh -c aaa") || !strings.HasSuffix(a, CutMarker) {
		t.Errorf("action %.40q", a)
	}
	if v, _ := ev.Attr("execID"); v != "e1" {
		t.Errorf("execID %q", v)
	}
}

// TestTruncatorManyLabels: with more labels than fit, the kept attributes
// (sorted after most labels by the daemon) are there, then the first
// others in the line's order.
func TestTruncatorManyLabels(t *testing.T) {
	attrs := map[string]string{"exitCode": "137", "signal": "9", "zzz": "last"}
	for i := range 20000 {
		attrs[fmt.Sprintf("a%05d", i)] = "value"
	}
	line := bigContainer("die", attrs)
	var tr Truncator
	out, err := truncate(t, &tr, line, 16<<10, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > 16<<10 || len(out) < 15<<10 {
		t.Errorf("%d bytes, want the room used", len(out))
	}
	ev := mustParse(t, out)
	for k, want := range map[string]string{"name": "big-one", "image": "busybox:latest", "exitCode": "137", "signal": "9", "a00000": "value", "a00100": "value"} {
		if v, _ := ev.Attr(k); v != want {
			t.Errorf("%s = %q", k, v)
		}
	}
	if _, ok := ev.Attr("zzz"); ok {
		t.Error("an attribute past the room was kept")
	}
	k0, _ := ev.AttrAt(0)
	kl, _ := ev.AttrAt(ev.NumAttrs() - 1)
	if k0 != "a00000" || kl != "signal" {
		t.Errorf("order: first %q, last %q", k0, kl)
	}
}

// TestTruncatorSmall: at the smallest size asked, the kept members fit,
// cut short.
func TestTruncatorSmall(t *testing.T) {
	long := strings.Repeat("é", 3000)
	line := []byte(`{"Type":"container","Action":"` + long + `","status":"` + long + `","id":"` + long + `","from":"` + long + `","scope":"` + long +
		`","Actor":{"ID":"` + long + `","Attributes":{"name":"` + long + `","image":"` + long + `","execID":"` + long + `","exitCode":"` + long +
		`","signal":"` + long + `","oldName":"` + long + `","x\u00e9\ud83d\ude00":"` + long + `"}},"time":1,"timeNano":2}`)
	var tr Truncator
	out, err := truncate(t, &tr, line, MinTruncateSize, 333)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > MinTruncateSize {
		t.Errorf("%d bytes", len(out))
	}
	ev := mustParse(t, out)
	for _, k := range keptAttrKeys {
		if v, ok := ev.Attr(k); !ok || !strings.HasPrefix(v, "é") || !strings.HasSuffix(v, CutMarker) {
			t.Errorf("%s = %q", k, v)
		}
	}
	if _, err := truncate(t, &tr, line, MinTruncateSize-1, 333); err != ErrTooSmall {
		t.Errorf("size below the minimum: %v", err)
	}
}

func TestTruncatorRefuses(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{``, "end of line"},
		{`[]`, "unexpected '['"},
		{`not json`, "want null"},
		{`what`, "want a value"},
		{`{"Type":"a"}`, "no Action"},
		{`{"Action":"a"}`, "no Type"},
		{`{"Type":1,"Action":"a"}`, "number for Type"},
		{`{"Type":"a","Action":"b","Actor":{"Attributes":{"k":1}}}`, "number for an attribute value"},
		{`{"Type":"a","Action":"b","Actor":{"Attributes":{"k":null}}}`, "null for an attribute value"},
		{`{"Type":"a","Action":"b","Actor":[]}`, "for Actor"},
		{`{"Type":"a","Action":"b","time":1.5}`, "not an integer"},
		{`{"Type":"a","Action":"b","time":"1"}`, "string for time"},
		{`{"Type":"a","Action":"b"}x`, "after the event object"},
		{`{"Type":"a","Action":"b",}`, "want a key"},
		{"{\"Type\":\"a\x01\",\"Action\":\"b\"}", "control character"},
		{`{"Type":"a\q","Action":"b"}`, "invalid escape"},
		{`{"Type":"a","Action":"b","x":` + strings.Repeat("[", maxNest) + strings.Repeat("]", maxNest) + `}`, "nested deeper"},
		{`{"Type":"a","Action":"b","x":tru}`, "want true"},
		{`{"Type":"a","Action":"b"`, "end of line"},
	} {
		var tr Truncator
		out, err := truncate(t, &tr, []byte(c.line), 4096, 3)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %q, %v; want an error saying %q", c.line, out, err, c.want)
		}
	}
}

// TestTruncatorBoundedMemory: a 50 MB label is read in 64 KiB pieces
// with a few hundred KiB allocated at most.
func TestTruncatorBoundedMemory(t *testing.T) {
	head := []byte(`{"Type":"container","Action":"create","Actor":{"ID":"abc","Attributes":{"big":"`)
	piece := bytes.Repeat([]byte("y"), 64<<10)
	tail := []byte(`","name":"n"}},"time":1}` + "\n")
	var tr Truncator
	run := func(pieces int) {
		tr.Reset(256 << 10)
		tr.Write(head)
		for range pieces {
			tr.Write(piece)
		}
		tr.Write(tail)
		out, err := tr.Line()
		if err != nil {
			t.Fatal(err)
		}
		if ev := mustParse(t, out); ev.Type() != "container" {
			t.Fatal(ev.Type())
		}
	}
	run(1) // warm up the Truncator's buffers
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	run(800)
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("%d bytes allocated for a 50 MB line", n)
	}
}

// TestTruncatorFixtures: every fixture line reduces to a line with the
// same kept members.
func TestTruncatorFixtures(t *testing.T) {
	var tr Truncator
	for _, l := range fixtures(t) {
		checkTruncated(t, &tr, l, MinTruncateSize, 5)
	}
}

// checkTruncated checks the output of a Truncator against what Build
// makes of line, when it accepts it.
func checkTruncated(t *testing.T, tr *Truncator, line []byte, max, chunk int) {
	t.Helper()
	out, err := truncate(t, tr, line, max, chunk)
	p, _, berr := Build(nil, "h", line)
	if err != nil {
		if berr == nil && len(line) <= MaxLineLen {
			t.Fatalf("Truncator refuses (%v) a line Build takes: %q", err, line)
		}
		return
	}
	if len(out) > max {
		t.Fatalf("reduced line of %d bytes, more than %d", len(out), max)
	}
	got := mustParse(t, out)
	if berr != nil {
		return
	}
	want, err := Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	same := func(what, g string, gok bool, w string, wok bool) {
		if gok != wok || g != w && !(strings.HasSuffix(g, CutMarker) && strings.HasPrefix(w, strings.TrimSuffix(g, CutMarker))) {
			t.Fatalf("%s: %q (%v), want %q (%v)\nline %q\nout %q", what, g, gok, w, wok, line, out)
		}
	}
	same("Type", got.Type(), true, want.Type(), true)
	same("Action", got.Action(), true, want.Action(), true)
	for _, f := range []struct {
		name string
		get  func(*Event) (string, bool)
	}{{"Actor.ID", (*Event).ActorID}, {"scope", (*Event).Scope}, {"status", (*Event).Status}, {"id", (*Event).ID}, {"from", (*Event).From}} {
		g, gok := f.get(&got)
		w, wok := f.get(&want)
		same(f.name, g, gok, w, wok)
	}
	gt, gok := got.TimeNano()
	wt, wok := want.TimeNano()
	if gt != wt || gok != wok {
		t.Fatalf("TimeNano %d %v, want %d %v", gt, gok, wt, wok)
	}
	for _, k := range keptAttrKeys {
		g, gok := got.Attr(k)
		w, wok := want.Attr(k)
		same(k, g, gok, w, wok)
	}
}

// FuzzTruncator: a Truncator never panics, what it returns is at most the
// size asked and taken by Build, it accepts every line Build accepts, and
// the members it keeps are those of the line (or cut from them).
func FuzzTruncator(f *testing.F) {
	for _, l := range fixtures(f) {
		f.Add(string(l), uint16(0), uint8(5))
	}
	for _, s := range badSeeds {
		f.Add(s, uint16(100), uint8(1))
	}
	f.Add(string(bigContainer("exec_start: "+strings.Repeat("\\u00e9", 400), map[string]string{"execID": "1", "k": strings.Repeat("v", 3000)})), uint16(500), uint8(64))
	f.Fuzz(func(t *testing.T, line string, max uint16, chunk uint8) {
		var tr Truncator
		checkTruncated(t, &tr, []byte(line), MinTruncateSize+int(max), int(chunk)+1)
	})
}

// BenchmarkTruncator reduces a container event with a 1 MiB label,
// written in 64 KiB pieces as the stream reads it, to 64 KiB.
func BenchmarkTruncator(b *testing.B) {
	line := bigContainer("create", map[string]string{"big": strings.Repeat("x", 1<<20)})
	var tr Truncator
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		tr.Reset(64 << 10)
		for p := line; len(p) > 0; {
			n := min(64<<10, len(p))
			tr.Write(p[:n])
			p = p[n:]
		}
		if _, err := tr.Line(); err != nil {
			b.Fatal(err)
		}
	}
}
