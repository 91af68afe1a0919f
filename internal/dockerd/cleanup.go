// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package dockerd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// sweepTimeout bounds how long sweep waits for killed processes to go.
	sweepTimeout = 10 * time.Second
	// cgroupRoot is where cgroup v1 controllers or the v2 hierarchy live.
	cgroupRoot = "/sys/fs/cgroup"
	// cgroupSearchDepth is how deep below cgroupRoot a cgroup parent is looked
	// for: docker puts it at the top of each controller, but a controller can
	// be mounted at a nested path (the memory controller here is nested two
	// levels below its root, for the sandbox the tests run in).
	cgroupSearchDepth = 4
)

// processes lists the live processes that belong to the daemon: any whose
// command line names its directory (dockerd, its containerd, the shims) or
// that sit in its cgroup parent (container processes and exec'd commands).
// Zombies are left out: they hold no resources and their parent (this process
// for dockerd, init for the others) reaps them.
func (d *Daemon) processes() []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []string{"cannot read /proc: " + err.Error()}
	}
	self := os.Getpid()
	dirMark := []byte(d.dir + "/")
	var found []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		base := "/proc/" + e.Name()
		stat, err := os.ReadFile(base + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		cmdline, _ := os.ReadFile(base + "/cmdline")
		cgroups, _ := os.ReadFile(base + "/cgroup")
		if bytes.Contains(cmdline, dirMark) || inCgroup(string(cgroups), d.cgroupParent) {
			found = append(found, e.Name()+" "+strings.TrimSpace(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))))
		}
	}
	return found
}

// inCgroup reports whether a /proc/PID/cgroup text puts the process at or
// below a cgroup named parent in any hierarchy.
func inCgroup(cgroups, parent string) bool {
	for _, line := range strings.Split(cgroups, "\n") {
		// hierarchy-ID:controllers:path
		fields := strings.SplitN(line, ":", 3)
		if len(fields) != 3 {
			continue
		}
		for _, part := range strings.Split(fields[2], "/") {
			if part == parent {
				return true
			}
		}
	}
	return false
}

// sweep SIGKILLs every process of the daemon until none is left. The daemon's
// private mount namespace, and every mount in it, goes with the last of them.
func (d *Daemon) sweep() error {
	d.cleanMu.Lock()
	defer d.cleanMu.Unlock()
	deadline := time.Now().Add(sweepTimeout)
	for {
		procs := d.processes()
		if len(procs) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd: %s: processes survive SIGKILL: %s", d.endpoint, strings.Join(procs, "; "))
		}
		for _, p := range procs {
			pid, _ := strconv.Atoi(strings.SplitN(p, " ", 2)[0])
			// ESRCH just means it is already gone.
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cgroupDirs lists the cgroup directories named parent below cgroupRoot.
func cgroupDirs(parent string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(cgroupRoot, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if path == cgroupRoot {
				return err
			}
			return nil // a cgroup removed while walking
		}
		if !e.IsDir() {
			return nil
		}
		if e.Name() == parent && path != cgroupRoot {
			dirs = append(dirs, path)
			return fs.SkipDir
		}
		if rel, _ := filepath.Rel(cgroupRoot, path); rel != "." && strings.Count(rel, "/")+1 >= cgroupSearchDepth {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("dockerd: walking %s: %w", cgroupRoot, err)
	}
	return dirs, nil
}

// removeCgroups removes the daemon's cgroup parent (and any container cgroup
// left below it) in every hierarchy. Their processes must be gone; a cgroup
// can stay busy for a moment after its last process died, hence the retries.
func removeCgroups(parent string) error {
	dirs, err := cgroupDirs(parent)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, dir := range dirs {
		for {
			err := removeCgroupTree(dir)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("dockerd: removing cgroup %s: %w", dir, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// removeCgroupTree rmdirs a cgroup directory bottom-up. cgroup directories
// hold only kernel files, which rmdir takes along; os.RemoveAll would try to
// unlink those files and fail.
func removeCgroupTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroupTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
		return err
	}
	return nil
}

// Leftovers lists what of the daemon is still on the machine: processes
// (dockerd, containerd, shims, container processes), mounts below its
// directory in this mount namespace, cgroup directories and the directory
// itself. After Close it must be empty; tests use it to prove that.
func (d *Daemon) Leftovers() []string {
	var left []string
	for _, p := range d.processes() {
		left = append(left, "process "+p)
	}
	if mounts, err := os.ReadFile("/proc/self/mounts"); err != nil {
		left = append(left, "cannot read /proc/self/mounts: "+err.Error())
	} else {
		for _, line := range strings.Split(string(mounts), "\n") {
			if strings.Contains(line, d.dir) {
				left = append(left, "mount "+line)
			}
		}
	}
	dirs, err := cgroupDirs(d.cgroupParent)
	if err != nil {
		left = append(left, err.Error())
	}
	for _, dir := range dirs {
		left = append(left, "cgroup "+dir)
	}
	if _, err := os.Stat(d.dir); !errors.Is(err, os.ErrNotExist) {
		left = append(left, "directory "+d.dir)
	}
	return left
}
