// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Defaults of ssh endpoints.
const (
	// DefaultSSHPort is the port of an ssh endpoint that names none.
	DefaultSSHPort = 22
	// DefaultSSHSocket is the daemon's socket on the remote host.
	DefaultSSHSocket = "/var/run/docker.sock"
	// EnvSSHAuthSock names the ssh-agent socket, as for ssh(1).
	EnvSSHAuthSock = "SSH_AUTH_SOCK"
)

// defaultIdentities are the key files of ~/.ssh used when neither
// identity= nor an agent is given, in ssh(1)'s order.
var defaultIdentities = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// SSH is the resolved SSH material of an ssh endpoint: file paths, never
// contents.
type SSH struct {
	User       string   // remote user (required in the URL)
	Addr       string   // host:port of the SSH server
	Socket     string   // the daemon's unix socket on the remote host
	Identities []string // private key files, in the order offered; nil when Agent is used
	Agent      string   // ssh-agent socket (SSH_AUTH_SOCK) whose keys are offered; "" with Identities
	KnownHosts string   // known_hosts file the host key must be in
}

// sshEndpoint parses ssh://user@host[:port] (no path, no password).
func sshEndpoint(s string, u *url.URL) (Endpoint, error) {
	if u.Path != "" && u.Path != "/" {
		return Endpoint{}, fmt.Errorf("malformed URL %q: an ssh endpoint is ssh://user@host[:port], without path %q; name the daemon's socket with socket=", s, u.Path)
	}
	if u.User == nil || u.User.Username() == "" {
		return Endpoint{}, fmt.Errorf("malformed URL %q: missing user (ssh://user@host[:port])", s)
	}
	if _, has := u.User.Password(); has {
		return Endpoint{}, fmt.Errorf("malformed URL %q: passwords are not allowed; ssh endpoints authenticate with keys", s)
	}
	user := u.User.Username()
	if hasControl(user) || strings.ContainsAny(user, " @:/") {
		return Endpoint{}, fmt.Errorf("malformed URL %q: bad user %q", s, user)
	}
	// ssh(1) lower-cases host names too: known_hosts holds them so.
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if host == "" {
		return Endpoint{}, fmt.Errorf("malformed URL %q: missing host", s)
	}
	if !validHost(host) {
		return Endpoint{}, fmt.Errorf("malformed URL %q: bad host %q", s, host)
	}
	n := uint64(DefaultSSHPort)
	if port != "" {
		var err error
		if n, err = strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return Endpoint{}, fmt.Errorf("malformed URL %q: bad port %q", s, port)
		}
	}
	addr := net.JoinHostPort(host, strconv.FormatUint(n, 10))
	ep := Endpoint{
		URL:    (&url.URL{Scheme: "ssh", User: url.User(user), Host: addr}).String(),
		Scheme: "ssh",
		SSH:    &SSH{User: user, Addr: addr, Socket: DefaultSSHSocket},
	}
	ep.Address = sshAddress(ep.SSH)
	return ep, nil
}

// sshAddress identifies the daemon of an ssh endpoint: user, server and
// the socket on it.
func sshAddress(s *SSH) string { return s.User + "@" + s.Addr + s.Socket }

// resolveSSH applies the options of an ssh endpoint and the environment
// (HOME, SSH_AUTH_SOCK): socket, identities or agent, known_hosts. It reads
// and checks every file now, so that bad material fails at Open, and
// refuses a host that known_hosts does not know.
func resolveSSH(ep *Endpoint, o options, getenv func(string) string) error {
	sshOpts := []struct{ name, value string }{{"socket", o.socket}, {"identity", o.identity}, {"knownhosts", o.knownHosts}}
	if ep.SSH == nil {
		for _, opt := range sshOpts {
			if opt.value != "" {
				return fmt.Errorf("option %q applies to ssh endpoints only", opt.name)
			}
		}
		return nil
	}
	s := ep.SSH
	if o.socket != "" {
		if !strings.HasPrefix(o.socket, "/") {
			return fmt.Errorf("socket %q: want an absolute path", o.socket)
		}
		if len(o.socket) > maxSocketPath {
			return fmt.Errorf("socket path is %d bytes long, the limit is %d", len(o.socket), maxSocketPath)
		}
		s.Socket = filepath.Clean(o.socket)
		ep.Address = sshAddress(s)
	}
	home := getenv("HOME")
	s.KnownHosts = o.knownHosts
	if s.KnownHosts == "" {
		if home == "" {
			return errors.New("no known_hosts file: HOME is not set; give knownhosts=FILE")
		}
		s.KnownHosts = filepath.Join(home, ".ssh", "known_hosts")
	}
	switch agentSock := getenv(EnvSSHAuthSock); {
	case o.identity != "":
		s.Identities = []string{o.identity}
	case agentSock != "":
		fi, err := os.Stat(agentSock)
		if err == nil && fi.Mode().Type() != fs.ModeSocket {
			err = errors.New("not a socket")
		}
		if err != nil {
			return fmt.Errorf("ssh-agent %s=%s: %v", EnvSSHAuthSock, agentSock, unwrapPath(err))
		}
		s.Agent = agentSock
	default:
		if home == "" {
			return fmt.Errorf("no SSH identity: give identity=FILE, or run an ssh-agent (%s); HOME is not set", EnvSSHAuthSock)
		}
		// As ssh(1), each that exists; one with a passphrase is passed
		// over (ssh(1) would ask for it) unless no other is left.
		var encrypted error
		for _, name := range defaultIdentities {
			p := filepath.Join(home, ".ssh", name)
			if _, err := os.Stat(p); err != nil {
				continue
			}
			if _, err := sharedSigner(p); errors.Is(err, errEncryptedKey) {
				encrypted = cmp.Or(encrypted, err)
				continue
			} else if err != nil {
				return err
			}
			s.Identities = append(s.Identities, p)
		}
		switch {
		case len(s.Identities) == 0 && encrypted != nil:
			return encrypted
		case len(s.Identities) == 0:
			return fmt.Errorf("no SSH identity: give identity=FILE, or run an ssh-agent (%s); %s has none of %s",
				EnvSSHAuthSock, filepath.Join(home, ".ssh"), strings.Join(defaultIdentities, ", "))
		}
	}
	if o.identity != "" {
		if _, err := sharedSigner(o.identity); err != nil {
			return err
		}
	}
	kh, err := sharedKnownHosts(s.KnownHosts)
	if err != nil {
		return err
	}
	if len(kh.known(s.Addr)) == 0 {
		return unknownHostError(s, nil)
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// sshString describes the SSH material of e for logs.
func (s *SSH) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, " (ssh socket=%s", s.Socket)
	if s.Agent != "" {
		fmt.Fprintf(&b, " agent=%s", s.Agent)
	} else {
		fmt.Fprintf(&b, " identity=%s", strings.Join(s.Identities, ","))
	}
	fmt.Fprintf(&b, " knownhosts=%s)", s.KnownHosts)
	return b.String()
}

// maxSSHFile bounds what is read of an identity file; real ones are a few
// KiB (see maxPEMFile).
const maxSSHFile = 1 << 20

// errEncryptedKey marks an identity file protected by a passphrase.
var errEncryptedKey = errors.New("the key is encrypted (passphrase)")

// readSignerFile reads and parses a private key file. Errors name the file,
// never its contents.
func readSignerFile(path string) (ssh.Signer, error) {
	fail := func(err error) (ssh.Signer, error) {
		return nil, fmt.Errorf("identity file %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fail(unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("not a regular file (%s)", fi.Mode().Type()))
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(unwrapPath(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSSHFile+1))
	if err != nil {
		return fail(err)
	}
	if len(b) > maxSSHFile {
		return fail(fmt.Errorf("larger than %d bytes, not a key file", maxSSHFile))
	}
	signer, err := ssh.ParsePrivateKey(b)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return fail(fmt.Errorf("%w, which dockerfleet cannot ask for: load it into an ssh-agent (ssh-add) and let the agent log in (%s set, no identity=), or use a key without passphrase", errEncryptedKey, EnvSSHAuthSock))
	case err != nil && strings.HasSuffix(path, ".pub"):
		return fail(fmt.Errorf("not a private key (%v): name the private key, not the .pub", err))
	case err != nil:
		// ParsePrivateKey's errors say what is wrong, never the bytes.
		return fail(fmt.Errorf("not a private key: %v", err))
	}
	return signer, nil
}

// knownHosts is one parsed known_hosts file.
type knownHosts struct {
	path  string
	check ssh.HostKeyCallback
}

// probeKey is a key no known_hosts holds: asking for it lists the keys
// known for a host (knownhosts.KeyError.Want).
var probeKey = sync.OnceValue(func() ssh.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return k
})

// known returns the keys the file holds for addr (host:port).
func (k *knownHosts) known(addr string) []knownhosts.KnownKey {
	var ke *knownhosts.KeyError
	if err := k.check(addr, &net.TCPAddr{IP: net.IPv4zero, Port: 22}, probeKey()); errors.As(err, &ke) {
		return ke.Want
	}
	return nil
}

// hostKeyAlgorithms lists the algorithms of the keys known for addr, so
// that the server offers a key that known_hosts can confirm: with the
// library's default preference, a server with both an RSA and an Ed25519
// key, of which known_hosts holds the Ed25519 one, would present the RSA
// one and be refused as changed. nil (the library's defaults) when only
// certificate authorities vouch for the host.
func (k *knownHosts) hostKeyAlgorithms(addr string) []string {
	var algos []string
	for _, kk := range k.known(addr) {
		t := kk.Key.Type()
		if t == ssh.KeyAlgoRSA {
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
			continue
		}
		algos = append(algos, t)
	}
	return algos
}

// callback checks the server's key of s against the file, with errors that
// say what to do.
func (k *knownHosts) callback(s *SSH) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := k.check(s.Addr, remote, key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &re):
			return fmt.Errorf("host key of %s (%s %s) is revoked in %s line %d", s.Addr, key.Type(), ssh.FingerprintSHA256(key), re.Revoked.Filename, re.Revoked.Line)
		case errors.As(err, &ke) && len(ke.Want) == 0:
			return unknownHostError(s, key)
		case errors.As(err, &ke):
			lines := make([]string, len(ke.Want))
			for i, w := range ke.Want {
				lines[i] = strconv.Itoa(w.Line)
			}
			return fmt.Errorf("host key of %s CHANGED: the server presented %s %s, %s holds another key for it (line %s): "+
				"possible man-in-the-middle attack; if the host's key was replaced, check the new key's fingerprint, "+
				"remove the old one (ssh-keygen -R %s -f %s) and add the new one",
				s.Addr, key.Type(), ssh.FingerprintSHA256(key), k.path, strings.Join(lines, ", "), knownhosts.Normalize(s.Addr), k.path)
		default:
			return fmt.Errorf("host key of %s: %v", s.Addr, err)
		}
	}
}

// unknownHostError says that known_hosts lacks the host and how to add it;
// key is the key the server presented, nil before connecting.
func unknownHostError(s *SSH, key ssh.PublicKey) error {
	host, port, _ := net.SplitHostPort(s.Addr)
	host = strings.Trim(host, "[]")
	presented := ""
	if key != nil {
		presented = fmt.Sprintf(" (the server presented %s %s)", key.Type(), ssh.FingerprintSHA256(key))
	}
	return fmt.Errorf("host %s is not in %s%s: add its key, after checking its fingerprint, with: ssh-keyscan -p %s %s >> %s",
		s.Addr, s.KnownHosts, presented, port, host, s.KnownHosts)
}

// The SSH files of a fleet's endpoints are mostly the same few: they are
// read and parsed once, and again only when they change (see fileStamp).
// The cache starts over past maxSharedConfigs entries.
var sshShared struct {
	sync.Mutex
	signers map[string]stampedSigner
	known   map[string]stampedKnownHosts
}

type stampedSigner struct {
	st     fileStamp
	signer ssh.Signer
}

type stampedKnownHosts struct {
	st fileStamp
	kh *knownHosts
}

// sharedSigner returns the parsed key of an identity file.
func sharedSigner(path string) (ssh.Signer, error) {
	st, err := stamp(path)
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %w", path, unwrapPath(err))
	}
	sshShared.Lock()
	c, ok := sshShared.signers[path]
	sshShared.Unlock()
	if ok && c.st == st {
		return c.signer, nil
	}
	signer, err := readSignerFile(path)
	if err != nil {
		return nil, err
	}
	sshShared.Lock()
	if sshShared.signers == nil || len(sshShared.signers) >= maxSharedConfigs {
		sshShared.signers = make(map[string]stampedSigner)
	}
	sshShared.signers[path] = stampedSigner{st, signer}
	sshShared.Unlock()
	return signer, nil
}

// sharedKnownHosts returns the parsed known_hosts file at path.
func sharedKnownHosts(path string) (*knownHosts, error) {
	fail := func(err error) (*knownHosts, error) {
		return nil, fmt.Errorf("known_hosts file %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fail(unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("not a regular file (%s)", fi.Mode().Type()))
	}
	st, err := stamp(path)
	if err != nil {
		return fail(unwrapPath(err))
	}
	sshShared.Lock()
	c, ok := sshShared.known[path]
	sshShared.Unlock()
	if ok && c.st == st {
		return c.kh, nil
	}
	check, err := knownhosts.New(path)
	if err != nil {
		// knownhosts names the file and line of a bad entry.
		return nil, err
	}
	kh := &knownHosts{path: path, check: check}
	sshShared.Lock()
	if sshShared.known == nil || len(sshShared.known) >= maxSharedConfigs {
		sshShared.known = make(map[string]stampedKnownHosts)
	}
	sshShared.known[path] = stampedKnownHosts{st, kh}
	sshShared.Unlock()
	return kh, nil
}
