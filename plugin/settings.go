// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package plugin

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/stream"
)

// settings declares every init_config key once: what it means, its default
// and its bounds. DefaultConfig, ParseConfig's checks, the JSON schema
// (configSchema) and the README's table of keys are made from it.
var settings = []setting{
	group("tls", "Default TLS material of tcp endpoints that name none of their own: file paths, never contents. The files are read and checked at open, whether an endpoint uses them or not."),
	file("tls.certDir", "Directory laid out as DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem."),
	file("tls.ca", "CA bundle that signs the daemons' certificates; overrides certDir's ca.pem."),
	file("tls.cert", "Client certificate; overrides certDir's cert.pem; requires tls.key."),
	file("tls.key", "Private key of tls.cert (not encrypted); overrides certDir's key.pem; requires tls.cert."),

	group("filters", "Daemon-side filters of each daemon's /events: what no rule looks at does not even cross the network. Unset: all events."),
	list("filters.types", "Only these event types.", "an event type", payload.EventTypes, nil),
	list("filters.actions", "Only these actions, e.g. start, die, exec_start, health_status: unhealthy.",
		`an event action such as "start" or "exec_start"`, nil, actionPattern),
	list("filters.labels", "Only objects with these labels: key or key=value.", `a label "key" or "key=value"`, nil, labelPattern),

	group("reconnect", "Backoff between two connection attempts to the same host: it doubles, with jitter, from minBackoff to maxBackoff."),
	// The floor keeps a host that is down from making the plugin retry in a
	// loop that would hammer the daemon and burn a core.
	duration("reconnect.minBackoff", "First wait before reconnecting to a host.",
		stream.DefaultMinBackoff, 100*time.Millisecond, time.Hour),
	duration("reconnect.maxBackoff", "Longest wait between two attempts; at least reconnect.minBackoff.",
		stream.DefaultMaxBackoff, 100*time.Millisecond, time.Hour),
	duration("callTimeout", "Deadline of every call to a daemon except the event stream itself.",
		stream.DefaultCallTimeout, time.Second, 10*time.Minute),
	duration("pingInterval", "How often a connected daemon is pinged (on a short request beside its stream) to tell a hung daemon from an idle one.",
		stream.DefaultPingInterval, time.Second, 24*time.Hour),
	duration("stillDownInterval", "How often a host that stays unreachable is reported again (stream_still_down).",
		stream.DefaultStillDownInterval, time.Second, 24*time.Hour),

	// The default absorbs the moments when Falco's thread waits for a core
	// under a flood from many hosts (package doc, docs/PERFORMANCE.md).
	count("bufferSize", "Events held between the hosts and Falco, only while Falco falls behind (at most 16 KiB of payloads per 16 events); past it, events are dropped, counted and reported (events_lost).",
		32768, 1, 1<<20),
	// Every one of Falco's batchSize slots is mapped this large (only the
	// pages written are resident), and Docker's event lines are well under
	// 4 KiB; the maximum is the longest line the payload format takes.
	count("maxEventSize", "Longest event line, in bytes, delivered as the daemon sent it; a longer one is cut to fit and flagged docker.truncated, never dropped. The Falco event adds the host label and an index of the fields.",
		64<<10, 1024, payload.MaxLineLen),
	count("batchSize", "Most events handed to Falco per next_batch.",
		128, 1, 65536),
	// Off: the SDK's async worker busy-waits a core the stream's readers
	// need, and measured slower on 2 cores (docs/PERFORMANCE.md).
	boolean("useAsync", "Use the SDK's async extraction; it busy-waits a core, and measured slower on 2 cores.", false),

	group("enrich", "What each daemon is asked besides its events, so that rules see what an event does not say: the inspect of a container at its first event (kept until its destroy), of an exec at its exec_create, of a container's image, and the daemon's /info and /version at each connection. The answers travel in each event's payload (docker.container.*, docker.exec.*, docker.daemon.* fields); the shipped detections of privileged containers, host mounts, capabilities and execs need them. On by default. A host's events wait for their inspects (at most enrich.timeout), never its reader; turning the four switches off gives the bare event stream at its full rate (docs/PERFORMANCE.md)."),
	boolean("enrich.containers", "Inspect each container at its first event (privileged, mounts, capabilities, user, namespaces...).", true),
	boolean("enrich.execs", "Inspect each exec at its exec_create (command, user, privileged, tty).", true),
	boolean("enrich.images", "Complete container summaries from their image (effective user, repo digest); requires enrich.containers.", true),
	boolean("enrich.daemon", "Ask each daemon's /info and /version at each connection (daemon ID, name, version, security options).", true),
	// An event waits at most this long for its inspect, then goes out
	// without the summary: the bound keeps a slow daemon from holding its
	// events back.
	duration("enrich.timeout", "Longest wait of an event for its inspect, from when its line was read; the event then goes out without it (counted in inspect_failures).",
		stream.DefaultEnrichTimeout, 10*time.Millisecond, time.Minute),
	count("enrich.concurrency", "Most inspects in flight per host.",
		stream.DefaultEnrichConcurrency, 1, 256),
	count("enrich.cacheSize", "Container and exec summaries kept per host, each (least recently used out first).",
		stream.DefaultEnrichCacheSize, 1, 1<<20),

	// Reading a few kilobytes that often costs nothing; the floor keeps a
	// typo from making it a busy loop.
	duration("inventoryInterval", "How often the inventory files named in open_params (file:///path) are checked for changes, which are applied without a restart: hosts added, removed or changed; an unusable file is reported (inventory_error) and the hosts stay as they were.",
		2*time.Second, 100*time.Millisecond, time.Hour),

	duration("certExpiryWarning", "How long before it expires a client certificate of the fleet is reported (cert_expiring, once a day per certificate file, with the days left), so that it is rotated before connections fail. Rotated files are used from the next connection on, without a restart.",
		30*24*time.Hour, time.Hour, 365*24*time.Hour),

	group("shard", "Several Falco replicas sharing one fleet: each watches the hosts that rendezvous hashing of their labels gives it, so that every host is watched by exactly one replica, and a replica added moves only about 1/count of the hosts."),
	count("shard.count", "Number of replicas sharing the fleet; 1: this Falco watches every host.", 1, 1, 1024),
	count("shard.index", "This replica, from 0 to shard.count-1 (or shard.fromPodName).", 0, 0, 1023),
	boolean("shard.fromPodName", "Take shard.index from the ordinal ending this pod's name, $HOSTNAME (a StatefulSet's pod falco-2 is replica 2).", false),
}

// actionPattern matches an action as the daemon's event filter takes it:
// a name, optionally with the suffix some actions carry
// ("health_status: healthy").
var actionPattern = regexp.MustCompile(`^[a-z][a-z_]*(: [^\x00-\x1f]+)?$`)

// labelPattern matches a label filter: a key holding something besides
// blanks, optionally "=value"; no NUL or line break anywhere.
var labelPattern = regexp.MustCompile(`^[^\x00\n\r=]*[^\x00-\x20=][^\x00\n\r=]*(=[^\x00\n\r]*)?$`)

// kind is what a setting holds, which decides its JSON type, its schema
// and its checks.
type kind int

const (
	kindGroup    kind = iota // an object of settings
	kindPath                 // a file path, "" for none
	kindList                 // an array of strings
	kindDuration             // a Go duration string, bounded
	kindCount                // a whole number, bounded
	kindFlag                 // true or false
)

// setting is one init_config key.
type setting struct {
	key  string // JSON path: "reconnect.minBackoff"
	kind kind
	doc  string // for the schema and the README
	// def, min and max: nanoseconds of a duration, a count, 1 or 0 for a flag.
	def, min, max int64
	// Items of a list: one of enum, or matching pattern; itemWant says
	// which in words.
	enum     []string
	pattern  *regexp.Regexp
	itemWant string
	index    []int // of the field in Config, found at start-up
}

func group(key, doc string) setting { return setting{key: key, kind: kindGroup, doc: doc} }
func file(key, doc string) setting  { return setting{key: key, kind: kindPath, doc: doc} }

func list(key, doc, itemWant string, enum []string, pattern *regexp.Regexp) setting {
	return setting{key: key, kind: kindList, doc: doc, itemWant: itemWant, enum: enum, pattern: pattern}
}

func duration(key, doc string, def, lo, hi time.Duration) setting {
	return setting{key: key, kind: kindDuration, doc: doc, def: int64(def), min: int64(lo), max: int64(hi)}
}

func count(key, doc string, def, lo, hi int64) setting {
	return setting{key: key, kind: kindCount, doc: doc, def: def, min: lo, max: hi}
}

func boolean(key, doc string, def bool) setting {
	s := setting{key: key, kind: kindFlag, doc: doc}
	if def {
		s.def = 1
	}
	return s
}

// The field of every setting, by its JSON path; a setting without a field
// of the right type, or a field without a setting, stops the program at
// start-up (and every test).
func init() {
	fieldKinds := map[reflect.Type]kind{
		reflect.TypeFor[string]():   kindPath,
		reflect.TypeFor[[]string](): kindList,
		durationType:                kindDuration,
		reflect.TypeFor[uint32]():   kindCount,
		reflect.TypeFor[bool]():     kindFlag,
	}
	fields := map[string]reflect.StructField{}
	var walk func(prefix string, typ reflect.Type, index []int)
	walk = func(prefix string, typ reflect.Type, index []int) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			f.Index = append(slices.Clone(index), i)
			fields[prefix+name] = f
			if f.Type.Kind() == reflect.Struct {
				walk(prefix+name+".", f.Type, f.Index)
			}
		}
	}
	walk("", reflect.TypeFor[Config](), nil)
	for i := range settings {
		s := &settings[i]
		f, ok := fields[s.key]
		want, known := fieldKinds[f.Type]
		if f.Type != nil && f.Type.Kind() == reflect.Struct {
			want, known = kindGroup, true
		}
		if !ok || !known || want != s.kind {
			panic(fmt.Sprintf("plugin: setting %q has no field of its kind in Config", s.key))
		}
		s.index = f.Index
		delete(fields, s.key)
	}
	for key := range fields {
		panic(fmt.Sprintf("plugin: Config field %q has no setting", key))
	}
}

// lookupSetting returns the setting of key, nil if there is none.
func lookupSetting(key string) *setting {
	for i := range settings {
		if settings[i].key == key {
			return &settings[i]
		}
	}
	return nil
}

// want says in JSON words what s takes.
func (s *setting) want() string {
	switch s.kind {
	case kindGroup:
		return "an object"
	case kindPath:
		return "a file path (a string)"
	case kindList:
		return "an array of strings"
	case kindDuration:
		return fmt.Sprintf(`a duration such as "500ms" or "5s", from %s to %s`, formatDuration(time.Duration(s.min)), formatDuration(time.Duration(s.max)))
	case kindCount:
		return fmt.Sprintf("a whole number from %d to %d", s.min, s.max)
	default:
		return "true or false"
	}
}

// check reports what is wrong with v, the value of s in a Config.
func (s *setting) check(v reflect.Value) error {
	switch s.kind {
	case kindDuration:
		if d := v.Int(); d < s.min || d > s.max {
			return fmt.Errorf("key %q: want a duration from %s to %s, got %s", s.key,
				formatDuration(time.Duration(s.min)), formatDuration(time.Duration(s.max)), formatDuration(time.Duration(d)))
		}
	case kindCount:
		if n := v.Uint(); n < uint64(s.min) || n > uint64(s.max) {
			return fmt.Errorf("key %q: want a whole number from %d to %d, got %d", s.key, s.min, s.max, n)
		}
	case kindList:
		for i, item := range v.Interface().([]string) {
			if (s.enum != nil && !slices.Contains(s.enum, item)) || (s.pattern != nil && !s.pattern.MatchString(item)) {
				msg := fmt.Sprintf("key \"%s[%d]\": %q is not %s", s.key, i, item, s.itemWant)
				if s.enum != nil {
					msg += " (" + strings.Join(s.enum, ", ") + ")"
				}
				return fmt.Errorf("%s", msg)
			}
		}
	}
	return nil
}

// defaultText is s's default as written in init_config ("" for none).
func (s *setting) defaultText() string {
	switch s.kind {
	case kindDuration:
		return formatDuration(time.Duration(s.def))
	case kindCount:
		return strconv.FormatInt(s.def, 10)
	case kindFlag:
		return strconv.FormatBool(s.def != 0)
	}
	return ""
}

// formatDuration writes d as time.Duration.String does, without the zero
// units it trails ("5m", not "5m0s").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// sortedKeys returns the keys of m in order, for errors that do not depend
// on map order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
