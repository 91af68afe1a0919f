// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseEnvironment(t *testing.T) {
	ca := newCA(t, "ca")
	cl := ca.client(t)
	certPath := certDir(t, ca.pem, &cl)
	defaultsDir := certDir(t, ca.pem, &cl)
	home := t.TempDir()
	homeDocker := filepath.Join(home, ".docker")
	mkCertDir := func(dir string) {
		writeFile(t, mkdir(t, dir), caFile, ca.pem)
	}
	mkCertDir(homeDocker)
	configDir := filepath.Join(t.TempDir(), "cfg")
	mkCertDir(configDir)
	emptyHome := t.TempDir()
	in := func(dir, n string) string { return filepath.Join(dir, n) }
	fromDir := func(dir string) *TLS {
		return &TLS{CA: in(dir, caFile), Cert: in(dir, certFile), Key: in(dir, keyFile)}
	}

	tests := []struct {
		name string
		env  map[string]string
		d    Defaults
		want Endpoint
	}{
		{"nothing set", nil, Defaults{},
			Endpoint{Name: DefaultSocket, URL: DefaultSocket, Scheme: "unix", Address: "/var/run/docker.sock"}},
		{"unix DOCKER_HOST, TLS variables ignored",
			map[string]string{EnvHost: "unix:///run/user/1000/docker.sock", EnvTLSVerify: "1", EnvCertPath: certPath}, Defaults{},
			Endpoint{Name: "unix:///run/user/1000/docker.sock", URL: "unix:///run/user/1000/docker.sock", Scheme: "unix", Address: "/run/user/1000/docker.sock"}},
		{"tcp without DOCKER_TLS_VERIFY is plain, even with DOCKER_CERT_PATH",
			map[string]string{EnvHost: "tcp://10.0.0.5:2376", EnvCertPath: certPath}, Defaults{CertDir: defaultsDir},
			Endpoint{Name: "tcp://10.0.0.5:2376", URL: "tcp://10.0.0.5:2376", Scheme: "tcp", Address: "10.0.0.5:2376"}},
		{"DOCKER_TLS_VERIFY with DOCKER_CERT_PATH",
			map[string]string{EnvHost: "tcp://10.0.0.5:2376", EnvTLSVerify: "1", EnvCertPath: certPath}, Defaults{CertDir: defaultsDir},
			Endpoint{Name: "tcp://10.0.0.5:2376", URL: "tcp://10.0.0.5:2376", Scheme: "tcp", Address: "10.0.0.5:2376", TLS: fromDir(certPath)}},
		{"DOCKER_TLS_VERIFY=0 still means TLS, as in the docker CLI",
			map[string]string{EnvHost: "tcp://h:2376", EnvTLSVerify: "0", EnvCertPath: certPath}, Defaults{},
			Endpoint{Name: "tcp://h:2376", URL: "tcp://h:2376", Scheme: "tcp", Address: "h:2376", TLS: fromDir(certPath)}},
		{"DOCKER_TLS means TLS, verified",
			map[string]string{EnvHost: "tcp://h:2376", EnvTLS: "1", EnvCertPath: certPath}, Defaults{},
			Endpoint{Name: "tcp://h:2376", URL: "tcp://h:2376", Scheme: "tcp", Address: "h:2376", TLS: fromDir(certPath)}},
		{"no DOCKER_CERT_PATH: init_config defaults",
			map[string]string{EnvHost: "tcp://h:2376", EnvTLSVerify: "1", "HOME": home}, Defaults{CertDir: defaultsDir},
			Endpoint{Name: "tcp://h:2376", URL: "tcp://h:2376", Scheme: "tcp", Address: "h:2376", TLS: fromDir(defaultsDir)}},
		{"no DOCKER_CERT_PATH nor defaults: $HOME/.docker, files that are there",
			map[string]string{EnvHost: "tcp://h:2376", EnvTLSVerify: "1", "HOME": home}, Defaults{},
			Endpoint{Name: "tcp://h:2376", URL: "tcp://h:2376", Scheme: "tcp", Address: "h:2376", TLS: &TLS{CA: in(homeDocker, caFile)}}},
		{"DOCKER_CONFIG before $HOME/.docker",
			map[string]string{EnvHost: "tcp://h:2376", EnvTLSVerify: "1", "HOME": home, "DOCKER_CONFIG": configDir}, Defaults{},
			Endpoint{Name: "tcp://h:2376", URL: "tcp://h:2376", Scheme: "tcp", Address: "h:2376", TLS: &TLS{CA: in(configDir, caFile)}}},
		{"no $HOME/.docker: system roots, no client cert",
			map[string]string{EnvHost: "tcp://h:2376", EnvTLSVerify: "1", "HOME": emptyHome}, Defaults{},
			Endpoint{Name: "tcp://h:2376", URL: "tcp://h:2376", Scheme: "tcp", Address: "h:2376", TLS: &TLS{}}},
		{"missing port, TLS: 2376",
			map[string]string{EnvHost: "tcp://h", EnvTLSVerify: "1", EnvCertPath: certPath}, Defaults{},
			Endpoint{Name: "tcp://h", URL: "tcp://h:2376", Scheme: "tcp", Address: "h:2376", TLS: fromDir(certPath)}},
		{"missing port, plain: 2375",
			map[string]string{EnvHost: "tcp://h"}, Defaults{},
			Endpoint{Name: "tcp://h", URL: "tcp://h:2375", Scheme: "tcp", Address: "h:2375"}},
		{"no scheme means tcp",
			map[string]string{EnvHost: "10.0.0.5:2375"}, Defaults{},
			Endpoint{Name: "10.0.0.5:2375", URL: "tcp://10.0.0.5:2375", Scheme: "tcp", Address: "10.0.0.5:2375"}},
		{"missing host means localhost",
			map[string]string{EnvHost: "tcp://:2375"}, Defaults{},
			Endpoint{Name: "tcp://:2375", URL: "tcp://localhost:2375", Scheme: "tcp", Address: "localhost:2375"}},
		{"IPv6 without port",
			map[string]string{EnvHost: "tcp://[::1]"}, Defaults{},
			Endpoint{Name: "tcp://[::1]", URL: "tcp://[::1]:2375", Scheme: "tcp", Address: "[::1]:2375"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, params := range []string{"", "  \t "} {
				eps, err := Parse(params, tt.d, envOf(tt.env))
				if err != nil {
					t.Fatalf("Parse(%q): %v", params, err)
				}
				if len(eps) != 1 || !reflect.DeepEqual(eps[0], tt.want) {
					t.Fatalf("Parse(%q) = %+v, want %+v", params, eps, tt.want)
				}
			}
		})
	}
}

func TestParseEnvironmentRejects(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"ssh", map[string]string{EnvHost: "ssh://me@h"}, `DOCKER_HOST="ssh://me@h": no known_hosts file: HOME is not set; give knownhosts=FILE`},
		{"query", map[string]string{EnvHost: "tcp://h:1?name=x"}, `DOCKER_HOST="tcp://h:1?name=x": query options and lists are for open_params, not DOCKER_HOST`},
		{"list", map[string]string{EnvHost: "tcp://h:1,tcp://g:1"}, `query options and lists are for open_params`},
		{"bad port", map[string]string{EnvHost: "tcp://h:70000"}, `DOCKER_HOST="tcp://h:70000": malformed URL "tcp://h:70000": bad port "70000"`},
		{"missing DOCKER_CERT_PATH", map[string]string{EnvHost: "tcp://h:1", EnvTLSVerify: "1", EnvCertPath: "/nonexistent"},
			`DOCKER_HOST="tcp://h:1": DOCKER_CERT_PATH: certdir: stat /nonexistent: no such file or directory`},
		{"empty DOCKER_CERT_PATH", map[string]string{EnvHost: "tcp://h:1", EnvTLSVerify: "1", EnvCertPath: empty},
			`DOCKER_CERT_PATH: certdir ` + empty + ` holds none of ca.pem, cert.pem, key.pem`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("", Defaults{}, envOf(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	// A bad file of the environment's certdir is named like any other.
	garbage := t.TempDir()
	writeFile(t, garbage, caFile, []byte("nope"))
	_, err := Parse("", Defaults{}, envOf(map[string]string{EnvHost: "tcp://h:1", EnvTLSVerify: "1", EnvCertPath: garbage}))
	want := `DOCKER_HOST="tcp://h:1": ca file ` + filepath.Join(garbage, caFile) + ` holds no PEM certificate`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

func TestSuggest(t *testing.T) {
	socketThere := func(p string) bool { return p == "/var/run/docker.sock" }
	nothing := func(string) bool { return false }
	tests := []struct {
		name   string
		env    map[string]string
		exists func(string) bool
		want   []string
	}{
		{"nothing", nil, nothing, nil},
		{"local socket", nil, socketThere, []string{DefaultSocket}},
		{"socket and plain tcp", map[string]string{EnvHost: "tcp://h:2375"}, socketThere,
			[]string{DefaultSocket, "tcp://h:2375?tls=off"}},
		{"TLS with cert path", map[string]string{EnvHost: "h", EnvTLSVerify: "1", EnvCertPath: "/etc/d certs"}, nothing,
			[]string{"tcp://h:2376?certdir=%2Fetc%2Fd+certs"}},
		{"TLS without cert path", map[string]string{EnvHost: "tcp://h:2376", EnvTLSVerify: "1"}, nothing,
			[]string{"tcp://h:2376"}},
		{"DOCKER_HOST is the local socket", map[string]string{EnvHost: DefaultSocket}, socketThere, []string{DefaultSocket}},
		{"other unix socket", map[string]string{EnvHost: "unix:///run/d.sock"}, nothing, []string{"unix:///run/d.sock"}},
		{"DOCKER_HOST that Parse would refuse", map[string]string{EnvHost: "tcp://h:1?x=1"}, nothing, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Suggest(envOf(tt.env), tt.exists)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Suggest = %q, want %q", got, tt.want)
			}
			// Every suggestion must be accepted by Parse as it stands.
			for _, s := range got {
				if _, err := Parse(s, Defaults{}, nil); err != nil && !strings.Contains(err.Error(), "certdir") {
					t.Errorf("Parse(%q): %v", s, err)
				}
			}
		})
	}
	if got := Suggest(nil, nil); got != nil {
		t.Errorf("Suggest(nil, nil) = %q", got)
	}
}
