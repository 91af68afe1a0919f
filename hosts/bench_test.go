// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"fmt"
	"strings"
	"testing"
)

// fleetParams is open_params for n tcp hosts sharing the defaults' TLS.
func fleetParams(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("tcp://10.0.%d.%d:2376?name=web-%d", i/250, i%250+1, i)
	}
	return strings.Join(parts, ", ")
}

// BenchmarkParseFleet1000 parses 1,000 TLS endpoints whose material comes
// from one default certdir (read and checked once per Parse).
func BenchmarkParseFleet1000(b *testing.B) {
	ca := newCA(b, "ca")
	cl := ca.client(b)
	d := Defaults{CertDir: certDir(b, ca.pem, &cl)}
	params := fleetParams(1000)
	b.ReportAllocs()
	for b.Loop() {
		eps, err := Parse(params, d, nil)
		if err != nil || len(eps) != 1000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewClientTLS is the per-host cost of building a TLS client at
// Open (reads and checks the files, builds the tls.Config and transport).
func BenchmarkNewClientTLS(b *testing.B) {
	ca := newCA(b, "ca")
	cl := ca.client(b)
	eps, err := Parse("tcp://10.0.0.1:2376", Defaults{CertDir: certDir(b, ca.pem, &cl)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cli, err := eps[0].NewClient()
		if err != nil {
			b.Fatal(err)
		}
		cli.Close()
	}
}

func BenchmarkNewClientUnix(b *testing.B) {
	eps, err := Parse("unix:///var/run/docker.sock", Defaults{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cli, err := eps[0].NewClient()
		if err != nil {
			b.Fatal(err)
		}
		cli.Close()
	}
}
