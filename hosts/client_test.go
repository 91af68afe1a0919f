// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api"
	"github.com/docker/docker/client"
)

// eventLine is what the fake daemon streams on GET /events.
const eventLine = `{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"web"}},"scope":"local","time":1,"timeNano":1000000001}`

// seenRequest is what the fake daemon recorded of one request.
type seenRequest struct {
	method, path, query, host, userAgent, remote string
}

// fakeDocker answers like a Docker 20.10 daemon (API 1.41) on /_ping,
// /version and /events, and refuses newer API versions as dockerd does.
type fakeDocker struct {
	mu       sync.Mutex
	requests []seenRequest
	// barrier, when set, holds /version requests until it is closed.
	barrier chan struct{}
	arrived chan struct{}

	// new and closed count connections (by the server's ConnState).
	newConns, closedConns int
}

func (f *fakeDocker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, seenRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.UserAgent(), r.RemoteAddr})
	barrier, arrived := f.barrier, f.arrived
	f.mu.Unlock()

	h := w.Header()
	h.Set("Api-Version", "1.41")
	h.Set("Ostype", "linux")
	h.Set("Docker-Experimental", "false")
	switch {
	case r.URL.Path == "/_ping":
		h.Set("Content-Type", "text/plain; charset=utf-8")
		if r.Method == http.MethodHead {
			h.Set("Content-Length", "0")
			return
		}
		io.WriteString(w, "OK")
	case r.URL.Path == "/v1.41/version":
		if barrier != nil {
			arrived <- struct{}{}
			<-barrier
		}
		h.Set("Content-Type", "application/json")
		io.WriteString(w, `{"Version":"20.10.24","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64"}`+"\n")
	case r.URL.Path == "/v1.41/events":
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		io.WriteString(w, eventLine+"\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	case strings.HasPrefix(r.URL.Path, "/v1.") && !strings.HasPrefix(r.URL.Path, "/v1.41/"):
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"message":"client version %s is too new. Maximum supported API version is 1.41"}`+"\n", strings.Split(r.URL.Path, "/")[1])
	default:
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"page not found"}`+"\n")
	}
}

func (f *fakeDocker) connState(_ net.Conn, s http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch s {
	case http.StateNew:
		f.newConns++
	case http.StateClosed, http.StateHijacked:
		f.closedConns++
	}
}

func (f *fakeDocker) conns() (opened, closed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newConns, f.closedConns
}

func (f *fakeDocker) seen() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.requests...)
}

// serveUnix serves f on a unix socket of its own and returns the endpoint.
func serveUnix(t *testing.T, f *fakeDocker) Endpoint {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: f, ConnState: f.connState}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	eps, err := Parse("unix://"+sock+"?name=local", Defaults{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return eps[0]
}

// serveTLS serves f over TLS requiring a client certificate from clientCA.
func serveTLS(t *testing.T, f *fakeDocker, server issued, clientCA *testCA, maxVersion uint16) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ConnState = f.connState
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refusals are expected
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{server.tlsCert(t)},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCA.pool(),
		MaxVersion:   maxVersion,
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func newClient(t *testing.T, ep Endpoint) *client.Client {
	t.Helper()
	cli, err := ep.NewClient()
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// readEvents opens the raw event stream the way the stream package does and
// returns its first line.
func readEvents(t *testing.T, ctx context.Context, ep Endpoint, cli *client.Client) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	q := url.Values{"filters": {`{"type":["container"]}`}}
	req, err := ep.NewRequest(ctx, cli.ClientVersion(), http.MethodGet, "/events", q)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cli.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("GET /events: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /events: %s", resp.Status)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		t.Fatalf("reading /events: %v", err)
	}
	return strings.TrimSuffix(line, "\n"), func() { cancel(); resp.Body.Close() }
}

// TestNewClientUnix: ping, version negotiation and the raw event stream over
// a unix socket, all on one connection, with the docker client's Host header.
func TestNewClientUnix(t *testing.T) {
	f := &fakeDocker{}
	ep := serveUnix(t, f)
	cli := newClient(t, ep)
	ctx := ctxT(t)

	ping, err := cli.Ping(ctx)
	if err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if ping.APIVersion != "1.41" {
		t.Errorf("ping APIVersion %q", ping.APIVersion)
	}
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		t.Fatalf("ServerVersion: %v", err)
	}
	if v.Version != "20.10.24" || cli.ClientVersion() != "1.41" {
		t.Errorf("version %q, negotiated %q", v.Version, cli.ClientVersion())
	}
	line, stop := readEvents(t, ctx, ep, cli)
	defer stop()
	if line != eventLine {
		t.Errorf("event line %q", line)
	}

	reqs := f.seen()
	last := reqs[len(reqs)-1]
	want := seenRequest{http.MethodGet, "/v1.41/events", "filters=%7B%22type%22%3A%5B%22container%22%5D%7D", client.DummyHost, UserAgent, last.remote}
	if last != want {
		t.Errorf("events request %+v, want %+v", last, want)
	}
	for _, r := range reqs {
		if r.host != client.DummyHost || r.userAgent != UserAgent {
			t.Errorf("request %+v: Host or User-Agent differs from the client's", r)
		}
	}
	if opened, _ := f.conns(); opened != 1 {
		t.Errorf("ping, version and events used %d connections, want 1 (shared)", opened)
	}
}

// TestNewClientKeepsOneIdleConnection: calls made beside the event stream
// may open connections, but at most one stays idle afterwards.
func TestNewClientKeepsOneIdleConnection(t *testing.T) {
	f := &fakeDocker{}
	ep := serveUnix(t, f)
	cli := newClient(t, ep)
	ctx := ctxT(t)
	if _, err := cli.ServerVersion(ctx); err != nil {
		t.Fatal(err)
	}
	_, stop := readEvents(t, ctx, ep, cli)
	defer stop()

	const parallel = 3
	f.mu.Lock()
	f.barrier, f.arrived = make(chan struct{}), make(chan struct{}, parallel)
	f.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, parallel)
	for range parallel {
		wg.Go(func() {
			_, err := cli.ServerVersion(ctx)
			errs <- err
		})
	}
	for range parallel {
		<-f.arrived // all three in flight at once: three more connections
	}
	close(f.barrier)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	opened, _ := f.conns()
	if opened != 1+parallel {
		t.Fatalf("opened %d connections, want %d", opened, 1+parallel)
	}
	// The event stream plus one idle connection remain; the client closes
	// the others at once.
	deadline := time.Now().Add(10 * time.Second)
	for {
		opened, closed := f.conns()
		if opened-closed == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open, want 2 (stream + one idle)", opened-closed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Close drops the idle one, not the stream.
	cli.Close()
	deadline = time.Now().Add(10 * time.Second)
	for {
		opened, closed := f.conns()
		if opened-closed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open after Close, want 1 (the stream)", opened-closed)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tlsFixture is a CA, a daemon served by it and client material.
type tlsFixture struct {
	ca, otherCA *testCA
	client      issued
	addr        string
	fake        *fakeDocker
}

func newTLSFixture(t *testing.T, server func(ca *testCA) issued, maxVersion uint16) *tlsFixture {
	fx := &tlsFixture{ca: newCA(t, "fleet CA"), otherCA: newCA(t, "other CA"), fake: &fakeDocker{}}
	fx.client = fx.ca.client(t)
	srv := fx.ca.server(t)
	if server != nil {
		srv = server(fx.ca)
	}
	fx.addr = serveTLS(t, fx.fake, srv, fx.ca, maxVersion)
	return fx
}

func parseOne(t *testing.T, params string, d Defaults) Endpoint {
	t.Helper()
	eps, err := Parse(params, d, nil)
	if err != nil {
		t.Fatalf("Parse(%q): %v", params, err)
	}
	return eps[0]
}

func TestNewClientTLS(t *testing.T) {
	fx := newTLSFixture(t, nil, 0)
	ctx := ctxT(t)

	t.Run("certdir", func(t *testing.T) {
		ep := parseOne(t, "tcp://"+fx.addr+"?name=web-1&certdir="+certDir(t, fx.ca.pem, &fx.client), Defaults{})
		cli := newClient(t, ep)
		if _, err := cli.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if _, err := cli.ServerVersion(ctx); err != nil {
			t.Fatalf("ServerVersion: %v", err)
		}
		line, stop := readEvents(t, ctx, ep, cli)
		defer stop()
		if line != eventLine {
			t.Errorf("event line %q", line)
		}
		if last := fx.fake.seen(); last[len(last)-1].host != fx.addr {
			t.Errorf("Host header %q, want %q", last[len(last)-1].host, fx.addr)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		dir := certDir(t, fx.ca.pem, &fx.client)
		ep := parseOne(t, "tcp://"+fx.addr, Defaults{CertDir: dir})
		if _, err := newClient(t, ep).Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	t.Run("single files", func(t *testing.T) {
		dir := certDir(t, fx.ca.pem, &fx.client)
		ep := parseOne(t, fmt.Sprintf("tcp://%s?ca=%s&cert=%s&key=%s", fx.addr,
			filepath.Join(dir, caFile), filepath.Join(dir, certFile), filepath.Join(dir, keyFile)), Defaults{})
		if _, err := newClient(t, ep).Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})

	// Each refusal must come out as an error that says why.
	otherClient := fx.otherCA.client(t)
	refusals := []struct {
		name, dir, want string
	}{
		{"wrong CA", certDir(t, fx.otherCA.pem, &fx.client), "x509: certificate signed by unknown authority"},
		{"no client cert", certDir(t, fx.ca.pem, nil), "tls: certificate required"},
		// Go's client, as the daemon's, sends no certificate that the
		// server's list of acceptable CAs excludes.
		{"client cert of another CA", certDir(t, fx.ca.pem, &otherClient), "tls: certificate required"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			ep := parseOne(t, "tcp://"+fx.addr+"?certdir="+tt.dir, Defaults{})
			_, err := newClient(t, ep).Ping(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Ping error %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("plain HTTP to a TLS daemon", func(t *testing.T) {
		ep := parseOne(t, "tcp://"+fx.addr+"?tls=off", Defaults{})
		_, err := newClient(t, ep).ServerVersion(ctx)
		if err == nil || !strings.Contains(err.Error(), "Client sent an HTTP request to an HTTPS server") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestNewClientServerName(t *testing.T) {
	// The daemon's certificate names only dockerd.test, not 127.0.0.1.
	fx := newTLSFixture(t, func(ca *testCA) issued {
		return ca.issue(t, certSpec{cn: "dockerd", usage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, dns: []string{"dockerd.test"}})
	}, 0)
	dir := certDir(t, fx.ca.pem, &fx.client)
	ctx := ctxT(t)
	tests := []struct {
		query, want string
	}{
		{"", "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"},
		{"&servername=wrong.test", "x509: certificate is valid for dockerd.test, not wrong.test"},
		{"&servername=dockerd.test", ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			ep := parseOne(t, "tcp://"+fx.addr+"?certdir="+dir+tt.query, Defaults{})
			_, err := newClient(t, ep).Ping(ctx)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Ping: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Ping error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestNewClientMinTLS12: a daemon that offers at most TLS 1.1 is refused.
func TestNewClientMinTLS12(t *testing.T) {
	fx := newTLSFixture(t, nil, tls.VersionTLS11)
	ep := parseOne(t, "tcp://"+fx.addr+"?certdir="+certDir(t, fx.ca.pem, &fx.client), Defaults{})
	_, err := newClient(t, ep).Ping(ctxT(t))
	if err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("Ping error %v, want a protocol version error", err)
	}
	cfg, err := ep.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.InsecureSkipVerify {
		t.Errorf("MinVersion %x, InsecureSkipVerify %v", cfg.MinVersion, cfg.InsecureSkipVerify)
	}
}

func TestNegotiatedVersion(t *testing.T) {
	newest := api.DefaultVersion
	for _, c := range []struct{ daemon, want string }{
		{"1.41", "1.41"},  // Docker 20.10: the daemon's
		{"1.12", "1.12"},  // older still: the daemon's
		{"", "1.24"},      // a daemon that does not say, as the docker client
		{newest, newest},  // same version
		{"9.99", newest},  // newer than the client: the client's newest
		{"1.100", newest}, // compared as versions, not strings
	} {
		if got := NegotiatedVersion(c.daemon); got != c.want {
			t.Errorf("NegotiatedVersion(%q) = %q, want %q", c.daemon, got, c.want)
		}
	}
}
