// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package inspected

import (
	"reflect"
	"testing"
)

func TestAppendDecodes(t *testing.T) {
	d := &Daemon{Inspected: true, ID: "D", InsecureRegistries: []string{"10.0.0.0/8"}}
	c := &Container{Inspected: true, Privileged: true, Mounts: []Mount{{Source: "/", Dest: "/host", RW: true}}}
	x := &Exec{Error: "No such exec"}
	for _, tc := range []struct {
		d, c, x []byte
		want    Context
	}{
		{nil, nil, nil, Context{}},
		{Encode(d), nil, nil, Context{Daemon: d}},
		{nil, Encode(c), nil, Context{Container: c}},
		{Encode(d), Encode(c), Encode(x), Context{Daemon: d, Container: c, Exec: x}},
		{nil, nil, Encode(x), Context{Exec: x}},
	} {
		b := Append([]byte("keep"), tc.d, tc.c, tc.x)
		if string(b[:4]) != "keep" {
			t.Fatalf("Append changed dst: %q", b)
		}
		got, err := Decode(b[4:])
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Decode(%s) = %+v, %v; want %+v", b[4:], got, err, tc.want)
		}
	}
	if _, err := Decode([]byte(`{"c":`)); err == nil {
		t.Error("a cut context decodes")
	}
}
