// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package daemonconn

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dockerfleet/dockerfleet/hosts"
)

// Answer is what a daemon's /_ping tells.
type Answer struct {
	Status     int
	APIVersion string    // the Api-Version header: the daemon's newest
	Date       time.Time // the Date header: the daemon's clock; zero if absent
}

// Ping sends GET /_ping (unversioned, like the client's own ping) and
// fails unless the daemon answers 200, or 500 as the client also accepts
// (a daemon up but unwell still streams events). The connection is its
// own, closed after the answer, unless the endpoint is reached through a
// proxy from the environment: then the request goes through hc, the
// client's HTTP client, which speaks CONNECT.
//
// Not the client's Ping: it hides why a daemon cannot be reached behind a
// generic "Is the docker daemon running?", and its connection, kept idle
// in the client's pool, would cost every host a net/http connection's
// goroutines and buffers between pings (docs/PERFORMANCE.md).
func Ping(ctx context.Context, ep hosts.Endpoint, d *hosts.Dialer, hc *http.Client) (Answer, error) {
	req, err := ep.NewRequest(ctx, "", http.MethodGet, "/_ping", nil)
	if err != nil {
		return Answer{}, err
	}
	req.Close = true
	var resp *http.Response
	if d.Proxied() {
		if resp, err = hc.Do(req); err != nil {
			return Answer{}, err
		}
	} else {
		conn, err := d.Dial(ctx)
		if err != nil {
			return Answer{}, err
		}
		defer conn.Close()
		defer context.AfterFunc(ctx, func() { conn.Close() })()
		if resp, _, err = exchange(conn, req); err != nil {
			if ctx.Err() != nil {
				// The connection was closed under the read: say why.
				return Answer{}, ctx.Err()
			}
			return Answer{}, err
		}
	}
	// "OK", or an error text: read a little so that the daemon's write
	// does not fail, and no more.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	resp.Body.Close()
	date, _ := http.ParseTime(resp.Header.Get("Date"))
	a := Answer{Status: resp.StatusCode, APIVersion: resp.Header.Get("Api-Version"), Date: date}
	if a.Status != http.StatusOK && a.Status != http.StatusInternalServerError {
		return a, fmt.Errorf("daemon answered %d %s: %s", a.Status, http.StatusText(a.Status), message(body))
	}
	return a, nil
}

// Get sends GET path?q, at API version, through hc (the client's HTTP
// client) and fails unless the daemon answers 200 OK.
func Get(ctx context.Context, ep hosts.Endpoint, hc *http.Client, version, path string, q url.Values) (*http.Response, error) {
	req, err := ep.NewRequest(ctx, version, http.MethodGet, path, q)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, StatusError(path, resp)
	}
	return resp, nil
}

// message is what an error answer says: the daemon's JSON message, else
// the text as sent (a TLS port answering plain HTTP says so in text).
func message(body []byte) string {
	var m struct{ Message string }
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		return m.Message
	}
	return strings.TrimSpace(string(body))
}
