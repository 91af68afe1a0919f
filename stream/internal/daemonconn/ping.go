// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package daemonconn

import (
	"context"
	"encoding/json"
	"errors"
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

// Ping sends GET /_ping (unversioned, like the client's own ping) on a
// connection of its own, closed after the answer: the liveness ping of a
// connected host, which must not leave a net/http connection's goroutines
// and buffers idle beside the stream between pings (docs/PERFORMANCE.md).
// Through a proxy from the environment, the request goes through hc, the
// client's HTTP client, which speaks CONNECT. It fails unless the daemon
// answers 200, or 500 as the docker client also accepts (a daemon up but
// unwell still streams events).
func Ping(ctx context.Context, ep hosts.Endpoint, d *hosts.Dialer, hc *http.Client) (Answer, error) {
	if d.Proxied() {
		return pingThrough(ctx, ep, hc, true)
	}
	req, err := ep.NewRequest(ctx, "", http.MethodGet, "/_ping", nil)
	if err != nil {
		return Answer{}, err
	}
	req.Close = true
	conn, err := d.Dial(ctx)
	if err != nil {
		return Answer{}, err
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	resp, _, err := exchange(conn, req)
	if err != nil {
		if ctx.Err() != nil {
			// The connection was closed under the read: say why.
			return Answer{}, ctx.Err()
		}
		return Answer{}, err
	}
	return answer(resp)
}

// PingKeep is Ping through hc, the client's HTTP client, whose connection
// stays open for the calls that follow (/info, the replay): the first call
// of a connection. Not the docker client's Ping, which hides why a daemon
// cannot be reached behind a generic "Is the docker daemon running?".
func PingKeep(ctx context.Context, ep hosts.Endpoint, hc *http.Client) (Answer, error) {
	return pingThrough(ctx, ep, hc, false)
}

func pingThrough(ctx context.Context, ep hosts.Endpoint, hc *http.Client, closeConn bool) (Answer, error) {
	req, err := ep.NewRequest(ctx, "", http.MethodGet, "/_ping", nil)
	if err != nil {
		return Answer{}, err
	}
	req.Close = closeConn
	resp, err := hc.Do(req)
	if err != nil {
		return Answer{}, unwrapURL(err)
	}
	return answer(resp)
}

// answer reads a ping's response.
func answer(resp *http.Response) (Answer, error) {
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

// unwrapURL drops net/http's `Get "http://%2Fvar%2Frun...": ` around
// the error of a request: the host is named by the event already.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
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
		return nil, unwrapURL(err)
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
