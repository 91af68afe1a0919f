// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// TestRealDaemons: NewClient and NewRequest against real dockerd instances,
// one on a unix socket and one on tcp with mutual TLS: version negotiation,
// the raw event stream delivering an event we cause, and refusals of bad
// TLS material with the errors a user would see.
func TestRealDaemons(t *testing.T) {
	dockerd.Require(t)
	var unixD, tlsD *dockerd.Daemon
	var wg sync.WaitGroup
	wg.Go(func() { unixD = dockerd.Start(t, dockerd.Options{}) })
	wg.Go(func() { tlsD = dockerd.Start(t, dockerd.Options{TLS: true}) })
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	certs := tlsD.Certs()

	for _, tt := range []struct {
		name, params string
		d            *dockerd.Daemon
	}{
		{"unix", unixD.Endpoint() + "?name=local", unixD},
		{"tcp+mTLS certdir", tlsD.Endpoint() + "?name=web-1&certdir=" + certs.Dir, tlsD},
		{"tcp+mTLS files", tlsD.Endpoint() + "?name=web-2&ca=" + certs.CA + "&cert=" + certs.Cert + "&key=" + certs.Key, tlsD},
	} {
		t.Run(tt.name, func(t *testing.T) {
			eps, err := hosts.Parse(tt.params, hosts.Defaults{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ep := eps[0]
			cli, err := ep.NewClient()
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			v, err := cli.ServerVersion(ctx)
			if err != nil {
				t.Fatalf("ServerVersion: %v", err)
			}
			if cli.ClientVersion() != v.APIVersion {
				t.Errorf("negotiated %q, daemon speaks %q", cli.ClientVersion(), v.APIVersion)
			}

			sctx, stop := context.WithCancel(ctx)
			defer stop()
			q := url.Values{"filters": {`{"type":["volume"]}`}}
			req, err := ep.NewRequest(sctx, cli.ClientVersion(), http.MethodGet, "/events", q)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := cli.HTTPClient().Do(req)
			if err != nil {
				t.Fatalf("GET /events: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /events: %s", resp.Status)
			}
			name := "vol-" + strings.ReplaceAll(tt.name, " ", "-")
			name = strings.ReplaceAll(name, "+", "-")
			if _, err := tt.d.Docker("volume", "create", name); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
			if err != nil {
				t.Fatalf("reading /events: %v", err)
			}
			var ev struct {
				Type, Action string
				Actor        struct{ ID string }
			}
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatalf("event %q: %v", line, err)
			}
			if ev.Type != "volume" || ev.Action != "create" || ev.Actor.ID != name {
				t.Errorf("event %s, want volume create %s", line, name)
			}
		})
	}

	refusals := []struct {
		name, query, want string
	}{
		{"client cert of another CA", "ca=" + certs.CA + "&cert=" + certs.OtherCert + "&key=" + certs.OtherKey, "remote error: tls: bad certificate"},
		{"no client cert", "ca=" + certs.CA, "remote error: tls: bad certificate"},
		{"daemon not signed by our CA", "certdir=" + certs.OtherDir, "x509: certificate signed by unknown authority"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			eps, err := hosts.Parse(tlsD.Endpoint()+"?"+tt.query, hosts.Defaults{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			cli, err := eps[0].NewClient()
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			_, err = cli.ServerVersion(ctx)
			t.Logf("refused: %v", err)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ServerVersion error %v, want %q", err, tt.want)
			}
		})
	}
}
