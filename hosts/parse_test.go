// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want []Endpoint
	}{
		{"unix:///var/run/docker.sock", []Endpoint{
			{Name: "unix:///var/run/docker.sock", URL: "unix:///var/run/docker.sock", Scheme: "unix", Address: "/var/run/docker.sock"},
		}},
		{"  unix:///a.sock?name=local ,tcp://10.0.0.5:2376?name=web-1&tls=off  ", []Endpoint{
			{Name: "local", URL: "unix:///a.sock", Scheme: "unix", Address: "/a.sock"},
			{Name: "web-1", URL: "tcp://10.0.0.5:2376", Scheme: "tcp", Address: "10.0.0.5:2376"},
		}},
		{"tcp://10.0.0.5:2375?tls=off", []Endpoint{
			{Name: "tcp://10.0.0.5:2375", URL: "tcp://10.0.0.5:2375", Scheme: "tcp", Address: "10.0.0.5:2375"},
		}},
		// Scheme case, leading zeros and a trailing slash are normalized in
		// URL; the default name stays as written.
		{"TCP://Web-1:02376/?tls=off", []Endpoint{
			{Name: "TCP://Web-1:02376/", URL: "tcp://Web-1:2376", Scheme: "tcp", Address: "Web-1:2376"},
		}},
		{"tcp://[::1]:2376?tls=off", []Endpoint{
			{Name: "tcp://[::1]:2376", URL: "tcp://[::1]:2376", Scheme: "tcp", Address: "[::1]:2376"},
		}},
		// An IPv6 zone stays escaped in URL, so that URL parses back.
		{"tcp://[fe80::1%25eth0]:2376?tls=off", []Endpoint{
			{Name: "tcp://[fe80::1%25eth0]:2376", URL: "tcp://[fe80::1%25eth0]:2376", Scheme: "tcp", Address: "[fe80::1%eth0]:2376"},
		}},
		// TLS by default on tcp; no defaults: system roots, no client cert.
		{"tcp://h:2376", []Endpoint{
			{Name: "tcp://h:2376", URL: "tcp://h:2376", Scheme: "tcp", Address: "h:2376", TLS: &TLS{}},
		}},
		{"tcp://h:2376?tls=on&servername=dockerd.example", []Endpoint{
			{Name: "tcp://h:2376", URL: "tcp://h:2376", Scheme: "tcp", Address: "h:2376", TLS: &TLS{ServerName: "dockerd.example"}},
		}},
		// Percent-encoding: a comma in a path, a space and UTF-8 in a name.
		{"unix:///tmp/a%2Cb.sock?name=w%C3%A9b+1", []Endpoint{
			{Name: "wéb+1", URL: "unix:///tmp/a,b.sock", Scheme: "unix", Address: "/tmp/a,b.sock"},
		}},
		// Empty query segments set nothing.
		{"unix:///a.sock?&name=a&", []Endpoint{
			{Name: "a", URL: "unix:///a.sock", Scheme: "unix", Address: "/a.sock"},
		}},
		// Names are case-sensitive: two labels differing in case are two.
		{"unix:///a.sock?name=web, unix:///b.sock?name=Web", []Endpoint{
			{Name: "web", URL: "unix:///a.sock", Scheme: "unix", Address: "/a.sock"},
			{Name: "Web", URL: "unix:///b.sock", Scheme: "unix", Address: "/b.sock"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in, Defaults{}, nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	notDir := writeFile(t, t.TempDir(), "file", []byte("x"))
	emptyDir := t.TempDir()
	halfDir := t.TempDir()
	writeFile(t, halfDir, certFile, []byte("x"))
	longPath := "/" + strings.Repeat("s", 108)

	tests := []struct {
		in, want string
	}{
		{" , ", `endpoint 1 "": empty endpoint (stray comma?)`},
		{"unix:///a.sock,", `endpoint 2 "": empty endpoint`},
		{"http://h:80", `endpoint 1 "http://h:80": unknown scheme "http": want unix, tcp or ssh`},
		{"ssh://me@h", `endpoint 1 "ssh://me@h": no known_hosts file: HOME is not set; give knownhosts=FILE`},
		{"/var/run/docker.sock", `endpoint 1 "/var/run/docker.sock": malformed URL "/var/run/docker.sock": want unix:///path, tcp://host:port or ssh://user@host[:port]`},
		{"unix:/x.sock", `malformed URL "unix:/x.sock": want unix:///path`},
		{"unix://host/x.sock", `a unix endpoint is unix:///absolute/path (three slashes), not a host "host"`},
		{"unix://", `malformed URL "unix://": empty socket path`},
		{"unix:///", `empty socket path`},
		{"unix://" + longPath, `socket path is 109 bytes long, the limit is 107`},
		{"unix:///a\x01b", `malformed URL "unix:///a\x01b": net/url: invalid control character in URL`},
		{"unix:///a%01b", `control character in socket path`},
		{"tcp://h", `malformed URL "tcp://h": missing port`},
		{"tcp://h:", `missing port`},
		{"tcp://:2376", `malformed URL "tcp://:2376": missing host`},
		{"tcp://h:99999", `bad port "99999"`},
		{"tcp://h:0", `bad port "0"`},
		{"tcp://h:abc", `malformed URL "tcp://h:abc": invalid port ":abc" after host`},
		{"tcp://h:1/v1.41", `without path "/v1.41"`},
		{"tcp://a!b:1", `malformed URL "tcp://a!b:1": bad host "a!b"`},
		{"tcp://a;b:1", `bad host "a;b"`},
		{"tcp://[fe80::1%25]:1", `zone must be a non-empty string`},
		{"tcp://u:p@h:1", `user information is not allowed`},
		{"tcp://h:1#frag", `fragments (#) are not allowed`},
		{"tcp://h:1?foo=1", `endpoint 1 "tcp://h:1?foo=1": unknown option "foo" (known: name, tls, certdir, ca, cert, key, servername, socket, identity, knownhosts)`},
		{"tcp://h:1?Name=x", `unknown option "Name"`},
		{"tcp://h:1?name=a&name=b", `option "name" given twice`},
		{"tcp://h:1?tls=off&tls=off", `option "tls" given twice`},
		{"tcp://h:1?tls=yes", `bad tls value "yes": want on or off`},
		{"tcp://h:1?tls", `option "tls" has an empty value`},
		{"tcp://h:1?name=", `option "name" has an empty value`},
		{"tcp://h:1?name=%ZZ", `malformed value of option "name"`},
		{"tcp://h:1?name=%00", `name "\x00" holds a control character`},
		{"tcp://h:1?name=%C2%85x", `holds a control character`},
		{"tcp://h:1?name=%FF", `is not valid UTF-8`},
		{"tcp://h:1?name=%20web", `name " web" has leading or trailing spaces`},
		{"tcp://h:1?servername=a b", `bad servername "a b"`},
		{"tcp://h:1?certdir=/x%0Ay", `option "certdir": control character in value`},
		{"unix:///a.sock?tls=off", `option "tls" applies to tcp endpoints only`},
		{"unix:///a.sock?certdir=/x", `option "certdir" applies to tcp endpoints only`},
		{"unix:///a.sock?servername=x", `option "servername" applies to tcp endpoints only`},
		{"tcp://h:1?tls=off&ca=/x", `option "ca" needs TLS, but tls=off`},
		{"tcp://h:1?certdir=/x&tls=off", `option "certdir" needs TLS, but tls=off`},
		{"tcp://h:1?tls=off&servername=x", `option "servername" needs TLS, but tls=off`},
		{"tcp://h:1?cert=/c.pem", `cert without key`},
		{"tcp://h:1?key=/k.pem", `key without cert`},
		{"tcp://h:1?certdir=/nonexistent", `certdir: stat /nonexistent: no such file or directory`},
		{"tcp://h:1?certdir=" + notDir, notDir + ` is not a directory`},
		{"tcp://h:1?certdir=" + emptyDir, `certdir ` + emptyDir + ` holds none of ca.pem, cert.pem, key.pem`},
		{"tcp://h:1?certdir=" + halfDir, `certdir ` + halfDir + ` has cert.pem but no key.pem`},
		{"tcp://h:1?ca=/nonexistent/ca.pem", `ca file /nonexistent/ca.pem: no such file or directory`},
		{"unix:///a.sock?name=x, unix:///b.sock?name=x", `endpoint 2 "unix:///b.sock?name=x": duplicate name "x" (endpoint 1 "unix:///a.sock?name=x" has it too)`},
		{"unix:///a.sock, unix:///a.sock", `endpoint 2 "unix:///a.sock": duplicate name "unix:///a.sock"`},
		// The default name of one endpoint can clash with the explicit name
		// of another.
		{"unix:///a.sock?name=unix:///b.sock, unix:///b.sock", `duplicate name "unix:///b.sock"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in, Defaults{}, nil)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
			var ee *EndpointError
			if !errors.As(err, &ee) || ee.Position == 0 {
				t.Errorf("error %v is not an *EndpointError with a position", err)
			}
		})
	}
}

// TestParseDefaultsResolution checks the per-file precedence: endpoint
// ca/cert/key > endpoint certdir > Defaults CA/Cert/Key > Defaults CertDir.
func TestParseDefaultsResolution(t *testing.T) {
	ca := newCA(t, "ca")
	cl := ca.client(t)
	full := certDir(t, ca.pem, &cl)   // defaults' certdir: all three files
	pairOnly := certDir(t, nil, &cl)  // endpoint certdir with only the pair
	caOnly := certDir(t, ca.pem, nil) // certdir with only the CA
	files := certDir(t, ca.pem, &cl)  // single files
	single := func(n string) string { return filepath.Join(files, n) }
	in := func(dir, n string) string { return filepath.Join(dir, n) }

	tests := []struct {
		name   string
		params string
		d      Defaults
		want   *TLS
	}{
		{"defaults certdir", "tcp://h:1", Defaults{CertDir: full},
			&TLS{CA: in(full, caFile), Cert: in(full, certFile), Key: in(full, keyFile)}},
		{"defaults files override defaults certdir", "tcp://h:1",
			Defaults{CertDir: full, CA: single(caFile)},
			&TLS{CA: single(caFile), Cert: in(full, certFile), Key: in(full, keyFile)}},
		{"defaults pair overrides defaults certdir", "tcp://h:1",
			Defaults{CertDir: full, Cert: single(certFile), Key: single(keyFile)},
			&TLS{CA: in(full, caFile), Cert: single(certFile), Key: single(keyFile)}},
		{"endpoint certdir with pair only takes the defaults' CA", "tcp://h:1?certdir=" + pairOnly,
			Defaults{CA: single(caFile)},
			&TLS{CA: single(caFile), Cert: in(pairOnly, certFile), Key: in(pairOnly, keyFile)}},
		{"endpoint certdir with CA only takes the defaults' pair", "tcp://h:1?certdir=" + caOnly,
			Defaults{CertDir: full},
			&TLS{CA: in(caOnly, caFile), Cert: in(full, certFile), Key: in(full, keyFile)}},
		{"endpoint files override endpoint certdir", "tcp://h:1?certdir=" + full + "&ca=" + single(caFile),
			Defaults{},
			&TLS{CA: single(caFile), Cert: in(full, certFile), Key: in(full, keyFile)}},
		{"endpoint pair overrides everything", "tcp://h:1?certdir=" + full + "&cert=" + single(certFile) + "&key=" + single(keyFile),
			Defaults{CertDir: full},
			&TLS{CA: in(full, caFile), Cert: single(certFile), Key: single(keyFile)}},
		{"servername kept", "tcp://h:1?servername=dockerd", Defaults{CertDir: full},
			&TLS{CA: in(full, caFile), Cert: in(full, certFile), Key: in(full, keyFile), ServerName: "dockerd"}},
		{"no material anywhere", "tcp://h:1", Defaults{}, &TLS{}},
		{"tls=off ignores the defaults", "tcp://h:1?tls=off", Defaults{CertDir: full}, nil},
		{"unix ignores the defaults", "unix:///a.sock", Defaults{CertDir: full}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps, err := Parse(tt.params, tt.d, nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(eps[0].TLS, tt.want) {
				t.Errorf("TLS = %+v, want %+v", eps[0].TLS, tt.want)
			}
		})
	}
}

func TestParseBadDefaults(t *testing.T) {
	ca := newCA(t, "ca")
	cl := ca.client(t)
	dir := certDir(t, ca.pem, &cl)
	garbage := writeFile(t, t.TempDir(), "garbage.pem", []byte("not a certificate"))
	tests := []struct {
		name   string
		params string
		d      Defaults
		want   string
	}{
		{"cert without key", "unix:///a.sock", Defaults{Cert: filepath.Join(dir, certFile)},
			"default TLS material (init_config): cert without key"},
		{"key without cert", "unix:///a.sock", Defaults{Key: filepath.Join(dir, keyFile)},
			"default TLS material (init_config): key without cert"},
		{"missing certdir", "unix:///a.sock", Defaults{CertDir: "/nonexistent"},
			"default TLS material (init_config): certdir: stat /nonexistent: no such file or directory"},
		{"bad default CA, named with the endpoint using it", "tcp://h:1?name=web-1", Defaults{CA: garbage},
			`endpoint 1 "tcp://h:1?name=web-1": ca file ` + garbage + ` holds no PEM certificate`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.params, tt.d, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEndpointString(t *testing.T) {
	ca := newCA(t, "ca")
	cl := ca.client(t)
	dir := certDir(t, ca.pem, &cl)
	eps, err := Parse("unix:///a.sock?name=local, tcp://h:1?tls=off, tcp://h:2?certdir="+dir+"&servername=d, tcp://h:3", Defaults{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`"local" unix:///a.sock`,
		`"tcp://h:1" tcp://h:1 (plain, no TLS)`,
		`"tcp://h:2" tcp://h:2 (TLS ca=` + filepath.Join(dir, caFile) + ` cert=` + filepath.Join(dir, certFile) +
			` key=` + filepath.Join(dir, keyFile) + ` servername=d)`,
		`"tcp://h:3" tcp://h:3 (TLS ca=system roots no client cert)`,
	}
	for i, ep := range eps {
		if got := ep.String(); got != want[i] {
			t.Errorf("String() = %q, want %q", got, want[i])
		}
		if strings.Contains(ep.String(), "PRIVATE KEY") {
			t.Errorf("String() holds key material: %q", ep.String())
		}
	}
}

// TestParseReadsOnlyRegularFiles: a mistyped path to a device or a FIFO must
// fail at once, not block Open or read forever.
func TestParseReadsOnlyRegularFiles(t *testing.T) {
	_, err := Parse("tcp://h:1?ca=/dev/zero", Defaults{}, nil)
	if err == nil || !strings.Contains(err.Error(), "ca file /dev/zero: not a regular file") {
		t.Fatalf("error %v", err)
	}
	big := writeFile(t, t.TempDir(), "big.pem", make([]byte, maxPEMFile+1))
	_, err = Parse("tcp://h:1?ca="+big, Defaults{}, nil)
	if err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Fatalf("the test needs /dev/zero: %v", err)
	}
}

// TestParseRefusesTheSameDaemonTwice: two endpoints that reach one daemon
// would deliver each of its events twice; Open refuses them and names both.
func TestParseRefusesTheSameDaemonTwice(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "d.sock")
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"unix:///x.sock?name=a, unix:////x.sock?name=b", `endpoint 2 "unix:////x.sock?name=b": same daemon as endpoint 1 "unix:///x.sock?name=a" (socket /x.sock)`},
		{"UNIX:///x.sock?name=a, unix:///x.sock?name=b", `same daemon as endpoint 1 "UNIX:///x.sock?name=a"`},
		{"unix:///run/./d/../x.sock?name=a, unix:///run/x.sock?name=b", `(socket /run/x.sock)`},
		// The file itself, reached through a symlinked directory.
		{"unix://" + sock + "?name=a, unix://" + filepath.Join(link, "d.sock") + "?name=b", `same daemon as endpoint 1`},
		{"tcp://Web-1:2376?name=a, tcp://web-1.:02376?name=b", `(address web-1:2376)`},
		{"tcp://10.0.0.5:2376?name=a, tcp://[::ffff:10.0.0.5]:2376?name=b", `(address 10.0.0.5:2376)`},
		{"tcp://[::1]:2376?name=a, tcp://[0:0::1]:2376?name=b", `(address [::1]:2376)`},
		{"tcp://h:2375?tls=off&name=a, tcp://h:2375?name=b", `same daemon as endpoint 1`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in, Defaults{}, nil)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
		})
	}
	// Different daemons, and names that are not resolved (documented):
	// localhost and 127.0.0.1 count as two.
	for _, in := range []string{
		"unix:///x.sock?name=a, unix:///y.sock?name=b",
		"tcp://h:2375?tls=off&name=a, tcp://h:2376?tls=off&name=b",
		"tcp://localhost:2376?tls=off&name=a, tcp://127.0.0.1:2376?tls=off&name=b",
		"unix:///h:2376?name=a, tcp://h:2376?tls=off&name=b",
	} {
		if _, err := Parse(in, Defaults{}, nil); err != nil {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
}
