// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package abihost

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoaderFilesMatchSDK keeps the copies in loader/ byte for byte equal
// to the files of the plugin-sdk-go module that go.mod requires, so that an
// SDK upgrade cannot leave the host on an older ABI than the plugin.
func TestLoaderFilesMatchSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/falcosecurity/plugin-sdk-go").Output()
	if err != nil {
		t.Fatalf("go list -m plugin-sdk-go: %v", err)
	}
	sdkDir := strings.TrimSpace(string(out))
	if sdkDir == "" {
		t.Fatal("go list -m plugin-sdk-go: the module is not in the module cache (go mod download)")
	}
	for name, upstream := range map[string]string{
		"plugin_loader.c": "pkg/loader/plugin_loader.c",
		"plugin_loader.h": "pkg/loader/plugin_loader.h",
		"plugin_api.h":    "pkg/sdk/plugin_api.h",
		"plugin_types.h":  "pkg/sdk/plugin_types.h",
	} {
		ours, err := os.ReadFile(filepath.Join("loader", name))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := os.ReadFile(filepath.Join(sdkDir, upstream))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Errorf("loader/%s differs from %s of the SDK in go.mod: copy it again (cp %s internal/abihost/loader/)", name, upstream, filepath.Join(sdkDir, upstream))
		}
	}
}
