// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package proxytest holds only tests: the end-to-end test of a fleet whose
// daemons are reached through an HTTP proxy from the environment, the path
// on which the event stream and the liveness pings stay on the Docker
// client's net/http transport (hosts.Endpoint.Proxied).
//
// It is a package of its own because net/http reads the proxy variables
// once per process: its test binary sets HTTP_PROXY in TestMain, before
// anything can read them, which the stream package's tests must not do.
package proxytest
