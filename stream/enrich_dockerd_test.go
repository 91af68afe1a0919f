// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	containertypes "github.com/docker/docker/api/types/container"

	"github.com/dockerfleet/dockerfleet/extract/inspected"
	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// enriched is one event with its decoded context.
type enriched struct {
	host, action, id, execID string
	seq                      int
	ctx                      inspected.Context
	at                       time.Time
	attrs                    map[string]string // of health events
}

// enrichOn is every enrichment with test timeouts.
func enrichOn() Enrich {
	return Enrich{Containers: true, Execs: true, Images: true, Daemon: true, Timeout: 5 * time.Second}
}

// collectEnriched reads a fleet's container and health events with their
// contexts.
func collectEnriched(t *testing.T, f *Fleet) <-chan enriched {
	ch := make(chan enriched, 4096)
	go func() {
		defer close(ch)
		for b := range f.Batches() {
			for _, ev := range b.Events {
				p, err := payload.Parse(ev.Payload)
				if err != nil {
					t.Errorf("payload: %v", err)
					return
				}
				c, err := inspected.Decode(p.Context())
				if err != nil {
					t.Errorf("context of %s %s: %v", p.Type(), p.Action(), err)
					return
				}
				id, _ := p.ActorID()
				x, _ := p.Attr("execID")
				seq, _ := p.Attr("seq")
				n, _ := strconv.Atoi(seq)
				e := enriched{host: p.Host(), action: p.Action(), id: id, execID: x, seq: n, ctx: c, at: time.Now()}
				if p.Type() == HealthType {
					e.attrs = map[string]string{}
					for k, v := range p.Attrs() {
						e.attrs[k] = v
					}
				}
				ch <- e
			}
		}
	}()
	return ch
}

// next returns the first event of id whose action starts with action.
func nextOf(t *testing.T, ch <-chan enriched, id, action string) enriched {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("events closed before %s of %s", action, id)
			}
			if (id == "" || e.id == id) && strings.HasPrefix(e.action, action) {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s of %s", action, id)
		}
	}
}

// inspectCLI is `docker inspect` of a container on d.
func inspectCLI(t *testing.T, d *dockerd.Daemon, id string) containertypes.InspectResponse {
	t.Helper()
	out, err := d.Docker("inspect", id)
	if err != nil {
		t.Fatal(err)
	}
	var l []containertypes.InspectResponse
	if err := json.Unmarshal([]byte(out), &l); err != nil || len(l) != 1 {
		t.Fatalf("docker inspect %s: %v", id, err)
	}
	return l[0]
}

// TestEnrichRealDaemon runs containers with each dangerous setting on a
// real daemon and checks what their create event carries against `docker
// inspect` of the same daemon.
func TestEnrichRealDaemon(t *testing.T) {
	d := dockerd.Start(t, dockerd.Options{})
	img, err := d.ImportBusybox("enrich-test:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Docker("tag", img, "enrich-test:user"); err != nil {
		t.Fatal(err)
	}
	eps, err := hosts.Parse(d.Endpoint()+"?name=real", hosts.Defaults{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := testOptions()
	o.CallTimeout = 5 * time.Second
	o.Enrich = enrichOn()
	f := startFleet(t, eps, o)
	ch := collectEnriched(t, f)
	up := nextOf(t, ch, "real", ActionStreamUp)
	if dm := up.ctx.Daemon; dm == nil || !dm.Inspected || dm.ID != d.ID() || dm.Name != d.Name() || dm.Version == "" || dm.APIVersion == "" || dm.Kernel == "" {
		t.Fatalf("stream_up daemon context %+v, want ID %s name %s", dm, d.ID(), d.Name())
	}
	sock := strings.TrimPrefix(d.Endpoint(), "unix://")

	cases := []struct {
		name  string
		run   func() (string, error)
		check func(c *inspected.Container) bool
	}{
		{"privileged", func() (string, error) { return d.Create("--privileged", "enrich-test:1", "sleep", "60") },
			func(c *inspected.Container) bool {
				return c.Privileged && c.Seccomp == "unconfined" && c.ImageRepository == "enrich-test" && c.ImageTag == "1"
			}},
		{"root mount", func() (string, error) { return d.Run("-v", "/:/host", "enrich-test:1", "sleep", "60") },
			func(c *inspected.Container) bool {
				return slices.ContainsFunc(c.Mounts, func(m inspected.Mount) bool { return m.Source == "/" && m.Dest == "/host" && m.RW })
			}},
		{"socket mount", func() (string, error) {
			return d.Run("-v", sock+":/var/run/docker.sock:ro", "enrich-test:1", "sleep", "60")
		}, func(c *inspected.Container) bool {
			return slices.ContainsFunc(c.Mounts, func(m inspected.Mount) bool {
				return m.Source == sock && m.Dest == "/var/run/docker.sock" && !m.RW && m.Mode == "ro"
			})
		}},
		{"host pid ipc", func() (string, error) {
			return d.Run("--pid", "host", "--ipc", "host", "--uts", "host", "enrich-test:1", "sleep", "60")
		}, func(c *inspected.Container) bool { return c.HostPID && c.HostIPC && c.HostUTS && !c.HostNetwork }},
		{"host network", func() (string, error) {
			return d.Docker("run", "--detach", "--network", "host", "enrich-test:1", "sleep", "60")
		}, func(c *inspected.Container) bool { return c.HostNetwork && c.NetworkMode == "host" }},
		{"caps", func() (string, error) {
			return d.Run("--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE", "--cap-drop", "NET_RAW", "enrich-test:1", "sleep", "60")
		}, func(c *inspected.Container) bool {
			return slices.Equal(c.CapAdd, []string{"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}) && slices.Equal(c.CapDrop, []string{"CAP_NET_RAW"})
		}},
		{"seccomp", func() (string, error) {
			return d.Run("--security-opt", "seccomp=unconfined", "--security-opt", "no-new-privileges", "enrich-test:1", "sleep", "60")
		}, func(c *inspected.Container) bool {
			return c.Seccomp == "unconfined" && c.NoNewPrivileges && !c.Privileged
		}},
		{"read-only device user", func() (string, error) {
			return d.Run("--read-only", "--device", "/dev/null:/dev/xnull", "-u", "1000:1000", "--restart", "on-failure", "enrich-test:1", "sleep", "60")
		}, func(c *inspected.Container) bool {
			return c.ReadonlyRootfs && slices.Equal(c.Devices, []string{"/dev/null:/dev/xnull"}) && c.User == "1000:1000" && c.RestartPolicy == "on-failure"
		}},
		{"default user", func() (string, error) { return d.Run("enrich-test:1", "sleep", "60") },
			func(c *inspected.Container) bool {
				return c.User == "root" && c.Seccomp == "default" && c.Cmdline == "sleep 60" && !c.Privileged && len(c.Mounts) == 0
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := tc.run()
			if err != nil {
				t.Fatal(err)
			}
			id = strings.TrimSpace(id)
			t.Cleanup(func() { _ = d.RemoveContainer(id) })
			ev := nextOf(t, ch, id, "create")
			c := ev.ctx.Container
			if c == nil || !c.Inspected {
				t.Fatalf("create not enriched: %+v", c)
			}
			if !tc.check(c) {
				t.Errorf("summary %+v", *c)
			}
			cli := inspectCLI(t, d, id)
			if c.Privileged != cli.HostConfig.Privileged || c.ImageID != cli.Image || c.HostPID != cli.HostConfig.PidMode.IsHost() ||
				c.ReadonlyRootfs != cli.HostConfig.ReadonlyRootfs || len(c.Mounts) != len(cli.Mounts) ||
				!slices.Equal(c.CapAdd, normCaps(cli.HostConfig.CapAdd)) || !slices.Equal(c.SecurityOpt, cli.HostConfig.SecurityOpt) {
				t.Errorf("summary %+v differs from docker inspect %+v", *c, *cli.HostConfig)
			}
			// Every field: the summary of what `docker inspect` says (the
			// image, imported, has no user and no repo digest).
			want := summarizeContainer(&cli)
			if want.User == "" {
				want.User = "root"
			}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("summary differs from docker inspect's:\n got %+v\nwant %+v", *c, *want)
			}
			if ev.ctx.Daemon == nil || ev.ctx.Daemon.ID != d.ID() {
				t.Errorf("create without the daemon context: %+v", ev.ctx.Daemon)
			}
		})
	}

	// Containers that live a few milliseconds: --rm with a command that
	// exits at once, and --rm --privileged, which cannot start here and is
	// removed right after its create. The create is inspected at once,
	// which is before the removal as a rule; how often not is logged.
	t.Run("short-lived", func(t *testing.T) {
		const rounds = 10
		for _, tc := range []struct {
			name string
			args []string
			seen func(c *inspected.Container) bool
		}{
			{"rm", []string{"--cap-add", "SYS_ADMIN"}, func(c *inspected.Container) bool { return slices.Contains(c.CapAdd, "CAP_SYS_ADMIN") }},
			{"rm privileged", []string{"--privileged"}, func(c *inspected.Container) bool { return c.Privileged }},
		} {
			seen := 0
			for i := range rounds {
				name := fmt.Sprintf("short-%d-%d", len(tc.args), i)
				args := append([]string{"run", "--rm", "--network", "none", "--name", name}, tc.args...)
				_, _ = d.Docker(append(args, "enrich-test:1", "true")...) // the privileged one fails to start
				for {
					e := nextOf(t, ch, "", "")
					if e.action != "create" || e.ctx.Container == nil {
						continue
					}
					if e.ctx.Container.Inspected && tc.seen(e.ctx.Container) {
						seen++
					} else {
						t.Logf("%s: create %s: %+v", tc.name, name, *e.ctx.Container)
					}
					break
				}
			}
			t.Logf("%s: %d of %d short-lived containers seen on their create", tc.name, seen, rounds)
			if seen < rounds/2 {
				t.Errorf("%s: only %d of %d short-lived containers seen on their create", tc.name, seen, rounds)
			}
		}
	})

	t.Run("exec", func(t *testing.T) {
		id, err := d.Run("-u", "1000", "enrich-test:1", "sleep", "60")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.RemoveContainer(id) })
		// A privileged exec cannot start on these daemons (runc cannot
		// apply its caps), but it is created: exec_create tells.
		_, _ = d.Docker("exec", "--privileged", id, "id", "-u")
		ev := nextOf(t, ch, id, "exec_create")
		if x := ev.ctx.Exec; x == nil || !x.Inspected || x.User != "1000" || !x.Privileged || x.Cmdline != "id -u" {
			t.Errorf("privileged exec_create context %+v", x)
		}
		if _, err := d.Docker("exec", "-u", "0", id, "id", "-u"); err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{"exec_create", "exec_start", "exec_die"} {
			ev := nextOf(t, ch, id, a)
			x := ev.ctx.Exec
			if x == nil || !x.Inspected || x.User != "0" || x.Privileged || x.TTY || x.Cmdline != "id -u" {
				t.Errorf("%s exec context %+v", a, x)
			}
			if c := ev.ctx.Container; c == nil || c.User != "1000" {
				t.Errorf("%s container context %+v", a, c)
			}
		}
		// A terminal (no input here: a command that ends by itself).
		if _, err := d.Docker("exec", "-t", id, "sh", "-c", "true"); err != nil {
			t.Fatal(err)
		}
		ev = nextOf(t, ch, id, "exec_create")
		if x := ev.ctx.Exec; x == nil || !x.TTY || x.Cmdline != "sh -c true" || x.User != "1000" {
			t.Errorf("tty exec_create context %+v", x)
		}
		// docker exec -it sh, as a person types it: script(1) gives the
		// CLI a terminal, and the shell reads exit from it.
		script := exec.Command("script", "-qec", "docker --host "+d.Endpoint()+" exec -it "+id+" sh", "/dev/null")
		script.Stdin = strings.NewReader("exit\n")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "DOCKER_") { // the caller's daemon settings stay out
				script.Env = append(script.Env, kv)
			}
		}
		if out, err := script.CombinedOutput(); err != nil {
			t.Fatalf("docker exec -it through script: %v: %s", err, out)
		}
		ev = nextOf(t, ch, id, "exec_create")
		if x := ev.ctx.Exec; x == nil || !x.TTY || x.Cmdline != "sh" {
			t.Errorf("interactive exec_create context %+v", x)
		}
	})
}
