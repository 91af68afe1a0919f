// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// dockerfleet tail loads a Falco plugin library (libdockerfleet.so)
// through the plugin C ABI, as Falco would, opens its event stream and
// prints every event as it arrives: its string form (event_to_string), or
// the fields asked for. It stops cleanly (close, destroy) at the end of the
// stream, after -n events, after -for, or on SIGINT/SIGTERM.
//
//	dockerfleet tail -plugin ./libdockerfleet.so -init '{}' \
//	    -open 'unix:///var/run/docker.sock' [-fields docker.host,docker.type] [-n N] [-for 10s]

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dockerfleet/dockerfleet/internal/abihost"
)

// tailOptions are the flags of dockerfleet tail.
type tailOptions struct {
	plugin, init, open string
	fields             []string
	n                  int
	dur                time.Duration
}

func parseTailArgs(args []string, stderr io.Writer) (tailOptions, error) {
	var o tailOptions
	var fields string
	fs := flag.NewFlagSet("dockerfleet tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.plugin, "plugin", "", "path of the plugin library (required), e.g. ./libdockerfleet.so")
	fs.StringVar(&o.init, "init", "", "init_config passed to the plugin (JSON)")
	fs.StringVar(&o.open, "open", "", "open_params passed to the plugin, e.g. 'unix:///var/run/docker.sock'")
	fs.StringVar(&fields, "fields", "", "comma-separated fields to print instead of the event's string form, e.g. docker.host,docker.attributes[name]")
	fs.IntVar(&o.n, "n", 0, "stop after this many events (0: no limit)")
	fs.DurationVar(&o.dur, "for", 0, "stop after this long (0: no limit)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.plugin == "":
		return o, errors.New("-plugin is required")
	case o.n < 0:
		return o, fmt.Errorf("-n %d: must be 0 or more", o.n)
	case o.dur < 0:
		return o, fmt.Errorf("-for %s: must be 0 or more", o.dur)
	}
	var err error
	if o.fields, err = splitFields(fields); err != nil {
		return o, err
	}
	return o, nil
}

// splitFields splits a -fields list on the commas outside brackets, so that
// a key argument may hold a comma.
func splitFields(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	depth, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			switch s[i] {
			case '[':
				depth++
				continue
			case ']':
				depth--
				continue
			case ',':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
		}
		f := strings.TrimSpace(s[start:i])
		if f == "" {
			return nil, fmt.Errorf("-fields %q: empty field name at position %d", s, len(out)+1)
		}
		out = append(out, f)
		start = i + 1
	}
	return out, nil
}

// runTail is the command without the process around it: it returns the exit code.
func runTail(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseTailArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "dockerfleet tail: %v\n", err)
		return exitUsage
	}
	if err := tail(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "dockerfleet tail: %v\n", err)
		return exitError
	}
	return exitOK
}

func tail(ctx context.Context, o tailOptions, stdout, stderr io.Writer) error {
	p, err := abihost.Load(o.plugin)
	if err != nil {
		return err
	}
	defer p.Close()
	// Resolve the fields before Init: a typo is reported without touching
	// any daemon.
	var reqs []abihost.FieldRequest
	for _, f := range o.fields {
		r, err := p.Request(f)
		if err != nil {
			return err
		}
		reqs = append(reqs, r)
	}
	if err := p.Init(o.init); err != nil {
		return err
	}
	defer p.Destroy()
	in, err := p.Open(o.open)
	if err != nil {
		return err
	}
	defer in.Close()
	var x *abihost.Extractor
	if len(reqs) > 0 {
		if x, err = in.NewExtractor(reqs); err != nil {
			return err
		}
		defer x.Close()
	}
	if o.dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.dur)
		defer cancel()
	}

	w := bufio.NewWriter(stdout)
	defer w.Flush()
	printed := 0
	// next_batch returns at least every plugin timeout (30 ms for SDK push
	// instances), so checking ctx between batches stops promptly.
	for ctx.Err() == nil {
		evts, err := in.ReadBatch(nil)
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof && !errors.Is(err, abihost.ErrTimeout) {
			return err
		}
		for i := range evts {
			if err := printEvent(w, in, x, o.fields, &evts[i]); err != nil {
				return err
			}
			printed++
			if o.n > 0 && printed >= o.n {
				return w.Flush()
			}
		}
		// Flush per batch: events show as they arrive.
		if err := w.Flush(); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		if eof {
			fmt.Fprintf(stderr, "dockerfleet tail: end of stream after %d events\n", printed)
			return nil
		}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		fmt.Fprintf(stderr, "dockerfleet tail: stopped after %d events\n", printed)
	}
	return nil
}

func printEvent(w *bufio.Writer, in *abihost.Instance, x *abihost.Extractor, names []string, ev *abihost.Event) error {
	if x == nil {
		s, err := in.String(*ev)
		if err != nil {
			return err
		}
		w.WriteString(s)
		return w.WriteByte('\n')
	}
	for i, name := range names {
		if _, err := x.Extract(ev, i); err != nil {
			return err
		}
		v, err := x.Value()
		if err != nil {
			return err
		}
		if i > 0 {
			w.WriteByte(' ')
		}
		w.WriteString(name)
		w.WriteByte('=')
		w.WriteString(v.String())
	}
	return w.WriteByte('\n')
}
