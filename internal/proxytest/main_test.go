// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package proxytest

import (
	"fmt"
	"os"
	"testing"
)

// proxy is the forward proxy every test's daemons are reached through.
var proxy *forwardProxy

// TestMain starts the proxy and names it in HTTP_PROXY and HTTPS_PROXY
// (tls=off endpoints send it their requests, TLS ones CONNECT) before any test
// runs: http.ProxyFromEnvironment reads the variables once per process.
func TestMain(m *testing.M) {
	p, err := startProxy()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	proxy = p
	// Nothing else of the environment may decide: no NO_PROXY sparing
	// the test's names, no CGI mode (which ignores HTTP_PROXY).
	for _, k := range []string{"NO_PROXY", "no_proxy", "REQUEST_METHOD"} {
		os.Unsetenv(k)
	}
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
		os.Setenv(k, p.URL())
	}
	code := m.Run()
	p.close()
	os.Exit(code)
}
