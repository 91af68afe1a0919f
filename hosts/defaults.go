// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"fmt"
	"strings"
	"time"
)

// Names of the Defaults fields, as DefaultsError reports them.
const (
	FieldCertDir = "CertDir"
	FieldCA      = "CA"
	FieldCert    = "Cert"
	FieldKey     = "Key"
)

// DefaultsError is a problem with the default TLS material (Defaults): the
// fields it came from (Field* names) and what is wrong with their files.
type DefaultsError struct {
	Fields []string
	Err    error
}

// Error names the fields and the problem.
func (e *DefaultsError) Error() string {
	return fmt.Sprintf("default TLS material (%s): %v", strings.Join(e.Fields, ", "), e.Err)
}

// Unwrap returns the problem.
func (e *DefaultsError) Unwrap() error { return e.Err }

// CheckDefaults reads and checks every file the defaults provide, as Parse
// checks the files of an endpoint (exists, readable, PEM, a certificate
// valid for client authentication whose key matches): whether an endpoint
// uses them or not, a bad default fails where it is written rather than
// on the day a tcp endpoint first relies on it. A file a single-file
// default overrides (certdir's ca.pem under CA, say) is not read.
func CheckDefaults(d Defaults) error {
	var dir material
	if d.CertDir != "" {
		var err error
		if dir, err = readCertDir(d.CertDir); err != nil {
			return &DefaultsError{Fields: []string{FieldCertDir}, Err: err}
		}
	}
	switch {
	case d.CA != "":
		if err := checkCA(d.CA); err != nil {
			return &DefaultsError{Fields: []string{FieldCA}, Err: err}
		}
	case dir.ca != "":
		if err := checkCA(dir.ca); err != nil {
			return &DefaultsError{Fields: []string{FieldCertDir}, Err: err}
		}
	}
	if err := checkPair(d.Cert, d.Key); err != nil {
		return &DefaultsError{Fields: []string{FieldCert, FieldKey}, Err: err}
	}
	switch {
	case d.Cert != "":
		if err := checkClientPair(d.Cert, d.Key, time.Now()); err != nil {
			return &DefaultsError{Fields: []string{FieldCert, FieldKey}, Err: err}
		}
	case dir.cert != "":
		if err := checkClientPair(dir.cert, dir.key, time.Now()); err != nil {
			return &DefaultsError{Fields: []string{FieldCertDir}, Err: err}
		}
	}
	return nil
}
