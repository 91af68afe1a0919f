// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/internal/dockerd"
)

// TestLiveDaemon drives a real, throwaway dockerd through a container's
// life, reads the raw lines of its /events, and checks that every line
// builds, and that every field and the string form agree with moby's own
// decoding of the same line.
func TestLiveDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real dockerd")
	}
	d := dockerd.Start(t, dockerd.Options{})
	docker := func(args ...string) string {
		t.Helper()
		out, err := d.Docker(args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	since := time.Now().Add(-time.Second)
	if _, err := d.ImportBusybox("busybox:live"); err != nil {
		t.Fatal(err)
	}
	id, err := d.Create("--name", "live-one", "--label", "com.example.team=payments",
		"--label", `com.example.note=say "hi"`, "busybox:live", "sleep", "600")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.StartContainer(id); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(id, "sh", "-c", "true"); err != nil {
		t.Fatal(err)
	}
	docker("kill", "--signal", "KILL", id)
	failing, err := d.Run("--name", "live-two", "busybox:live", "sh", "-c", "exit 3")
	if err != nil {
		t.Fatal(err)
	}
	docker("wait", failing)
	docker("rm", id, failing)
	docker("volume", "create", "--label", "com.example.team=storage", "live-vol")
	docker("volume", "rm", "live-vol")
	docker("rmi", "busybox:live")
	until := time.Now().Add(time.Second)

	lines := rawEvents(t, d.Endpoint(), since, until)
	seen := map[string]string{} // "type action" -> the exit code or signal seen
	for _, line := range lines {
		var m events.Message
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("moby cannot decode %s: %v", line, err)
		}
		p, meta, err := payload.Build(nil, d.Name(), line)
		if err != nil {
			t.Fatalf("Build(%s): %v", line, err)
		}
		if meta.TimeNano != m.TimeNano {
			t.Errorf("Meta.TimeNano = %d, want %d", meta.TimeNano, m.TimeNano)
		}
		ev, err := payload.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, fe := range Fields() {
			if fe.Arg.IsKey {
				continue
			}
			got, gotOK := extract(t, &ev, fe.Name)
			want, wantOK := oracle(d.Name(), m, fe.Name)
			if gotOK != wantOK || (wantOK && got != want) {
				t.Errorf("%s of %s: got %q, %v, want %q, %v", fe.Name, line, got, gotOK, want, wantOK)
			}
		}
		for k, v := range m.Actor.Attributes {
			if got, ok := extract(t, &ev, "docker.attributes["+k+"]"); !ok || got != v {
				t.Errorf("docker.attributes[%s] = %q, %v, want %q", k, got, ok, v)
			}
		}
		if got, want := String(&ev), cliLine(d.Name(), m); got != want {
			t.Errorf("String\n got %s\nwant %s", got, want)
		}
		action, _, _ := strings.Cut(string(m.Action), ":")
		exit, _ := extract(t, &ev, "docker.attributes.exitcode")
		signal, _ := extract(t, &ev, "docker.attributes.signal")
		seen[string(m.Type)+" "+action] += exit + signal + ";"
	}
	// What a rule writer relies on, from the real daemon.
	for key, want := range map[string]string{
		"container die":        "3;", // live-two exits 3 (live-one is killed: 137)
		"container kill":       "9;",
		"container exec_start": ";",
		"container exec_die":   "0;",
		"volume create":        ";",
		"image delete":         ";",
	} {
		if !strings.Contains(seen[key], want) {
			t.Errorf("%s: saw %q, want it to contain %q (all: %v)", key, seen[key], want, seen)
		}
	}
	if !strings.Contains(seen["container die"], "137;") {
		t.Errorf("container die of the killed container: saw %q", seen["container die"])
	}
}

// rawEvents reads GET /events?since&until from a unix-socket daemon and
// returns its lines as sent.
func rawEvents(t *testing.T, endpoint string, since, until time.Time) [][]byte {
	t.Helper()
	sock, ok := strings.CutPrefix(endpoint, "unix://")
	if !ok {
		t.Fatalf("endpoint %s is not a unix socket", endpoint)
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", sock)
		},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://docker/events?since=%d.%09d&until=%d.%09d",
		since.Unix(), since.Nanosecond(), until.Unix(), until.Nanosecond())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /events: %s", resp.Status)
	}
	var lines [][]byte
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), payload.MaxLineLen)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			lines = append(lines, bytes.Clone(l))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(lines) < 10 {
		t.Fatalf("only %d events from the daemon", len(lines))
	}
	return lines
}
