// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/docker/docker/api/types"
	containertypes "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/system"

	"github.com/dockerfleet/dockerfleet/extract/inspected"
)

// Bounds of what enrichment keeps from a daemon's answers. An answer
// larger than maxInspectAnswer is refused unread past that size; the
// caps keep a summary compact whatever a container declares (see
// inspected.Container), and the encoded parts together far below
// payload.MaxContextLen.
const (
	maxInspectAnswer = 1 << 20
	maxSummaryString = 512
	maxSummaryList   = 32
	maxContainerPart = 8 << 10
	maxExecPart      = 2 << 10
	maxDaemonPart    = 4 << 10
)

// errAnswerTooLarge reports an inspect answer past maxInspectAnswer.
var errAnswerTooLarge = fmt.Errorf("answer larger than %d bytes", maxInspectAnswer)

// getJSON GETs path from the daemon and decodes its answer into v, reading
// at most maxInspectAnswer bytes of it.
func (w *watcher) getJSON(ctx context.Context, path string, v any) error {
	resp, err := w.get(ctx, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInspectAnswer+1))
	if err != nil {
		return err
	}
	if len(body) > maxInspectAnswer {
		return errAnswerTooLarge
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("bad answer: %w", err)
	}
	return nil
}

// capS caps a string of a summary.
func capS(s string) string { return capText(s, maxSummaryString) }

// capL caps a list of a summary: its length and each string.
func capL(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	l = slices.Clone(l[:min(len(l), maxSummaryList)])
	for i := range l {
		l[i] = capS(l[i])
	}
	return l
}

// normCaps writes capabilities as the kernel names them (CAP_SYS_ADMIN),
// whichever way the container was created with them: daemons keep them as
// given, or normalized, depending on their version. ALL stays ALL.
func normCaps(l []string) []string {
	l = capL(l)
	for i, c := range l {
		c = strings.ToUpper(c)
		if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		l[i] = c
	}
	return l
}

// cmdline joins a command as Falco's proc.cmdline shows one.
func cmdline(path string, args []string) string {
	var b strings.Builder
	b.WriteString(path)
	for _, a := range args {
		if b.Len() >= maxSummaryString {
			break
		}
		b.WriteByte(' ')
		b.WriteString(a)
	}
	return capS(b.String())
}

// inspectContainer asks the daemon about container id (and its image, from
// the image cache or the daemon) and returns its summary.
func (e *enricher) inspectContainer(ctx context.Context, id string) (*inspected.Container, error) {
	var c containertypes.InspectResponse
	if err := e.w.getJSON(ctx, "/containers/"+url.PathEscape(id)+"/json", &c); err != nil {
		return nil, err
	}
	if c.ContainerJSONBase == nil || c.HostConfig == nil || c.Config == nil {
		return nil, errors.New("bad answer: no HostConfig or Config")
	}
	s := summarizeContainer(&c)
	if e.opts.Images && c.Image != "" {
		img := e.image(ctx, c.Image)
		if s.User == "" {
			s.User = img.user
		}
		if s.ImageDigest == "" {
			s.ImageDigest = img.digest
		}
	}
	if s.User == "" {
		s.User = "root" // the daemon's default
	}
	return s, nil
}

// summarizeContainer keeps of an inspect answer what the fields need.
func summarizeContainer(c *containertypes.InspectResponse) *inspected.Container {
	hc := c.HostConfig
	s := &inspected.Container{
		Inspected:      true,
		Privileged:     hc.Privileged,
		User:           capS(c.Config.User),
		Cmdline:        cmdline(c.Path, c.Args),
		ImageID:        capS(c.Image),
		HostPID:        hc.PidMode.IsHost(),
		HostNetwork:    hc.NetworkMode.IsHost(),
		HostIPC:        hc.IpcMode.IsHost(),
		HostUTS:        hc.UTSMode.IsHost(),
		HostUserNS:     hc.UsernsMode.IsHost(),
		NetworkMode:    capS(string(hc.NetworkMode)),
		CapAdd:         normCaps(hc.CapAdd),
		CapDrop:        normCaps(hc.CapDrop),
		SecurityOpt:    capL(hc.SecurityOpt),
		Seccomp:        "default",
		AppArmor:       capS(c.AppArmorProfile),
		ReadonlyRootfs: hc.ReadonlyRootfs,
		RestartPolicy:  capS(string(hc.RestartPolicy.Name)),
	}
	s.ImageRepository, s.ImageTag, s.ImageDigest = splitImage(c.Config.Image)
	for _, o := range hc.SecurityOpt {
		k, v, _ := strings.Cut(o, "=")
		if v == "" {
			k, v, _ = strings.Cut(o, ":") // the deprecated separator
		}
		switch k {
		case "seccomp":
			s.Seccomp = capS(v)
		case "apparmor":
			s.AppArmor = capS(v)
		case "no-new-privileges":
			s.NoNewPrivileges = v == "" || v == "true"
		}
	}
	if hc.Privileged {
		// The daemon runs a privileged container without seccomp and
		// AppArmor whatever its options say.
		s.Seccomp, s.AppArmor = "unconfined", "unconfined"
	}
	for _, m := range c.Mounts[:min(len(c.Mounts), maxSummaryList)] {
		s.Mounts = append(s.Mounts, inspected.Mount{
			Type: capS(string(m.Type)), Source: capS(m.Source), Dest: capS(m.Destination),
			Mode: capS(m.Mode), RW: m.RW, Propagation: capS(string(m.Propagation)),
		})
	}
	for _, d := range hc.Devices[:min(len(hc.Devices), maxSummaryList)] {
		s.Devices = append(s.Devices, capS(d.PathOnHost+":"+d.PathInContainer))
	}
	ports := slices.Sorted(maps.Keys(hc.PortBindings))
	for _, p := range ports[:min(len(ports), maxSummaryList)] {
		s.PublishedPorts = append(s.PublishedPorts, capS(string(p)))
		for _, b := range hc.PortBindings[p] {
			if len(s.Ports) < maxSummaryList {
				ip := b.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				s.Ports = append(s.Ports, capS(ip+":"+b.HostPort+"->"+string(p)))
			}
		}
	}
	return s
}

// splitImage splits an image reference as written (repo[:tag][@digest])
// into its repository, tag (latest when neither tag nor digest is given)
// and digest.
func splitImage(ref string) (repo, tag, digest string) {
	ref, digest, _ = strings.Cut(ref, "@")
	repo = ref
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		repo, tag = ref[:i], ref[i+1:]
	}
	if tag == "" && digest == "" && !strings.HasPrefix(repo, "sha256:") {
		tag = "latest"
	}
	return capS(repo), capS(tag), capS(digest)
}

// imageInfo is what a container summary takes from its image.
type imageInfo struct{ user, digest string }

// image returns what the image cache or the daemon knows of image id. A
// failure gives the zero imageInfo, not cached: the container's own summary
// stands without it.
func (e *enricher) image(ctx context.Context, id string) imageInfo {
	e.imgMu.Lock()
	img, ok := e.images[id]
	e.imgMu.Unlock()
	if ok {
		return img
	}
	var ans struct {
		RepoDigests []string
		Config      *struct{ User string }
	}
	if err := e.w.getJSON(ctx, "/images/"+url.PathEscape(id)+"/json", &ans); err != nil {
		return imageInfo{}
	}
	if ans.Config != nil {
		img.user = capS(ans.Config.User)
	}
	if len(ans.RepoDigests) > 0 {
		_, d, _ := strings.Cut(ans.RepoDigests[0], "@")
		img.digest = capS(d)
	}
	e.imgMu.Lock()
	if len(e.images) >= e.opts.CacheSize {
		clear(e.images) // images are few: a rare full reset is enough
	}
	if e.images == nil {
		e.images = map[string]imageInfo{}
	}
	e.images[id] = img
	e.imgMu.Unlock()
	return img
}

// execAnswer is the part of GET /exec/{id}/json that is kept; the docker
// API types leave ProcessConfig out.
type execAnswer struct {
	ProcessConfig *struct {
		User       string `json:"user"`
		Privileged bool   `json:"privileged"`
		TTY        bool   `json:"tty"`
		Entrypoint string `json:"entrypoint"`
		Arguments  []string
	}
}

// inspectExec asks the daemon about exec id.
func (e *enricher) inspectExec(ctx context.Context, id string) (*inspected.Exec, error) {
	var a execAnswer
	if err := e.w.getJSON(ctx, "/exec/"+url.PathEscape(id)+"/json", &a); err != nil {
		return nil, err
	}
	p := a.ProcessConfig
	if p == nil {
		return nil, errors.New("bad answer: no ProcessConfig")
	}
	return &inspected.Exec{
		Inspected: true, User: capS(p.User), Privileged: p.Privileged, TTY: p.TTY,
		Cmdline: cmdline(p.Entrypoint, p.Arguments),
	}, nil
}

// inspectDaemon asks the daemon's /info and /version.
func (e *enricher) inspectDaemon(ctx context.Context) *inspected.Daemon {
	var info system.Info
	if err := e.w.getJSON(ctx, "/info", &info); err != nil {
		return &inspected.Daemon{Error: capS(err.Error())}
	}
	var v types.Version
	if err := e.w.getJSON(ctx, "/version", &v); err != nil {
		return &inspected.Daemon{Error: capS(err.Error())}
	}
	d := &inspected.Daemon{
		Inspected: true, ID: capS(info.ID), Name: capS(info.Name), Version: capS(v.Version),
		APIVersion: capS(v.APIVersion), OS: capS(info.OperatingSystem), Kernel: capS(info.KernelVersion),
		Experimental: v.Experimental || info.ExperimentalBuild, LiveRestore: info.LiveRestoreEnabled,
		SecurityOptions: capL(info.SecurityOptions),
	}
	for _, o := range info.SecurityOptions {
		if strings.Contains(o, "name=rootless") {
			d.Rootless = true
		}
	}
	if rc := info.RegistryConfig; rc != nil {
		var insecure []string
		for _, n := range rc.InsecureRegistryCIDRs {
			if n == nil {
				continue
			}
			if s := n.String(); s != "127.0.0.0/8" && s != "::1/128" {
				insecure = append(insecure, s)
			}
		}
		for name, ic := range rc.IndexConfigs {
			if ic != nil && !ic.Secure {
				insecure = append(insecure, name)
			}
		}
		slices.Sort(insecure)
		d.InsecureRegistries = capL(insecure)
	}
	return d
}
