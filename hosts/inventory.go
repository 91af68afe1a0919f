// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package hosts

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// maxInventoryLine bounds one line of an inventory file: an endpoint with
// its options is well under a kilobyte.
const maxInventoryLine = 64 << 10

// InventoryLine is one endpoint of an inventory file.
type InventoryLine struct {
	Line int    // 1-based line number in the file
	Text string // the endpoint, trimmed, in open_params' syntax
}

// ReadInventory reads an inventory file: one endpoint per line in the
// syntax of open_params (unix:///path?name=x, tcp://host:port?...), blank
// lines and lines starting with # ignored, as is anything after a " #".
// A line holds exactly one endpoint: a comma is refused (percent-encode
// one in a value as %2C). Errors name the file and the line.
func ReadInventory(path string) ([]InventoryLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	defer f.Close()
	// A device or a FIFO would block or never end.
	if fi, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("inventory %s: not a regular file", path)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), maxInventoryLine)
	var out []InventoryLine
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if i := strings.Index(text, " #"); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if strings.Contains(text, ",") {
			return nil, fmt.Errorf("inventory %s:%d: one endpoint per line, and a comma inside one is written %%2C", path, n)
		}
		out = append(out, InventoryLine{Line: n, Text: text})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("inventory %s: %w", path, err)
	}
	return out, nil
}
