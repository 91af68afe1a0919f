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
