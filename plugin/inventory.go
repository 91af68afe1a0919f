// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/stream"
)

// maxInventorySize bounds what is read of an inventory file to see whether
// it changed: a thousand endpoints take well under a megabyte.
const maxInventorySize = 16 << 20

// inventoryWatcher applies the changes of the inventory files that
// open_params names to the open fleet, while Falco runs: hosts added,
// removed or changed (stream.Fleet.Update), an unusable file reported
// (inventory_error) and the fleet left as it was.
//
// It compares the files' contents every interval rather than watching
// inotify events: a Kubernetes ConfigMap volume changes by swapping a
// symlink of the directory, which a content check sees whatever the way
// the file was replaced, and reading a few kilobytes every few seconds costs
// nothing next to the fleet.
type inventoryWatcher struct {
	cfg      Config
	params   string
	files    []string
	fleet    *stream.Fleet
	interval time.Duration

	sums    [][sha256.Size]byte // of the files' contents as last applied
	lastErr string              // the error last reported, not repeated while it lasts

	stop chan struct{}
	done chan struct{}
}

// watchInventory starts watching the inventory files of params, if any;
// nil when params names none.
func watchInventory(cfg Config, params string, fleet *stream.Fleet) *inventoryWatcher {
	files := hosts.InventoryFiles(params)
	if len(files) == 0 {
		return nil
	}
	iw := &inventoryWatcher{
		cfg: cfg, params: params, files: files, fleet: fleet,
		interval: time.Duration(cfg.InventoryInterval),
		stop:     make(chan struct{}), done: make(chan struct{}),
	}
	// Open parsed the files just before: what they hold now is applied.
	iw.sums = iw.contents()
	go iw.run()
	return iw
}

func (iw *inventoryWatcher) run() {
	defer close(iw.done)
	t := time.NewTicker(iw.interval)
	defer t.Stop()
	for {
		select {
		case <-iw.stop:
			return
		case <-t.C:
			iw.check()
		}
	}
}

// close stops the watcher and waits for it.
func (iw *inventoryWatcher) close() {
	if iw == nil {
		return
	}
	close(iw.stop)
	<-iw.done
}

// contents hashes the files; a file that cannot be read hashes as zero,
// so that its coming back is a change (and Parse says what is wrong).
func (iw *inventoryWatcher) contents() [][sha256.Size]byte {
	sums := make([][sha256.Size]byte, len(iw.files))
	for i, path := range iw.files {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, io.LimitReader(f, maxInventorySize))
		f.Close()
		if err == nil {
			copy(sums[i][:], h.Sum(nil))
		}
	}
	return sums
}

// check applies the files if they changed since last applied.
func (iw *inventoryWatcher) check() {
	sums := iw.contents()
	if slices.Equal(sums, iw.sums) {
		return
	}
	endpoints, err := iw.cfg.Endpoints(iw.params)
	if err == nil {
		_, err = iw.fleet.Update(endpoints)
	}
	if err != nil {
		iw.report(err)
		return
	}
	iw.sums, iw.lastErr = sums, ""
}

// report sends an inventory_error about err, once while it lasts.
func (iw *inventoryWatcher) report(err error) {
	if err.Error() == iw.lastErr {
		return
	}
	iw.lastErr = err.Error()
	file, attrs := iw.files[0], map[string]string{stream.AttrReason: err.Error()}
	var ee *hosts.EndpointError
	if errors.As(err, &ee) && ee.File != "" {
		file = ee.File
		if ee.Line > 0 {
			attrs[stream.AttrLine] = strconv.Itoa(ee.Line)
		}
	}
	iw.fleet.Report(file, stream.ActionInventoryError, attrs)
}
