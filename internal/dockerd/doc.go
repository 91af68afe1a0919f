// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package dockerd starts and stops real, throwaway Docker daemons for
// integration tests and benchmarks.
//
// Each daemon gets its own temporary directory (socket, data-root, exec-root,
// pidfile, empty daemon.json, log), its own containerd namespace and cgroup
// parent, the vfs storage driver and no networking of its own (no bridge, no
// iptables). It runs under `unshare --mount --uts --propagation private` with
// its own hostname and a bind mount over /etc/docker, because every dockerd
// reads its identity from /etc/docker/key.json and the Name from the hostname:
// without this, daemons side by side would all report the same ID and Name.
// Its own /run/containerd and /run/docker are bind-mounted too, so that the
// sockets of its containerd shims go away with it even after a crash. These
// mounts live in the private mount namespace and vanish with its last process.
//
// A daemon listens on a unix socket, or with Options.TLS on tcp://127.0.0.1
// with mutual TLS and certificates generated for it (see GenerateCerts).
//
// Running real daemons needs root and the docker.io and busybox-static Debian
// packages. Start skips the test when they are missing, except under CI
// (CI=true) where that is a failure: a CI run that silently skipped every
// integration test would prove nothing.
package dockerd
