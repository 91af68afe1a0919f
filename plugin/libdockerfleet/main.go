// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Command libdockerfleet is built with -buildmode=c-shared into
// libdockerfleet.so, the library Falco loads. It only registers the plugin
// and its two capabilities with the SDK; all the code is in package plugin.
package main

import (
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/extractor"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/source"

	"github.com/dockerfleet/dockerfleet/plugin"
)

func init() {
	plugins.SetFactory(func() plugins.Plugin {
		p := &plugin.Plugin{}
		source.Register(p)
		extractor.Register(p)
		return p
	})
}

// main is never called: a c-shared library only needs one to build.
func main() {}
