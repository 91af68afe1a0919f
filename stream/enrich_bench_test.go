// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package stream

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dockerfleet/dockerfleet/extract/inspected"
	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/dockerfleet/dockerfleet/internal/fakedocker"
)

// BenchmarkIngestEnrich is BenchmarkIngest for one flooding host with
// enrichment off and on: container events of one container (a cache hit
// each), with a new container every 100 events (an inspect each, answered
// at once), and network events (no inspect). One op is one event.
func BenchmarkIngestEnrich(b *testing.B) {
	for _, shape := range []struct {
		name  string
		typ   string
		churn int
	}{{"container", "", 0}, {"churn100", "", 100}, {"network", "network", 0}} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/enrich=%v", shape.name, on), func(b *testing.B) {
				srv := fakedocker.New("flood")
				defer srv.Close()
				srv.SetInspect(fakedocker.InspectOK, 0)
				srv.SetFloodShape(shape.typ, shape.churn)
				srv.Flood(true)
				eps := unixHosts(b, srv, b.TempDir(), "h", 1)
				o := Options{PingInterval: -1}
				if on {
					o.Enrich = Enrich{Containers: true, Execs: true, Images: true, Daemon: true}
				}
				f, err := Start(context.Background(), eps, o)
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				for n := 0; n < 1000; {
					batch := <-f.Batches()
					n += len(batch.Events)
					f.Recycle(batch)
				}
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				var enriched, creates, inspectedOK int
				for got := 0; got < b.N; {
					batch := <-f.Batches()
					got += len(batch.Events)
					if got < 20000 { // a sample: parsing every event would be the consumer's cost
						for _, ev := range batch.Events {
							p, err := payload.Parse(ev.Payload)
							if err != nil {
								b.Fatal(err)
							}
							if len(p.Context()) > 0 {
								enriched++
							}
							if p.Action() == "create" {
								creates++
								if c, _ := inspected.Decode(p.Context()); c.Container != nil && c.Container.Inspected {
									inspectedOK++
								}
							}
						}
					}
					f.Recycle(batch)
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
				b.StopTimer()
				if on && enriched == 0 {
					b.Fatal("no event enriched")
				}
				if creates > 0 {
					b.ReportMetric(100*float64(inspectedOK)/float64(creates), "%creates_inspected")
				}
			})
		}
	}
}

// BenchmarkEnrichLatency measures the time from publishing a container's
// create to its delivery, with enrichment off and on, over a link whose
// inspects take 20 ms. One op is one create.
func BenchmarkEnrichLatency(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("enrich=%v", on), func(b *testing.B) {
			srv := fakedocker.New("lat")
			defer srv.Close()
			srv.SetInspect(fakedocker.InspectOK, 20*time.Millisecond)
			eps := unixHosts(b, srv, b.TempDir(), "h", 1)
			o := Options{PingInterval: -1}
			if on {
				o.Enrich = Enrich{Containers: true, Execs: true, Images: true, Daemon: true}
			}
			f, err := Start(context.Background(), eps, o)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			r := &eventReader{f: f}
			r.mustNext(b) // stream_up
			b.ResetTimer()
			var total time.Duration
			for i := range b.N {
				at := time.Now()
				srv.Publish(fakedocker.Event{Type: "container", Action: "create", ActorID: fmt.Sprintf("%064d", i)})
				r.mustNext(b)
				total += time.Since(at)
			}
			b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs/create")
		})
	}
}

// TestEnrichCacheBytesPerContainer measures the heap a cached container
// summary costs (key, encoded summary, LRU entry), for a container with a
// few mounts and options, and checks it against the 2 KiB target.
func TestEnrichCacheBytesPerContainer(t *testing.T) {
	const n = 20000
	w := &watcher{f: &Fleet{}, opts: &Options{Enrich: Enrich{Containers: true, CacheSize: n}}}
	e := newEnricher(context.Background(), w)
	c := &inspected.Container{
		Inspected: true, User: "root", Cmdline: "nginx -g daemon off;", ImageID: "sha256:" + strings.Repeat("a", 64),
		ImageRepository: "registry.example.com/team/web", ImageTag: "1.4.2", ImageDigest: "sha256:" + strings.Repeat("b", 64),
		Mounts: []inspected.Mount{
			{Type: "bind", Source: "/srv/web/conf", Dest: "/etc/nginx/conf.d", Mode: "ro", Propagation: "rprivate"},
			{Type: "volume", Source: "/var/lib/docker/volumes/webdata/_data", Dest: "/data", RW: true},
		},
		NetworkMode: "bridge", CapDrop: []string{"CAP_NET_RAW"}, SecurityOpt: []string{"no-new-privileges"}, Seccomp: "default",
		NoNewPrivileges: true, Ports: []string{"0.0.0.0:8080->80/tcp"}, PublishedPorts: []string{"80/tcp"}, RestartPolicy: "always",
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		id := fmt.Sprintf("%064x", i)
		e.containers.Add(id, inspected.Encode(c))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes per cached container (summary %d bytes)", per, len(inspected.Encode(c)))
	if per > 2048 {
		t.Errorf("%d bytes per cached container, more than 2 KiB", per)
	}
	runtime.KeepAlive(e)
}

// BenchmarkHandleEnrich measures the reader's work per event (handle: build
// the payload, with its context) without I/O: enrichment off, on for an
// event of another type (the daemon's context only), and on for an event
// of a cached container (a cache hit). One op is one event.
func BenchmarkHandleEnrich(b *testing.B) {
	const id = "3f4e8b2a9c1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
	lines := func(typ string) [][]byte {
		l := make([][]byte, 1024)
		actor := id
		if typ != "container" {
			actor = strings.Repeat("7", 64) // a network's ID
		}
		for i := range l {
			l[i] = fmt.Appendf(nil, `{"status":"start","id":"%s","from":"registry.example.com/team/web:1.4.2","Type":"%s","Action":"start","Actor":{"ID":"%s","Attributes":{"com.example.team":"payments","com.example.tier":"frontend","image":"registry.example.com/team/web:1.4.2","name":"web-7f9c","seq":"%d"}},"scope":"local","time":1700000000,"timeNano":%d}`,
				actor, typ, actor, i, 1700000000000000000+int64(i))
		}
		return l
	}
	for _, c := range []struct {
		name string
		on   bool
		typ  string
	}{{"off", false, "container"}, {"network", true, "network"}, {"container-hit", true, "container"}} {
		b.Run(c.name, func(b *testing.B) {
			o, err := Options{}.withDefaults()
			if err != nil {
				b.Fatal(err)
			}
			if c.on {
				o.Enrich, _ = Enrich{Containers: true, Execs: true, Images: true, Daemon: true}.withDefaults()
			}
			w := &watcher{f: &Fleet{work: make(tokens, 1)}, host: "web-1", opts: &o, seed: maphash.MakeSeed()}
			if c.on {
				w.enr = newEnricher(context.Background(), w)
				w.enr.daemon = inspected.Encode(&inspected.Daemon{Inspected: true, ID: "ABCD:EFGH:" + strings.Repeat("X", 40), Name: "web-1", Version: "28.5.2", APIVersion: "1.51", OS: "Debian GNU/Linux 12 (bookworm)", Kernel: "6.1.0-28-amd64", SecurityOptions: []string{"name=seccomp,profile=builtin", "name=cgroupns"}})
				base := inspected.Append(nil, w.enr.daemon, nil, nil)
				w.enr.base.Store(&base)
				w.enr.containers.Add(id, inspected.Encode(&inspected.Container{Inspected: true, User: "root", Cmdline: "nginx -g daemon off;", ImageRepository: "registry.example.com/team/web", ImageTag: "1.4.2", Seccomp: "default", NetworkMode: "bridge"}))
			}
			ls := lines(c.typ)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if w.batch != nil && len(w.batch.Events) >= 8 { // never full: nothing is handed over
					w.batch.reset()
				}
				if i%len(ls) == 0 {
					w.resume.last, w.resume.unhashed = 0, nil // the lines' times start again
				}
				w.handle(ls[i%len(ls)], nil, payload.Extra{})
			}
			b.StopTimer()
			if c.on {
				p, err := payload.Parse(w.batch.Events[len(w.batch.Events)-1].Payload)
				if err != nil || len(p.Context()) == 0 {
					b.Fatalf("last event not enriched: %v", err)
				}
				ctx, _ := inspected.Decode(p.Context())
				if (c.typ == "container") != (ctx.Container != nil) {
					b.Fatalf("container context %+v for a %s event", ctx.Container, c.typ)
				}
			}
		})
	}
}
