// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"bytes"
	"fmt"
	"path"
	"strconv"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"

	"github.com/dockerfleet/dockerfleet/extract/inspected"
	"github.com/dockerfleet/dockerfleet/extract/payload"
)

// getter reads one enrichment field from a decoded context; arg is the
// field's key argument ("" when it takes none). ok false: no value.
type getter func(c *inspected.Context, arg string) (v any, ok bool)

// inspectedGetters holds the getter of each enrichment field, by the
// index of its row in table (key field.key holds the index as text).
var inspectedGetters []getter

// Field constructors of the enrichment fields.
func ctr(name, typ, desc string, list bool, g func(c *inspected.Container, arg string) (any, bool)) (sdk.FieldEntry, getter) {
	return sdk.FieldEntry{Type: typ, Name: name, Desc: desc, IsList: list}, func(c *inspected.Context, arg string) (any, bool) {
		if c.Container == nil || (!c.Container.Inspected && name != "docker.container.inspected" && name != "docker.container.inspect_error") {
			return nil, false
		}
		return g(c.Container, arg)
	}
}

func exe(name, typ, desc string, g func(x *inspected.Exec) any) (sdk.FieldEntry, getter) {
	return sdk.FieldEntry{Type: typ, Name: name, Desc: desc}, func(c *inspected.Context, _ string) (any, bool) {
		if c.Exec == nil || (!c.Exec.Inspected && name != "docker.exec.inspected" && name != "docker.exec.inspect_error") {
			return nil, false
		}
		return g(c.Exec), true
	}
}

func dmn(name, typ, desc string, isList bool, g func(d *inspected.Daemon) any) (sdk.FieldEntry, getter) {
	return sdk.FieldEntry{Type: typ, Name: name, Desc: desc, IsList: isList}, func(c *inspected.Context, _ string) (any, bool) {
		if c.Daemon == nil || (!c.Daemon.Inspected && name != "docker.daemon.inspected") {
			return nil, false
		}
		v := g(c.Daemon)
		if l, ok := v.([]string); ok {
			return list(l)
		}
		return v, true
	}
}

func some(v any) (any, bool) { return v, true }

// nonEmpty gives no value for an empty string.
func nonEmpty(s string) (any, bool) { return s, s != "" }

// list hands a list field its value; an empty list gives none, so that
// `exists` tells whether a list has entries.
func list(l []string) (any, bool) { return l, len(l) > 0 }

// findMount finds a mount by index ("0") or by a glob of the key kind
// (dest: the destination, else the source), as Falco's container plugin keys
// container.mount.* fields.
func findMount(c *inspected.Container, arg string, byDest bool) (inspected.Mount, bool) {
	if i, err := strconv.Atoi(arg); err == nil {
		if i >= 0 && i < len(c.Mounts) {
			return c.Mounts[i], true
		}
		return inspected.Mount{}, false
	}
	for _, m := range c.Mounts {
		k := m.Source
		if byDest {
			k = m.Dest
		}
		if ok, _ := path.Match(arg, k); ok {
			return m, true
		}
	}
	return inspected.Mount{}, false
}

func mountField(name, typ, desc string, byDest bool, g func(m inspected.Mount) any) (sdk.FieldEntry, getter) {
	e, f := ctr(name, typ, desc, false, func(c *inspected.Container, arg string) (any, bool) {
		m, ok := findMount(c, arg, byDest)
		if !ok {
			return nil, false
		}
		return g(m), true
	})
	e.Arg = sdk.FieldEntryArg{IsKey: true, IsRequired: true}
	return e, f
}

func init() {
	type def = func() (sdk.FieldEntry, getter)
	defs := []def{
		func() (sdk.FieldEntry, getter) {
			return ctr("docker.container.inspected", "bool", "Whether the container's daemon answered its inspect (container events, with enrichment on); false: see docker.container.inspect_error.", false,
				func(c *inspected.Container, _ string) (any, bool) { return some(c.Inspected) })
		},
		func() (sdk.FieldEntry, getter) {
			return ctr("docker.container.inspect_error", "string", "Why the container could not be inspected (gone, timeout, bad or oversized answer).", false,
				func(c *inspected.Container, _ string) (any, bool) { return nonEmpty(c.Error) })
		},
		func() (sdk.FieldEntry, getter) {
			return ctr("docker.container.privileged", "bool", "Whether the container is privileged (--privileged).", false,
				func(c *inspected.Container, _ string) (any, bool) { return some(c.Privileged) })
		},
		func() (sdk.FieldEntry, getter) {
			return ctr("docker.container.user", "string", "Effective user of the container: its own, else its image's, else root.", false,
				func(c *inspected.Container, _ string) (any, bool) { return nonEmpty(c.User) })
		},
		func() (sdk.FieldEntry, getter) {
			return ctr("docker.container.cmdline", "string", "Command of the container (path and arguments).", false,
				func(c *inspected.Container, _ string) (any, bool) { return nonEmpty(c.Cmdline) })
		},
		func() (sdk.FieldEntry, getter) {
			return ctr("docker.container.image.id", "string", "Image ID of the container (sha256:...).", false,
				func(c *inspected.Container, _ string) (any, bool) { return nonEmpty(c.ImageID) })
		},
		func() (sdk.FieldEntry, getter) {
			return ctr("docker.container.image.repository", "string", "Repository of the container's image as it was given (without tag and digest).", false,
				func(c *inspected.Container, _ string) (any, bool) { return nonEmpty(c.ImageRepository) })
		},
		func() (sdk.FieldEntry, getter) {
			return ctr("docker.container.image.tag", "string", "Tag of the container's image (latest when none was given).", false,
				func(c *inspected.Container, _ string) (any, bool) { return nonEmpty(c.ImageTag) })
		},
		func() (sdk.FieldEntry, getter) {
			return ctr("docker.container.image.digest", "string", "Repo digest of the container's image (sha256:...), when known.", false,
				func(c *inspected.Container, _ string) (any, bool) { return nonEmpty(c.ImageDigest) })
		},
		func() (sdk.FieldEntry, getter) {
			return ctr("docker.container.mounts", "string", "Mounts of the container, each source:dest (and :ro when read-only).", true,
				func(c *inspected.Container, _ string) (any, bool) {
					l := make([]string, 0, len(c.Mounts))
					for _, m := range c.Mounts {
						s := m.Source + ":" + m.Dest
						if !m.RW {
							s += ":ro"
						}
						l = append(l, s)
					}
					return list(l)
				})
		},
		func() (sdk.FieldEntry, getter) {
			return ctr("docker.container.mount.sources", "string", "Host sources of the container's mounts (bind mounts and volumes).", true,
				func(c *inspected.Container, _ string) (any, bool) {
					l := make([]string, 0, len(c.Mounts))
					for _, m := range c.Mounts {
						if m.Source != "" {
							l = append(l, m.Source)
						}
					}
					return list(l)
				})
		},
		func() (sdk.FieldEntry, getter) {
			return mountField("docker.container.mount.source", "string", "Source of the mount by index or by destination (glob), e.g. docker.container.mount.source[/host*].", true,
				func(m inspected.Mount) any { return m.Source })
		},
		func() (sdk.FieldEntry, getter) {
			return mountField("docker.container.mount.dest", "string", "Destination of the mount by index or by source (glob), e.g. docker.container.mount.dest[/var/run/docker.sock].", false,
				func(m inspected.Mount) any { return m.Dest })
		},
		func() (sdk.FieldEntry, getter) {
			return mountField("docker.container.mount.mode", "string", "Mode of the mount by index or by source (glob).", false,
				func(m inspected.Mount) any { return m.Mode })
		},
		func() (sdk.FieldEntry, getter) {
			return mountField("docker.container.mount.rdwr", "bool", "Whether the mount (by index or by source glob) is writable.", false,
				func(m inspected.Mount) any { return m.RW })
		},
		func() (sdk.FieldEntry, getter) {
			return mountField("docker.container.mount.propagation", "string", "Propagation of the mount by index or by source (glob).", false,
				func(m inspected.Mount) any { return m.Propagation })
		},
	}
	for _, b := range []struct {
		name, desc string
		get        func(c *inspected.Container) bool
	}{
		{"host_pid", "Whether the container shares the host's PID namespace (--pid host).", func(c *inspected.Container) bool { return c.HostPID }},
		{"host_network", "Whether the container shares the host's network namespace (--network host).", func(c *inspected.Container) bool { return c.HostNetwork }},
		{"host_ipc", "Whether the container shares the host's IPC namespace (--ipc host).", func(c *inspected.Container) bool { return c.HostIPC }},
		{"host_uts", "Whether the container shares the host's UTS namespace (--uts host).", func(c *inspected.Container) bool { return c.HostUTS }},
		{"host_userns", "Whether the container runs in the host's user namespace while the daemon remaps users (--userns host).", func(c *inspected.Container) bool { return c.HostUserNS }},
		{"no_new_privileges", "Whether no-new-privileges is set.", func(c *inspected.Container) bool { return c.NoNewPrivileges }},
		{"readonly_rootfs", "Whether the root filesystem is read-only (--read-only).", func(c *inspected.Container) bool { return c.ReadonlyRootfs }},
	} {
		defs = append(defs, func() (sdk.FieldEntry, getter) {
			return ctr("docker.container."+b.name, "bool", b.desc, false, func(c *inspected.Container, _ string) (any, bool) { return some(b.get(c)) })
		})
	}
	for _, s := range []struct {
		name, desc string
		get        func(c *inspected.Container) string
	}{
		{"network_mode", "Network mode of the container (none, host, bridge, container:ID, a network name).", func(c *inspected.Container) string { return c.NetworkMode }},
		{"seccomp", "Seccomp profile: default, unconfined, or the profile given.", func(c *inspected.Container) string { return c.Seccomp }},
		{"apparmor", "AppArmor profile (unconfined for privileged containers).", func(c *inspected.Container) string { return c.AppArmor }},
		{"restart_policy", "Restart policy (no, always, on-failure, unless-stopped).", func(c *inspected.Container) string { return c.RestartPolicy }},
	} {
		defs = append(defs, func() (sdk.FieldEntry, getter) {
			return ctr("docker.container."+s.name, "string", s.desc, false, func(c *inspected.Container, _ string) (any, bool) { return nonEmpty(s.get(c)) })
		})
	}
	for _, l := range []struct {
		name, desc string
		get        func(c *inspected.Container) []string
	}{
		{"cap_add", "Capabilities added (CAP_SYS_ADMIN, ..., or ALL).", func(c *inspected.Container) []string { return c.CapAdd }},
		{"cap_drop", "Capabilities dropped.", func(c *inspected.Container) []string { return c.CapDrop }},
		{"security_opt", "Security options as given (--security-opt).", func(c *inspected.Container) []string { return c.SecurityOpt }},
		{"devices", "Host devices mapped into the container, each host:container path.", func(c *inspected.Container) []string { return c.Devices }},
		{"ports", "Published ports, each hostip:hostport->port/proto.", func(c *inspected.Container) []string { return c.Ports }},
		{"published_ports", "Container ports published on the host, each port/proto (e.g. 2375/tcp).", func(c *inspected.Container) []string { return c.PublishedPorts }},
	} {
		defs = append(defs, func() (sdk.FieldEntry, getter) {
			return ctr("docker.container."+l.name, "string", l.desc, true, func(c *inspected.Container, _ string) (any, bool) { return list(l.get(c)) })
		})
	}
	defs = append(defs,
		func() (sdk.FieldEntry, getter) {
			return exe("docker.exec.inspected", "bool", "Whether the exec's daemon answered its inspect (exec_create, exec_start, exec_die).", func(x *inspected.Exec) any { return x.Inspected })
		},
		func() (sdk.FieldEntry, getter) {
			return exe("docker.exec.inspect_error", "string", "Why the exec could not be inspected.", func(x *inspected.Exec) any { return x.Error })
		},
		func() (sdk.FieldEntry, getter) {
			return exe("docker.exec.user", "string", "User of the exec (docker exec -u), as the daemon reports it.", func(x *inspected.Exec) any { return x.User })
		},
		func() (sdk.FieldEntry, getter) {
			return exe("docker.exec.privileged", "bool", "Whether the exec is privileged (docker exec --privileged).", func(x *inspected.Exec) any { return x.Privileged })
		},
		func() (sdk.FieldEntry, getter) {
			return exe("docker.exec.tty", "bool", "Whether the exec has a terminal (docker exec -t).", func(x *inspected.Exec) any { return x.TTY })
		},
		func() (sdk.FieldEntry, getter) {
			return exe("docker.exec.cmdline", "string", "Command of the exec.", func(x *inspected.Exec) any { return x.Cmdline })
		},
	)
	for _, d := range []struct {
		name, typ, desc string
		list            bool
		get             func(d *inspected.Daemon) any
	}{
		{"inspected", "bool", "Whether the host's daemon answered /info and /version at its stream_up.", false, func(d *inspected.Daemon) any { return d.Inspected }},
		{"id", "string", "ID of the host's daemon.", false, func(d *inspected.Daemon) any { return d.ID }},
		{"name", "string", "Name (hostname) of the host's daemon.", false, func(d *inspected.Daemon) any { return d.Name }},
		{"version", "string", "Version of the host's Docker engine, e.g. 20.10.24.", false, func(d *inspected.Daemon) any { return d.Version }},
		{"api_version", "string", "API version of the host's daemon, e.g. 1.41.", false, func(d *inspected.Daemon) any { return d.APIVersion }},
		{"os", "string", "Operating system of the host.", false, func(d *inspected.Daemon) any { return d.OS }},
		{"kernel", "string", "Kernel version of the host.", false, func(d *inspected.Daemon) any { return d.Kernel }},
		{"rootless", "bool", "Whether the daemon runs rootless.", false, func(d *inspected.Daemon) any { return d.Rootless }},
		{"experimental", "bool", "Whether the daemon's experimental features are on.", false, func(d *inspected.Daemon) any { return d.Experimental }},
		{"live_restore", "bool", "Whether live restore is on.", false, func(d *inspected.Daemon) any { return d.LiveRestore }},
		{"security_options", "string", "Security options of the daemon (name=seccomp,profile=default, name=rootless, ...).", true, func(d *inspected.Daemon) any { return d.SecurityOptions }},
		{"insecure_registries", "string", "Registries (names or CIDRs, loopback left out) the daemon reaches without TLS verification.", true, func(d *inspected.Daemon) any { return d.InsecureRegistries }},
	} {
		defs = append(defs, func() (sdk.FieldEntry, getter) {
			return dmn("docker.daemon."+d.name, d.typ, d.desc, d.list, d.get)
		})
	}
	for _, d := range defs {
		e, g := d()
		e.Display = e.Name
		table = append(table, field{entry: e, src: srcInspected, key: strconv.Itoa(len(inspectedGetters))})
		inspectedGetters = append(inspectedGetters, g)
	}
}

// contextCache keeps the context of the last event decoded.
type contextCache struct {
	raw []byte
	ctx inspected.Context
	err error
}

// get decodes raw unless it is the context decoded last.
func (c *contextCache) get(raw []byte) (*inspected.Context, error) {
	if c.raw == nil || !bytes.Equal(c.raw, raw) {
		c.raw = append(c.raw[:0], raw...)
		c.ctx, c.err = inspected.Decode(raw)
	}
	return &c.ctx, c.err
}

// extractInspected sets an enrichment field of ev.
func extractInspected(req sdk.ExtractRequest, ev *payload.Event, f *field, cache *contextCache) error {
	raw := ev.Context()
	if len(raw) == 0 {
		return nil
	}
	c, err := cache.get(raw)
	if err != nil {
		return fmt.Errorf("extract: %s: %w", f.entry.Name, err)
	}
	i, _ := strconv.Atoi(f.key)
	arg := ""
	if f.entry.Arg.IsKey {
		if !req.ArgPresent() {
			return fmt.Errorf("extract: %s needs a key, e.g. %s[/host*]", f.entry.Name, f.entry.Name)
		}
		arg = req.ArgKey()
	}
	v, ok := inspectedGetters[i](c, arg)
	if !ok {
		return nil
	}
	if s, isStr := v.(string); isStr && s == "" {
		return nil // the summary leaves out what the daemon did not say
	}
	req.SetValue(v)
	return nil
}
