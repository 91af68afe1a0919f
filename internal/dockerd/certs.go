// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package dockerd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// certValidity is short on purpose: the material only lives as long as a test
// run, and a short life keeps leaked files worthless.
const certValidity = 24 * time.Hour

// Certs is the TLS material of one test setup, as file paths (never contents).
//
// Dir is a DOCKER_CERT_PATH directory (ca.pem, cert.pem, key.pem) for a client
// the daemon accepts. OtherDir has the same layout but everything in it comes
// from a second, unrelated CA: its ca.pem does not verify the server and its
// client certificate is refused by the server. Mix the single files to build
// "wrong CA" cases, e.g. CA with OtherCert/OtherKey (server refuses the client)
// or OtherCA with Cert/Key (client refuses the server).
type Certs struct {
	Dir       string // DOCKER_CERT_PATH layout for an accepted client
	CA        string // CA that signed the server and the accepted client
	Cert, Key string // client certificate (ExtKeyUsageClientAuth) and its key

	ServerCert, ServerKey string // server certificate (SAN IP:127.0.0.1, DNS:localhost) and key

	OtherDir            string // DOCKER_CERT_PATH layout, all from the unrelated CA
	OtherCA             string // the unrelated CA
	OtherCert, OtherKey string // client certificate signed by the unrelated CA and its key
}

// GenerateCerts writes a fresh CA, server certificate, client certificate and a
// second unrelated CA with its own client certificate below dir, which must
// exist. Keys are ECDSA P-256, files are written 0600.
func GenerateCerts(dir string) (*Certs, error) {
	c := &Certs{
		Dir:        filepath.Join(dir, "client"),
		OtherDir:   filepath.Join(dir, "other-client"),
		ServerCert: filepath.Join(dir, "server", "cert.pem"),
		ServerKey:  filepath.Join(dir, "server", "key.pem"),
	}
	c.CA, c.Cert, c.Key = filepath.Join(c.Dir, "ca.pem"), filepath.Join(c.Dir, "cert.pem"), filepath.Join(c.Dir, "key.pem")
	c.OtherCA, c.OtherCert, c.OtherKey = filepath.Join(c.OtherDir, "ca.pem"), filepath.Join(c.OtherDir, "cert.pem"), filepath.Join(c.OtherDir, "key.pem")
	for _, d := range []string{c.Dir, c.OtherDir, filepath.Dir(c.ServerCert)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("dockerd: certificates: %w", err)
		}
	}

	ca, err := newCA("dockerfleet test CA")
	if err != nil {
		return nil, err
	}
	other, err := newCA("dockerfleet unrelated test CA")
	if err != nil {
		return nil, err
	}
	server := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	client := func() *x509.Certificate {
		return &x509.Certificate{
			Subject:     pkix.Name{CommonName: "dockerfleet test client"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
	}

	steps := []struct {
		issuer   *authority
		template *x509.Certificate
		cert     string
		key      string
	}{
		{ca, server, c.ServerCert, c.ServerKey},
		{ca, client(), c.Cert, c.Key},
		{other, client(), c.OtherCert, c.OtherKey},
	}
	for _, s := range steps {
		if err := s.issuer.issue(s.template, s.cert, s.key); err != nil {
			return nil, err
		}
	}
	if err := writePEM(c.CA, "CERTIFICATE", ca.der); err != nil {
		return nil, err
	}
	if err := writePEM(c.OtherCA, "CERTIFICATE", other.der); err != nil {
		return nil, err
	}
	return c, nil
}

// ClientTLSConfig returns a tls.Config that trusts CA and presents Cert/Key,
// i.e. the accepted client.
func (c *Certs) ClientTLSConfig() (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(c.Cert, c.Key)
	if err != nil {
		return nil, fmt.Errorf("dockerd: client key pair %s: %w", c.Cert, err)
	}
	pool, err := c.caPool()
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// ServerTLSConfig returns a tls.Config that presents ServerCert/ServerKey
// and requires a client certificate issued by CA, as dockerd --tlsverify
// does: for fake daemons speaking TLS like a real one.
func (c *Certs) ServerTLSConfig() (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(c.ServerCert, c.ServerKey)
	if err != nil {
		return nil, fmt.Errorf("dockerd: server key pair %s: %w", c.ServerCert, err)
	}
	pool, err := c.caPool()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// caPool is a pool holding the certificate of CA.
func (c *Certs) caPool() (*x509.CertPool, error) {
	caPEM, err := os.ReadFile(c.CA)
	if err != nil {
		return nil, fmt.Errorf("dockerd: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("dockerd: no certificate in %s", c.CA)
	}
	return pool, nil
}

// authority is an in-memory CA that signs leaf certificates.
type authority struct {
	cert *x509.Certificate
	der  []byte
	key  *ecdsa.PrivateKey
}

func newCA(name string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dockerd: CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Minute), // tolerate small clock skew
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("dockerd: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("dockerd: CA certificate: %w", err)
	}
	return &authority{cert: cert, der: der, key: key}, nil
}

// issue signs tmpl with a fresh key and writes certificate and key as PEM.
func (a *authority) issue(tmpl *x509.Certificate, certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("dockerd: key for %s: %w", certPath, err)
	}
	serial, err := newSerial()
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-time.Minute)
	tmpl.NotAfter = now.Add(certValidity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return fmt.Errorf("dockerd: certificate %s: %w", certPath, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("dockerd: key for %s: %w", certPath, err)
	}
	if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
		return err
	}
	return writePEM(keyPath, "EC PRIVATE KEY", keyDER)
}

func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("dockerd: serial number: %w", err)
	}
	return serial, nil
}

func writePEM(path, blockType string, der []byte) error {
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	return nil
}
