// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// dockerContext is the docker endpoint of a docker CLI context, read from
// the CLI's context store.
type dockerContext struct {
	Name string
	// Host is the daemon address as the context holds it (unix://, tcp://).
	Host string
	// TLSDir is the directory holding the context's ca.pem, cert.pem and
	// key.pem (each one only if the context was given it); "" when the
	// context has no TLS material.
	TLSDir string
}

// maxContextMeta bounds what is read of a context's meta.json: the CLI
// writes a few hundred bytes.
const maxContextMeta = 1 << 20

// loadContext reads the context called name from the docker CLI's store
// ($DOCKER_CONFIG, else $HOME/.docker), laid out as the CLI writes it:
// contexts/meta/<sha256 of the name>/meta.json and
// contexts/tls/<sha256 of the name>/docker/{ca,cert,key}.pem. The layout is
// read directly rather than through github.com/docker/cli, whose store
// package would bring the whole CLI module in for two small files.
func loadContext(name string, getenv func(string) string) (dockerContext, error) {
	if name == "" {
		return dockerContext{}, errors.New("empty context name: write context://NAME")
	}
	if name == "default" {
		return dockerContext{}, errors.New(`context "default" is the docker CLI's built-in one (DOCKER_HOST, else the local socket): leave open_params empty, or name its endpoint`)
	}
	cfg := dockerConfigDir(getenv)
	if cfg == "" {
		return dockerContext{}, fmt.Errorf("context %q: neither DOCKER_CONFIG nor HOME is set, so the docker CLI's context store cannot be found", name)
	}
	sum := sha256.Sum256([]byte(name))
	digest := hex.EncodeToString(sum[:])
	metaPath := filepath.Join(cfg, "contexts", "meta", digest, "meta.json")
	f, err := os.Open(metaPath)
	if err != nil {
		if isNotExist(err) {
			return dockerContext{}, fmt.Errorf("context %q not found in %s (docker context ls lists the contexts of that store)", name, filepath.Join(cfg, "contexts"))
		}
		return dockerContext{}, fmt.Errorf("context %q: %w", name, err)
	}
	defer f.Close()
	var meta struct {
		Name      string
		Endpoints map[string]struct {
			Host          string
			SkipTLSVerify bool
		}
	}
	if err := json.NewDecoder(io.LimitReader(f, maxContextMeta)).Decode(&meta); err != nil {
		return dockerContext{}, fmt.Errorf("context %q: %s: %v", name, metaPath, err)
	}
	ep, ok := meta.Endpoints["docker"]
	if !ok || strings.TrimSpace(ep.Host) == "" {
		return dockerContext{}, fmt.Errorf("context %q: %s has no docker endpoint", name, metaPath)
	}
	if ep.SkipTLSVerify {
		return dockerContext{}, fmt.Errorf("context %q: skip-tls-verify is set, and dockerfleet always verifies the daemon's certificate: give the context the daemon's CA (docker context update %s --docker ca=...)", name, name)
	}
	ctx := dockerContext{Name: name, Host: ep.Host}
	tlsDir := filepath.Join(cfg, "contexts", "tls", digest, "docker")
	if _, err := os.Stat(tlsDir); err == nil {
		ctx.TLSDir = tlsDir
	} else if !isNotExist(err) {
		return dockerContext{}, fmt.Errorf("context %q: %w", name, err)
	}
	return ctx, nil
}

// contextAddress resolves context://NAME as `docker --context NAME` would:
// the daemon address of the context, and its TLS files as the certdir of
// the endpoint unless the endpoint names its own material. A tcp context
// without TLS material is plain tcp, as the docker CLI speaks to it.
func contextAddress(name string, opts *options, getenv func(string) string) (string, error) {
	ctx, err := loadContext(name, getenv)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(strings.ToLower(ctx.Host), "tcp://") {
		return ctx.Host, nil
	}
	switch {
	case ctx.TLSDir != "" && opts.certDir == "":
		opts.certDir = ctx.TLSDir
	case ctx.TLSDir == "" && opts.tls == "" && opts.certDir == "" && opts.ca == "" && opts.cert == "":
		opts.tls = "off"
	}
	return ctx.Host, nil
}
