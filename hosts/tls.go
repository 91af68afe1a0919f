// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/go-connections/tlsconfig"
)

// The file names of a DOCKER_CERT_PATH-style directory.
const (
	caFile   = "ca.pem"
	certFile = "cert.pem"
	keyFile  = "key.pem"
)

// material is TLS material resolved from one source; "" means the source does
// not provide that file.
type material struct {
	ca, cert, key string
}

// resolvedDefaults is init_config's material, CA and pair each resolved from
// Defaults' single files first, then its certdir.
type resolvedDefaults struct {
	material
	getenv func(string) string // Parse's; nil: an empty environment
}

// env returns d's getenv, never nil.
func (d resolvedDefaults) env(key string) string {
	if d.getenv == nil {
		return ""
	}
	return d.getenv(key)
}

func (d resolvedDefaults) empty() bool { return d.material == material{} }

func resolveDefaults(d Defaults) (resolvedDefaults, error) {
	var r resolvedDefaults
	if err := checkPair(d.Cert, d.Key); err != nil {
		return r, fmt.Errorf("default TLS material (init_config): %w", err)
	}
	var dir material
	if d.CertDir != "" {
		var err error
		if dir, err = readCertDir(d.CertDir); err != nil {
			return r, fmt.Errorf("default TLS material (init_config): %w", err)
		}
	}
	r.ca = firstNonEmpty(d.CA, dir.ca)
	r.cert, r.key = d.Cert, d.Key
	if r.cert == "" {
		r.cert, r.key = dir.cert, dir.key
	}
	return r, nil
}

// resolveTLS applies the options of one endpoint and the defaults to get its
// TLS material; nil for unix and tls=off.
func resolveTLS(ep Endpoint, o options, defs resolvedDefaults) (*TLS, error) {
	tlsOpts := []struct{ name, value string }{
		{"tls", o.tls}, {"certdir", o.certDir}, {"ca", o.ca}, {"cert", o.cert}, {"key", o.key}, {"servername", o.serverName},
	}
	if ep.Scheme != "tcp" {
		for _, opt := range tlsOpts {
			if opt.value != "" {
				return nil, fmt.Errorf("option %q applies to tcp endpoints only", opt.name)
			}
		}
		return nil, nil
	}
	if o.tls == "off" {
		for _, opt := range tlsOpts[1:] {
			if opt.value != "" {
				return nil, fmt.Errorf("option %q needs TLS, but tls=off", opt.name)
			}
		}
		return nil, nil
	}
	if err := checkPair(o.cert, o.key); err != nil {
		return nil, err
	}
	var dir material
	if o.certDir != "" {
		var err error
		if dir, err = readCertDir(o.certDir); err != nil {
			return nil, err
		}
	}
	return resolveMaterial(material{o.ca, o.cert, o.key}, dir, defs, o.serverName), nil
}

// resolveMaterial picks, for the CA and for the client pair separately, the
// first source that provides it: explicit files, then the endpoint's
// certdir, then the defaults.
func resolveMaterial(files, dir material, defs resolvedDefaults, serverName string) *TLS {
	t := &TLS{ServerName: serverName}
	t.CA = firstNonEmpty(files.ca, dir.ca, defs.ca)
	switch {
	case files.cert != "":
		t.Cert, t.Key = files.cert, files.key
	case dir.cert != "":
		t.Cert, t.Key = dir.cert, dir.key
	default:
		t.Cert, t.Key = defs.cert, defs.key
	}
	return t
}

func checkPair(cert, key string) error {
	switch {
	case cert != "" && key == "":
		return errors.New("cert without key")
	case cert == "" && key != "":
		return errors.New("key without cert")
	}
	return nil
}

// readCertDir returns the files a certdir provides. The directory must exist
// and hold at least one of them; cert.pem and key.pem go together.
func readCertDir(dir string) (material, error) {
	m, err := scanCertDir(dir)
	if err != nil {
		return m, err
	}
	if m == (material{}) {
		return m, fmt.Errorf("certdir %s holds none of %s, %s, %s", dir, caFile, certFile, keyFile)
	}
	return m, nil
}

// scanCertDir is readCertDir without the "at least one file" rule.
func scanCertDir(dir string) (material, error) {
	var m material
	if err := statDir(dir); err != nil {
		return m, fmt.Errorf("certdir: %w", err)
	}
	present := func(name string) (string, error) {
		p := filepath.Join(dir, name)
		_, err := os.Stat(p)
		switch {
		case err == nil:
			return p, nil
		case errors.Is(err, fs.ErrNotExist):
			return "", nil
		default:
			return "", fmt.Errorf("certdir: %w", err)
		}
	}
	var err error
	if m.ca, err = present(caFile); err != nil {
		return m, err
	}
	if m.cert, err = present(certFile); err != nil {
		return m, err
	}
	if m.key, err = present(keyFile); err != nil {
		return m, err
	}
	switch {
	case m.cert != "" && m.key == "":
		return m, fmt.Errorf("certdir %s has %s but no %s", dir, certFile, keyFile)
	case m.cert == "" && m.key != "":
		return m, fmt.Errorf("certdir %s has %s but no %s", dir, keyFile, certFile)
	}
	return m, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// checkMaterial reads every file of t and checks it: the CA holds PEM
// certificates that parse; cert and key load as a matching pair, the key is
// not encrypted, and the certificate is valid now and allowed for client
// authentication. Errors name the file, never its contents.
func checkMaterial(t TLS) error {
	if t.CA != "" {
		if err := checkCA(t.CA); err != nil {
			return err
		}
	}
	if err := checkPair(t.Cert, t.Key); err != nil {
		return err
	}
	if t.Cert != "" {
		return checkClientPair(t.Cert, t.Key, time.Now())
	}
	return nil
}

// maxPEMFile bounds what is read of one certificate file: real ones are a
// few KiB, and a mistyped path must not make Open read /dev/zero forever.
const maxPEMFile = 1 << 20

// readFile reads a certificate file; the error names its role and path once.
// Only regular files are read: opening a FIFO by mistake would block Open.
func readFile(role, path string) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s file %s: %w", role, path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fail(err)
	}
	if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("not a regular file (%s)", fi.Mode().Type()))
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return fail(err)
	}
	if len(b) > maxPEMFile {
		return fail(fmt.Errorf("larger than %d bytes, not a certificate file", maxPEMFile))
	}
	return b, nil
}

func checkCA(path string) error {
	data, err := readFile("ca", path)
	if err != nil {
		return err
	}
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue // the same blocks x509.CertPool.AppendCertsFromPEM skips
		}
		n++
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("ca file %s: certificate %d: %v", path, n, err)
		}
	}
	if n == 0 {
		return fmt.Errorf("ca file %s holds no PEM certificate", path)
	}
	return nil
}

func checkClientPair(certPath, keyPath string, now time.Time) error {
	certPEM, err := readFile("cert", certPath)
	if err != nil {
		return err
	}
	keyPEM, err := readFile("key", keyPath)
	if err != nil {
		return err
	}
	if block, _ := pem.Decode(keyPEM); block == nil {
		return fmt.Errorf("key file %s holds no PEM data", keyPath)
	} else if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") || block.Type == "ENCRYPTED PRIVATE KEY" {
		return fmt.Errorf("key file %s is encrypted; encrypted keys are not supported", keyPath)
	}
	// tls.X509KeyPair's errors describe what is wrong, never the bytes.
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("cert file %s and key file %s: %v", certPath, keyPath, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return fmt.Errorf("cert file %s: %v", certPath, err)
		}
	}
	switch {
	case now.Before(leaf.NotBefore):
		return fmt.Errorf("cert file %s is not valid before %s", certPath, leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		return fmt.Errorf("cert file %s expired on %s", certPath, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if len(leaf.ExtKeyUsage) > 0 && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) &&
		!slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return fmt.Errorf("cert file %s is not for client authentication (no clientAuth extended key usage)", certPath)
	}
	return nil
}

// TLSConfig checks the endpoint's TLS files and returns the client TLS
// configuration built from them with go-connections' tlsconfig: only the
// endpoint's CA is trusted when it has one (ExclusiveRootPools), else the
// system roots; TLS 1.2 at least; verification always on. It returns nil,
// nil for an endpoint without TLS. Errors name the endpoint and the file.
//
// Endpoints with the same files share one parsed CA pool and key pair (each
// gets its own Clone with its ServerName): a fleet of a thousand hosts on
// the same material reads and parses it once, and holds it once. A file
// that changed (size, modification time or inode) is read again.
func (e Endpoint) TLSConfig() (*tls.Config, error) {
	if e.TLS == nil {
		return nil, nil
	}
	base, err := sharedConfig(*e.TLS)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", e.Name, err)
	}
	cfg := base.Clone()
	cfg.ServerName = e.TLS.ServerName
	return cfg, nil
}

// configKey identifies TLS material by its paths and the state of its files.
type configKey struct {
	ca, cert, key    string
	caS, certS, keyS fileStamp
}

// fileStamp is what tells that a file changed without reading it.
type fileStamp struct {
	size, mtime int64
	dev, ino    uint64
}

func stamp(path string) (fileStamp, error) {
	if path == "" {
		return fileStamp{}, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.dev, st.ino = uint64(sys.Dev), sys.Ino
	}
	return st, nil
}

// maxSharedConfigs bounds the cache; past it, it starts over (a config is
// only ever rebuilt, never wrong).
const maxSharedConfigs = 256

var shared struct {
	sync.Mutex
	configs map[configKey]*tls.Config
}

// sharedConfig returns the checked, built configuration of t's files
// (without ServerName), from the cache when the files did not change. The
// base returned must not be modified: callers Clone it.
func sharedConfig(t TLS) (*tls.Config, error) {
	k := configKey{ca: t.CA, cert: t.Cert, key: t.Key}
	var errs [3]error
	k.caS, errs[0] = stamp(t.CA)
	k.certS, errs[1] = stamp(t.Cert)
	k.keyS, errs[2] = stamp(t.Key)
	cacheable := errs == [3]error{}
	if cacheable {
		shared.Lock()
		cfg := shared.configs[k]
		shared.Unlock()
		if cfg != nil {
			return cfg, nil
		}
	}
	// Stamped before reading: a file changed in between is cached under
	// its old stamp, so the next call sees a new stamp and reads it again.
	if err := checkMaterial(t); err != nil {
		return nil, err
	}
	cfg, err := tlsconfig.Client(tlsconfig.Options{
		CAFile:             t.CA,
		CertFile:           t.Cert,
		KeyFile:            t.Key,
		ExclusiveRootPools: true,
		MinVersion:         tls.VersionTLS12,
	})
	if err != nil {
		return nil, err
	}
	cfg.InsecureSkipVerify = false
	if cacheable {
		shared.Lock()
		if shared.configs == nil || len(shared.configs) >= maxSharedConfigs {
			shared.configs = make(map[configKey]*tls.Config)
		}
		shared.configs[k] = cfg
		shared.Unlock()
	}
	return cfg, nil
}

// CertificateNotAfter reads when the first certificate of a PEM file
// expires: what the plugin's expiry warning and `dockerfleet check` show.
func CertificateNotAfter(path string) (time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return time.Time{}, fmt.Errorf("%s: no PEM block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", path, err)
	}
	return c.NotAfter, nil
}
