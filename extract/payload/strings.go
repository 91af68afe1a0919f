// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package payload

import (
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// appendUnescaped appends the JSON string contents s, unescaped, to dst. It
// accepts any bytes (a corrupt capture may hold anything): a broken escape
// becomes U+FFFD, never a panic. Surrogates follow encoding/json: a valid
// pair is joined, a lone one becomes U+FFFD.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(s) {
			return utf8.AppendRune(dst, utf8.RuneError)
		}
		switch s[i+1] {
		case '"', '\\', '/':
			dst = append(dst, s[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s[i+2:])
			if !ok {
				dst = utf8.AppendRune(dst, utf8.RuneError)
				break
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if v, ok := hex4(s[i+2:]); ok {
						r2 = v
					}
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			dst = utf8.AppendRune(dst, utf8.RuneError)
		}
		i += 2
	}
	return dst
}

// view returns b as a string without copying. The string is only valid as
// long as b is not modified; every accessor that returns one says so.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// EventTypes are the types of event a Docker daemon emits (an event
// line's Type), as of Engine API 1.51. The plugin's own health events have
// type "dockerfleet" besides. Configuration checks, the schema and the
// field descriptions name these; their tests compare them with this list.
// Read only.
var EventTypes = []string{
	"container", "image", "volume", "network", "daemon",
	"plugin", "service", "node", "secret", "config", "builder",
}

// intern returns the unescaped contents of slot s in line as a string that
// does not alias line: a constant for the types and actions Docker uses,
// else a copy.
func intern(line []byte, s slot) string {
	raw := line[s.off : s.off+s.n&^EscapeFlag]
	if s.n&EscapeFlag != 0 {
		return string(appendUnescaped(nil, raw))
	}
	// The compiler turns this switch into comparisons without converting
	// raw to a string.
	switch string(raw) {
	case "container":
		return "container"
	case "image":
		return "image"
	case "volume":
		return "volume"
	case "network":
		return "network"
	case "daemon":
		return "daemon"
	case "plugin":
		return "plugin"
	case "service":
		return "service"
	case "node":
		return "node"
	case "secret":
		return "secret"
	case "config":
		return "config"
	case "builder":
		return "builder"
	case "dockerfleet":
		return "dockerfleet"
	case "attach":
		return "attach"
	case "commit":
		return "commit"
	case "copy":
		return "copy"
	case "create":
		return "create"
	case "destroy":
		return "destroy"
	case "detach":
		return "detach"
	case "die":
		return "die"
	case "exec_die":
		return "exec_die"
	case "export":
		return "export"
	case "kill":
		return "kill"
	case "oom":
		return "oom"
	case "pause":
		return "pause"
	case "rename":
		return "rename"
	case "resize":
		return "resize"
	case "restart":
		return "restart"
	case "start":
		return "start"
	case "stop":
		return "stop"
	case "top":
		return "top"
	case "unpause":
		return "unpause"
	case "update":
		return "update"
	case "delete":
		return "delete"
	case "import":
		return "import"
	case "load":
		return "load"
	case "pull":
		return "pull"
	case "push":
		return "push"
	case "save":
		return "save"
	case "tag":
		return "tag"
	case "untag":
		return "untag"
	case "prune":
		return "prune"
	case "mount":
		return "mount"
	case "unmount":
		return "unmount"
	case "connect":
		return "connect"
	case "disconnect":
		return "disconnect"
	case "remove":
		return "remove"
	case "reload":
		return "reload"
	case "enable":
		return "enable"
	case "disable":
		return "disable"
	case "install":
		return "install"
	case "stream_up":
		return "stream_up"
	case "stream_down":
		return "stream_down"
	case "events_lost":
		return "events_lost"
	}
	return string(raw)
}
