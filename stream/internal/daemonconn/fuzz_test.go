// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package daemonconn

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http/httputil"
	"testing"
)

// FuzzChunkDecoder feeds the chunked-body decoder of the live stream
// (conn.go) whatever a daemon, or anything posing as one, could send, cut
// into reads at places chosen by the fuzzer. It must never panic nor give
// more bytes than it read; and whenever net/http's chunked reader decodes
// the body, it must give the same bytes. (net/http's reader stops at the
// last chunk and leaves the trailers to the response's reader: whether
// they are whole is not part of the comparison.)
func FuzzChunkDecoder(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), uint64(1))
	f.Add([]byte("1f4\r\n"+string(bytes.Repeat([]byte("x"), 500))+"\r\n0\r\n\r\n"), uint64(7))
	f.Add([]byte("3;ext=1\r\nabc\r\n0\r\nX-T: v\r\n\r\n"), uint64(2))
	f.Add([]byte("5\nhello\r\n0\r\n\r\n"), uint64(3))
	f.Add([]byte("ffffffffffffffff\r\n"), uint64(4))
	f.Fuzz(func(t *testing.T, wire []byte, seed uint64) {
		got, done, err := decodeInPieces(rand.New(rand.NewPCG(seed, seed>>1)), wire)
		if len(got) > len(wire) {
			t.Fatalf("decoded %d bytes out of %d", len(got), len(wire))
		}
		want, netErr := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(wire)))
		if netErr != nil {
			return // net/http refuses it, or it is cut short: no oracle
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("net/http decodes %q; this decoder: %q, done %v, err %v", want, got, done, err)
		}
	})
}
