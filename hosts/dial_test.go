// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// dial dials ep with a Dialer of its own.
func dial(t *testing.T, ep Endpoint, ctx context.Context) (net.Conn, error) {
	t.Helper()
	d, err := ep.NewDialer()
	if err != nil {
		t.Fatalf("NewDialer: %v", err)
	}
	return d.Dial(ctx)
}

// getOn sends GET /_ping on conn as the stream does (req.Write) and returns
// the response status.
func getOn(t *testing.T, conn net.Conn, ep Endpoint) (*http.Response, error) {
	t.Helper()
	req, err := ep.NewRequest(context.Background(), "", http.MethodGet, "/_ping", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Write(conn); err != nil {
		return nil, err
	}
	return http.ReadResponse(bufio.NewReader(conn), req)
}

func TestDialUnix(t *testing.T) {
	fake := &fakeDocker{}
	ep := serveUnix(t, fake)
	conn, err := dial(t, ep, ctxT(t))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer conn.Close()
	resp, err := getOn(t, conn, ep)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /_ping: %v %v", resp, err)
	}
	if s := fake.seen(); len(s) != 1 || s[0].host != "api.moby.localhost" || s[0].userAgent != UserAgent {
		t.Errorf("requests seen %+v", s)
	}
}

// TestDialTLS: the direct connection verifies and presents the same
// material as the client's transport, and refuses what it refuses with the
// same words.
func TestDialTLS(t *testing.T) {
	fx := newTLSFixture(t, nil, 0)
	ctx := ctxT(t)
	t.Run("accepted", func(t *testing.T) {
		ep := parseOne(t, "tcp://"+fx.addr+"?certdir="+certDir(t, fx.ca.pem, &fx.client), Defaults{})
		conn, err := dial(t, ep, ctx)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer conn.Close()
		st := conn.(*tls.Conn).ConnectionState()
		// (The name checked is covered by TestDialServerName: no SNI is
		// sent for an IP address.)
		if st.NegotiatedProtocol != "" || st.Version < tls.VersionTLS12 {
			t.Errorf("ALPN %q, version %x", st.NegotiatedProtocol, st.Version)
		}
		resp, err := getOn(t, conn, ep)
		if err != nil || resp.StatusCode != http.StatusOK || resp.ProtoMajor != 1 {
			t.Fatalf("GET /_ping: %v %v", resp, err)
		}
	})
	otherClient := fx.otherCA.client(t)
	for _, tt := range []struct{ name, dir, want string }{
		{"wrong CA", certDir(t, fx.otherCA.pem, &fx.client), "x509: certificate signed by unknown authority"},
		{"no client cert", certDir(t, fx.ca.pem, nil), "tls: certificate required"},
		{"client cert of another CA", certDir(t, fx.ca.pem, &otherClient), "tls: certificate required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ep := parseOne(t, "tcp://"+fx.addr+"?name=web-1&certdir="+tt.dir, Defaults{})
			conn, err := dial(t, ep, ctx)
			if err == nil {
				// TLS 1.3: the server refuses the client's certificate
				// after the client's handshake is done; the first read
				// tells.
				_, err = getOn(t, conn, ep)
				conn.Close()
			} else if !strings.Contains(err.Error(), `endpoint "web-1"`) {
				t.Errorf("error %v does not name the endpoint", err)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDialServerName(t *testing.T) {
	fx := newTLSFixture(t, func(ca *testCA) issued {
		return ca.issue(t, certSpec{cn: "dockerd", usage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, dns: []string{"dockerd.test"}})
	}, 0)
	dir := certDir(t, fx.ca.pem, &fx.client)
	for _, tt := range []struct{ query, want string }{
		{"", "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"},
		{"&servername=wrong.test", "x509: certificate is valid for dockerd.test, not wrong.test"},
		{"&servername=dockerd.test", ""},
	} {
		t.Run(tt.query, func(t *testing.T) {
			ep := parseOne(t, "tcp://"+fx.addr+"?certdir="+dir+tt.query, Defaults{})
			conn, err := dial(t, ep, ctxT(t))
			if err == nil {
				conn.Close()
			}
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Dial error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestDialHandshakeEndsWithContext: a daemon that accepts and never answers
// the handshake holds Dial only as long as its context.
func TestDialHandshakeEndsWithContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	fx := newTLSFixture(t, nil, 0)
	ep := parseOne(t, "tcp://"+l.Addr().String()+"?certdir="+certDir(t, fx.ca.pem, &fx.client), Defaults{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	conn, err := dial(t, ep, ctx)
	if err == nil {
		conn.Close()
		t.Fatal("Dial succeeded without a handshake")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the context's", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Dial returned after %v", d)
	}
	// The half-open connection was closed: the server reads its end.
	c := <-accepted
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the connection was left open")
			}
			break
		}
	}
}

// TestNewDialerReadsTLSFilesOnce: the material is read by NewDialer, as by
// NewClient, and never later: files gone afterwards change nothing.
func TestNewDialerReadsTLSFilesOnce(t *testing.T) {
	fx := newTLSFixture(t, nil, 0)
	dir := certDir(t, fx.ca.pem, &fx.client)
	ep := parseOne(t, "tcp://"+fx.addr+"?name=web-1&certdir="+dir, Defaults{})
	d, err := ep.NewDialer()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	conn, err := d.Dial(ctxT(t))
	if err != nil {
		t.Fatalf("Dial after the files went: %v", err)
	}
	conn.Close()
	_, err = ep.NewDialer()
	if err == nil || !strings.Contains(err.Error(), `endpoint "web-1"`) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("NewDialer without the files: %v", err)
	}
}

func TestDialUnknownScheme(t *testing.T) {
	_, err := Endpoint{Name: "x", Scheme: "npipe", Address: "p"}.NewDialer()
	if err == nil || !strings.Contains(err.Error(), `endpoint "x": unknown scheme "npipe"`) {
		t.Fatalf("error %v", err)
	}
}

// TestDialRefusesProxiedEndpoints runs in a child process, since net/http
// reads the proxy variables once per process.
func TestDialRefusesProxiedEndpoints(t *testing.T) {
	if os.Getenv("DOCKERFLEET_TEST_PROXY_CHILD") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDialRefusesProxiedEndpoints$", "-test.v")
		cmd.Env = append(os.Environ(), "DOCKERFLEET_TEST_PROXY_CHILD=1",
			"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=192.0.2.7",
			"https_proxy=", "http_proxy=", "no_proxy=")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestDialRefusesProxiedEndpoints") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	// Addresses of the documentation range: nothing is dialled, the
	// refusal comes first.
	for _, tt := range []struct {
		params  string
		proxied bool
	}{
		{"tcp://192.0.2.5:2375?tls=off", true},
		{"tcp://192.0.2.7:2375?tls=off", false}, // NO_PROXY
		{"unix:///nonexistent/docker.sock", false},
	} {
		ep := parseOne(t, tt.params, Defaults{})
		if got := ep.Proxied(); got != tt.proxied {
			t.Errorf("%s: Proxied %v, want %v", tt.params, got, tt.proxied)
		}
		if !tt.proxied {
			continue
		}
		if _, err := dial(t, ep, context.Background()); !errors.Is(err, ErrProxied) {
			t.Errorf("%s: Dial error %v, want ErrProxied", tt.params, err)
		}
	}
}

// TestDialNamesWhatIsWrongWithTheSocketPath: the kernel answers
// "connection refused" both for a socket nobody listens on and for a path
// that is no socket at all; Dial tells the second apart.
func TestDialNamesWhatIsWrongWithTheSocketPath(t *testing.T) {
	dir, err := os.MkdirTemp("", "dfd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	file := dir + "/file"
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	stale := dir + "/stale.sock"
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the socket file stays, nobody listens
	for path, want := range map[string]string{
		dir + "/missing": "connect: no such file or directory",
		file:             file + " is not a socket: dial unix " + file + ": connect: connection refused",
		dir:              dir + " is not a socket: ",
		stale:            `endpoint "x": dial unix ` + stale + ": connect: connection refused",
	} {
		d, err := Endpoint{Name: "x", URL: "unix://" + path, Scheme: "unix", Address: path}.NewDialer()
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Dial(context.Background())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", path, err, want)
		}
	}
}
