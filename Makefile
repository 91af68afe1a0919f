# SPDX-License-Identifier: Apache-2.0
# Copyright (C) 2026 The dockerfleet Authors

SHELL      := /bin/bash
GO         ?= go
NAME       := dockerfleet
OUTPUT     := lib$(NAME).so
# The directory `make install` puts the library in (Falco's default plugin
# directory). Note: the directory itself, not a staging root prefixed to it.
DESTDIR    ?= /usr/share/falco/plugins
# Go packages (the c-shared main is built separately).
PKGS       := ./hosts/... ./stream/... ./extract/... ./plugin/... ./internal/... ./deploy/...
# Fuzz targets (package:function:inputs) run by `make test` for a short
# smoke and by `make fuzz` longer. The smoke runs a count of inputs (2 to 8 s
# each on a 2-core machine), not a duration: with a duration, Go 1.26's
# fuzzing coordinator can fail a target with "context deadline exceeded" as
# the time runs out (golang/go#75804, fixed in Go 1.27). FUZZTIME, when
# set, replaces the counts.
FUZZTIME   ?=
# Falco for the end-to-end test: $FALCO, else falco on PATH, else the
# shared one beside the repository when it exists
# (../shared/tools/falco/falco, see its README). `make run` looks the same way.
FALCO_SHARED := $(wildcard $(abspath $(CURDIR)/../shared/tools/falco/falco))
FUZZ_TARGETS := ./hosts:FuzzParse:100000 ./stream/internal/daemonconn:FuzzChunkDecoder:100000 \
	./extract/payload:FuzzBuild:300000 ./extract/payload:FuzzQuoteMask:300000 \
	./extract/payload:FuzzParse:300000 ./extract/payload:FuzzTruncator:100000 \
	./extract:FuzzExtract:100000 \
	./plugin:FuzzParseConfig:10000 ./stream:FuzzSummarizeContainer:50000

.PHONY: all build install test unit integration e2e fuzz fuzz-smoke vet bench soak run readme clean

all: build

build: $(OUTPUT)

# The .so is rebuilt whenever a Go file or go.mod changes.
$(OUTPUT): go.mod go.sum $(shell find . -name '*.go' -not -path './.git/*' 2>/dev/null) plugin/config.schema.json
	$(GO) build -trimpath -buildmode=c-shared -o $@ ./plugin/libdockerfleet
	@rm -f lib$(NAME).h

install: $(OUTPUT)
	install -d $(DESTDIR)
	install -m 0644 $(OUTPUT) $(DESTDIR)/$(OUTPUT)

# One command runs every test: vet, unit tests under the race detector,
# integration tests with real dockerd instances through the plugin's C ABI
# and with the real Falco (e2e), and a short fuzzing smoke of each parser of
# untrusted input.
test: vet unit integration fuzz-smoke

vet:
	$(GO) vet ./...
	$(GO) vet -tags integration ./internal/integration/ ./internal/falcotest/
	$(GO) vet -tags soak ./stream/
	$(GO) vet -tags purego ./extract/payload/
	$(GO) vet -tags dockerfleet_copyonly ./stream/ ./plugin/...

# The payload package also runs without its assembly (purego), as on a CPU
# without AVX2 or another architecture.
unit:
	$(GO) test -race -count=1 $(PKGS)
	$(GO) test -count=1 -tags purego ./extract/payload/

# The integration tests load the built .so; DOCKERFLEET_SO tells them where.
integration: $(OUTPUT)
	DOCKERFLEET_SO=$(CURDIR)/$(OUTPUT) $(GO) test -race -count=1 -tags integration -timeout 20m ./internal/integration/...
	@$(MAKE) --no-print-directory e2e

# The real Falco with the built .so, each example config and the shipped
# rules against real dockerd daemons (internal/falcotest). Verbose, so that a
# skip (no Falco found outside CI) shows; under CI=true a missing Falco fails.
e2e: $(OUTPUT)
	FALCO="$${FALCO:-$$(command -v falco || echo "$(FALCO_SHARED)")}" DOCKERFLEET_SO=$(CURDIR)/$(OUTPUT) \
		$(GO) test -race -count=1 -tags integration -timeout 15m -v -run '^TestFalco$$' ./internal/falcotest/

fuzz-smoke:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; fn=$${rest%%:*}; n=$${rest#*:}; \
		budget="$(FUZZTIME)"; budget=$${budget:-$${n}x}; \
		echo "fuzz $$pkg $$fn ($$budget)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $$budget $$pkg; \
	done

fuzz:
	$(MAKE) fuzz-smoke FUZZTIME=5m

# Benchmarks through the C ABI and of the packages; figures go in README.md.
# Each scale case runs in a process of its own: the memory the ingest runs
# leave behind would otherwise be in its baseline.
SCALE_CASES := unix=1000 unix=10000 tls=1000 unix=1000,containers=100
bench: $(OUTPUT)
	DOCKERFLEET_SO=$(CURDIR)/$(OUTPUT) $(GO) test -run '^$$' -bench 'Extract|Ingest|Latency' -benchmem -timeout 60m ./internal/bench/...
	@set -e; for c in $(SCALE_CASES); do \
		DOCKERFLEET_SO=$(CURDIR)/$(OUTPUT) $(GO) test -run '^$$' -bench "^BenchmarkScale/$$c\$$" -benchmem -timeout 30m ./internal/bench/...; \
	done
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./extract/... ./stream/...

# A fleet with random faults for minutes; prints delivered, duplicated,
# lost-and-reported and lost-unreported counts.
soak:
	$(GO) test -run '^TestSoak$$' -tags soak -count=1 -timeout 60m -v ./stream/

# Build the plugin and show the events of the local daemon as they arrive:
# through Falco when there is one ($FALCO, else falco on PATH, else
# ../shared/tools/falco/falco), else through dockerfleet tail, a small host
# of this project that loads the same .so. Installs and starts a local
# dockerd first when there is none (needs root).
run: $(OUTPUT)
	@./examples/run-local.sh $(CURDIR)/$(OUTPUT)

# Regenerate the fields table of README.md from the plugin itself.
readme:
	$(GO) test -count=1 -run '^TestReadmeFields$$' ./plugin -update

clean:
	rm -f $(OUTPUT) lib$(NAME).h
