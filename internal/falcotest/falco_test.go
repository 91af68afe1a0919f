// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build integration

package falcotest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

const (
	// upTimeout bounds the wait for a host's first stream_up alert: Falco
	// starting, the plugin connecting, on a loaded 2-core machine.
	upTimeout = 60 * time.Second
	// alertTimeout bounds the wait for the alert of an event already made.
	alertTimeout = 30 * time.Second
	// baseImage is imported on every daemon before Falco runs.
	baseImage = "falcotest:base"
)

var (
	repoRoot   = filepath.Join("..", "..")
	shipped    = filepath.Join(repoRoot, "rules", "dockerfleet_rules.yaml")
	localRules = filepath.Join("testdata", "local_rules.yaml")
)

// want is an alert a scenario expects: the rule, and output fields it must
// carry besides docker.host (which the test adds for the daemon acted on).
type want struct {
	rule   string
	fields map[string]string
}

// scenario makes real events on one daemon and says which alerts they must
// raise. unique is a short string unique to the run and daemon: names of
// what the scenario creates include it, so that alerts are told apart. To
// test a new rule, add a scenario (or a want to one) and list it in a run.
type scenario struct {
	name string
	act  func(t *testing.T, d *dockerd.Daemon, unique string) []want
}

var (
	imageImportDelete = scenario{"image import and delete", func(t *testing.T, d *dockerd.Daemon, u string) []want {
		id := must(t)(d.ImportBusybox("falcotest:" + u))
		must(t)(d.Docker("rmi", "falcotest:"+u))
		const rule = "Docker Image Imported Pulled Or Deleted"
		return []want{
			{rule, map[string]string{"docker.action": "import", "docker.actor.id": id}},
			{rule, map[string]string{"docker.action": "delete", "docker.actor.id": id}},
		}
	}}

	volume = scenario{"volume create and remove", func(t *testing.T, d *dockerd.Daemon, u string) []want {
		must(t)(d.Docker("volume", "create", "vol-"+u))
		must(t)(d.Docker("volume", "rm", "vol-"+u))
		const rule = "Docker Volume Created Or Destroyed"
		return []want{
			{rule, map[string]string{"docker.action": "create", "docker.actor.id": "vol-" + u, "docker.attributes[driver]": "local"}},
			{rule, map[string]string{"docker.action": "destroy", "docker.actor.id": "vol-" + u}},
		}
	}}

	network = scenario{"network create and remove", func(t *testing.T, d *dockerd.Daemon, u string) []want {
		must(t)(d.Docker("network", "create", "--internal", "net-"+u))
		must(t)(d.Docker("network", "rm", "net-"+u))
		const rule = "Docker Network Changed"
		return []want{
			{rule, map[string]string{"docker.action": "create", "docker.attributes.name": "net-" + u, "docker.attributes.type": "bridge"}},
			{rule, map[string]string{"docker.action": "destroy", "docker.attributes.name": "net-" + u}},
		}
	}}

	// containerLifecycle: created and started, a process exec'd into it,
	// a file copied in, killed with SIGKILL (so it dies with 137), removed.
	containerLifecycle = scenario{"container lifecycle", func(t *testing.T, d *dockerd.Daemon, u string) []want {
		name := "c-" + u
		id := must(t)(d.Run("--name", name, baseImage, "sleep", "300"))
		// With arguments: dockerd 20.10 writes "exec_start: " + command +
		// " " + arguments, so a command alone ends with a space.
		must(t)(d.Exec(id, "id", "-u"))
		file := filepath.Join(t.TempDir(), "planted")
		if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		must(t)(d.Docker("cp", file, id+":/"))
		if err := d.KillContainer(id, "KILL"); err != nil {
			t.Fatal(err)
		}
		must(t)(d.Docker("wait", id))
		if err := d.RemoveContainer(id); err != nil {
			t.Fatal(err)
		}
		c := map[string]string{"docker.attributes.name": name}
		return []want{
			{"Docker Container Started", with(c, "docker.attributes.image", baseImage, "docker.actor.id", id)},
			{"Docker Exec Into Container", with(c, "docker.action", "exec_start: id -u")},
			{"Docker Container Filesystem Copied Or Exported", with(c, "docker.action", "extract-to-dir")},
			{"Docker Container Killed By Signal", with(c, "docker.attributes.signal", "9")},
			{"Docker Container Died With Non-Zero Exit Code", with(c, "docker.attributes.exitcode", "137")},
		}
	}}

	// untrustedImage needs testdata/local_rules.yaml, which enables the
	// rule and trusts baseImage only: a container of another image raises
	// it (and, Falco matching only the first rule by default, no Docker
	// Container Started).
	untrustedImage = scenario{"untrusted image", func(t *testing.T, d *dockerd.Daemon, u string) []want {
		name, image := "untrusted-"+u, "falcotest:untrusted-"+u
		must(t)(d.ImportBusybox(image))
		id := must(t)(d.Run("--name", name, image, "true"))
		must(t)(d.Docker("wait", id))
		if err := d.RemoveContainer(id); err != nil {
			t.Fatal(err)
		}
		return []want{{"Docker Container Started With Untrusted Image", map[string]string{"docker.attributes.name": name, "docker.attributes.image": image}}}
	}}

	// outOfMemory: a container limited to 8 MiB that doubles a string
	// until the kernel's OOM killer ends it.
	outOfMemory = scenario{"out of memory", func(t *testing.T, d *dockerd.Daemon, u string) []want {
		name := "oom-" + u
		id := must(t)(d.Run("--name", name, "--memory", "8m", "--memory-swap", "8m", baseImage, "sh", "-c", "x=0123456789abcdef; while :; do x=$x$x; done"))
		exit := strings.TrimSpace(must(t)(d.Docker("wait", id)))
		// dockerd reports the oom from containerd's OOM notice, which
		// can come after the exit has been handled, and then is not
		// reported at all (seen under load). The daemon's own record
		// says whether it emitted one: the alert must follow if so.
		oomed := strings.TrimSpace(must(t)(d.Docker("events", "--since", "0", "--until", strconv.FormatInt(time.Now().Unix()+1, 10),
			"--filter", "container="+id, "--filter", "event=oom", "--format", "{{.Action}}"))) != ""
		if err := d.RemoveContainer(id); err != nil {
			t.Fatal(err)
		}
		c := map[string]string{"docker.attributes.name": name}
		wants := []want{{"Docker Container Died With Non-Zero Exit Code", with(c, "docker.attributes.exitcode", exit)}}
		if oomed {
			wants = append(wants, want{"Docker Container Out Of Memory", with(c, "docker.attributes.image", baseImage)})
		} else {
			t.Logf("NOTE: %s emitted no oom event for %s (exit %s): the Out Of Memory alert is not expected this time", d, name, exit)
		}
		return wants
	}}

	daemonReload = scenario{"daemon configuration reload", func(t *testing.T, d *dockerd.Daemon, u string) []want {
		if err := syscall.Kill(d.PID(), syscall.SIGHUP); err != nil {
			t.Fatalf("SIGHUP to %s: %v", d, err)
		}
		return []want{{"Docker Daemon Configuration Reloaded", map[string]string{"docker.actor.id": d.ID()}}}
	}}

	// containerPosture: containers created with what the posture rules
	// (enrichment) look for, one property each: Falco fires only the first
	// rule an event matches (rule_matching first), and the rules are in
	// this order in the file. They fire at create, before any start.
	containerPosture = scenario{"container posture", func(t *testing.T, d *dockerd.Daemon, u string) []want {
		// Anything mounted where the Docker socket is looked for counts;
		// a file of our own, so that the host's /var/run is left alone.
		sock := filepath.Join(t.TempDir(), "docker.sock")
		if err := os.WriteFile(sock, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		var wants []want
		for _, c := range []struct {
			name, rule string
			args       []string
		}{
			{"priv", "Docker Privileged Container Created", []string{"--privileged"}},
			{"rootfs", "Docker Container With Sensitive Host Mount", []string{"-v", "/:/host:ro"}},
			{"sock", "Docker Container With Sensitive Host Mount", []string{"-v", sock + ":/var/run/docker.sock"}},
			{"pid", "Docker Container Shares Host Namespaces", []string{"--pid", "host"}},
			{"sysadmin", "Docker Container With Dangerous Capabilities", []string{"--cap-add", "SYS_ADMIN"}},
			{"seccomp", "Docker Container Without Seccomp Or AppArmor", []string{"--security-opt", "seccomp=unconfined"}},
		} {
			name := c.name + "-" + u
			id := must(t)(d.Create(append(append([]string{"--name", name}, c.args...), baseImage, "true")...))
			if err := d.RemoveContainer(id); err != nil {
				t.Fatal(err)
			}
			wants = append(wants, want{c.rule, map[string]string{"docker.attributes.name": name, "docker.actor.id": id}})
		}
		if wants[len(wants)-1].rule == "Docker Container Without Seccomp Or AppArmor" {
			wants[len(wants)-1].fields["docker.container.seccomp"] = "unconfined"
		}
		return wants
	}}

	// execPosture: a privileged exec into a root container, and an exec as
	// root into a container running as 1000. The rules fire at
	// exec_create; Docker Exec Into Container fires at exec_start.
	execPosture = scenario{"exec posture", func(t *testing.T, d *dockerd.Daemon, u string) []want {
		rootName, userName := "execroot-"+u, "execuser-"+u
		root := must(t)(d.Run("--name", rootName, baseImage, "sleep", "300"))
		user := must(t)(d.Run("--name", userName, "-u", "1000", baseImage, "sleep", "300"))
		// The rule fires at exec_create, which the daemon emits before it
		// starts the process: a start refused where this test runs (dockerd
		// inside a container may not grant every capability) changes
		// nothing for the rule.
		if out, err := d.Docker("exec", "--privileged", root, "true"); err != nil {
			t.Logf("NOTE: %s: docker exec --privileged did not run (%v: %s); its exec_create is what the rule sees", d, err, out)
		}
		must(t)(d.Docker("exec", "-u", "0", user, "id", "-u"))
		for _, id := range []string{root, user} {
			if err := d.RemoveContainer(id); err != nil {
				t.Fatal(err)
			}
		}
		return []want{
			{"Docker Privileged Exec", map[string]string{"docker.attributes.name": rootName, "docker.exec.cmdline": "true"}},
			{"Docker Exec As Root Into Non-Root Container", map[string]string{"docker.attributes.name": userName,
				"docker.container.user": "1000", "docker.exec.user": "0", "docker.exec.cmdline": "id -u"}},
		}
	}}

	everyScenario = []scenario{imageImportDelete, volume, network, containerLifecycle, outOfMemory, daemonReload, containerPosture, execPosture}
)

// fleet is the daemons every run draws from, by role.
type fleet map[string]*dockerd.Daemon

// target is how a run's config reaches the fleet.
type target struct {
	openParams *string
	initConfig *string
	paths      map[string]string
	env        []string                   // added to Falco's environment
	hosts      map[string]*dockerd.Daemon // docker.host label -> daemon
	down       []string                   // labels of hosts no daemon answers for
}

// run is one Falco run with a config derived from one example.
type run struct {
	name      string
	example   string // file name in examples/
	target    func(f fleet) target
	rules     []string // loaded after the shipped rules
	scenarios []scenario
	stop      string // a host label whose daemon is stopped, then restarted, at the end
	// never are alerts that must not fire during the run (any host).
	never []want
}

func ptr(s string) *string { return &s }

// singleHost points the single-host example (empty open_params) at the
// daemon through DOCKER_HOST, as a user of it would.
func singleHost(initConfig *string) func(fleet) target {
	return func(f fleet) target {
		a := f["unix-a"]
		return target{
			initConfig: initConfig,
			env:        []string{"DOCKER_HOST=" + a.Endpoint()},
			hosts:      map[string]*dockerd.Daemon{a.Endpoint(): a},
		}
	}
}

var runs = []run{
	{
		name:      "single-host",
		example:   "falco-single-host.yaml",
		target:    singleHost(nil),
		scenarios: everyScenario,
	},
	{
		// A YAML map reaches the plugin as null in Falco 0.44.
		name:      "single-host init_config {}",
		example:   "falco-single-host.yaml",
		target:    singleHost(ptr("{}")),
		scenarios: []scenario{containerLifecycle},
	},
	{
		name:      `single-host init_config ""`,
		example:   "falco-single-host.yaml",
		target:    singleHost(ptr(`""`)),
		scenarios: []scenario{containerLifecycle},
	},
	{
		// A host that never answers is reported down at once, and again
		// every stillDownInterval; the other one works meanwhile.
		name:    "single-host with an unreachable host",
		example: "falco-single-host.yaml",
		target: func(f fleet) target {
			a := f["unix-a"]
			return target{
				initConfig: ptr("{stillDownInterval: 1s}"),
				openParams: ptr(a.Endpoint() + "?name=up, unix:///nonexistent/docker.sock?name=gone"),
				hosts:      map[string]*dockerd.Daemon{"up": a},
				down:       []string{"gone"},
			}
		},
		scenarios: []scenario{containerLifecycle},
	},
	{
		// The shared material of init_config for web-1 (checked against
		// the name in servername=), a certdir of its own for legacy, whose
		// daemon has another CA.
		name:    "tls",
		example: "falco-tls.yaml",
		target: func(f fleet) target {
			c, d := f["tls-c"], f["tls-d"]
			return target{
				openParams: ptr(fmt.Sprintf("%s?name=web-1&servername=localhost, %s?name=legacy&certdir=%s", c.Endpoint(), d.Endpoint(), d.CertDir())),
				paths:      map[string]string{"tls.ca": c.Certs().CA, "tls.cert": c.Certs().Cert, "tls.key": c.Certs().Key},
				hosts:      map[string]*dockerd.Daemon{"web-1": c, "legacy": d},
			}
		},
		scenarios: everyScenario,
	},
	{
		// The hosts in an inventory file beside an inline one; the TLS
		// host takes the default certdir of init_config.
		name:    "inventory",
		example: "falco-inventory.yaml",
		target: func(f fleet) target {
			a, b, c := f["unix-a"], f["unix-b"], f["tls-c"]
			inventory := filepath.Join(a.Dir(), "inventory-hosts")
			content := fmt.Sprintf("# test fleet\n%s?name=web-1\n%s?name=db-1\n", c.Endpoint(), b.Endpoint())
			if err := os.WriteFile(inventory, []byte(content), 0o644); err != nil {
				panic(err) // the daemon's own directory: nothing else can be at fault
			}
			return target{
				openParams: ptr(fmt.Sprintf("file://%s, %s?name=local", inventory, a.Endpoint())),
				paths:      map[string]string{"tls.certDir": c.CertDir()},
				hosts:      map[string]*dockerd.Daemon{"local": a, "web-1": c, "db-1": b},
			}
		},
		scenarios: []scenario{containerLifecycle},
	},
	{
		name:    "fleet",
		example: "falco-fleet.yaml",
		target: func(f fleet) target {
			a, b, c, d := f["unix-a"], f["unix-b"], f["tls-c"], f["tls-d"]
			return target{
				openParams: ptr(fmt.Sprintf("%s?name=local, %s?name=web-1, %s?name=db-1, %s?name=ci-runner&certdir=%s",
					a.Endpoint(), c.Endpoint(), b.Endpoint(), d.Endpoint(), d.CertDir())),
				paths: map[string]string{"tls.certDir": c.CertDir()},
				hosts: map[string]*dockerd.Daemon{"local": a, "web-1": c, "db-1": b, "ci-runner": d},
			}
		},
		rules:     []string{localRules},
		scenarios: append(slices.Clip(everyScenario), untrustedImage),
		stop:      "db-1",
		never:     []want{{"Docker Container Started With Untrusted Image", map[string]string{"docker.attributes.image": baseImage}}},
	},
}

// TestFalco runs the real Falco with the plugin and a config derived from
// each example of examples/, against real daemons: Falco's config schema
// and `falco -V` accept the config and the rules, every host comes up, the
// scenarios raise their rules' alerts with the right docker.host, a stopped
// daemon raises Docker Host Stopped Reporting for its host only, a host
// that never answers is reported down and still down, init_config {} and
// "" both start, and Falco exits cleanly on SIGTERM.
func TestFalco(t *testing.T) {
	falco := Require(t)
	dockerd.Require(t)
	version, err := falco.Version()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (%s)", version, falco.Path)
	so := pluginLibrary(t)
	checkEveryExampleRuns(t)

	f := startFleet(t, "unix-a", "unix-b", "tls-c", "tls-d")
	for i, r := range runs {
		t.Run(r.name, func(t *testing.T) { r.check(t, falco, so, f, fmt.Sprintf("r%d", i)) })
	}
}

// check derives the run's config, validates the rules with it, runs Falco,
// waits for every host (up or, for target.down, reported down), acts out
// the scenarios on each live host and waits for each alert they expect,
// stops and restarts r.stop, stops Falco, and checks all its alerts against
// the hosts and r.never. id makes the names of the run's objects unique.
func (r run) check(t *testing.T, falco *Falco, so string, f fleet, id string) {
	tg := r.target(f)
	rules := []string{abs(t, shipped)}
	for _, extra := range r.rules {
		rules = append(rules, abs(t, extra))
	}
	example, err := os.ReadFile(filepath.Join(repoRoot, "examples", r.example))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Derive(example, Setup{Library: so, OpenParams: tg.openParams, InitConfig: tg.initConfig, Paths: tg.paths, RulesFiles: rules})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "falco.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(falcoEnv(), tg.env...)

	results, err := falco.Validate(env, cfgPath, rules...)
	if err != nil {
		t.Fatalf("%v\nconfig:\n%s", err, cfg)
	}
	for _, res := range results {
		if !res.Clean() {
			t.Errorf("falco -V: %s", res)
		}
	}

	fr := falco.Start(t, dir, env, cfgPath)
	labels := make([]string, 0, len(tg.hosts))
	for label := range tg.hosts {
		labels = append(labels, label)
	}
	slices.Sort(labels)
	for _, label := range labels {
		fr.WaitFor(upTimeout, label+" up", hostUp(map[string]string{"docker.host": label}))
	}
	for _, label := range tg.down {
		down := map[string]string{"docker.host": label}
		a := fr.WaitFor(alertTimeout, label+" down", Rule("Docker Host Stopped Reporting", down))
		if !strings.Contains(a.Field("docker.attributes[reason]"), "nonexistent") {
			t.Errorf("the reason does not name the socket: %s", a.Output)
		}
		fr.WaitFor(alertTimeout, label+" still down", Rule("Docker Host Still Not Reporting", down))
	}
	log := fr.Log()
	for _, line := range []string{cfgPath + " | schema validation: ok", "Loaded plugin 'dockerfleet@", "Enabled event sources: docker"} {
		if !strings.Contains(log, line) {
			t.Errorf("falco's log lacks %q:\n%s", line, log)
		}
	}

	type expected struct {
		want
		label, scenario string
	}
	var all []expected
	for i, label := range labels {
		d := tg.hosts[label]
		for _, sc := range r.scenarios {
			for _, w := range sc.act(t, d, fmt.Sprintf("%s-h%d", id, i)) {
				all = append(all, expected{w, label, sc.name})
			}
		}
	}
	for _, e := range all {
		fields := with(e.fields, "docker.host", e.label)
		fr.WaitFor(alertTimeout, fmt.Sprintf("%s on %s (%s, %v)", e.rule, e.label, e.scenario, e.fields), Rule(e.rule, fields))
	}

	if r.stop != "" {
		d := tg.hosts[r.stop]
		down := map[string]string{"docker.host": r.stop}
		if err := d.Stop(); err != nil {
			t.Fatal(err)
		}
		fr.WaitFor(alertTimeout, r.stop+" stopped reporting", Rule("Docker Host Stopped Reporting", down))
		if err := d.Restart(); err != nil {
			t.Fatal(err)
		}
		up := hostUp(down)
		fr.WaitFor(upTimeout, r.stop+" reporting again", func(a Alert) bool { return up(a) && fr.Count(up) >= 2 })
		// The daemon kept its events in memory only: the plugin says so. The
		// reason depends on what it can tell (stream/watcher.go: a daemon
		// keeps its ID across a restart, and with filters a missing
		// boundary may be an overrun), so any reason will do here.
		lost := fr.WaitFor(alertTimeout, r.stop+" events lost", Rule("Docker Host Events Lost", down))
		t.Logf("after the restart of %s: %s", r.stop, lost.Output)
		// Its events after the restart arrive again.
		for _, w := range containerLifecycle.act(t, d, id+"-restarted") {
			fr.WaitFor(alertTimeout, w.rule+" on "+r.stop+" after its restart", Rule(w.rule, with(w.fields, "docker.host", r.stop)))
		}
	}

	if err := fr.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, a := range fr.Alerts() {
		_, live := tg.hosts[a.Host()]
		down := slices.Contains(tg.down, a.Host())
		if !live && !down {
			t.Errorf("alert for a host not in open_params: [%s] %s", a.Rule, a.Output)
		}
		if a.Rule == "Docker Host Stopped Reporting" && a.Host() != r.stop && !down {
			t.Errorf("host %s stopped reporting, but only %q was stopped: %s", a.Host(), r.stop, a.Output)
		}
		for _, w := range r.never {
			if Rule(w.rule, w.fields)(a) {
				t.Errorf("unexpected alert: [%s] %s", a.Rule, a.Output)
			}
		}
		if a.Source != "docker" {
			t.Errorf("alert of source %q: %s", a.Source, a.Output)
		}
	}
	t.Logf("%d alerts; falco's summary:\n%s", len(fr.Alerts()), strings.Join(fr.Other(), "\n"))
}

// hostUp matches the alert of a host's stream_up: Docker Host Reporting
// Again, or Docker Daemon Weak Posture for a daemon the enrichment finds
// weak (the test daemons are dockerd 20.10, an engine out of support, so
// theirs is this one; Reporting Again leaves weak daemons to it, Falco
// firing only the first rule an event matches).
func hostUp(fields map[string]string) Match {
	again, weak := Rule("Docker Host Reporting Again", fields), Rule("Docker Daemon Weak Posture", fields)
	return func(a Alert) bool { return again(a) || weak(a) }
}

// checkEveryExampleRuns fails when an example config has no run: every
// shipped example is tested.
func checkEveryExampleRuns(t *testing.T) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found (%v)", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if !slices.ContainsFunc(runs, func(r run) bool { return r.example == name }) {
			t.Errorf("examples/%s has no run in TestFalco: add one", name)
		}
	}
}

// startFleet launches the daemons (two roles ending in -c and -d on tcp
// with mutual TLS, each with its own CA) in parallel, imports baseImage on
// each and closes them at cleanup.
func startFleet(t *testing.T, roles ...string) fleet {
	t.Helper()
	f := fleet{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(roles))
	for _, role := range roles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := dockerd.Launch(dockerd.Options{Name: role, TLS: strings.HasPrefix(role, "tls-")})
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			f[role] = d
			mu.Unlock()
			if _, err := d.ImportBusybox(baseImage); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for _, d := range f {
		t.Cleanup(func() {
			if err := d.Close(); err != nil {
				t.Errorf("closing %s: %v", d, err)
			}
			if left := d.Leftovers(); len(left) > 0 {
				t.Errorf("%s left behind: %s", d, strings.Join(left, "; "))
			}
		})
	}
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	return f
}

// pluginLibrary is $DOCKERFLEET_SO (set by `make integration`), else the
// plugin built for this test.
func pluginLibrary(t *testing.T) string {
	t.Helper()
	if so := os.Getenv("DOCKERFLEET_SO"); so != "" {
		if _, err := os.Stat(so); err != nil {
			t.Fatalf("DOCKERFLEET_SO: %v", err)
		}
		return abs(t, so)
	}
	so := filepath.Join(t.TempDir(), "libdockerfleet.so")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", so, "../../plugin/libdockerfleet")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the plugin: %v\n%s", err, out)
	}
	return so
}

// falcoEnv is this process's environment without DOCKER_* settings, which
// would change what an empty open_params means.
func falcoEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	return env
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// with returns a copy of m with the key/value pairs kv added.
func with(m map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// must fails the test on a docker CLI error and returns its output.
func must(t *testing.T) func(string, error) string {
	return func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}
