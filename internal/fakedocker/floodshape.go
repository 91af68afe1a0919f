// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package fakedocker

import (
	"fmt"
	"strconv"
	"strings"
)

// SetFloodShape shapes the flood (see Flood) of streams opened from now on:
// typ replaces the type of its events ("" keeps container), and every
// churnEvery-th event (0: never) is preceded by the create of a new
// container, so that a reader that inspects containers has one to ask about.
func (s *Server) SetFloodShape(typ string, churnEvery int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.floodType, s.floodChurn = typ, churnEvery
}

// floodShape returns the templates and churn of a new flood stream.
func (s *Server) floodShape() ([4]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := floodTemplate
	if s.floodType != "" {
		t[0] = strings.Replace(t[0], `"Type":"container"`, `"Type":"`+s.floodType+`"`, 1)
	}
	return t, s.floodChurn
}

// appendChurn appends the create event of a container numbered seq.
func appendChurn(buf []byte, seq int, t int64) []byte {
	id := fmt.Sprintf("%064d", seq)
	buf = append(buf, `{"status":"create","id":"`...)
	buf = append(buf, id...)
	buf = append(buf, `","from":"busybox:1.36","Type":"container","Action":"create","Actor":{"ID":"`...)
	buf = append(buf, id...)
	buf = append(buf, `","Attributes":{"image":"busybox:1.36","name":"churn-`...)
	buf = strconv.AppendInt(buf, int64(seq), 10)
	buf = append(buf, `"}},"scope":"local","time":`...)
	buf = strconv.AppendInt(buf, t/1e9, 10)
	buf = append(buf, `,"timeNano":`...)
	buf = strconv.AppendInt(buf, t, 10)
	return append(buf, "}\n"...)
}
