// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dockerfleet/dockerfleet/extract/inspected"
	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// extractAny is extract for fields of any type: the value set, or nil.
func extractAny(t *testing.T, x *Extractor, ev *payload.Event, name string) any {
	t.Helper()
	req := &fakeRequest{name: name}
	if i := strings.IndexByte(name, '['); i >= 0 {
		req.id = fieldID(t, name[:i])
		req.arg, req.hasArg = strings.TrimSuffix(name[i+1:], "]"), true
	} else {
		req.id = fieldID(t, name)
	}
	if err := x.Extract(req, ev); err != nil {
		t.Fatalf("Extract(%s): %v", name, err)
	}
	if req.set == 0 {
		return nil
	}
	return req.value
}

func enrichedEvent(t *testing.T, c *inspected.Container, x *inspected.Exec, d *inspected.Daemon) payload.Event {
	t.Helper()
	var parts [3][]byte
	if d != nil {
		parts[0] = inspected.Encode(d)
	}
	if c != nil {
		parts[1] = inspected.Encode(c)
	}
	if x != nil {
		parts[2] = inspected.Encode(x)
	}
	ctx := inspected.Append(nil, parts[0], parts[1], parts[2])
	p, _, err := payload.BuildExtra(nil, "web-1", []byte(`{"Type":"container","Action":"create","Actor":{"ID":"c1","Attributes":{"image":"busybox"}},"time":1}`), payload.Extra{Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := payload.Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestInspectedFields(t *testing.T) {
	c := &inspected.Container{
		Inspected: true, Privileged: true, User: "root", Cmdline: "sh -c x", ImageRepository: "busybox", ImageTag: "1.36",
		Mounts: []inspected.Mount{
			{Type: "bind", Source: "/", Dest: "/host", RW: true, Propagation: "rprivate"},
			{Type: "bind", Source: "/var/run/docker.sock", Dest: "/var/run/docker.sock", Mode: "ro"},
		},
		HostPID: true, CapAdd: []string{"CAP_SYS_ADMIN"}, Seccomp: "unconfined", PublishedPorts: []string{"2375/tcp"},
	}
	x := &inspected.Exec{Inspected: true, User: "0", Privileged: true, TTY: true, Cmdline: "sh"}
	d := &inspected.Daemon{Inspected: true, ID: "D1", Version: "20.10.24", InsecureRegistries: []string{"10.0.0.0/8"}}
	ev := enrichedEvent(t, c, x, d)
	xt := NewExtractor()
	for name, want := range map[string]any{
		"docker.container.inspected":                        true,
		"docker.container.inspect_error":                    nil,
		"docker.container.privileged":                       true,
		"docker.container.user":                             "root",
		"docker.container.cmdline":                          "sh -c x",
		"docker.container.image.repository":                 "busybox",
		"docker.container.image.tag":                        "1.36",
		"docker.container.image.digest":                     nil,
		"docker.container.mounts":                           []string{"/:/host", "/var/run/docker.sock:/var/run/docker.sock:ro"},
		"docker.container.mount.sources":                    []string{"/", "/var/run/docker.sock"},
		"docker.container.mount.source[/host]":              "/",
		"docker.container.mount.source[/ho*]":               "/",
		"docker.container.mount.source[1]":                  "/var/run/docker.sock",
		"docker.container.mount.source[/proc*]":             nil,
		"docker.container.mount.dest[/var/run/docker.sock]": "/var/run/docker.sock",
		"docker.container.mount.rdwr[/var/run/docker.sock]": false,
		"docker.container.mount.mode[/var/run/docker.sock]": "ro",
		"docker.container.mount.propagation[0]":             "rprivate",
		"docker.container.host_pid":                         true,
		"docker.container.host_network":                     false,
		"docker.container.cap_add":                          []string{"CAP_SYS_ADMIN"},
		"docker.container.cap_drop":                         nil,
		"docker.container.seccomp":                          "unconfined",
		"docker.container.published_ports":                  []string{"2375/tcp"},
		"docker.exec.inspected":                             true,
		"docker.exec.user":                                  "0",
		"docker.exec.privileged":                            true,
		"docker.exec.tty":                                   true,
		"docker.exec.cmdline":                               "sh",
		"docker.daemon.id":                                  "D1",
		"docker.daemon.version":                             "20.10.24",
		"docker.daemon.insecure_registries":                 []string{"10.0.0.0/8"},
		"docker.daemon.rootless":                            false,
	} {
		if got := extractAny(t, xt, &ev, name); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}

	// A failed inspect: inspected false and the error, no other field.
	failed := enrichedEvent(t, &inspected.Container{Error: "No such container"}, nil, nil)
	for name, want := range map[string]any{
		"docker.container.inspected":     false,
		"docker.container.inspect_error": "No such container",
		"docker.container.privileged":    nil,
		"docker.exec.inspected":          nil,
		"docker.daemon.id":               nil,
	} {
		if got := extractAny(t, xt, &failed, name); !reflect.DeepEqual(got, want) {
			t.Errorf("failed: %s = %#v, want %#v", name, got, want)
		}
	}
	// No context at all (enrichment off): no value, as before.
	plain := enrichedEvent(t, nil, nil, nil)
	if got := extractAny(t, xt, &plain, "docker.container.privileged"); got != nil {
		t.Errorf("without context: %#v", got)
	}
}
