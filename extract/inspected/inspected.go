// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package inspected is the enrichment context an event payload carries
// (payload.Extra.Context): what the event's daemon said about the
// container, the exec and itself when asked (docker inspect, /info,
// /version). The stream encodes each part once per container, exec or
// connection and joins the encoded parts per event (Append); extract
// decodes a context once per event (Decode). Compact JSON keeps the format
// readable in captures and versionable by adding keys; environment
// variables are never part of it (secrets).
package inspected

import (
	"encoding/json"
	"fmt"
)

// Context is a decoded enrichment context; a nil part was not asked for.
type Context struct {
	Daemon    *Daemon    `json:"d,omitempty"`
	Container *Container `json:"c,omitempty"`
	Exec      *Exec      `json:"e,omitempty"`
}

// Container summarises GET /containers/{id}/json (and its image's
// /images/{id}/json) for the fields and rules. Inspected false means the
// inspect failed: Error says why and the other fields are empty.
type Container struct {
	Inspected       bool     `json:"ok"`
	Error           string   `json:"err,omitempty"`
	Privileged      bool     `json:"priv,omitempty"`
	User            string   `json:"user,omitempty"`
	Cmdline         string   `json:"cmd,omitempty"`
	ImageID         string   `json:"iid,omitempty"`
	ImageRepository string   `json:"repo,omitempty"`
	ImageTag        string   `json:"tag,omitempty"`
	ImageDigest     string   `json:"dig,omitempty"`
	Mounts          []Mount  `json:"mnt,omitempty"`
	HostPID         bool     `json:"hpid,omitempty"`
	HostNetwork     bool     `json:"hnet,omitempty"`
	HostIPC         bool     `json:"hipc,omitempty"`
	HostUTS         bool     `json:"huts,omitempty"`
	HostUserNS      bool     `json:"husr,omitempty"`
	NetworkMode     string   `json:"net,omitempty"`
	CapAdd          []string `json:"capa,omitempty"`
	CapDrop         []string `json:"capd,omitempty"`
	SecurityOpt     []string `json:"sec,omitempty"`
	Seccomp         string   `json:"scmp,omitempty"`
	AppArmor        string   `json:"aa,omitempty"`
	NoNewPrivileges bool     `json:"nnp,omitempty"`
	ReadonlyRootfs  bool     `json:"ro,omitempty"`
	Devices         []string `json:"dev,omitempty"`
	Ports           []string `json:"port,omitempty"`
	PublishedPorts  []string `json:"pport,omitempty"`
	RestartPolicy   string   `json:"rst,omitempty"`
}

// Mount is one mount of a container.
type Mount struct {
	Type        string `json:"t,omitempty"`
	Source      string `json:"s,omitempty"`
	Dest        string `json:"d,omitempty"`
	Mode        string `json:"m,omitempty"`
	RW          bool   `json:"rw,omitempty"`
	Propagation string `json:"p,omitempty"`
}

// Exec summarises GET /exec/{id}/json.
type Exec struct {
	Inspected  bool   `json:"ok"`
	Error      string `json:"err,omitempty"`
	User       string `json:"user,omitempty"`
	Privileged bool   `json:"priv,omitempty"`
	TTY        bool   `json:"tty,omitempty"`
	Cmdline    string `json:"cmd,omitempty"`
}

// Daemon summarises /info and /version of a host, asked at each stream_up.
type Daemon struct {
	Inspected          bool     `json:"ok"`
	Error              string   `json:"err,omitempty"`
	ID                 string   `json:"id,omitempty"`
	Name               string   `json:"name,omitempty"`
	Version            string   `json:"ver,omitempty"`
	APIVersion         string   `json:"api,omitempty"`
	OS                 string   `json:"os,omitempty"`
	Kernel             string   `json:"kern,omitempty"`
	Rootless           bool     `json:"rootless,omitempty"`
	Experimental       bool     `json:"exp,omitempty"`
	LiveRestore        bool     `json:"lr,omitempty"`
	SecurityOptions    []string `json:"sec,omitempty"`
	InsecureRegistries []string `json:"insec,omitempty"`
}

// Encode returns the compact JSON of one part (a *Container, *Exec or
// *Daemon), for Append.
func Encode(part any) []byte {
	b, err := json.Marshal(part)
	if err != nil {
		// The parts hold strings, bools and slices of them only.
		panic(fmt.Sprintf("inspected: encoding %T: %v", part, err))
	}
	return b
}

// Append appends to dst the context of the encoded parts given (nil:
// absent), without encoding anything again.
func Append(dst, daemon, container, exec []byte) []byte {
	if daemon == nil && container == nil && exec == nil {
		return dst
	}
	dst = append(dst, '{')
	sep := false
	for _, p := range [...]struct {
		key  string
		part []byte
	}{{`"d":`, daemon}, {`"c":`, container}, {`"e":`, exec}} {
		if p.part == nil {
			continue
		}
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, p.key...)
		dst = append(dst, p.part...)
		sep = true
	}
	return append(dst, '}')
}

// Decode parses a context; an empty one gives the zero Context.
func Decode(b []byte) (Context, error) {
	var c Context
	if len(b) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return Context{}, fmt.Errorf("inspected: bad context: %w", err)
	}
	return c, nil
}
