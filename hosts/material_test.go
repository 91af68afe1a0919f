// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMaterialChecks: every bad certificate file fails Parse (at Open) and
// NewClient, naming the endpoint and the file, never showing key bytes.
func TestMaterialChecks(t *testing.T) {
	ca := newCA(t, "ca")
	other := newCA(t, "other")
	good := ca.client(t)
	stranger := other.client(t)
	dir := t.TempDir()
	file := func(name string, data []byte) string { return writeFile(t, dir, name, data) }

	caPath := file("ca.pem", ca.pem)
	certPath := file("cert.pem", good.certPEM)
	keyPath := file("key.pem", good.keyPEM)
	strangerKey := file("stranger-key.pem", stranger.keyPEM)
	badDER := file("bad-der.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}))
	garbage := file("garbage.pem", []byte("hello"))
	keyAsCA := file("key-as-ca.pem", good.keyPEM)
	unreadable := file("unreadable.pem", ca.pem)
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(good.keyPEM)
	// Encrypted PEM keys are obsolete, but users still have them lying around.
	encBlock, err := x509.EncryptPEMBlock(zeroReader{}, "EC PRIVATE KEY", block.Bytes, []byte("pw"), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	encrypted := file("encrypted-key.pem", pem.EncodeToMemory(encBlock))
	expired := ca.issue(t, certSpec{cn: "old", notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	future := ca.issue(t, certSpec{cn: "new", notBefore: time.Now().Add(24 * time.Hour), notAfter: time.Now().Add(48 * time.Hour)})
	serverOnly := ca.server(t)
	noUsage := ca.issue(t, certSpec{cn: "any"}) // no extended key usage: any use
	expiredCert, expiredKey := file("expired.pem", expired.certPEM), file("expired-key.pem", expired.keyPEM)
	futureCert, futureKey := file("future.pem", future.certPEM), file("future-key.pem", future.keyPEM)
	serverCert, serverKey := file("server.pem", serverOnly.certPEM), file("server-key.pem", serverOnly.keyPEM)
	anyCert, anyKey := file("any.pem", noUsage.certPEM), file("any-key.pem", noUsage.keyPEM)

	tests := []struct {
		name          string
		ca, cert, key string
		want          string // "" = accepted
	}{
		{"good", caPath, certPath, keyPath, ""},
		{"CA only", caPath, "", "", ""},
		{"no extended key usage", caPath, anyCert, anyKey, ""},
		{"missing CA", filepath.Join(dir, "nope.pem"), "", "", "ca file " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		{"unreadable CA", unreadable, "", "", "ca file " + unreadable + ": permission denied"},
		{"garbage CA", garbage, "", "", "ca file " + garbage + " holds no PEM certificate"},
		{"key as CA", keyAsCA, "", "", "ca file " + keyAsCA + " holds no PEM certificate"},
		{"bad DER in CA", badDER, "", "", "ca file " + badDER + ": certificate 1: x509: malformed certificate"},
		{"missing cert", caPath, filepath.Join(dir, "nope.pem"), keyPath, "cert file " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		{"missing key", caPath, certPath, filepath.Join(dir, "nope.pem"), "key file " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		{"garbage key", caPath, certPath, garbage, "key file " + garbage + " holds no PEM data"},
		{"key of another cert", caPath, certPath, strangerKey, "cert file " + certPath + " and key file " + strangerKey + ": tls: private key does not match public key"},
		{"cert and key swapped", caPath, keyPath, certPath, "cert file " + keyPath + " and key file " + certPath + ": tls:"},
		{"encrypted key", caPath, certPath, encrypted, "key file " + encrypted + " is encrypted; encrypted keys are not supported"},
		{"expired cert", caPath, expiredCert, expiredKey, "cert file " + expiredCert + " expired on "},
		{"cert not yet valid", caPath, futureCert, futureKey, "cert file " + futureCert + " is not valid before "},
		{"server-only cert", caPath, serverCert, serverKey, "cert file " + serverCert + " is not for client authentication"},
	}
	if os.Geteuid() == 0 {
		// root reads files whatever their mode.
		tests = append(tests[:4], tests[5:]...)
	}
	secrets := []string{string(good.keyPEM), string(stranger.keyPEM), keyBody(good.keyPEM), keyBody(stranger.keyPEM), "PRIVATE KEY"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := "ca=" + tt.ca
			if tt.cert != "" {
				q += "&cert=" + tt.cert + "&key=" + tt.key
			}
			params := "tcp://127.0.0.1:2376?name=web-1&" + q
			_, err := Parse(params, Defaults{}, nil)
			ep := Endpoint{Name: "web-1", URL: "tcp://127.0.0.1:2376", Scheme: "tcp", Address: "127.0.0.1:2376",
				TLS: &TLS{CA: tt.ca, Cert: tt.cert, Key: tt.key}}
			cli, cerr := ep.NewClient()
			if cerr == nil {
				cli.Close()
			}
			if tt.want == "" {
				if err != nil || cerr != nil {
					t.Fatalf("Parse: %v; NewClient: %v", err, cerr)
				}
				return
			}
			for _, c := range []struct {
				err    error
				prefix string
			}{
				{err, fmt.Sprintf("endpoint 1 %q: ", params)},
				{cerr, `endpoint "web-1": `},
			} {
				if c.err == nil || !strings.Contains(c.err.Error(), c.prefix+tt.want) {
					t.Errorf("error %v\nwant %q", c.err, c.prefix+tt.want)
					continue
				}
				for _, s := range secrets {
					if strings.Contains(c.err.Error(), s) {
						t.Errorf("error %q shows key material", c.err)
					}
				}
			}
		})
	}
}

// keyBody is a piece of a key's base64 body, to look for in errors.
func keyBody(keyPEM []byte) string {
	lines := strings.Split(string(keyPEM), "\n")
	return lines[1][:20]
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestTLSConfigSharedAndRefreshed: endpoints on the same files share one
// parsed pool and key pair, each with its own ServerName; a file replaced
// (as rotation tools do: write, then rename) is read again, and one that
// turned bad fails again.
func TestTLSConfigSharedAndRefreshed(t *testing.T) {
	ca := newCA(t, "ca")
	first := ca.client(t)
	dir := certDir(t, ca.pem, &first)
	eps, err := Parse("tcp://h:1?certdir="+dir+"&servername=a, tcp://h:2?certdir="+dir, Defaults{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := eps[0].TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	b, err := eps[1].TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if a.RootCAs == nil || a.RootCAs != b.RootCAs || &a.Certificates[0].Certificate[0][0] != &b.Certificates[0].Certificate[0][0] {
		t.Error("the two endpoints do not share their parsed material")
	}
	if a.ServerName != "a" || b.ServerName != "" {
		t.Errorf("ServerName %q and %q, want a and empty", a.ServerName, b.ServerName)
	}

	replace := func(name string, data []byte) {
		tmp := writeFile(t, dir, name+".new", data)
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	second := ca.client(t)
	replace(certFile, second.certPEM)
	replace(keyFile, second.keyPEM)
	c, err := eps[1].TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	want := second.tlsCert(t).Certificate[0]
	if string(c.Certificates[0].Certificate[0]) != string(want) {
		t.Error("rotated client certificate not picked up")
	}

	replace(caFile, []byte("broken"))
	if _, err := eps[1].NewClient(); err == nil || !strings.Contains(err.Error(), `endpoint "tcp://h:2": ca file `+filepath.Join(dir, caFile)+" holds no PEM certificate") {
		t.Fatalf("NewClient after the CA broke: %v", err)
	}
}
