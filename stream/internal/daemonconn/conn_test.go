// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package daemonconn

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/hosts"
)

// chunked frames body as chunks of random sizes, with the variations
// net/http's reader accepts: extensions, upper-case hex, trailers.
func chunked(r *rand.Rand, body []byte) []byte {
	var b bytes.Buffer
	for len(body) > 0 {
		n := min(1+r.IntN(700), len(body))
		switch r.IntN(4) {
		case 0:
			fmt.Fprintf(&b, "%x;ext=1\r\n", n)
		case 1:
			fmt.Fprintf(&b, "%X\r\n", n)
		default:
			fmt.Fprintf(&b, "%x\r\n", n)
		}
		b.Write(body[:n])
		b.WriteString("\r\n")
		body = body[n:]
	}
	b.WriteString("0\r\n")
	if r.IntN(2) == 0 {
		b.WriteString("X-Trailer: yes\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// decodeInPieces runs a chunkDecoder over wire cut at random places, the
// way Body feeds it.
func decodeInPieces(r *rand.Rand, wire []byte) ([]byte, bool, error) {
	var d chunkDecoder
	var out []byte
	for len(wire) > 0 && !d.done() {
		n := min(1+r.IntN(50), len(wire))
		if r.IntN(4) == 0 {
			n = len(wire)
		}
		piece := append([]byte(nil), wire[:n]...)
		wire = wire[n:]
		k, err := d.decode(piece)
		out = append(out, piece[:k]...)
		if err != nil {
			return out, false, err
		}
	}
	return out, d.done(), nil
}

func TestChunkDecoderMatchesNetHTTP(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		body := make([]byte, r.IntN(5000))
		for j := range body {
			body[j] = byte(r.IntN(256))
		}
		wire := chunked(r, body)
		want, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(wire)))
		if err != nil || !bytes.Equal(want, body) {
			t.Fatalf("case %d: net/http's reader: %v", i, err)
		}
		got, done, err := decodeInPieces(r, append(wire, "GET / HTTP/1.1\r\n"...)) // what follows is ignored
		if err != nil || !done || !bytes.Equal(got, body) {
			t.Fatalf("case %d: err %v, done %v, %d bytes, want %d", i, err, done, len(got), len(body))
		}
	}
}

func TestChunkDecoderRefusesMalformed(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		wire     string
		netHTTPs bool // net/http's chunked reader refuses it too (it does not read trailers)
	}{
		{"5\r\nhelloXX0\r\n\r\n", true},                                // no CRLF after the data
		{"5\r\nhello\n0\r\n\r\n", true},                                // LF alone after the data
		{"5\nhello\r\n0\r\n\r\n", true},                                // bare LF after the size
		{"5;x\nhello\r\n0\r\n\r\n", true},                              // bare LF after an extension
		{"5\rhello\r\n0\r\n\r\n", true},                                // CR without LF
		{"g\r\n", true},                                                // not hex
		{"\r\n", true},                                                 // no length
		{";x\r\n", true},                                               // no length
		{"11111111111111111\r\n", true},                                // 17 digits
		{"1;" + strings.Repeat("x", 5000) + "\r\n", true},              // endless extension
		{"0\r\n\rX", false},                                            // CR without LF at the end
		{"0\r\nX-T: " + strings.Repeat("x", 5000) + "\r\n\r\n", false}, // endless trailer
	} {
		_, netErr := io.ReadAll(httputil.NewChunkedReader(strings.NewReader(tc.wire)))
		_, _, err := decodeInPieces(r, []byte(tc.wire))
		if err == nil || (tc.netHTTPs && netErr == nil) {
			t.Errorf("%.40q: error %v, net/http's %v", tc.wire, err, netErr)
		}
	}
}

// rawDaemon serves each connection of a unix socket with handle, and
// returns its endpoint.
func rawDaemon(t *testing.T, handle func(c net.Conn, req *http.Request)) hosts.Endpoint {
	t.Helper()
	sock := filepath.Join(shortTemp(t), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				handle(c, req)
			}()
		}
	}()
	return unixEndpoint("raw", "unix://"+sock, sock)
}

func dialer(t *testing.T, ep hosts.Endpoint) *hosts.Dialer {
	t.Helper()
	d, err := ep.NewDialer()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const okChunked = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.47\r\nTransfer-Encoding: chunked\r\n\r\n"

func TestDialEventsSendsTheClientsRequest(t *testing.T) {
	seen := make(chan *http.Request, 2)
	ep := rawDaemon(t, func(c net.Conn, req *http.Request) {
		seen <- req
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	})
	q := url.Values{"since": {"1.000000002"}, "filters": {`{"type":["container"]}`}}
	body, err := OpenEvents(context.Background(), ep, dialer(t, ep), "1.47", "/events", q)
	if err != nil {
		t.Fatal(err)
	}
	body.Close()
	direct := <-seen
	// What the client's net/http transport sends for the same request.
	cli, err := ep.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	req, err := ep.NewRequest(context.Background(), "1.47", http.MethodGet, "/events", q)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cli.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	viaClient := <-seen
	if direct.RequestURI != viaClient.RequestURI || direct.Host != viaClient.Host || direct.Proto != "HTTP/1.1" {
		t.Errorf("request %s %s %s, the client's %s %s", direct.RequestURI, direct.Host, direct.Proto, viaClient.RequestURI, viaClient.Host)
	}
	if fmt.Sprint(direct.Header) != fmt.Sprint(viaClient.Header) {
		t.Errorf("headers %v, the client's %v", direct.Header, viaClient.Header)
	}
	if direct.RequestURI != "/v1.47/events?"+q.Encode() || direct.Host != "api.moby.localhost" || direct.UserAgent() != hosts.UserAgent {
		t.Errorf("request %s, Host %s, User-Agent %s", direct.RequestURI, direct.Host, direct.UserAgent())
	}
}

// TestDialEventsReadsChunkedBody: dockerd's chunks, written in odd pieces
// (a header cut in two, data and framing in one write), come out as the
// body; its end is io.EOF, a connection cut before it is
// io.ErrUnexpectedEOF.
func TestDialEventsReadsChunkedBody(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var events bytes.Buffer
	for i := range 200 {
		fmt.Fprintf(&events, `{"Type":"container","Action":"start","seq":%d,"pad":%q}`+"\n", i, strings.Repeat("x", r.IntN(3000)))
	}
	wire := chunked(r, events.Bytes())
	for _, tc := range []struct {
		name    string
		cut     bool
		wantErr error
	}{{"whole", false, io.EOF}, {"cut", true, io.ErrUnexpectedEOF}} {
		t.Run(tc.name, func(t *testing.T) {
			ep := rawDaemon(t, func(c net.Conn, _ *http.Request) {
				r := rand.New(rand.NewPCG(7, 8)) // the test's own is read meanwhile
				w := append([]byte(okChunked), wire...)
				if tc.cut {
					w = w[:len(w)-7]
				}
				for len(w) > 0 {
					n := min(1+r.IntN(9000), len(w))
					if _, err := c.Write(w[:n]); err != nil {
						return
					}
					w = w[n:]
					time.Sleep(time.Duration(r.IntN(2)) * time.Millisecond)
				}
			})
			body, err := OpenEvents(context.Background(), ep, dialer(t, ep), "1.47", "/events", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer body.Close()
			var got []byte
			buf := make([]byte, 4096)
			for {
				n, err := body.Read(buf[:1+r.IntN(len(buf))])
				got = append(got, buf[:n]...)
				if err != nil {
					if err != tc.wantErr {
						t.Fatalf("error %v, want %v", err, tc.wantErr)
					}
					break
				}
			}
			want := events.Bytes()
			if tc.cut {
				want = want[:len(got)]
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("body differs: %d bytes, want %d", len(got), len(events.Bytes()))
			}
		})
	}
}

// TestDialEventsReadsPlainBody: a body that is not chunked (valid HTTP,
// not dockerd's) is read to its end, past the bound of the headers.
func TestDialEventsReadsPlainBody(t *testing.T) {
	line := strings.Repeat("x", 1000) + "\n"
	const lines = 2000 // 2 MB: past maxHeaderBytes
	ep := rawDaemon(t, func(c net.Conn, _ *http.Request) {
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
		for range lines {
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
		}
	})
	body, err := OpenEvents(context.Background(), ep, dialer(t, ep), "1.47", "/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	n, err := io.Copy(io.Discard, body)
	if err != nil || n != int64(lines*len(line)) {
		t.Fatalf("read %d bytes, want %d: %v", n, lines*len(line), err)
	}
}

func TestDialEventsNon200(t *testing.T) {
	ep := rawDaemon(t, func(c net.Conn, _ *http.Request) {
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"10\r\n{\"message\":\"bad \r\n9\r\nfilters\"}\r\n0\r\n\r\n")
	})
	_, err := OpenEvents(context.Background(), ep, dialer(t, ep), "1.47", "/events", nil)
	if want := "/events: daemon answered 400 Bad Request: bad filters"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

// TestDialEventsEndsWithContext: a daemon that never answers, or stops
// writing, holds the stream only until its context ends, and the
// connection is closed then.
func TestDialEventsEndsWithContext(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers bool
	}{{"no headers", false}, {"mid-read", true}} {
		t.Run(tc.name, func(t *testing.T) {
			closed := make(chan struct{})
			ep := rawDaemon(t, func(c net.Conn, _ *http.Request) {
				if tc.headers {
					io.WriteString(c, okChunked+"3\r\n{}\n\r\n")
				}
				io.Copy(io.Discard, c) // until the client closes
				close(closed)
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ended := make(chan error, 1)
			go func() {
				body, err := OpenEvents(ctx, ep, dialer(t, ep), "1.47", "/events", nil)
				if err != nil {
					ended <- err
					return
				}
				defer body.Close()
				b, err := io.ReadAll(body)
				if string(b) != "{}\n" {
					err = fmt.Errorf("read %q before: %v", b, err)
				}
				ended <- err
			}()
			time.Sleep(100 * time.Millisecond)
			select {
			case err := <-ended:
				t.Fatalf("ended before its context: %v", err)
			default:
			}
			cancel()
			select {
			case err := <-ended:
				if err == nil || strings.Contains(err.Error(), "read \"") {
					t.Fatalf("error %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("still reading 5 s after the context ended")
			}
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatal("connection still open")
			}
		})
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// TestDialEventsCloseLeavesNothing: a stream opened and closed leaves no
// goroutine and no file descriptor behind.
func TestDialEventsCloseLeavesNothing(t *testing.T) {
	ep := rawDaemon(t, func(c net.Conn, _ *http.Request) {
		io.WriteString(c, okChunked+"3\r\n{}\n\r\n")
		io.Copy(io.Discard, c)
	})
	open := func() {
		body, err := OpenEvents(context.Background(), ep, dialer(t, ep), "1.47", "/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		if n, err := body.Read(buf); err != nil || string(buf[:n]) != "{}\n" {
			t.Fatalf("read %q %v", buf[:n], err)
		}
		body.Close()
		body.Close() // twice is fine
	}
	open() // warm up whatever the runtime starts once
	time.Sleep(50 * time.Millisecond)
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)
	for range 20 {
		open()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, fd := runtime.NumGoroutine(), openFDs(t)
		if g <= g0 && fd <= fd0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines %d -> %d, fds %d -> %d", g0, g, fd0, fd)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDialEventsRefusesEndlessHeaders(t *testing.T) {
	ep := rawDaemon(t, func(c net.Conn, _ *http.Request) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		line := "X-Pad: " + strings.Repeat("p", 1000) + "\r\n"
		for range 2000 {
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
		}
	})
	_, err := OpenEvents(context.Background(), ep, dialer(t, ep), "1.47", "/events", nil)
	if err == nil || !strings.Contains(err.Error(), "response headers longer than") {
		t.Fatalf("error %v", err)
	}
}

// WaitReadable returns once data came, and reads none of it; and it ends
// when the context closes the connection under it.
func TestEventsBodyWaitsForDataWithoutReadingIt(t *testing.T) {
	send := make(chan string)
	ep := rawDaemon(t, func(c net.Conn, _ *http.Request) {
		io.WriteString(c, okChunked)
		for s := range send {
			io.WriteString(c, s)
		}
		io.Copy(io.Discard, c) // until the client closes
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body, err := OpenEvents(ctx, ep, dialer(t, ep), "1.47", "/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	eb := body
	if eb.raw == nil {
		t.Fatal("a unix socket's body cannot wait for data")
	}
	waited := make(chan struct{})
	go func() {
		eb.WaitReadable()
		close(waited)
	}()
	select {
	case <-waited:
		t.Fatal("WaitReadable returned before any data came")
	case <-time.After(100 * time.Millisecond):
	}
	send <- "3\r\n{}\n\r\n"
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("WaitReadable still waiting 5 s after data came")
	}
	buf := make([]byte, 16)
	if n, err := body.Read(buf); err != nil || string(buf[:n]) != "{}\n" {
		t.Fatalf("read %q, %v after the wait; want the whole chunk", buf[:n], err)
	}
	go func() {
		eb.WaitReadable()
		close(send)
	}()
	time.Sleep(50 * time.Millisecond)
	cancel() // closes the connection: the wait ends
	select {
	case <-send:
	case <-time.After(5 * time.Second):
		t.Fatal("WaitReadable still waiting 5 s after its context ended")
	}
	if _, err := body.Read(buf); err == nil {
		t.Fatal("read after the context ended: no error")
	}
}

// shortTemp is a temporary directory with a path short enough for a socket.
func shortTemp(t *testing.T) string {
	d, err := os.MkdirTemp("", "dfc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func unixEndpoint(name, url, path string) hosts.Endpoint {
	return hosts.Endpoint{Name: name, URL: url, Scheme: "unix", Address: path}
}

// TestPingSaysWhatTheDaemonAnswered: an answer other than 200 or 500 is
// an error that quotes the daemon (a TLS port answering plain HTTP says
// so in text, dockerd in JSON).
func TestPingSaysWhatTheDaemonAnswered(t *testing.T) {
	for _, tt := range []struct{ resp, want string }{
		{"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n", "daemon answered 400 Bad Request: Client sent an HTTP request to an HTTPS server."},
		{"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 29\r\n\r\n{\"message\":\"page not found\"}\n", "daemon answered 404 Not Found: page not found"},
	} {
		ep := rawDaemon(t, func(c net.Conn, _ *http.Request) { io.WriteString(c, tt.resp) })
		_, err := Ping(context.Background(), ep, dialer(t, ep), nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("error %v, want %q", err, tt.want)
		}
	}
	ep := rawDaemon(t, func(c net.Conn, _ *http.Request) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nDate: Mon, 07 Dec 2026 16:00:00 GMT\r\nContent-Length: 2\r\n\r\nOK")
	})
	a, err := Ping(context.Background(), ep, dialer(t, ep), nil)
	if err != nil || a.APIVersion != "1.41" || !a.Date.Equal(time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("answer %+v, %v", a, err)
	}
}
