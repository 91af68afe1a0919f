// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// DefaultSocket is the endpoint used when open_params and DOCKER_HOST are
// both empty.
const DefaultSocket = "unix:///var/run/docker.sock"

// Endpoint is one Docker daemon the fleet watches, as parsed from open_params.
type Endpoint struct {
	Name    string // label reported in docker.host; default: URL as written without query
	URL     string // normalized: unix:///path, tcp://host:port or ssh://user@host:port (no query)
	Scheme  string // "unix", "tcp" or "ssh"
	Address string // socket path, host:port, or for ssh user@host:port/socket/path
	TLS     *TLS   // nil for unix, ssh and for tcp with tls=off
	SSH     *SSH   // nil but for ssh
}

// TLS is the resolved TLS material of one endpoint (file paths, never contents).
type TLS struct {
	CA, Cert, Key string // CA "" means the system roots; Cert/Key both set or both ""
	ServerName    string // "" means the host part of Address
}

// Defaults is what init_config says for every endpoint.
type Defaults struct {
	CertDir       string // dir with ca.pem, cert.pem, key.pem (DOCKER_CERT_PATH layout)
	CA, Cert, Key string // single files, override CertDir
}

// String describes the endpoint for logs: label, URL and TLS file paths.
// It never holds certificate or key contents.
func (e Endpoint) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q %s", e.Name, e.URL)
	if e.SSH != nil {
		b.WriteString(e.SSH.String())
	}
	if e.Scheme != "tcp" {
		return b.String()
	}
	if e.TLS == nil {
		b.WriteString(" (plain, no TLS)")
		return b.String()
	}
	b.WriteString(" (TLS")
	if e.TLS.CA == "" {
		b.WriteString(" ca=system roots")
	} else {
		fmt.Fprintf(&b, " ca=%s", e.TLS.CA)
	}
	if e.TLS.Cert == "" {
		b.WriteString(" no client cert")
	} else {
		fmt.Fprintf(&b, " cert=%s key=%s", e.TLS.Cert, e.TLS.Key)
	}
	if e.TLS.ServerName != "" {
		fmt.Fprintf(&b, " servername=%s", e.TLS.ServerName)
	}
	b.WriteString(")")
	return b.String()
}

// EndpointError is a problem with one endpoint of open_params.
type EndpointError struct {
	Position int    // 1-based position in open_params; 0 for the environment default
	Text     string // the endpoint as written (or the environment it came from)
	// File and Line locate an endpoint of an inventory file that open_params
	// names at Position (file:///path); "" and 0 for one written inline.
	File string
	Line int
	Err  error // what is wrong with it
}

// Error names the endpoint by position (or file and line) and text, then
// what is wrong.
func (e *EndpointError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("inventory %s line %d %q: %v", e.File, e.Line, e.Text, e.Err)
	case e.File != "":
		return fmt.Sprintf("endpoint %d %q: %v", e.Position, e.Text, e.Err)
	case e.Position == 0:
		return fmt.Sprintf("%s: %v", e.Text, e.Err)
	}
	return fmt.Sprintf("endpoint %d %q: %v", e.Position, e.Text, e.Err)
}

// where names an endpoint in the messages about another one.
func (e *EndpointError) where() string {
	if e.File != "" {
		return fmt.Sprintf("%s line %d %q", e.File, e.Line, e.Text)
	}
	return fmt.Sprintf("endpoint %d %q", e.Position, e.Text)
}

// InventoryScheme starts an entry of open_params that names an inventory
// file: file:///absolute/path, whose lines are endpoints (ReadInventory).
const InventoryScheme = "file://"

// InventoryFiles returns the inventory files open_params names, in order.
func InventoryFiles(openParams string) []string {
	var files []string
	for _, part := range strings.Split(openParams, ",") {
		if path, ok := inventoryPath(strings.TrimSpace(part)); ok {
			files = append(files, path)
		}
	}
	return files
}

// inventoryPath is the path of a file:// entry.
func inventoryPath(text string) (string, bool) {
	if len(text) < len(InventoryScheme) || !strings.EqualFold(text[:len(InventoryScheme)], InventoryScheme) {
		return "", false
	}
	return text[len(InventoryScheme):], true
}

// expand lists the endpoints of open_params: its entries, and the lines of
// the inventory files it names, each with where it came from.
func expand(openParams string) ([]EndpointError, error) {
	var out []EndpointError
	for i, part := range strings.Split(openParams, ",") {
		text := strings.TrimSpace(part)
		path, ok := inventoryPath(text)
		if !ok {
			out = append(out, EndpointError{Position: i + 1, Text: text})
			continue
		}
		if !filepath.IsAbs(path) || strings.ContainsAny(path, "?#") {
			return nil, &EndpointError{Position: i + 1, Text: text, File: path,
				Err: errors.New("an inventory is file:///absolute/path, without query or fragment")}
		}
		lines, err := ReadInventory(path)
		if err != nil {
			return nil, &EndpointError{Position: i + 1, Text: text, File: path, Err: err}
		}
		for _, l := range lines {
			out = append(out, EndpointError{Position: i + 1, Text: l.Text, File: path, Line: l.Line})
		}
	}
	return out, nil
}

// Unwrap returns the underlying problem.
func (e *EndpointError) Unwrap() error { return e.Err }

// Parse turns open_params into endpoints. d supplies the TLS material of
// endpoints that name none themselves; getenv (os.Getenv in production, nil
// for an empty environment) is read when openParams is blank, and for the
// HOME and SSH_AUTH_SOCK of ssh endpoints. Every certificate, SSH key and
// known_hosts file an endpoint resolves to is read and checked here. See
// the package documentation for the syntax and the resolution rules.
func Parse(openParams string, d Defaults, getenv func(string) string) ([]Endpoint, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	defs, err := resolveDefaults(d)
	if err != nil {
		return nil, err
	}
	defs.getenv = getenv // HOME and SSH_AUTH_SOCK of ssh endpoints
	checked := make(map[TLS]error)
	if strings.TrimSpace(openParams) == "" {
		ep, text, err := fromEnv(defs, getenv)
		if err == nil {
			err = checkMaterialOnce(ep.TLS, checked)
		}
		if err != nil {
			return nil, &EndpointError{Text: text, Err: err}
		}
		return []Endpoint{ep}, nil
	}
	entries, err := expand(openParams)
	if err != nil {
		return nil, err
	}
	endpoints := make([]Endpoint, 0, len(entries))
	names := make(map[string]int, len(entries))
	daemons := make([]daemonKey, 0, len(entries))
	for i := range entries {
		entry := &entries[i]
		ep, err := parseEndpoint(entry.Text, defs)
		if err == nil {
			if first, dup := names[ep.Name]; dup {
				err = fmt.Errorf("duplicate name %q (%s has it too)", ep.Name, entries[first].where())
			}
		}
		var key daemonKey
		if err == nil {
			key = keyOf(ep)
			for j, k := range daemons {
				if k.same(key) {
					err = fmt.Errorf("same daemon as %s (%s): its events would be delivered twice", entries[j].where(), k)
					break
				}
			}
		}
		if err == nil {
			err = checkMaterialOnce(ep.TLS, checked)
		}
		if err != nil {
			entry.Err = err
			return nil, entry
		}
		names[ep.Name] = i
		daemons = append(daemons, key)
		endpoints = append(endpoints, ep)
	}
	if len(endpoints) == 0 {
		return nil, errors.New("open_params lists no endpoint: the inventory files it names are empty")
	}
	return endpoints, nil
}

// checkMaterialOnce checks the files of t, once per distinct set of files:
// a fleet of a thousand hosts sharing the defaults reads them once.
func checkMaterialOnce(t *TLS, checked map[TLS]error) error {
	if t == nil {
		return nil
	}
	key := TLS{CA: t.CA, Cert: t.Cert, Key: t.Key}
	err, done := checked[key]
	if !done {
		// Building the shared configuration checks the files and leaves
		// it cached for NewClient.
		_, err = sharedConfig(key)
		checked[key] = err
	}
	return err
}

// options are the query options of one endpoint; "" means not given.
type options struct {
	name, tls, certDir, ca, cert, key, serverName string
	socket, identity, knownHosts                  string // ssh only
}

// optionNames lists the options in the order error messages give them.
const optionNames = "name, tls, certdir, ca, cert, key, servername, socket, identity, knownhosts"

// parseEndpoint parses one endpoint of open_params, text being trimmed.
func parseEndpoint(text string, defs resolvedDefaults) (Endpoint, error) {
	if text == "" {
		return Endpoint{}, errors.New("empty endpoint (stray comma?)")
	}
	base, rawQuery, _ := strings.Cut(text, "?")
	opts, err := parseOptions(rawQuery)
	if err != nil {
		return Endpoint{}, err
	}
	address := base
	if scheme, name, ok := strings.Cut(base, "://"); ok && strings.EqualFold(scheme, "context") {
		if address, err = contextAddress(name, &opts, defs.env); err != nil {
			return Endpoint{}, err
		}
	}
	ep, err := parseAddress(address)
	if err != nil {
		return Endpoint{}, err
	}
	ep.Name = base
	if opts.name != "" {
		ep.Name = opts.name
	}
	if err := checkName(ep.Name); err != nil {
		return Endpoint{}, err
	}
	if ep.TLS, err = resolveTLS(ep, opts, defs); err != nil {
		return Endpoint{}, err
	}
	if err := resolveSSH(&ep, opts, defs.env); err != nil {
		return Endpoint{}, err
	}
	return ep, nil
}

// parseAddress parses the URL part of an endpoint (no query) into Scheme,
// Address and normalized URL.
func parseAddress(s string) (Endpoint, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Endpoint{}, fmt.Errorf("malformed URL %q: want unix:///path, tcp://host:port or ssh://user@host[:port]", s)
	}
	scheme = strings.ToLower(scheme)
	if scheme != "unix" && scheme != "tcp" && scheme != "ssh" {
		return Endpoint{}, fmt.Errorf("unknown scheme %q: want unix, tcp or ssh", scheme)
	}
	if strings.Contains(rest, "#") {
		return Endpoint{}, fmt.Errorf("malformed URL %q: fragments (#) are not allowed; percent-encode a # in a path as %%23", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Endpoint{}, fmt.Errorf("malformed URL %q: %v", s, err)
	}
	if scheme == "ssh" {
		return sshEndpoint(s, u)
	}
	if u.User != nil {
		return Endpoint{}, fmt.Errorf("malformed URL %q: user information is not allowed", s)
	}
	switch scheme {
	case "unix":
		return unixEndpoint(s, u)
	default:
		return tcpEndpoint(s, u)
	}
}

// maxSocketPath is the longest unix socket path the kernel accepts (the
// sun_path array keeps one byte for the terminating NUL).
var maxSocketPath = len(syscall.RawSockaddrUnix{}.Path) - 1

func unixEndpoint(s string, u *url.URL) (Endpoint, error) {
	if u.Host != "" {
		return Endpoint{}, fmt.Errorf("malformed URL %q: a unix endpoint is unix:///absolute/path (three slashes), not a host %q", s, u.Host)
	}
	p := u.Path
	if p == "" || p == "/" {
		return Endpoint{}, fmt.Errorf("malformed URL %q: empty socket path", s)
	}
	if hasControl(p) {
		return Endpoint{}, fmt.Errorf("malformed URL %q: control character in socket path", s)
	}
	if len(p) > maxSocketPath {
		return Endpoint{}, fmt.Errorf("socket path is %d bytes long, the limit is %d", len(p), maxSocketPath)
	}
	return Endpoint{URL: "unix://" + p, Scheme: "unix", Address: p}, nil
}

func tcpEndpoint(s string, u *url.URL) (Endpoint, error) {
	if u.Path != "" && u.Path != "/" {
		return Endpoint{}, fmt.Errorf("malformed URL %q: a tcp endpoint is tcp://host:port, without path %q", s, u.Path)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return Endpoint{}, fmt.Errorf("malformed URL %q: missing host", s)
	}
	if port == "" {
		return Endpoint{}, fmt.Errorf("malformed URL %q: missing port (tcp://host:port; Docker uses 2376 for TLS, 2375 plain)", s)
	}
	if !validHost(host) {
		return Endpoint{}, fmt.Errorf("malformed URL %q: bad host %q", s, host)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return Endpoint{}, fmt.Errorf("malformed URL %q: bad port %q", s, port)
	}
	addr := net.JoinHostPort(host, strconv.FormatUint(n, 10))
	// url.URL writes an IPv6 zone escaped (%25), so URL parses back.
	return Endpoint{URL: (&url.URL{Scheme: "tcp", Host: addr}).String(), Scheme: "tcp", Address: addr}, nil
}

// validHost accepts an IP address (IPv6 with an optional zone) or a DNS
// name; url.Parse lets through percent-decoded bytes that no daemon address
// holds.
func validHost(h string) bool {
	if ip, zone, hasZone := strings.Cut(h, "%"); hasZone {
		return strings.Contains(ip, ":") && net.ParseIP(ip) != nil && zone != "" && isNameChars(zone)
	}
	return net.ParseIP(h) != nil || isNameChars(h)
}

func isNameChars(s string) bool {
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return s != ""
}

// parseOptions parses the query of an endpoint. It keeps the written order so
// that the first bad option is the one reported, and refuses repeats.
func parseOptions(rawQuery string) (options, error) {
	var o options
	for _, kv := range strings.Split(rawQuery, "&") {
		if kv == "" {
			continue // "a=1&&b=2" or a trailing "&": nothing to set
		}
		rawKey, rawValue, _ := strings.Cut(kv, "=")
		// PathUnescape, not QueryUnescape: a '+' in a file path or a
		// label stays a '+' (certdir=/etc/a+b, name=web+1).
		key, err := url.PathUnescape(rawKey)
		if err != nil {
			return o, fmt.Errorf("malformed option %q: %v", rawKey, err)
		}
		value, err := url.PathUnescape(rawValue)
		if err != nil {
			return o, fmt.Errorf("malformed value of option %q: %v", key, err)
		}
		var dst *string
		switch key {
		case "name":
			dst = &o.name
		case "tls":
			dst = &o.tls
		case "certdir":
			dst = &o.certDir
		case "ca":
			dst = &o.ca
		case "cert":
			dst = &o.cert
		case "key":
			dst = &o.key
		case "servername":
			dst = &o.serverName
		case "socket":
			dst = &o.socket
		case "identity":
			dst = &o.identity
		case "knownhosts":
			dst = &o.knownHosts
		default:
			return o, fmt.Errorf("unknown option %q (known: %s)", key, optionNames)
		}
		if *dst != "" {
			return o, fmt.Errorf("option %q given twice", key)
		}
		if value == "" {
			return o, fmt.Errorf("option %q has an empty value", key)
		}
		if key != "name" && hasControl(value) {
			return o, fmt.Errorf("option %q: control character in value", key)
		}
		*dst = value
	}
	if o.tls != "" && o.tls != "on" && o.tls != "off" {
		return o, fmt.Errorf("bad tls value %q: want on or off", o.tls)
	}
	if o.serverName != "" && strings.ContainsFunc(o.serverName, unicode.IsSpace) {
		return o, fmt.Errorf("bad servername %q: spaces are not allowed", o.serverName)
	}
	return o, nil
}

// checkName refuses labels that would be awkward or ambiguous in docker.host.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case !utf8.ValidString(name):
		return fmt.Errorf("name %q is not valid UTF-8", name)
	case hasControl(name):
		return fmt.Errorf("name %q holds a control character", name)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("name %q has leading or trailing spaces", name)
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// statDir checks that dir exists and is a directory.
func statDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }

// daemonKey tells two endpoints that reach the same daemon apart from two
// that do not, without the network: the cleaned socket path (and the file
// itself, when it exists: a symlink such as /var/run -> /run), or the
// host (case-folded, an IP address in its canonical form) and port. Names
// are not resolved: Open does not wait for DNS, and a name may stand for
// other daemons over time; tcp://localhost:2376 and tcp://127.0.0.1:2376
// therefore count as two daemons (hosts/doc.go).
type daemonKey struct {
	scheme, addr string
	file         os.FileInfo // the socket file, when it exists at Open
}

func keyOf(ep Endpoint) daemonKey {
	k := daemonKey{scheme: ep.Scheme, addr: ep.Address}
	switch ep.Scheme {
	case "unix":
		k.addr = path.Clean(ep.Address)
		if fi, err := os.Stat(k.addr); err == nil {
			k.file = fi
		}
	case "tcp":
		host, port, err := net.SplitHostPort(ep.Address)
		if err != nil {
			break
		}
		host = strings.TrimSuffix(strings.ToLower(host), ".")
		ip, zone, _ := strings.Cut(host, "%")
		if a, err := netip.ParseAddr(ip); err == nil {
			host = a.Unmap().String()
			if zone != "" {
				host += "%" + zone
			}
		}
		k.addr = net.JoinHostPort(host, port)
	}
	return k
}

func (k daemonKey) same(o daemonKey) bool {
	if k.scheme != o.scheme {
		return false
	}
	if k.addr == o.addr {
		return true
	}
	return k.file != nil && o.file != nil && os.SameFile(k.file, o.file)
}

// String names the daemon: the socket path or host:port compared.
func (k daemonKey) String() string {
	if k.scheme == "unix" {
		return "socket " + k.addr
	}
	return "address " + k.addr
}
