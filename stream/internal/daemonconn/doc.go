// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package daemonconn holds the HTTP/1.1 exchanges of a watcher with its
// Docker daemon: the live event stream on a connection of its own, read
// in the caller's goroutine and decoded in place (OpenEvents, Body), both
// pings (Ping, the liveness ping on a connection dialled for it, or
// through the client's transport behind a proxy from the environment;
// PingKeep, the first call of a connection, on the client's connection
// kept for the calls that follow), and those calls (Get). Errors keep what went
// wrong (the dial error, the daemon's message), since they become the
// reason of stream_down.
package daemonconn
