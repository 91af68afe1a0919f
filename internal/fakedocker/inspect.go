// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package fakedocker

import (
	"bytes"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// InspectMode is how the Server answers GET /containers/{id}/json,
// /exec/{id}/json and /images/{id}/json: the hostile answers a real daemon
// does not give.
type InspectMode int32

const (
	// InspectNotFound answers 404, as for a container already gone (the
	// default).
	InspectNotFound InspectMode = iota
	// InspectOK answers a privileged container with the host's / mounted
	// (or an exec as root, or an image), after the inspect delay.
	InspectOK
	// InspectHang never answers (until the request is cancelled).
	InspectHang
	// InspectGarbage answers 200 with bytes that are not JSON.
	InspectGarbage
	// InspectHuge answers 200 with a 10 MB JSON body.
	InspectHuge
)

// HugeInspectLen is the size of an InspectHuge answer.
const HugeInspectLen = 10 << 20

// inspectState is the inspect behaviour of a Server.
type inspectState struct {
	mode     atomic.Int32
	delay    atomic.Int64 // ns before an InspectOK answer
	requests atomic.Uint64
}

// SetInspect sets how inspects are answered, and the delay of InspectOK.
func (s *Server) SetInspect(mode InspectMode, delay time.Duration) {
	s.insp.mode.Store(int32(mode))
	s.insp.delay.Store(int64(delay))
}

// InspectRequests counts the inspect requests received since New.
func (s *Server) InspectRequests() uint64 { return s.insp.requests.Load() }

// OKContainerAnswer is the InspectOK answer for a container (%ID% is its ID).
const OKContainerAnswer = `{"Id":"%ID%","Path":"sh","Args":["-c","sleep 60"],"Image":"sha256:0123","AppArmorProfile":"",` +
	`"Config":{"User":"","Image":"busybox:1.36"},"HostConfig":{"Privileged":true,"PidMode":"host","NetworkMode":"none",` +
	`"CapAdd":["SYS_ADMIN"],"SecurityOpt":["seccomp=unconfined"],"RestartPolicy":{"Name":"no"}},` +
	`"Mounts":[{"Type":"bind","Source":"/","Destination":"/host","Mode":"","RW":true,"Propagation":"rprivate"}]}`

const okExec = `{"ID":"%ID%","ProcessConfig":{"user":"0","privileged":true,"tty":true,"entrypoint":"sh","arguments":["-i"]}}`

const okImage = `{"Id":"%ID%","RepoDigests":["busybox@sha256:abcd"],"Config":{"User":"nobody"}}`

// serveInspect answers an inspect path; false for any other path.
func (s *Server) serveInspect(w http.ResponseWriter, r *http.Request, p string) bool {
	var body string
	var id string
	switch {
	case strings.HasPrefix(p, "/containers/") && strings.HasSuffix(p, "/json"):
		body, id = OKContainerAnswer, strings.TrimSuffix(strings.TrimPrefix(p, "/containers/"), "/json")
	case strings.HasPrefix(p, "/exec/") && strings.HasSuffix(p, "/json"):
		body, id = okExec, strings.TrimSuffix(strings.TrimPrefix(p, "/exec/"), "/json")
	case strings.HasPrefix(p, "/images/") && strings.HasSuffix(p, "/json"):
		body, id = okImage, strings.TrimSuffix(strings.TrimPrefix(p, "/images/"), "/json")
	default:
		return false
	}
	if r.Method != http.MethodGet {
		return false
	}
	s.insp.requests.Add(1)
	switch InspectMode(s.insp.mode.Load()) {
	case InspectOK:
		if d := time.Duration(s.insp.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return true
			case <-s.closed:
				return true
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(strings.ReplaceAll(body, "%ID%", id)))
	case InspectHang:
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
	case InspectGarbage:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{\"Id\": <<garbage>>"))
	case InspectHuge:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"Id":"` + id + `","Junk":"`))
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for n := 0; n < HugeInspectLen; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return true
			}
		}
		_, _ = w.Write([]byte(`"}`))
	default:
		writeError(w, http.StatusNotFound, "No such container: "+id)
	}
	return true
}
