// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package daemonconn holds the HTTP/1.1 exchanges of a watcher with its
// Docker daemon: the live event stream on a connection of its own, read
// in the caller's goroutine and decoded in place (OpenEvents, Body), the
// daemon's /_ping on either path (Ping: a connection dialled for it, or
// the client's transport through a proxy from the environment), and the
// short calls through the client's transport (Get). Errors keep what went
// wrong (the dial error, the daemon's message), since they become the
// reason of stream_down.
package daemonconn
