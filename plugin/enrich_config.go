// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"fmt"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/stream"
)

// EnrichConfig is init_config's enrich block: which inspects each daemon is
// asked for, and their bounds (see stream.Enrich).
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

// Bounds of the enrich block.
const (
	maxEnrichConcurrency = 256
	maxEnrichCacheSize   = 1 << 20
)

// defaultEnrich is on: the fields and rules of enrichment need it, and its
// cost is one inspect per container and exec.
func defaultEnrich() EnrichConfig {
	return EnrichConfig{
		Containers: true, Execs: true, Images: true, Daemon: true,
		Timeout:     Duration(stream.DefaultEnrichTimeout),
		Concurrency: stream.DefaultEnrichConcurrency,
		CacheSize:   stream.DefaultEnrichCacheSize,
	}
}

// validate checks the block, naming the bad key.
func (e EnrichConfig) validate() error {
	if t := time.Duration(e.Timeout); t <= 0 || t > time.Minute {
		return fmt.Errorf(`key "enrich.timeout": must be in (0, 1m], got %s`, t)
	}
	if e.Concurrency < 1 || e.Concurrency > maxEnrichConcurrency {
		return fmt.Errorf(`key "enrich.concurrency": %d is out of range [1, %d]`, e.Concurrency, maxEnrichConcurrency)
	}
	if e.CacheSize < 1 || e.CacheSize > maxEnrichCacheSize {
		return fmt.Errorf(`key "enrich.cacheSize": %d is out of range [1, %d]`, e.CacheSize, maxEnrichCacheSize)
	}
	if e.Images && !e.Containers {
		return fmt.Errorf(`key "enrich.images": needs enrich.containers`)
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

// enrichRoom is what a context may add to a payload: batch slots are sized
// with it when enrichment is on.
func (e EnrichConfig) enrichRoom() int {
	if !e.options().On() {
		return 0
	}
	return payload.MaxContextLen + 64
}
