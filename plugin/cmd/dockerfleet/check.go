// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/plugin"
)

// checkOptions are the flags of dockerfleet check.
type checkOptions struct {
	initConfig  string
	timeout     time.Duration
	concurrency int
	target      string
}

func parseCheckArgs(args []string, stderr io.Writer) (checkOptions, error) {
	o := checkOptions{}
	fs := flag.NewFlagSet("dockerfleet check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.initConfig, "init", "", "the plugin's init_config (JSON): its tls defaults apply to the hosts, as in Falco")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long one host may take to answer")
	fs.IntVar(&o.concurrency, "concurrency", 64, "hosts checked at once")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dockerfleet check [-init JSON] [-timeout 10s] [-concurrency 64] OPEN_PARAMS|INVENTORY_FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() != 1:
		fs.Usage()
		return o, errors.New("want one argument: the open_params string or an inventory file")
	case o.timeout <= 0:
		return o, fmt.Errorf("-timeout %s: must be positive", o.timeout)
	case o.concurrency < 1:
		return o, fmt.Errorf("-concurrency %d: must be at least 1", o.concurrency)
	}
	o.target = fs.Arg(0)
	return o, nil
}

// endpointsOf parses the target as the plugin would: an inventory file
// when a file of that name exists, else open_params.
func endpointsOf(o checkOptions) ([]hosts.Endpoint, error) {
	cfg, err := plugin.ParseConfig(o.initConfig)
	if err != nil {
		return nil, err
	}
	params := o.target
	if fi, err := os.Stat(o.target); err == nil && fi.Mode().IsRegular() {
		// An inventory file, read as open_params' file:// entry is:
		// errors name its lines.
		abs, err := filepath.Abs(o.target)
		if err != nil {
			return nil, err
		}
		params = hosts.InventoryScheme + abs
	}
	return cfg.Endpoints(params)
}

// hostReport is what check learnt of one host.
type hostReport struct {
	ep                       hosts.Endpoint
	daemon, version, api     string
	rtt                      time.Duration
	peerExpiry, clientExpiry time.Time
	err                      error
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseCheckArgs(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "dockerfleet check:", err)
		}
		return exitUsage
	}
	eps, err := endpointsOf(o)
	if err != nil {
		fmt.Fprintln(stderr, "dockerfleet check:", err)
		return exitUsage
	}
	reports := make([]hostReport, len(eps))
	var done atomic.Int64
	progress := newProgress(stderr, len(eps))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.concurrency)
	for i, ep := range eps {
		g.Go(func() error {
			reports[i] = checkHost(gctx, ep, o.timeout)
			progress.update(int(done.Add(1)))
			return nil // a failed host is reported, never stops the others
		})
	}
	_ = g.Wait()
	failed := printReports(stdout, reports)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "dockerfleet check: interrupted")
		return exitError
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "dockerfleet check: %d of %d hosts failed\n", failed, len(reports))
		return exitError
	}
	return exitOK
}

// checkHost connects to one host as the plugin's watcher does: a
// connection of its own (the real cause of a failure, and the daemon's
// certificate), then ping, /info and /version through the docker client.
func checkHost(ctx context.Context, ep hosts.Endpoint, timeout time.Duration) hostReport {
	r := hostReport{ep: ep}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if ep.TLS != nil && ep.TLS.Cert != "" {
		r.clientExpiry, _ = hosts.CertificateNotAfter(ep.TLS.Cert)
	}
	dialer, err := ep.NewDialer()
	if err != nil {
		r.err = err
		return r
	}
	if !dialer.Proxied() {
		conn, err := dialer.Dial(ctx)
		if err != nil {
			r.err = err
			return r
		}
		if tc, ok := conn.(*tls.Conn); ok {
			if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
				r.peerExpiry = certs[0].NotAfter
			}
		}
		conn.Close()
	}
	cli, err := dialer.NewClient()
	if err != nil {
		r.err = err
		return r
	}
	defer cli.Close()
	start := time.Now()
	if _, err := cli.Ping(ctx); err != nil {
		r.err = fmt.Errorf("ping: %w", err)
		return r
	}
	r.rtt = time.Since(start)
	info, err := cli.Info(ctx)
	if err != nil {
		r.err = fmt.Errorf("info: %w", err)
		return r
	}
	ver, err := cli.ServerVersion(ctx)
	if err != nil {
		r.err = fmt.Errorf("version: %w", err)
		return r
	}
	r.daemon, r.version, r.api = info.Name, ver.Version, ver.APIVersion
	return r
}

// printReports writes the table and returns how many hosts failed.
func printReports(w io.Writer, reports []hostReport) int {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tENDPOINT\tSTATUS\tDAEMON\tVERSION\tAPI\tRTT\tSERVER CERT\tCLIENT CERT\tERROR")
	failed := 0
	for _, r := range reports {
		status := "ok"
		errText := ""
		if r.err != nil {
			failed++
			status = "FAILED"
			errText = r.err.Error()
			if h := hint(r.err); h != "" {
				errText += " (" + h + ")"
			}
		}
		rtt := ""
		if r.rtt > 0 {
			rtt = r.rtt.Round(100 * time.Microsecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ep.Name, r.ep.URL, status,
			dash(r.daemon), dash(r.version), dash(r.api), dash(rtt), expiry(r.peerExpiry), expiry(r.clientExpiry), errText)
	}
	tw.Flush()
	return failed
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// expiry says when a certificate expires, in days left.
func expiry(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	days := int(time.Until(t).Hours() / 24)
	if days < 0 {
		return "EXPIRED " + t.UTC().Format(time.DateOnly)
	}
	return fmt.Sprintf("%dd (%s)", days, t.UTC().Format(time.DateOnly))
}

// hints turn the errors operators meet most into what to do about them.
var hints = []struct{ match, hint string }{
	{"connection refused", "nothing listens there: is the daemon running, on that port or socket?"},
	{"no such file or directory", "no socket at that path: check the path, or start the daemon"},
	{"permission denied", "the socket is not readable by this user: run as root or a member of the docker group"},
	{"i/o timeout", "no answer: a firewall, a wrong address, or a hung daemon"},
	{"deadline exceeded", "no answer in time: a firewall, a wrong address, or a hung daemon"},
	{"certificate signed by unknown authority", "the CA given (ca=, certdir/ca.pem) did not sign the daemon's certificate"},
	{"certificate is valid for", "the daemon's certificate does not name this address: set servername=, or reissue it"},
	{"bad certificate", "the daemon refused the client certificate: signed by another CA, or without clientAuth"},
	{"certificate required", "the daemon wants a client certificate: give cert= and key= (or certdir)"},
	{"first record does not look like a TLS handshake", "the daemon speaks plain HTTP: add tls=off, or enable TLS on the daemon"},
	{"malformed HTTP response", "the daemon speaks TLS: drop tls=off"},
}

func hint(err error) string {
	msg := err.Error()
	for _, h := range hints {
		if strings.Contains(msg, h.match) {
			return h.hint
		}
	}
	return ""
}

// progress shows how many hosts were checked, on stderr, for fleets large
// enough to take a while; it writes nothing for small ones.
type progress struct {
	w     io.Writer
	total int
	on    bool
	last  atomic.Int64 // unix ns of the latest line
}

// progressFrom is the fleet size from which progress is shown.
const progressFrom = 50

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, on: total >= progressFrom}
}

func (p *progress) update(done int) {
	if !p.on {
		return
	}
	now := time.Now().UnixNano()
	last := p.last.Load()
	if done != p.total && now-last < int64(time.Second) {
		return
	}
	if p.last.CompareAndSwap(last, now) {
		fmt.Fprintf(p.w, "checked %d of %d hosts\n", done, p.total)
	}
}
