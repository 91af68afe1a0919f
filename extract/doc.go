// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package extract declares the fields of the docker event source and
// extracts them from a parsed payload (package payload). It keeps every
// field of the original falcosecurity docker plugin with its name and type,
// so that rules written for it keep working, fixes what that plugin got
// wrong (see the comments on the field table), and adds docker.host and
// docker.attributes[KEY].
//
// A field whose value is absent from the event gives no value (Extract does
// not call SetValue), so that a condition on it is false instead of
// matching an empty string.
//
// There is no docker.time field: the Falco timestamp of each event is the
// daemon's timeNano already (evt.time, evt.rawtime), so it would repeat it.
package extract
