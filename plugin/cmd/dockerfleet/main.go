// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Command dockerfleet is the operator's tool beside the Falco plugin:
//
//	dockerfleet check [flags] OPEN_PARAMS|INVENTORY_FILE
//
// connects to every host of a fleet at once, with the plugin's own parsing
// and dialing code, and prints a table of what answered: daemon name,
// version and API, round trip, certificate expiry, or the error with a
// hint. It exits 1 when a host fails, 2 on bad usage or endpoints.
//
//	dockerfleet tail -plugin ./libdockerfleet.so [-init JSON] [-open OPEN_PARAMS] [-fields F,...]
//
// loads the plugin library through the plugin C ABI as Falco does and
// prints its events as they arrive.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: dockerfleet COMMAND [flags] ...

commands:
  check   connect to every host of a fleet and print its state
  tail    load the plugin library as Falco does and print its events
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "check":
		return runCheck(ctx, args[1:], stdout, stderr)
	case "tail":
		return runTail(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "dockerfleet: unknown command %q\n%s", args[0], usage)
		return exitUsage
	}
}
