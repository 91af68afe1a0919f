// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package daemonconn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"syscall"

	"github.com/dockerfleet/dockerfleet/hosts"
)

// The live event stream has a connection of its own, read in the
// caller's goroutine: a net/http connection would add its read and write
// goroutines and their buffers to every idle host (docs/PERFORMANCE.md).
const (
	// headerBufferSize buffers the response headers only (dockerd's are
	// about 250 bytes; longer lines are assembled by textproto). It is
	// dropped once what it read past the headers was handed on.
	headerBufferSize = 1 << 10
	// maxHeaderBytes bounds the response headers, as net/http's transport
	// does by default.
	maxHeaderBytes = 1 << 20
	// maxChunkLine bounds a chunk-size line (extensions included) and a
	// trailer line, as net/http does.
	maxChunkLine = 4 << 10
)

// OpenEvents sends GET path?q on a connection of its own and returns the
// response body once the daemon answered 200 OK. Closing the body closes
// the connection; so does the end of ctx, at any time (a blocked dial,
// write or read then fails at once), until the body is closed.
func OpenEvents(ctx context.Context, ep hosts.Endpoint, d *hosts.Dialer, version, path string, q url.Values) (*Body, error) {
	req, err := ep.NewRequest(ctx, version, http.MethodGet, path, q)
	if err != nil {
		return nil, err
	}
	conn, err := d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	body, err := readResponse(conn, req, path)
	if err != nil {
		stop()
		conn.Close()
		return nil, err
	}
	body.stop = stop
	if sc, ok := conn.(syscall.Conn); ok {
		// A plain socket (not TLS, whose records are read and decrypted
		// in crypto/tls's own buffers): the reader can wait for data
		// without a buffer (WaitReadable).
		if raw, err := sc.SyscallConn(); err == nil {
			body.raw = raw
		}
	}
	return body, nil
}

// exchange writes req on conn and reads the response headers through a
// small buffer, which holds what was read past them.
func exchange(conn net.Conn, req *http.Request) (*http.Response, *bufio.Reader, error) {
	// The same request line and headers as the transport writes (Host,
	// User-Agent; no Accept-Encoding since the client disables
	// compression), in one write.
	var out bytes.Buffer
	if err := req.Write(&out); err != nil {
		return nil, nil, err
	}
	if _, err := conn.Write(out.Bytes()); err != nil {
		return nil, nil, err
	}
	limit := &headerLimit{r: conn, n: maxHeaderBytes}
	br := bufio.NewReaderSize(limit, headerBufferSize)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, nil, err
	}
	limit.n = math.MaxInt64 // the headers are read: the body is not bounded
	return resp, br, nil
}

// readResponse writes req (of path, unversioned, for errors) on conn and
// reads the response headers.
func readResponse(conn net.Conn, req *http.Request, path string) (*Body, error) {
	resp, br, err := exchange(conn, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, StatusError(path, resp)
	}
	b := &Body{conn: conn, pre: br}
	if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		// Not what dockerd sends, but valid HTTP: a body delimited by its
		// length or by the end of the connection, read through net/http's
		// own reader (and the header buffer).
		b.plain = resp.Body
	}
	return b, nil
}

// StatusError is the error of a response other than 200 OK, with the
// daemon's message when its body has one.
func StatusError(path string, resp *http.Response) error {
	defer resp.Body.Close()
	var msg struct{ Message string }
	_ = json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&msg)
	return fmt.Errorf("%s: daemon answered %s: %s", path, resp.Status, msg.Message)
}

// headerLimit fails reads past n bytes: a daemon sending endless headers.
type headerLimit struct {
	r io.Reader
	n int64
}

func (h *headerLimit) Read(p []byte) (int, error) {
	if h.n <= 0 {
		return 0, fmt.Errorf("response headers longer than %d bytes", maxHeaderBytes)
	}
	if int64(len(p)) > h.n {
		p = p[:h.n]
	}
	n, err := h.r.Read(p)
	h.n -= int64(n)
	return n, err
}

// Body is the body of a response read on a connection of its own.
// A chunked body (dockerd's) is decoded in place in the caller's buffer:
// the connection is read straight into it, so that the event data is
// neither buffered twice nor held in a buffer of its own while the host
// is idle.
type Body struct {
	conn  net.Conn
	stop  func() bool   // ends the context.AfterFunc that closes conn
	pre   *bufio.Reader // bytes read past the headers; nil once drained
	plain io.Reader     // a body that is not chunked: net/http's reader
	dec   chunkDecoder
	err   error           // sticky
	raw   syscall.RawConn // conn's socket, when it is a plain one; else nil
}

// WaitReadable waits until the body can be read without blocking: data,
// the end of the stream or an error has come. It reads nothing, so the
// caller needs no buffer while it waits: a fleet's idle hosts hold none
// (see lineReader). Without a plain socket under it, it returns at once;
// an error of the wait (the connection closed under it) is left to the
// Read that follows, which meets it too.
func (b *Body) WaitReadable() {
	if b.raw == nil || b.plain != nil || b.err != nil || (b.pre != nil && b.pre.Buffered() > 0) {
		return
	}
	var peek [1]byte
	_ = b.raw.Read(func(fd uintptr) bool {
		// false makes the runtime's poller wait until the socket is
		// readable, then ask again.
		_, _, err := syscall.Recvfrom(int(fd), peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return err != syscall.EAGAIN
	})
}

// Read reads decoded body bytes; io.EOF after the last chunk, and
// io.ErrUnexpectedEOF when the connection ends before it (as net/http).
func (b *Body) Read(p []byte) (int, error) {
	if b.plain != nil {
		return b.plain.Read(p)
	}
	if len(p) == 0 {
		return 0, b.err
	}
	for b.err == nil {
		var n int
		var err error
		if b.pre != nil && b.pre.Buffered() > 0 {
			n, err = b.pre.Read(p[:min(len(p), b.pre.Buffered())])
		} else {
			b.pre = nil // from now on the connection is read directly
			n, err = b.conn.Read(p)
		}
		data, derr := b.dec.decode(p[:n])
		switch {
		case derr != nil:
			b.err = derr
		case b.dec.done():
			b.err = io.EOF
		case err == io.EOF:
			b.err = io.ErrUnexpectedEOF
		case err != nil:
			b.err = err
		}
		if data > 0 {
			return data, nil // the error, if any, comes with the next read
		}
	}
	return 0, b.err
}

// Close closes the connection; it may be called more than once.
func (b *Body) Close() error {
	if b.stop != nil {
		b.stop()
	}
	b.conn.Close()
	return nil
}

// chunkDecoder decodes HTTP/1.1 chunked transfer coding (RFC 9112 7.1) in
// place, one buffer at a time, whatever the buffers' boundaries: a chunk
// header may be cut anywhere. Like net/http's reader, it requires CRLF
// after a chunk-size line and after the data, and skips extensions; it
// skips trailers (bare LF allowed there, as in headers).
type chunkDecoder struct {
	state  chunkState
	size   uint64 // chunk size being parsed, then data bytes left in it
	digits int    // hex digits of the size seen
	line   int    // bytes of the current chunk-size or trailer line
}

type chunkState uint8

const (
	chunkSize      chunkState = iota // hex digits of a chunk size
	chunkExt                         // the rest of a chunk-size line
	chunkSizeLF                      // LF after CR of a chunk-size line
	chunkData                        // size bytes of data
	chunkDataCR                      // CR after the data
	chunkDataLF                      // LF after the data
	chunkTrailer                     // start of a trailer line, or the final CRLF
	chunkTrailerLn                   // the rest of a trailer line
	chunkTrailerLF                   // LF of the final CRLF
	chunkDone                        // the last chunk and its trailers were read
)

func (d *chunkDecoder) done() bool { return d.state == chunkDone }

// decode decodes p in place: the data bytes it holds are moved to its
// start, and their count returned. Bytes past the end of the body are
// ignored.
func (d *chunkDecoder) decode(p []byte) (int, error) {
	o := 0
	for i := 0; i < len(p) && d.state != chunkDone; {
		if d.state == chunkData {
			k := len(p) - i
			if uint64(k) > d.size {
				k = int(d.size)
			}
			if o != i {
				copy(p[o:], p[i:i+k])
			}
			o, i = o+k, i+k
			if d.size -= uint64(k); d.size == 0 {
				d.state = chunkDataCR
			}
			continue
		}
		c := p[i]
		i++
		if err := d.step(c); err != nil {
			return o, err
		}
	}
	return o, nil
}

var errMalformedChunk = errors.New("malformed chunked encoding")

// step takes one byte of framing.
func (d *chunkDecoder) step(c byte) error {
	switch d.state {
	case chunkSize:
		d.line++
		switch {
		case hexDigit(c) >= 0:
			if d.digits == 16 {
				return errors.New("chunk length too large")
			}
			d.size = d.size<<4 | uint64(hexDigit(c))
			d.digits++
		case d.digits == 0:
			return errors.New("malformed chunked encoding: no chunk length")
		case c == '\r':
			d.state = chunkSizeLF
		case c == ';' || c == ' ' || c == '\t':
			d.state = chunkExt
		default:
			return errors.New("malformed chunked encoding: invalid byte in chunk length")
		}
	case chunkExt:
		if d.line++; d.line > maxChunkLine {
			return errors.New("malformed chunked encoding: chunk line too long")
		}
		switch c {
		case '\r':
			d.state = chunkSizeLF
		case '\n':
			return errors.New("malformed chunked encoding: chunk line ends with bare LF")
		}
	case chunkSizeLF:
		// CRLF only, as net/http: RFC 9112 does not allow a bare LF
		// (nor a lone CR) in chunk lines.
		if c != '\n' {
			return errors.New("malformed chunked encoding: invalid CR in chunk line")
		}
		d.endSizeLine()
	case chunkDataCR:
		if c != '\r' {
			return errMalformedChunk
		}
		d.state = chunkDataLF
	case chunkDataLF:
		if c != '\n' {
			return errMalformedChunk
		}
		d.state, d.size, d.digits, d.line = chunkSize, 0, 0, 0
	case chunkTrailer:
		switch c {
		case '\r':
			d.state = chunkTrailerLF
		case '\n':
			d.state = chunkDone
		default:
			d.state, d.line = chunkTrailerLn, 1
		}
	case chunkTrailerLn:
		if d.line++; d.line > maxChunkLine {
			return errors.New("malformed chunked encoding: trailer line too long")
		}
		if c == '\n' {
			d.state = chunkTrailer
		}
	case chunkTrailerLF:
		if c != '\n' {
			return errMalformedChunk
		}
		d.state = chunkDone
	}
	return nil
}

// endSizeLine starts the chunk whose size was read: data, or the trailers
// after the last (empty) chunk.
func (d *chunkDecoder) endSizeLine() {
	if d.size == 0 {
		d.state = chunkTrailer
		return
	}
	d.state = chunkData
}

// hexDigit is the value of a hex digit, -1 for another byte.
func hexDigit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
