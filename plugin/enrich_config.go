// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"errors"
	"time"

	"github.com/dockerfleet/dockerfleet/stream"
)

// EnrichConfig is init_config's enrich block: which inspects each daemon is
// asked for, and their bounds (see stream.Enrich). Defaults, bounds and
// docs are declared in settings.
type EnrichConfig struct {
	// Containers inspects each container at its first event.
	Containers bool `json:"containers"`
	// Execs inspects each exec at its exec_create.
	Execs bool `json:"execs"`
	// Images completes container summaries from their image.
	Images bool `json:"images"`
	// Daemon asks each daemon's /info and /version at each stream_up.
	Daemon bool `json:"daemon"`
	// Timeout bounds how long an event waits for its inspect.
	Timeout Duration `json:"timeout"`
	// Concurrency bounds a host's inspects in flight.
	Concurrency uint32 `json:"concurrency"`
	// CacheSize bounds the container and exec summaries kept per host.
	CacheSize uint32 `json:"cacheSize"`
}

// validate checks the rules between the block's keys (each key's bounds
// are checked with every setting's).
func (e EnrichConfig) validate() error {
	if e.Images && !e.Containers {
		return errors.New(`key "enrich.images": requires enrich.containers (turn images off too: "images": false)`)
	}
	return nil
}

// options maps the block onto the stream's.
func (e EnrichConfig) options() stream.Enrich {
	return stream.Enrich{
		Containers: e.Containers, Execs: e.Execs, Images: e.Images, Daemon: e.Daemon,
		Timeout: time.Duration(e.Timeout), Concurrency: int(e.Concurrency), CacheSize: int(e.CacheSize),
	}
}
