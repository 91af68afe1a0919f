// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"crypto/tls"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// rotatingServer serves fake over TLS with the identity and client CA it
// holds now, which a test swaps as a daemon's operator would.
func rotatingServer(t *testing.T, fake *fakeDocker, cfg *atomic.Pointer[tls.Config]) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(fake)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return cfg.Load(), nil }}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func daemonTLS(t *testing.T, ca *testCA) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{ca.server(t).tlsCert(t)},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.pool(),
	}
}

// TestRotatedCertificatesUsedWithoutRestart: when the CA and client
// certificate files of an endpoint are replaced on disk (cert-manager,
// Vault), the next connection of the same Dialer, and of its client, uses
// them; a rotation caught half written keeps the last good set.
func TestRotatedCertificatesUsedWithoutRestart(t *testing.T) {
	old, next := newCA(t, "old CA"), newCA(t, "new CA")
	var serving atomic.Pointer[tls.Config]
	serving.Store(daemonTLS(t, old))
	addr := rotatingServer(t, &fakeDocker{}, &serving)

	oldClient := old.client(t)
	dir := certDir(t, old.pem, &oldClient)
	ep := parseOne(t, "tcp://"+addr+"?name=rotating&certdir="+dir+"&servername=localhost", Defaults{})
	d, err := ep.NewDialer()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := d.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	dial := func() error {
		c, err := d.Dial(ctxT(t))
		if err == nil {
			c.Close()
		}
		return err
	}
	ping := func() error {
		_, err := cli.Ping(ctxT(t))
		_ = cli.Close() // idle connections go: the next call dials anew
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	if err := ping(); err != nil {
		t.Fatalf("before rotation, client: %v", err)
	}

	// The daemon moves to the new CA; the old material is refused.
	serving.Store(daemonTLS(t, next))
	if err := dial(); err == nil {
		t.Fatal("the old material was accepted by the rotated daemon")
	}
	// The files are rotated, each by a rename as the tools do.
	replace := func(name string, data []byte) {
		tmp := writeFile(t, dir, name+".new", data)
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	newClient := next.client(t)
	replace(caFile, next.pem)
	replace(certFile, newClient.certPEM)
	replace(keyFile, newClient.keyPEM)
	if err := dial(); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if err := ping(); err != nil {
		t.Fatalf("after rotation, client: %v", err)
	}
	if got := d.ClientCertificate(); got == nil || string(got.Raw) != string(newClient.tlsCert(t).Certificate[0]) {
		t.Error("ClientCertificate is not the rotated one")
	}

	// Half written: a new certificate whose key has not arrived yet.
	third := next.client(t)
	replace(certFile, third.certPEM)
	if err := dial(); err != nil {
		t.Fatalf("a half-written rotation broke the next connection: %v", err)
	}
}
