// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"strconv"
	"time"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/stream"
)

// Health event of an expiring client certificate.
const (
	actionCertExpiring = "cert_expiring"
	attrFile           = "file"
	attrNotAfter       = "not_after"
	attrDaysLeft       = "days_left"
	attrHosts          = "hosts"
)

// certCheckInterval is how often the client certificates are looked at;
// certReportInterval how often one that expires is reported again.
var (
	certCheckInterval  = time.Hour
	certReportInterval = 24 * time.Hour
)

// certWatcher reports the client certificates of the fleet that expire
// within the warning (cert_expiring), before connections start failing:
// once a day per certificate file, under the label of the first host that
// uses it (a fleet sharing one certificate gets one event, with the number
// of hosts). It reads the files as they are on disk, so a rotated
// certificate stops being reported.
type certWatcher struct {
	fleet    *stream.Fleet
	warning  time.Duration
	now      func() time.Time
	reported map[string]time.Time // file -> when it was last reported
	stop     chan struct{}
	done     chan struct{}
}

func watchCerts(cfg Config, fleet *stream.Fleet) *certWatcher {
	cw := &certWatcher{
		fleet:   fleet,
		warning: time.Duration(cfg.CertExpiryWarning), now: time.Now,
		reported: map[string]time.Time{},
		stop:     make(chan struct{}), done: make(chan struct{}),
	}
	go cw.run()
	return cw
}

func (cw *certWatcher) run() {
	defer close(cw.done)
	t := time.NewTicker(certCheckInterval)
	defer t.Stop()
	for {
		cw.check()
		select {
		case <-cw.stop:
			return
		case <-t.C:
		}
	}
}

func (cw *certWatcher) close() {
	if cw == nil {
		return
	}
	close(cw.stop)
	<-cw.done
}

// check reports the certificates of the hosts watched now (an inventory
// may have changed them) that expire within the warning.
func (cw *certWatcher) check() {
	endpoints := cw.fleet.Endpoints()
	users := map[string][]string{} // certificate file -> host labels
	var files []string
	for _, ep := range endpoints {
		if ep.TLS == nil || ep.TLS.Cert == "" {
			continue
		}
		if _, ok := users[ep.TLS.Cert]; !ok {
			files = append(files, ep.TLS.Cert)
		}
		users[ep.TLS.Cert] = append(users[ep.TLS.Cert], ep.Name)
	}
	now := cw.now()
	for _, file := range files {
		notAfter, err := hosts.CertificateNotAfter(file)
		if err != nil || notAfter.Sub(now) > cw.warning {
			continue
		}
		if last, ok := cw.reported[file]; ok && now.Sub(last) < certReportInterval {
			continue
		}
		days := int(notAfter.Sub(now).Hours() / 24)
		if cw.fleet.Report(users[file][0], actionCertExpiring, map[string]string{
			attrFile:     file,
			attrNotAfter: notAfter.UTC().Format(time.RFC3339),
			attrDaysLeft: strconv.Itoa(days),
			attrHosts:    strconv.Itoa(len(users[file])),
		}) {
			cw.reported[file] = now
		}
	}
}
