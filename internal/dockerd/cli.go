// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package dockerd

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// cliTimeout bounds one docker CLI call, so a wedged daemon fails the test
// instead of hanging it.
const cliTimeout = 60 * time.Second

// BusyboxApplets are the commands the imported busybox image has in /bin.
var BusyboxApplets = []string{"sh", "sleep", "true", "false", "echo", "cat", "ls", "env", "kill", "yes", "head", "touch", "rm", "mkdir", "hostname", "id", "ps", "top", "wc"}

// Docker runs the docker CLI against this daemon (with -H and, for a TLS
// daemon, --tlsverify and the accepted client's certificates) and returns its
// standard output without the trailing newline. The caller's DOCKER_*
// environment is not used. The error carries the arguments and the CLI's
// standard error.
func (d *Daemon) Docker(args ...string) (string, error) {
	return d.docker(nil, args...)
}

func (d *Daemon) docker(stdin io.Reader, args ...string) (string, error) {
	cli, err := exec.LookPath("docker")
	if err != nil {
		return "", fmt.Errorf("dockerd: docker CLI: %w", err)
	}
	full := []string{"--host", d.endpoint}
	if d.certs != nil {
		full = append(full, "--tlsverify", "--tlscacert", d.certs.CA, "--tlscert", d.certs.Cert, "--tlskey", d.certs.Key)
	}
	full = append(full, args...)

	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, full...)
	cmd.Env = cliEnv(filepath.Join(d.dir, "cli-config"))
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("dockerd: docker %s against %s: %w: %s", strings.Join(args, " "), d.endpoint, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimRight(stdout.String(), "\n"), nil
}

// cliEnv is the process environment without any DOCKER_* setting (they would
// point the CLI elsewhere), with a private CLI config directory so that the
// user's ~/.docker (contexts, credential helpers) stays out of it.
func cliEnv(configDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	return append(env, "DOCKER_CONFIG="+configDir)
}

// ImportBusybox imports an image named ref (e.g. "busybox:test") whose
// /bin holds the static busybox of the busybox-static package and symlinks
// for BusyboxApplets. No registry is needed. It returns the image ID.
func (d *Daemon) ImportBusybox(ref string) (string, error) {
	image, err := busyboxTar()
	if err != nil {
		return "", err
	}
	return d.docker(bytes.NewReader(image), "import", "-", ref)
}

var busyboxImage struct {
	once sync.Once
	tar  []byte
	err  error
}

// busyboxTar builds the image tarball once per process.
func busyboxTar() ([]byte, error) {
	busyboxImage.once.Do(func() {
		busyboxImage.tar, busyboxImage.err = buildBusyboxTar()
	})
	return busyboxImage.tar, busyboxImage.err
}

func buildBusyboxTar() ([]byte, error) {
	path, err := exec.LookPath("busybox")
	if err != nil {
		return nil, fmt.Errorf("dockerd: busybox not found (install busybox-static): %w", err)
	}
	// A dynamically linked busybox would find no C library in the image.
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dockerd: busybox %s: %w", path, err)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			f.Close()
			return nil, fmt.Errorf("dockerd: busybox %s is dynamically linked; install busybox-static", path)
		}
	}
	f.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dockerd: %w", err)
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	headers := []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "bin/", Mode: 0o755, ModTime: now},
		{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: now},
	}
	for _, h := range headers {
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("dockerd: busybox image: %w", err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(data)), ModTime: now}); err != nil {
		return nil, fmt.Errorf("dockerd: busybox image: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return nil, fmt.Errorf("dockerd: busybox image: %w", err)
	}
	for _, applet := range BusyboxApplets {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777, ModTime: now}); err != nil {
			return nil, fmt.Errorf("dockerd: busybox image: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("dockerd: busybox image: %w", err)
	}
	return buf.Bytes(), nil
}

// Run starts a detached container without networking (`docker run --detach
// --network none ARGS...`: options, image, command) and returns its ID.
func (d *Daemon) Run(args ...string) (string, error) {
	return d.Docker(append([]string{"run", "--detach", "--network", "none"}, args...)...)
}

// Create creates a container without networking (`docker create --network
// none ARGS...`) and returns its ID.
func (d *Daemon) Create(args ...string) (string, error) {
	return d.Docker(append([]string{"create", "--network", "none"}, args...)...)
}

// StartContainer starts a created or stopped container.
func (d *Daemon) StartContainer(container string) error {
	_, err := d.Docker("start", container)
	return err
}

// Exec runs cmd in a running container and returns its output.
func (d *Daemon) Exec(container string, cmd ...string) (string, error) {
	return d.Docker(append([]string{"exec", container}, cmd...)...)
}

// KillContainer sends signal (e.g. "KILL", "TERM") to a running container.
func (d *Daemon) KillContainer(container, signal string) error {
	_, err := d.Docker("kill", "--signal", signal, container)
	return err
}

// RemoveContainer force-removes a container, running or not.
func (d *Daemon) RemoveContainer(container string) error {
	_, err := d.Docker("rm", "--force", container)
	return err
}
