// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package dockerd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no CERTIFICATE block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cert
}

func pool(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	p.AddCert(readCert(t, path))
	return p
}

func TestGenerateCertsLayoutAndChains(t *testing.T) {
	dir := t.TempDir()
	c, err := GenerateCerts(dir)
	if err != nil {
		t.Fatal(err)
	}

	// DOCKER_CERT_PATH layout, private files.
	for _, d := range []string{c.Dir, c.OtherDir} {
		for _, name := range []string{"ca.pem", "cert.pem", "key.pem"} {
			st, err := os.Stat(filepath.Join(d, name))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s/%s: mode %v, want 0600", d, name, st.Mode().Perm())
			}
		}
	}
	if c.CA != filepath.Join(c.Dir, "ca.pem") || c.Cert != filepath.Join(c.Dir, "cert.pem") || c.Key != filepath.Join(c.Dir, "key.pem") {
		t.Errorf("single paths do not point into Dir: %+v", c)
	}

	now := time.Now()
	server := readCert(t, c.ServerCert)
	for _, name := range []string{"localhost", "127.0.0.1"} {
		if _, err := server.Verify(x509.VerifyOptions{DNSName: name, Roots: pool(t, c.CA), CurrentTime: now}); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}
	if _, err := server.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool(t, c.OtherCA)}); err == nil {
		t.Error("server certificate verifies against the unrelated CA")
	}
	if !server.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("server IP SAN %v", server.IPAddresses)
	}

	clientUsage := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	client := readCert(t, c.Cert)
	if _, err := client.Verify(x509.VerifyOptions{Roots: pool(t, c.CA), KeyUsages: clientUsage}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	other := readCert(t, c.OtherCert)
	if _, err := other.Verify(x509.VerifyOptions{Roots: pool(t, c.CA), KeyUsages: clientUsage}); err == nil {
		t.Error("other client certificate verifies against the daemon's CA")
	}
	if _, err := other.Verify(x509.VerifyOptions{Roots: pool(t, c.OtherCA), KeyUsages: clientUsage}); err != nil {
		t.Errorf("other client certificate against its own CA: %v", err)
	}

	for _, cert := range []*x509.Certificate{server, client, other, readCert(t, c.CA), readCert(t, c.OtherCA)} {
		if life := cert.NotAfter.Sub(now); life <= 0 || life > 25*time.Hour {
			t.Errorf("%s: validity ends in %v, want short and positive", cert.Subject, life)
		}
		key, ok := cert.PublicKey.(*ecdsa.PublicKey)
		if !ok || key.Curve != elliptic.P256() {
			t.Errorf("%s: key is not ECDSA P-256", cert.Subject)
		}
	}

	// Keys match their certificates and load the way clients load them.
	for _, pair := range [][2]string{{c.Cert, c.Key}, {c.ServerCert, c.ServerKey}, {c.OtherCert, c.OtherKey}} {
		if _, err := tls.LoadX509KeyPair(pair[0], pair[1]); err != nil {
			t.Errorf("key pair %s: %v", pair[0], err)
		}
	}
	if _, err := c.ClientTLSConfig(); err != nil {
		t.Error(err)
	}
}

func TestGenerateCertsMissingDir(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := GenerateCerts(blocker)
	if err == nil || !strings.Contains(err.Error(), blocker) {
		t.Fatalf("GenerateCerts below a file: err = %v, want one naming %s", err, blocker)
	}
}

// handshake runs a TLS handshake between client and server over a pipe and
// returns the server side's error.
func handshake(t *testing.T, client, server *tls.Config) error {
	t.Helper()
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	client = client.Clone()
	client.ServerName = "localhost"
	go func() { _ = tls.Client(c, client).Handshake(); c.Close() }()
	srv := tls.Server(s, server)
	_ = srv.SetDeadline(time.Now().Add(10 * time.Second))
	return srv.Handshake()
}

// The server side accepts the accepted client, and refuses a client
// without a certificate, as dockerd --tlsverify does.
func TestServerTLSConfigRequiresTheClient(t *testing.T) {
	c, err := GenerateCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	server, err := c.ServerTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	client, err := c.ClientTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, client, server); err != nil {
		t.Errorf("accepted client refused: %v", err)
	}
	anonymous := client.Clone()
	anonymous.Certificates = nil
	if err := handshake(t, anonymous, server); err == nil {
		t.Error("client without a certificate accepted")
	}
	c.ServerKey = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := c.ServerTLSConfig(); err == nil || !strings.Contains(err.Error(), c.ServerCert) {
		t.Errorf("missing server key: error %v, want one naming %s", err, c.ServerCert)
	}
}
