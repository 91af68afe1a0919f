// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a client certificate and its key into dir, and returns
// their paths.
func selfSigned(t *testing.T, dir, name string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, name+"-cert.pem"), filepath.Join(dir, name+"-key.pem")
	writeTestFile(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeTestFile(t, keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return certPath, keyPath
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A bad default TLS file in init_config fails Open the way a bad
// tls.certDir does, naming the key and the file, even when no endpoint
// uses TLS; good ones open.
func TestOpenChecksDefaultTLSFiles(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	writeTestFile(t, garbage, []byte("not a certificate"))
	cert, key := selfSigned(t, dir, "client")
	_, otherKey := selfSigned(t, dir, "other")
	emptyDir := t.TempDir()
	goodDir := t.TempDir()
	for _, f := range []struct{ from, to string }{{cert, "ca.pem"}, {cert, "cert.pem"}, {key, "key.pem"}} {
		b, err := os.ReadFile(f.from)
		if err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(goodDir, f.to), b)
	}

	tests := []struct {
		name, tls, want string // want "" = opens
	}{
		{"good files", `{"ca": "` + cert + `", "cert": "` + cert + `", "key": "` + key + `"}`, ""},
		{"good certDir", `{"certDir": "` + goodDir + `"}`, ""},
		{"missing certDir", `{"certDir": "` + missing + `"}`, `init_config: key "tls.certDir": certdir: stat ` + missing + `: no such file or directory`},
		{"empty certDir", `{"certDir": "` + emptyDir + `"}`, `init_config: key "tls.certDir": certdir ` + emptyDir + ` holds none of`},
		{"missing ca", `{"ca": "` + missing + `"}`, `init_config: key "tls.ca": ca file ` + missing + `: no such file or directory`},
		{"ca not PEM", `{"ca": "` + garbage + `"}`, `init_config: key "tls.ca": ca file ` + garbage + ` holds no PEM certificate`},
		{"ca a directory", `{"ca": "` + dir + `"}`, `init_config: key "tls.ca": ca file ` + dir + `: not a regular file`},
		{"missing cert", `{"cert": "` + missing + `", "key": "` + key + `"}`, `init_config: keys "tls.cert" and "tls.key": cert file ` + missing + `: no such file`},
		{"key not PEM", `{"cert": "` + cert + `", "key": "` + garbage + `"}`, `init_config: keys "tls.cert" and "tls.key": key file ` + garbage + ` holds no PEM data`},
		{"key not matching", `{"cert": "` + cert + `", "key": "` + otherKey + `"}`, `init_config: keys "tls.cert" and "tls.key": cert file ` + cert + ` and key file ` + otherKey + `: tls: private key does not match public key`},
	}
	for _, tt := range tests {
		cfg, err := ParseConfig(`{"tls": ` + tt.tls + `}`)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		// A unix endpoint only: the defaults are checked all the same.
		inst, err := openInstance(cfg, "unix://"+filepath.Join(dir, "nobody.sock"))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want == "":
			inst.Close()
		case err == nil:
			inst.Close()
			t.Errorf("%s: opened, want %q", tt.name, tt.want)
		case !strings.HasPrefix(err.Error(), tt.want):
			t.Errorf("%s: %q\n want it to start with %q", tt.name, err, tt.want)
		}
	}
}
