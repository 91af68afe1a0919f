// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// TestBigContainersDelivered: a container is legitimately big (1,100
// labels; a label value of 70 KiB; an exec of a 70 KiB command) and every
// one of its events still reaches the rules through the C ABI with its
// type, action, ID, name, image and host, flagged docker.truncated when
// its line was longer than maxEventSize (64 KiB by default) and cut to
// fit; none is lost as malformed.
func TestBigContainersDelivered(t *testing.T) {
	dockerd.Require(t)
	d := dockerd.Start(t, dockerd.Options{Name: "big"})
	const image = "big-test:1"
	if _, err := d.ImportBusybox(image); err != nil {
		t.Fatal(err)
	}
	p := loadPlugin(t, "")
	inst, err := p.Open(d.Endpoint() + "?name=big")
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	c := newCollector(t, p, inst)
	c.until(30*time.Second, "stream_up", hasHealth("big", "stream_up"))

	must := func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	manyLabels := []string{"--name", "many-labels"}
	for i := range 1100 {
		manyLabels = append(manyLabels, "--label", fmt.Sprintf("com.example.label-%04d=value-%04d", i, i))
	}
	bigCommand := "true # " + strings.Repeat("c", 70<<10)
	cases := []struct {
		name   string
		args   []string
		exec   []string
		bigAll bool // every event of the container is over 64 KiB
	}{
		{"many-labels", manyLabels, []string{"true"}, false},
		{"big-label", []string{"--name", "big-label", "--label", "com.example.big=" + strings.Repeat("v", 70<<10)}, []string{"true"}, true},
		{"big-exec", []string{"--name", "big-exec"}, []string{"sh", "-c", bigCommand}, false},
	}
	ids := map[string]string{}
	for _, tc := range cases {
		id := must(d.Run(append(tc.args, image, "sleep", "300")...))
		ids[tc.name] = id
		must(d.Exec(id, tc.exec...))
		if err := d.KillContainer(id, "KILL"); err != nil {
			t.Fatal(err)
		}
		must(d.Docker("wait", id))
		if err := d.RemoveContainer(id); err != nil {
			t.Fatal(err)
		}
	}
	actions := []string{"create", "start", "exec_create", "exec_start", "kill", "die", "destroy"}
	find := func(rs []record, id, action string) *record {
		for i := range rs {
			r := &rs[i]
			a := r.get("docker.action")
			if r.get("docker.actor.id") == id && (a == action || strings.HasPrefix(a, action+": ")) {
				return r
			}
		}
		return nil
	}
	c.until(60*time.Second, "every event of the big containers", func(rs []record) bool {
		for _, tc := range cases {
			for _, a := range actions {
				if find(rs, ids[tc.name], a) == nil {
					return false
				}
			}
		}
		return true
	})
	c.drain(300 * time.Millisecond)
	for _, tc := range cases {
		for _, a := range actions {
			r := find(c.got, ids[tc.name], a)
			want := map[string]string{
				"docker.host": "big", "docker.type": "container", "docker.scope": "local",
				"docker.attributes.name": tc.name, "docker.attributes.image": image,
				"docker.truncated": fmt.Sprint(tc.bigAll || tc.name == "big-exec" && strings.HasPrefix(a, "exec_")),
			}
			if a == "kill" {
				want["docker.attributes.signal"] = "9"
			}
			if a == "die" {
				want["docker.attributes.exitcode"] = "137"
			}
			for f, v := range want {
				if got := r.get(f); got != v {
					t.Errorf("%s %s: %s = %q, want %q", tc.name, a, f, got, v)
				}
			}
			if r.get("docker.truncated") == "true" && !strings.Contains(r.String, "...[truncated]") {
				t.Errorf("%s %s: truncated without the marker in its string form", tc.name, a)
			}
			if strings.HasPrefix(a, "exec_") && r.get("docker.attributes[execID]") == "" {
				t.Errorf("%s %s: no execID", tc.name, a)
			}
		}
	}
	if lost := health(c.got, "big", "events_lost"); len(lost) > 0 {
		t.Errorf("events lost: %s", dump(lost))
	}
	// The 1,100 labels are all there (the line is under 64 KiB).
	if r := find(c.got, ids["many-labels"], "start"); !strings.Contains(r.String, "com.example.label-1099=value-1099") {
		t.Errorf("many-labels start: the last label is missing: %.300s", r.String)
	}
}
