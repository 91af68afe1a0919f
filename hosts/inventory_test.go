// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadInventory(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "hosts", []byte(
		"# the fleet\n"+
			"unix:///var/run/docker.sock?name=local\n"+
			"\n"+
			"   tcp://10.0.0.5:2376?name=web-1   # rack 4\n"+
			"\t# indented comment\n"+
			"tcp://10.0.0.6:2376?name=a%2Cb\n"))
	got, err := ReadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []InventoryLine{
		{Line: 2, Text: "unix:///var/run/docker.sock?name=local"},
		{Line: 4, Text: "tcp://10.0.0.5:2376?name=web-1"},
		{Line: 6, Text: "tcp://10.0.0.6:2376?name=a%2Cb"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}

	bad := writeFile(t, dir, "bad", []byte("unix:///a.sock\nunix:///b.sock, unix:///c.sock\n"))
	if _, err := ReadInventory(bad); err == nil || !strings.Contains(err.Error(), "bad:2") {
		t.Fatalf("a line with two endpoints: %v, want an error naming bad:2", err)
	}
	if _, err := ReadInventory(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing file: %v", err)
	}
	long := writeFile(t, dir, "long", []byte(strings.Repeat("x", maxInventoryLine+1)+"\n"))
	if _, err := ReadInventory(long); err == nil {
		t.Fatal("an over-long line was accepted")
	}
}

// TestParseInventoryFile: file:///path in open_params stands for the
// endpoints of that file, beside inline ones; errors name the file and
// the line.
func TestParseInventoryFile(t *testing.T) {
	dir := t.TempDir()
	inv := writeFile(t, dir, "hosts", []byte("# fleet\nunix:///run/a.sock?name=a\n\nunix:///run/b.sock?name=b\n"))
	eps, err := Parse("unix:///run/local.sock?name=local, file://"+inv, Defaults{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ep := range eps {
		names = append(names, ep.Name)
	}
	if strings.Join(names, ",") != "local,a,b" {
		t.Fatalf("endpoints %v, want local,a,b", names)
	}
	if got := InventoryFiles(" file://" + inv + " , unix:///x.sock"); len(got) != 1 || got[0] != inv {
		t.Fatalf("InventoryFiles = %v", got)
	}

	bad := writeFile(t, dir, "bad", []byte("unix:///run/c.sock?name=c\n\ntcp://h:0?name=d\n"))
	_, err = Parse("file://"+bad, Defaults{}, nil)
	if err == nil || !strings.Contains(err.Error(), "inventory "+bad+` line 3 "tcp://h:0?name=d": `) {
		t.Fatalf("a bad line: %v, want an error naming the file and line 3", err)
	}
	dup := writeFile(t, dir, "dup", []byte("unix:///run/a.sock?name=again\n"))
	_, err = Parse("file://"+inv+", file://"+dup, Defaults{}, nil)
	if err == nil || !strings.Contains(err.Error(), "same daemon as "+inv+` line 2 "unix:///run/a.sock?name=a"`) {
		t.Fatalf("the same daemon in two files: %v", err)
	}
	for _, params := range []string{"file://relative/hosts", "file://" + filepath.Join(dir, "missing")} {
		if _, err := Parse(params, Defaults{}, nil); err == nil {
			t.Errorf("Parse(%q) accepted", params)
		}
	}
	empty := writeFile(t, dir, "empty", []byte("# nothing yet\n"))
	if _, err := Parse("file://"+empty, Defaults{}, nil); err == nil || !strings.Contains(err.Error(), "no endpoint") {
		t.Errorf("an empty inventory alone: %v", err)
	}
}

func TestReadInventoryRefusesDevices(t *testing.T) {
	if _, err := ReadInventory("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("/dev/zero: %v", err)
	}
}
