// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// configMapDir lays out a directory as the kubelet does for a ConfigMap
// volume: the file is a symlink through ..data, itself a symlink to a
// timestamped directory; an update writes a new directory and swaps
// ..data in one rename.
type configMapDir struct {
	t   *testing.T
	dir string
	gen int
}

func newConfigMapDir(t *testing.T, content string) *configMapDir {
	c := &configMapDir{t: t, dir: t.TempDir()}
	c.write(content)
	if err := os.Symlink(filepath.Join("..data", "hosts"), filepath.Join(c.dir, "hosts")); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *configMapDir) path() string { return filepath.Join(c.dir, "hosts") }

func (c *configMapDir) write(content string) {
	c.t.Helper()
	c.gen++
	gen := fmt.Sprintf("..2026_12_07_%06d", c.gen)
	if err := os.Mkdir(filepath.Join(c.dir, gen), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, gen, "hosts"), []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
	tmp := filepath.Join(c.dir, "..data_tmp")
	if err := os.Symlink(gen, tmp); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, "..data")); err != nil {
		c.t.Fatal(err)
	}
}

// TestInventoryReload: hosts listed in an inventory file mounted as a
// Kubernetes ConfigMap are added and removed while the plugin runs, an
// unusable file is reported with its line and changes nothing, and the
// host kept through every change loses and repeats nothing.
func TestInventoryReload(t *testing.T) {
	dockerd.Require(t)
	a := dockerd.Start(t, dockerd.Options{Name: "inv-a"})
	b := dockerd.Start(t, dockerd.Options{Name: "inv-b"})
	for _, d := range []*dockerd.Daemon{a, b} {
		if _, err := d.ImportBusybox("inv:1"); err != nil {
			t.Fatal(err)
		}
	}
	cm := newConfigMapDir(t, fmt.Sprintf("# fleet\n%s?name=a\n", a.Endpoint()))
	p := loadPlugin(t, `{"inventoryInterval": "100ms"}`)
	inst, err := p.Open("file://" + cm.path())
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	c := newCollector(t, p, inst)
	c.until(30*time.Second, "a up", hasHealth("a", "stream_up"))
	if _, err := a.Docker("volume", "create", "inv-a-1"); err != nil {
		t.Fatal(err)
	}
	volume := func(host, name string) func([]record) bool {
		return func(rs []record) bool {
			for _, r := range rs {
				if r.get("docker.host") == host && r.get("docker.type") == "volume" && r.get("docker.actor.id") == name {
					return true
				}
			}
			return false
		}
	}
	c.until(30*time.Second, "a's first volume", volume("a", "inv-a-1"))

	// b added, a kept.
	cm.write(fmt.Sprintf("%s?name=a\n%s?name=b\n", a.Endpoint(), b.Endpoint()))
	c.until(30*time.Second, "b up", hasHealth("b", "stream_up"))
	for _, d := range []*dockerd.Daemon{a, b} {
		if _, err := d.Docker("volume", "create", "inv-"+d.Name()+"-2"); err != nil {
			t.Fatal(err)
		}
	}
	c.until(30*time.Second, "both volumes", func(rs []record) bool {
		return volume("a", "inv-inv-a-2")(rs) && volume("b", "inv-inv-b-2")(rs)
	})

	// A bad line: reported with its line; both hosts stay.
	cm.write(fmt.Sprintf("%s?name=a\n%s?name=b\ntcp://nowhere:0?name=c\n", a.Endpoint(), b.Endpoint()))
	c.until(30*time.Second, "inventory_error", hasHealth(cm.path(), "inventory_error"))
	for _, r := range health(c.got, cm.path(), "inventory_error") {
		if r.get("docker.attributes[line]") != "3" || !strings.Contains(r.get("docker.attributes[reason]"), "bad port") {
			t.Errorf("inventory_error: %s", r.String)
		}
	}

	// a removed.
	cm.write(fmt.Sprintf("%s?name=b\n", b.Endpoint()))
	c.until(30*time.Second, "a removed", hasHealth("a", "host_removed"))
	if _, err := a.Docker("volume", "create", "inv-a-3"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Docker("volume", "create", "inv-b-3"); err != nil {
		t.Fatal(err)
	}
	c.until(30*time.Second, "b's third volume", volume("b", "inv-b-3"))
	c.drain(500 * time.Millisecond)
	if volume("a", "inv-a-3")(c.got) {
		t.Error("a removed host still delivers")
	}
	if n := len(health(c.got, "a", "stream_up")); n != 1 {
		t.Errorf("a, kept through two reloads, came up %d times", n)
	}
	if n := len(health(c.got, "b", "stream_up")); n != 1 {
		t.Errorf("b came up %d times", n)
	}
	checkNoDuplicates(t, c.got)
}
