// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Every default file is checked, used by an endpoint or not, and the error
// names the Defaults field it came from and the file.
func TestCheckDefaults(t *testing.T) {
	ca := newCA(t, "ca")
	good := ca.client(t)
	stranger := newCA(t, "other").client(t)
	dir := t.TempDir()
	file := func(name string, data []byte) string { return writeFile(t, dir, name, data) }
	caPath := file("ca.pem", ca.pem)
	certPath, keyPath := file("cert.pem", good.certPEM), file("key.pem", good.keyPEM)
	strangerKey := file("stranger-key.pem", stranger.keyPEM)
	garbage := file("garbage.pem", []byte("hello"))
	unreadable := file("unreadable.pem", ca.pem)
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	goodDir := certDir(t, ca.pem, &good)
	badCADir := certDir(t, []byte("hello"), nil)
	mismatchedDir := certDir(t, nil, &issued{certPEM: good.certPEM, keyPEM: stranger.keyPEM})

	tests := []struct {
		name   string
		d      Defaults
		fields []string // nil = accepted
		want   string
	}{
		{"none", Defaults{}, nil, ""},
		{"good files", Defaults{CA: caPath, Cert: certPath, Key: keyPath}, nil, ""},
		{"good certdir", Defaults{CertDir: goodDir}, nil, ""},
		{"ca overrides a bad certdir ca", Defaults{CertDir: badCADir, CA: caPath}, nil, ""},
		{"missing ca", Defaults{CA: missing}, []string{FieldCA}, "ca file " + missing + ": no such file or directory"},
		{"unreadable ca", Defaults{CA: unreadable}, []string{FieldCA}, "ca file " + unreadable + ": permission denied"},
		{"ca not PEM", Defaults{CA: garbage}, []string{FieldCA}, "ca file " + garbage + " holds no PEM certificate"},
		{"ca is a directory", Defaults{CA: dir}, []string{FieldCA}, "ca file " + dir + ": not a regular file"},
		{"missing cert", Defaults{Cert: missing, Key: keyPath}, []string{FieldCert, FieldKey}, "cert file " + missing},
		{"key not PEM", Defaults{Cert: certPath, Key: garbage}, []string{FieldCert, FieldKey}, "key file " + garbage + " holds no PEM data"},
		{"key not matching", Defaults{Cert: certPath, Key: strangerKey}, []string{FieldCert, FieldKey}, "private key does not match public key"},
		{"cert without key", Defaults{Cert: certPath}, []string{FieldCert, FieldKey}, "cert without key"},
		{"missing certdir", Defaults{CertDir: missing}, []string{FieldCertDir}, "certdir"},
		{"certdir ca not PEM", Defaults{CertDir: badCADir}, []string{FieldCertDir}, "holds no PEM certificate"},
		{"certdir pair not matching", Defaults{CertDir: mismatchedDir}, []string{FieldCertDir}, "private key does not match public key"},
	}
	for _, tt := range tests {
		if tt.name == "unreadable ca" && os.Geteuid() == 0 {
			continue // root reads a file of mode 0; "is a directory" is unreadable too
		}
		err := CheckDefaults(tt.d)
		if tt.fields == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var de *DefaultsError
		if !errors.As(err, &de) {
			t.Errorf("%s: error %v, want a *DefaultsError", tt.name, err)
			continue
		}
		if !slices.Equal(de.Fields, tt.fields) || !strings.Contains(de.Err.Error(), tt.want) {
			t.Errorf("%s: fields %v, error %q; want %v and %q", tt.name, de.Fields, de.Err, tt.fields, tt.want)
		}
	}
}
