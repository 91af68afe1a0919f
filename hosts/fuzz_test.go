// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/dockerfleet/dockerfleet/internal/sshd"
)

// FuzzParse: Parse never panics, and whatever it accepts is sound and reads
// back the same when written out again in normalized form.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"unix:///var/run/docker.sock",
		"unix:///var/run/docker.sock?name=local, tcp://10.0.0.5:2376?name=web-1&tls=off",
		"tcp://[::1]:2376?tls=off&name=v6",
		"tcp://[fe80::1%25eth0]:2376?tls=off",
		"tcp://h:2376?servername=d.example",
		"TCP://Web-1:02376/?tls=off",
		"unix:///tmp/a%2Cb.sock?name=w%C3%A9b+1",
		"unix:///a.sock?&name=a&",
		"tcp://h:1?name=a&name=b",
		"tcp://h:1?tls=yes",
		"tcp://h:1?certdir=/nonexistent",
		"tcp://h:1?ca=/dev/zero",
		"tcp://a%2Cb:1?tls=off",
		"unix://host/x",
		"tcp://u:p@h:1",
		"unix:///a.sock?name=x,unix:///b.sock?name=x",
		",,",
		"uniX:///%230", // a '#' in a socket path
		"tcp://a!b:1?tls=off",
	} {
		f.Add(s)
	}
	// ssh endpoints need files that exist: a key, and a known_hosts that
	// knows every host (a "*" pattern).
	key, kh := fuzzSSHFiles(f)
	for _, s := range []string{
		"ssh://root@web-1?identity=" + key + "&knownhosts=" + kh,
		"ssh://u@[::1]:2222?name=v6&socket=/run/d.sock&identity=" + key + "&knownhosts=" + kh,
		"SSH://Deploy@WEB:22/?socket=//a//b.sock&identity=" + key + "&knownhosts=" + kh,
		"ssh://u:p@h?identity=" + key + "&knownhosts=" + kh,
		"ssh://h?identity=" + key + "&knownhosts=" + kh,
		"ssh://u@h?tls=off&identity=" + key + "&knownhosts=" + kh,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, params string) {
		eps, err := Parse(params, Defaults{}, nil)
		if err != nil {
			if eps != nil {
				t.Fatalf("Parse returned endpoints and an error: %v", err)
			}
			return
		}
		if len(eps) == 0 {
			t.Fatal("Parse accepted and returned no endpoint")
		}
		names := make(map[string]bool)
		var rewritten []string
		for _, ep := range eps {
			checkEndpoint(t, ep)
			if names[ep.Name] {
				t.Fatalf("duplicate name %q accepted", ep.Name)
			}
			names[ep.Name] = true
			rewritten = append(rewritten, writeEndpoint(ep))
		}
		again, err := Parse(strings.Join(rewritten, ", "), Defaults{}, nil)
		if err != nil {
			t.Fatalf("normalized form %q refused: %v", rewritten, err)
		}
		if !reflect.DeepEqual(again, eps) {
			t.Fatalf("round trip changed the endpoints:\n%+v\n%+v", eps, again)
		}
	})
}

// checkEndpoint asserts the invariants of one accepted endpoint.
func checkEndpoint(t *testing.T, ep Endpoint) {
	t.Helper()
	if err := checkName(ep.Name); err != nil {
		t.Fatalf("accepted bad name: %v", err)
	}
	switch ep.Scheme {
	case "unix":
		// As DOCKER_HOST writes it: the path as is, not percent-encoded.
		if ep.URL != "unix://"+ep.Address {
			t.Fatalf("URL %q is not unix://%s", ep.URL, ep.Address)
		}
	case "tcp":
		if u, err := url.Parse(ep.URL); err != nil || u.Scheme != "tcp" || u.Host != ep.Address || u.Path != "" || u.RawQuery != "" {
			t.Fatalf("URL %q does not parse back to tcp and %s: %v", ep.URL, ep.Address, err)
		}
	case "ssh":
		if ep.SSH == nil {
			t.Fatal("ssh endpoint without SSH")
		}
		if u, err := url.Parse(ep.URL); err != nil || u.Scheme != "ssh" || u.User.String() != ep.SSH.User || u.Host != ep.SSH.Addr || u.Path != "" || u.RawQuery != "" {
			t.Fatalf("URL %q does not parse back to ssh, %s and %s: %v", ep.URL, ep.SSH.User, ep.SSH.Addr, err)
		}
	}
	switch ep.Scheme {
	case "unix":
		if !strings.HasPrefix(ep.Address, "/") || len(ep.Address) > maxSocketPath || hasControl(ep.Address) {
			t.Fatalf("bad socket path %q", ep.Address)
		}
		if ep.TLS != nil {
			t.Fatal("unix endpoint with TLS")
		}
	case "tcp":
		host, port, err := net.SplitHostPort(ep.Address)
		if err != nil || host == "" {
			t.Fatalf("bad tcp address %q: %v", ep.Address, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			t.Fatalf("bad port in %q", ep.Address)
		}
	case "ssh":
		if ep.Address != ep.SSH.User+"@"+ep.SSH.Addr+ep.SSH.Socket || !strings.HasPrefix(ep.SSH.Socket, "/") || ep.TLS != nil {
			t.Fatalf("bad ssh endpoint %+v %+v", ep, ep.SSH)
		}
		if _, _, err := net.SplitHostPort(ep.SSH.Addr); err != nil {
			t.Fatalf("bad ssh address %q: %v", ep.SSH.Addr, err)
		}
	default:
		t.Fatalf("scheme %q", ep.Scheme)
	}
	if (ep.Scheme == "ssh") != (ep.SSH != nil) {
		t.Fatalf("SSH material on a %s endpoint", ep.Scheme)
	}
	if ep.TLS != nil && (ep.TLS.Cert == "") != (ep.TLS.Key == "") {
		t.Fatalf("half a client pair: %+v", ep.TLS)
	}
}

// writeEndpoint writes ep back as open_params, every option explicit.
func writeEndpoint(ep Endpoint) string {
	addr := strings.TrimPrefix(ep.URL, ep.Scheme+"://")
	if ep.Scheme == "unix" {
		addr = strings.ReplaceAll(url.PathEscape(ep.Address), "%2F", "/")
	}
	q := url.Values{"name": {ep.Name}}
	switch {
	case ep.Scheme == "tcp" && ep.TLS == nil:
		q.Set("tls", "off")
	case ep.SSH != nil:
		q.Set("socket", ep.SSH.Socket)
		q.Set("identity", strings.Join(ep.SSH.Identities, ""))
		q.Set("knownhosts", ep.SSH.KnownHosts)
	case ep.TLS != nil:
		for k, v := range map[string]string{"ca": ep.TLS.CA, "cert": ep.TLS.Cert, "key": ep.TLS.Key, "servername": ep.TLS.ServerName} {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	// Encode writes a space as '+', which open_params keeps as a '+' (a
	// literal '+' comes out as %2B, so every '+' here is a space).
	return ep.Scheme + "://" + addr + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}

// fuzzSSHFiles writes an identity file and a known_hosts file that knows
// every host.
func fuzzSSHFiles(f *testing.F) (key, knownHosts string) {
	dir := f.TempDir()
	pub, pemBytes, err := sshd.NewKey()
	if err != nil {
		f.Fatal(err)
	}
	key, knownHosts = filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(key, pemBytes, 0o600); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(knownHosts, []byte(knownhosts.Line([]string{"*"}, pub)+"\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	return key, knownHosts
}
