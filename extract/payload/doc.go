// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package payload defines the payload of one dockerfleet event: the Docker
// event line exactly as the daemon sent it, the label of the host it came
// from, and an index of where each field sits in the line.
//
// The line is scanned once, by Build, in the reader goroutine of its host.
// Extraction then only reads offsets (Parse is O(number of attributes) and
// never looks at the JSON again), which is what keeps a single-field extract
// close to the cost of the plugin ABI itself. Everything a field needs is in
// the payload, so a capture file replays with the same values.
//
// # Format (version DFv2, all integers little endian)
//
//	offset      size  content
//	0           4     magic "DFv2"
//	4           2     flags: bit 0 FlagTruncated, every other bit 0
//	6           2     H: host label length
//	8           H     host label (UTF-8)
//	8+H         4     C: context length, at most MaxContextLen
//	12+H        C     context: opaque enrichment bytes (Extra.Context)
//	12+H+C      4     J: JSON line length
//	16+H+C      J     the JSON line, byte for byte as given to Build
//	16+H+C+J    72    9 slots of (uint32 offset, uint32 length), in this order:
//	                  Type, Action, Actor.ID, scope, status, id, from, time, timeNano
//	16+H+C+J+72 8     TimeNano (int64): timeNano, else (absent or 0) time*1e9, else 0
//	16+H+C+J+80 2     N: number of Actor.Attributes entries indexed
//	16+H+C+J+82 16*N  per entry: key offset, key length, value offset, value length
//	                  (uint32 each), in the order of the line
//
// Offsets are relative to the start of the JSON line. A string slot covers
// the string's contents without its quotes; a number slot (time, timeNano)
// covers the number's text. A slot of offset 0 and length 0 means the key
// was absent or null: a present value always starts after the opening "{",
// so its offset is at least 1. The high bit of a string length (EscapeFlag)
// marks contents that hold backslash escapes: readers unescape them (JSON
// rules, lone surrogates become U+FFFD as in encoding/json); all other
// contents are returned as they are, with no copy. TimeNano is stored in
// binary so that readers never parse a number; it is 0 when neither time
// nor timeNano is in the line. A payload ends exactly after its last
// attribute entry. Parse refuses unknown flags and a context longer than
// MaxContextLen; the context's contents are the enricher's business.
//
// FlagTruncated says that the line is not the daemon's whole line: a
// Truncator reduced it to the stream's size limit (strings cut end with
// CutMarker), or it holds more than MaxAttrs attributes, of which the index
// keeps the first MaxAttrs-6 and then only the last of each of name,
// image, execID, exitCode, signal and oldName.
//
// # JSON accepted by Build
//
// One JSON object (RFC 8259, UTF-8) with string members Type and Action
// (required), Actor (an object with string ID and object Attributes of string
// values, or null), strings scope, status, id, from, and integers time and
// timeNano; null stands for an absent member. Keys are matched exactly (not
// case-insensitively as encoding/json would). Any other member is skipped
// whatever its value. A member given twice counts once, the last one, as in
// encoding/json; an attribute key given twice is kept twice in the index, and
// lookups return the last one. Limits: see MaxLineLen, MaxHostLen,
// MaxAttrs and MaxDepth; no string is limited but by the line. A line
// longer than what may be delivered is first reduced by a Truncator, in
// bounded memory as it is read, to a line Build takes.
package payload
