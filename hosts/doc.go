// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package hosts turns open_params into the list of Docker daemons a fleet
// watches, resolves the TLS or SSH material of each one and builds its
// Docker client.
//
// # open_params
//
// A comma-separated list of endpoints; spaces around the commas are
// ignored. Each endpoint is a URL with optional query options:
//
//	unix:///var/run/docker.sock?name=local, tcp://10.0.0.5:2376?name=web-1&certdir=/etc/dockerfleet/web-1,
//	ssh://docker@10.0.0.6?name=web-2
//
// Schemes: unix:///absolute/path, tcp://host:port, ssh://user@host[:port],
// (IPv6 as [addr]:port), and context://NAME, a docker CLI context resolved
// from its store at Parse (context.go). Endpoint.URL is normalized: lower-case scheme, no
// query; for unix it is "unix://" and the socket path as is (the form
// DOCKER_HOST uses, not percent-encoded), for tcp a URL that parses back to
// Address, for ssh ssh://user@host:port with the port written out and the
// host in lower case. The Address of an ssh endpoint is
// user@host:port/socket/path: it names the daemon.
//
// Two endpoints that reach the same daemon are refused, naming both (each
// of its events would be delivered twice): unix sockets are compared by
// their cleaned path (unix:///x, unix:////x and UNIX:///x are one) and,
// when the socket exists at Open, by the file itself (a symlinked
// directory); tcp endpoints by host and port, the host case-folded and an
// IP address in its canonical form. Names are not resolved (Open does not
// depend on DNS): tcp://localhost:2376 and tcp://127.0.0.1:2376 count as
// two daemons, and listing both delivers that daemon's events twice.
//
// Percent-encode a ',', '?', '#' or '%' in a socket path, and a ',', '&',
// '#' or '%' in an option value. A '+' is taken as it is (not as a space,
// unlike HTML form queries): labels and paths may hold one.
//
// Options:
//
//	name=LABEL         the host's label in docker.host. Default: the endpoint
//	                   as written, without its query. Labels are unique
//	                   (case-sensitive), non-empty, without control
//	                   characters and without leading or trailing spaces.
//	tls=on|off         tcp only. tcp speaks TLS unless tls=off.
//	certdir=DIR        tcp+TLS only: a DOCKER_CERT_PATH-style directory
//	                   (ca.pem, cert.pem, key.pem).
//	ca=, cert=, key=   tcp+TLS only: single files; they override certdir.
//	                   cert and key go together.
//	servername=NAME    tcp+TLS only: the name the daemon's certificate must
//	                   carry. Default: the host part of the address.
//	socket=PATH        ssh only: the daemon's socket on the remote host.
//	                   Default: /var/run/docker.sock.
//	identity=FILE      ssh only: the private key to log in with. Default:
//	                   the keys of the ssh-agent at $SSH_AUTH_SOCK when set,
//	                   else those of ~/.ssh/id_ed25519, id_ecdsa, id_rsa
//	                   that exist.
//	knownhosts=FILE    ssh only: the known_hosts file the server's host key
//	                   must be in. Default: ~/.ssh/known_hosts.
//
// # TLS material
//
// Each of the CA and the client certificate pair is resolved on its own, the
// first source that provides it winning:
//
//  1. the endpoint's ca= / cert=+key= options;
//  2. the endpoint's certdir=;
//  3. Defaults.CA / Defaults.Cert+Key (init_config);
//  4. Defaults.CertDir (init_config).
//
// A certdir provides a file when the file exists in it. A certdir must exist
// and hold at least one of ca.pem, cert.pem, key.pem (an empty one is almost
// surely a typo); cert.pem without key.pem or the reverse is an error. When
// no source provides a CA, the system roots are used (a daemon with a
// certificate from a public CA); when none provides a client certificate,
// none is sent. Verification of the daemon's certificate is always on and
// TLS 1.2 is the minimum.
//
// Parse reads and checks every certificate file it resolves (the CA parses as
// PEM certificates, cert and key load as a matching, unencrypted pair, the
// client certificate is valid now and usable for client authentication), so
// bad material fails at Open, naming the endpoint and the file. Key contents
// never appear in errors.
//
// # SSH
//
// An ssh endpoint reaches the daemon's unix socket on a remote host through
// its SSH server, natively (golang.org/x/crypto/ssh, no ssh binary): each
// connection to the daemon is a channel forwarded to the socket
// (direct-streamlocal@openssh.com, as `ssh -L local.sock:/var/run/docker.sock`
// does), and all of them, the event stream's, the pings' and the client's
// calls', share the one SSH connection of the host's Dialer. The user is
// required (there is no local account to default to that would mean the
// same on every Falco host); the port defaults to 22. ~ is the HOME of the
// process, SSH_AUTH_SOCK its environment, as for ssh(1); no ssh_config is
// read.
//
// Parse reads and checks every file: each identity parses as an
// unencrypted private key (an encrypted one is refused: load it into an
// ssh-agent instead), SSH_AUTH_SOCK is a socket, known_hosts parses and
// knows the host ([host]:port for a port other than 22, hashed names
// included). The host key is then checked against known_hosts on every
// connection (the file is read again when it changed): an unknown host is
// refused with the ssh-keyscan command that adds it, a key other than the
// known one is refused as CHANGED (possible man-in-the-middle). There is no
// way to skip the check. Only public key authentication is offered; keys
// and passphrases never appear in errors or logs.
//
// The server must allow the forwarding: OpenSSH's AllowStreamLocalForwarding
// and AllowTcpForwarding (without which it opens no path either) must not
// be no, and the user must be allowed to open the socket (root, or a member
// of the docker group). HTTP proxies from the environment do not apply.
//
// The SSH connection is made by the first Dial, sends a
// keepalive@openssh.com request every 30 s (closed when one is unanswered
// for 15 s: a server that hangs behind a live TCP connection), and is
// closed by Dialer.Close, or by itself a second after its last channel
// closed; a Dial after it broke or closed makes a new one.
//
// # Empty open_params
//
// Empty (or blank) open_params means one endpoint from the environment, with
// the docker CLI's semantics:
//
//   - DOCKER_HOST unset or empty: unix:///var/run/docker.sock.
//   - DOCKER_HOST=unix:///path: that socket (TLS variables are ignored).
//   - DOCKER_HOST=ssh://user@host[:port]: that host with the ssh defaults
//     above (TLS variables are ignored).
//   - DOCKER_HOST=tcp://host:port (or host:port): TLS when DOCKER_TLS_VERIFY
//     or DOCKER_TLS is non-empty (any value, even "0", as in the docker CLI),
//     plain HTTP otherwise, even when DOCKER_CERT_PATH is set (the docker CLI
//     does the same). DOCKER_TLS alone means unverified TLS to the docker CLI;
//     here verification is always on. A missing port is 2376 with TLS, 2375
//     without; a missing host is localhost.
//   - With TLS, DOCKER_CERT_PATH is the endpoint's certdir. When it is unset,
//     init_config's defaults apply and, if they give no material either, the
//     docker CLI's default directory ($DOCKER_CONFIG, else $HOME/.docker),
//     whose files are each used when present.
//
// The endpoint's label is DOCKER_HOST as written (or
// unix:///var/run/docker.sock).
//
// # Clients
//
// Endpoint.NewClient builds a github.com/docker/docker client with API
// version negotiation on, over a lean HTTP transport of its own (see
// NewClient). The event stream reads GET /events itself through the same
// transport: NewRequest builds that request the way the client builds its
// own, and the client's HTTPClient() sends it.
package hosts
