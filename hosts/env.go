// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// The environment variables of the docker CLI that the single-host default
// reads.
const (
	EnvHost      = "DOCKER_HOST"
	EnvCertPath  = "DOCKER_CERT_PATH"
	EnvTLSVerify = "DOCKER_TLS_VERIFY"
	EnvTLS       = "DOCKER_TLS"
)

// fromEnv builds the single endpoint of an empty open_params. It also
// returns the text that errors name (the variables it came from).
func fromEnv(defs resolvedDefaults, getenv func(string) string) (Endpoint, string, error) {
	host := strings.TrimSpace(getenv(EnvHost))
	if host == "" {
		ep, err := parseAddress(DefaultSocket)
		ep.Name = DefaultSocket
		return ep, "default endpoint " + DefaultSocket, err
	}
	text := fmt.Sprintf("%s=%q", EnvHost, host)
	if strings.ContainsAny(host, "?,") {
		return Endpoint{}, text, errors.New("query options and lists are for open_params, not DOCKER_HOST")
	}
	useTLS := getenv(EnvTLSVerify) != "" || getenv(EnvTLS) != ""
	ep, err := parseAddress(dockerCLIHost(host, useTLS))
	if err != nil {
		return Endpoint{}, text, err
	}
	ep.Name = host
	if err := checkName(ep.Name); err != nil {
		return Endpoint{}, text, err
	}
	if ep.Scheme == "ssh" {
		// As the docker CLI: the TLS variables do not apply.
		return ep, text, resolveSSH(&ep, options{}, getenv)
	}
	if ep.Scheme == "unix" || !useTLS {
		return ep, text, nil
	}
	var dir material
	if certPath := getenv(EnvCertPath); certPath != "" {
		if dir, err = readCertDir(certPath); err != nil {
			return Endpoint{}, text, fmt.Errorf("%s: %w", EnvCertPath, err)
		}
	} else if defs.empty() {
		// The docker CLI's own default: its config directory, each file
		// used when present.
		if cliDir := dockerConfigDir(getenv); cliDir != "" {
			if dir, err = scanCertDir(cliDir); err != nil && !isNotExist(err) {
				return Endpoint{}, text, err
			}
		}
	}
	ep.TLS = resolveMaterial(material{}, dir, defs, "")
	return ep, text, nil
}

// dockerCLIHost completes DOCKER_HOST the way the docker CLI does: no scheme
// means tcp, a missing port is 2376 with TLS and 2375 without, a missing host
// is localhost.
func dockerCLIHost(host string, useTLS bool) string {
	scheme, rest, ok := strings.Cut(host, "://")
	if !ok {
		scheme, rest = "tcp", host
	}
	if !strings.EqualFold(scheme, "tcp") {
		return host
	}
	hostPort, path, _ := strings.Cut(rest, "/")
	port := "2375"
	if useTLS {
		port = "2376"
	}
	switch {
	case hostPort == "":
		hostPort = "localhost:" + port
	case strings.HasPrefix(hostPort, ":"):
		hostPort = "localhost" + hostPort
	case !hasPort(hostPort):
		hostPort += ":" + port
	}
	if path != "" {
		return "tcp://" + hostPort + "/" + path
	}
	return "tcp://" + hostPort
}

// hasPort tells whether hostPort ends in a port: "h:1", "[::1]:1", not "[::1]".
func hasPort(hostPort string) bool {
	i := strings.LastIndexByte(hostPort, ':')
	return i >= 0 && i > strings.LastIndexByte(hostPort, ']')
}

// dockerConfigDir is the docker CLI's configuration directory:
// $DOCKER_CONFIG, else $HOME/.docker; "" when neither is known.
func dockerConfigDir(getenv func(string) string) string {
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".docker")
	}
	return ""
}

// Suggest lists endpoints for list_open_params: the local socket when
// exists says it is there, then the endpoint of DOCKER_HOST when set, written
// so that Parse reads it as the docker CLI would (with tls=off or the certdir
// of DOCKER_CERT_PATH as the environment says).
func Suggest(getenv func(string) string, exists func(path string) bool) []string {
	var out []string
	if exists != nil && exists(strings.TrimPrefix(DefaultSocket, "unix://")) {
		out = append(out, DefaultSocket)
	}
	if getenv == nil {
		return out
	}
	host := strings.TrimSpace(getenv(EnvHost))
	if host == "" || strings.ContainsAny(host, "?,") {
		return out
	}
	useTLS := getenv(EnvTLSVerify) != "" || getenv(EnvTLS) != ""
	s := dockerCLIHost(host, useTLS)
	if ep, err := parseAddress(s); err == nil && ep.Scheme == "tcp" {
		switch certPath := getenv(EnvCertPath); {
		case !useTLS:
			s += "?tls=off"
		case certPath != "":
			s += "?certdir=" + url.QueryEscape(certPath)
		}
	}
	if s != DefaultSocket || len(out) == 0 {
		out = append(out, s)
	}
	return out
}
