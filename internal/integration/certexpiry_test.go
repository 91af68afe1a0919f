// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build integration

package integration

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// TestClientCertificateExpiring: the test daemons' certificates live a
// day, so the default warning (30 days) reports the client certificate at
// Open, once for the two hosts that share it; a warning shorter than a day
// does not.
func TestClientCertificateExpiring(t *testing.T) {
	dockerd.Require(t)
	d := dockerd.Start(t, dockerd.Options{Name: "cert-expiry", TLS: true})
	// Two labels for one daemon would be refused (same daemon twice):
	// the second host is a port nobody listens on, with the same files.
	params := fmt.Sprintf("%s?name=tls-a&certdir=%s, tcp://127.0.0.1:1?name=tls-b&certdir=%s", d.Endpoint(), d.CertDir(), d.CertDir())

	p := loadPlugin(t, "")
	inst, err := p.Open(params)
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector(t, p, inst)
	c.until(30*time.Second, "cert_expiring", hasHealth("tls-a", "cert_expiring"))
	r := health(c.got, "tls-a", "cert_expiring")[0]
	for k, want := range map[string]string{"days_left": "0", "hosts": "2", "file": filepath.Join(d.CertDir(), "cert.pem")} {
		if got := r.get("docker.attributes[" + k + "]"); got != want {
			t.Errorf("%s = %q, want %q (%s)", k, got, want, r.String)
		}
	}
	c.drain(300 * time.Millisecond)
	if n := len(health(c.got, "", "cert_expiring")) + len(health(c.got, "tls-b", "cert_expiring")); n != 0 {
		t.Errorf("%d more cert_expiring events for the same file", n)
	}
	inst.Close()

	p2 := loadPlugin(t, `{"certExpiryWarning": "1h"}`)
	inst2, err := p2.Open(params)
	if err != nil {
		t.Fatal(err)
	}
	defer inst2.Close()
	c2 := newCollector(t, p2, inst2)
	c2.until(30*time.Second, "tls-a up", hasHealth("tls-a", "stream_up"))
	c2.drain(300 * time.Millisecond)
	if n := len(health(c2.got, "tls-a", "cert_expiring")); n != 0 {
		t.Errorf("a certificate valid for a day was reported with a warning of 1h")
	}
}
