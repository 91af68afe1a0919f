// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/dockerfleet/dockerfleet/internal/sshd"
)

// sshHome is a HOME with ~/.ssh/id_ed25519 and a known_hosts that knows
// the hosts given (host:port), each with a fresh key.
type sshHome struct {
	home, key, knownHosts string
}

func newSSHHome(t *testing.T, known ...string) sshHome {
	t.Helper()
	h := sshHome{home: t.TempDir()}
	dir := filepath.Join(h.home, ".ssh")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, pemBytes, err := sshd.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	h.key = filepath.Join(dir, "id_ed25519")
	writeSSHFile(t, h.key, pemBytes)
	var lines strings.Builder
	for _, addr := range known {
		pub, _, err := sshd.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		lines.WriteString(knownhosts.Line([]string{knownhosts.Normalize(addr)}, pub) + "\n")
	}
	h.knownHosts = filepath.Join(dir, "known_hosts")
	writeSSHFile(t, h.knownHosts, []byte(lines.String()))
	return h
}

func (h sshHome) env(extra ...string) func(string) string {
	m := map[string]string{"HOME": h.home}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return func(k string) string { return m[k] }
}

func writeSSHFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// agentSocket creates a unix socket (nobody answers on it: Parse only
// checks it is one).
func agentSocket(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return p
}

func TestParseSSH(t *testing.T) {
	h := newSSHHome(t, "web-1:22", "web-2:2222", "[::1]:22")
	other := filepath.Join(t.TempDir(), "other_key")
	_, pemBytes, err := sshd.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	writeSSHFile(t, other, pemBytes)
	agent := agentSocket(t)
	tests := []struct {
		params string
		env    func(string) string
		want   Endpoint
	}{
		{"ssh://root@web-1", h.env(), Endpoint{
			Name: "ssh://root@web-1", URL: "ssh://root@web-1:22", Scheme: "ssh", Address: "root@web-1:22/var/run/docker.sock",
			SSH: &SSH{User: "root", Addr: "web-1:22", Socket: "/var/run/docker.sock", Identities: []string{h.key}, KnownHosts: h.knownHosts},
		}},
		// Host names are lower-cased, as ssh(1) does; the label stays as written.
		{"SSH://deploy@WEB-2:2222?name=w2&socket=/run/user/1000//docker.sock", h.env(), Endpoint{
			Name: "w2", URL: "ssh://deploy@web-2:2222", Scheme: "ssh", Address: "deploy@web-2:2222/run/user/1000/docker.sock",
			SSH: &SSH{User: "deploy", Addr: "web-2:2222", Socket: "/run/user/1000/docker.sock", Identities: []string{h.key}, KnownHosts: h.knownHosts},
		}},
		{"ssh://root@[::1]", h.env(), Endpoint{
			Name: "ssh://root@[::1]", URL: "ssh://root@[::1]:22", Scheme: "ssh", Address: "root@[::1]:22/var/run/docker.sock",
			SSH: &SSH{User: "root", Addr: "[::1]:22", Socket: "/var/run/docker.sock", Identities: []string{h.key}, KnownHosts: h.knownHosts},
		}},
		// The agent, when there is one and no identity=.
		{"ssh://root@web-1", h.env("SSH_AUTH_SOCK", agent), Endpoint{
			Name: "ssh://root@web-1", URL: "ssh://root@web-1:22", Scheme: "ssh", Address: "root@web-1:22/var/run/docker.sock",
			SSH: &SSH{User: "root", Addr: "web-1:22", Socket: "/var/run/docker.sock", Agent: agent, KnownHosts: h.knownHosts},
		}},
		// identity= wins over the agent; knownhosts= over ~/.ssh's, with no HOME at all.
		{"ssh://root@web-1?identity=" + other + "&knownhosts=" + h.knownHosts, envOf(map[string]string{"SSH_AUTH_SOCK": agent}), Endpoint{
			Name: "ssh://root@web-1", URL: "ssh://root@web-1:22", Scheme: "ssh", Address: "root@web-1:22/var/run/docker.sock",
			SSH: &SSH{User: "root", Addr: "web-1:22", Socket: "/var/run/docker.sock", Identities: []string{other}, KnownHosts: h.knownHosts},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.params, func(t *testing.T) {
			eps, err := Parse(tt.params, Defaults{}, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(eps[0], tt.want) {
				t.Fatalf("got  %+v %+v\nwant %+v %+v", eps[0], eps[0].SSH, tt.want, tt.want.SSH)
			}
			if s := eps[0].String(); !strings.Contains(s, "knownhosts="+h.knownHosts) || strings.Contains(s, "PRIVATE") {
				t.Errorf("String() = %s", s)
			}
		})
	}
}

func TestParseSSHRejects(t *testing.T) {
	h := newSSHHome(t, "web-1:22")
	enc := filepath.Join(t.TempDir(), "id_encrypted")
	writeSSHFile(t, enc, encryptedKey(t))
	pub := h.key + ".pub"
	p, _, _ := sshd.NewKey()
	writeSSHFile(t, pub, ssh.MarshalAuthorizedKey(p))
	badKnown := filepath.Join(t.TempDir(), "bad_known_hosts")
	writeSSHFile(t, badKnown, []byte("web-1 ssh-ed25519 notbase64!\n"))
	noKeys := t.TempDir()
	notSocket := filepath.Join(t.TempDir(), "file")
	writeSSHFile(t, notSocket, nil)

	tests := []struct {
		params string
		env    func(string) string
		want   string
	}{
		{"ssh://web-1", h.env(), `malformed URL "ssh://web-1": missing user (ssh://user@host[:port])`},
		{"ssh://root:pw@web-1", h.env(), `passwords are not allowed`},
		{"ssh://root@web-1/var/run/docker.sock", h.env(), `without path "/var/run/docker.sock"; name the daemon's socket with socket=`},
		{"ssh://root@web-1:0", h.env(), `bad port "0"`},
		{"ssh://root@", h.env(), `missing host`},
		{"ssh://root@web-1?ca=/x", h.env(), `option "ca" applies to tcp endpoints only`},
		{"ssh://root@web-1?tls=on", h.env(), `option "tls" applies to tcp endpoints only`},
		{"tcp://h:1?socket=/x", h.env(), `option "socket" applies to ssh endpoints only`},
		{"unix:///x.sock?identity=/x", h.env(), `option "identity" applies to ssh endpoints only`},
		{"ssh://root@web-1?socket=docker.sock", h.env(), `socket "docker.sock": want an absolute path`},
		{"ssh://root@web-1?identity=/nonexistent", h.env(), `identity file /nonexistent: no such file or directory`},
		{"ssh://root@web-1?identity=" + enc, h.env(), `identity file ` + enc + `: the key is encrypted (passphrase), which dockerfleet cannot ask for: load it into an ssh-agent (ssh-add)`},
		{"ssh://root@web-1?identity=" + pub, h.env(), `identity file ` + pub + `: not a private key`},
		{"ssh://root@web-1?knownhosts=/nonexistent", h.env(), `known_hosts file /nonexistent: no such file or directory`},
		{"ssh://root@web-1?knownhosts=" + badKnown, h.env(), badKnown + `: no valid entries, line 1`},
		{"ssh://root@web-2", h.env(), `host web-2:22 is not in ` + h.knownHosts + `: add its key, after checking its fingerprint, with: ssh-keyscan -p 22 web-2 >> ` + h.knownHosts},
		{"ssh://root@web-1:2222", h.env(), `host web-1:2222 is not in`},
		{"ssh://root@web-1", h.env("SSH_AUTH_SOCK", notSocket), `ssh-agent SSH_AUTH_SOCK=` + notSocket + `: not a socket`},
		{"ssh://root@web-1?knownhosts=" + h.knownHosts, envOf(map[string]string{"HOME": noKeys}), `no SSH identity: give identity=FILE, or run an ssh-agent (SSH_AUTH_SOCK); ` + noKeys + `/.ssh has none of id_ed25519, id_ecdsa, id_rsa`},
	}
	for _, tt := range tests {
		t.Run(tt.params, func(t *testing.T) {
			_, err := Parse(tt.params, Defaults{}, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Fatalf("key material in the error: %v", err)
			}
		})
	}
}

// TestParseSSHFromEnvironment: DOCKER_HOST=ssh://... as the docker CLI
// takes it, with the same defaults as open_params.
func TestParseSSHFromEnvironment(t *testing.T) {
	h := newSSHHome(t, "web-1:22")
	eps, err := Parse("", Defaults{}, h.env(EnvHost, "ssh://root@web-1", EnvTLSVerify, "1"))
	if err != nil {
		t.Fatal(err)
	}
	want := Endpoint{Name: "ssh://root@web-1", URL: "ssh://root@web-1:22", Scheme: "ssh", Address: "root@web-1:22/var/run/docker.sock",
		SSH: &SSH{User: "root", Addr: "web-1:22", Socket: "/var/run/docker.sock", Identities: []string{h.key}, KnownHosts: h.knownHosts}}
	if !reflect.DeepEqual(eps[0], want) {
		t.Fatalf("got %+v %+v", eps[0], eps[0].SSH)
	}
}

// TestSSHHostKeyAlgorithms: the algorithms asked for are those of the keys
// known_hosts holds for the host, so that a server with several host keys
// presents one that can be checked.
func TestSSHHostKeyAlgorithms(t *testing.T) {
	h := newSSHHome(t, "web-1:22")
	kh, err := sharedKnownHosts(h.knownHosts)
	if err != nil {
		t.Fatal(err)
	}
	if got := kh.hostKeyAlgorithms("web-1:22"); !reflect.DeepEqual(got, []string{ssh.KeyAlgoED25519}) {
		t.Errorf("web-1: %v", got)
	}
	if got := kh.hostKeyAlgorithms("web-9:22"); got != nil {
		t.Errorf("unknown host: %v", got)
	}
}

// encryptedKey is a private key file protected by a passphrase.
func encryptedKey(t *testing.T) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

// TestParseSSHEncryptedDefaultKey: among the default key files, one with
// a passphrase is passed over when another is usable, and is the error
// when none is.
func TestParseSSHEncryptedDefaultKey(t *testing.T) {
	h := newSSHHome(t, "web-1:22")
	rsa := filepath.Join(h.home, ".ssh", "id_rsa")
	writeSSHFile(t, rsa, encryptedKey(t))
	eps, err := Parse("ssh://root@web-1", Defaults{}, h.env())
	if err != nil {
		t.Fatal(err)
	}
	if got := eps[0].SSH.Identities; !reflect.DeepEqual(got, []string{h.key}) {
		t.Errorf("identities %v, want only %s", got, h.key)
	}
	if err := os.Remove(h.key); err != nil {
		t.Fatal(err)
	}
	_, err = Parse("ssh://root@web-1", Defaults{}, h.env())
	if err == nil || !strings.Contains(err.Error(), "identity file "+rsa+": the key is encrypted (passphrase)") {
		t.Fatalf("only an encrypted default key: %v", err)
	}
}
