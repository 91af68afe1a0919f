// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package hosts turns open_params into the list of Docker daemons a fleet
// watches, resolves the TLS material of each one and builds its Docker
// client.
//
// # open_params
//
// A comma-separated list of endpoints; spaces around the commas are
// ignored. Each endpoint is a URL with optional query options:
//
//	unix:///var/run/docker.sock?name=local, tcp://10.0.0.5:2376?name=web-1&certdir=/etc/dockerfleet/web-1
//
// Schemes: unix:///absolute/path and tcp://host:port (IPv6 as [addr]:port).
// Endpoint.URL is normalized: lower-case scheme, no query; for unix it is
// "unix://" and the socket path as is (the form DOCKER_HOST uses, not
// percent-encoded), for tcp a URL that parses back to Address.
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
// # Empty open_params
//
// Empty (or blank) open_params means one endpoint from the environment, with
// the docker CLI's semantics:
//
//   - DOCKER_HOST unset or empty: unix:///var/run/docker.sock.
//   - DOCKER_HOST=unix:///path: that socket (TLS variables are ignored).
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
