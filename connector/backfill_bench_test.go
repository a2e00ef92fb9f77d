package connector

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/archive"
	"github.com/bgp-connector/bgp-connector/bgpstream"
	"github.com/bgp-connector/bgp-connector/emit/text"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/internal/archivetest"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
)

const benchRIB = "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2"

// bzip2Data compresses data with the bzip2 command (-9, as
// scripts/bench-read.sh does), or skips.
func bzip2Data(b *testing.B, data []byte) []byte {
	b.Helper()
	if _, err := exec.LookPath("bzip2"); err != nil {
		b.Skip("no bzip2 command")
	}
	cmd := exec.Command("bzip2", "-9", "-c")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// benchItems serves each dump under a real archive name on the emulator
// (loopback HTTP) and returns their work items, the cache warmed.
func benchItems(b *testing.B, cache string, dumps ...[]byte) []ingest.WorkItem {
	b.Helper()
	names := []string{"bgpdata/2014.05/RIBS/rib.20140523.0600.bz2", "route-views6/bgpdata/2015.11/RIBS/rib.20151101.0600.bz2"}
	var entries []archivetest.Entry
	for i, d := range dumps {
		e, ok := archivetest.Find(names[i])
		if !ok {
			b.Fatal(names[i])
		}
		e.Data = d
		entries = append(entries, e)
	}
	srv := archivetest.New(b, archivetest.Options{Entries: entries})
	f, err := archive.NewFetcher(archive.FetchOptions{CacheDir: cache})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var items []ingest.WorkItem
	for _, e := range entries {
		d := archive.Dump{URL: srv.DumpURL(e), Project: e.Project, Collector: e.Collector, Type: e.Type,
			Start: e.Start, Duration: e.Duration, Size: int64(len(e.Data))}
		rc, err := f.Open(context.Background(), d) // warm the cache
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, rc)
		rc.Close()
		items = append(items, ingest.WorkItem{Dump: d, Windows: []archive.Window{{Start: e.Start, End: e.Start.Add(time.Minute)}}})
	}
	return items
}

// benchBackfill runs a connector with two backfill tasks over items, one
// per backfill partition, on a fresh embedded broker, and returns the
// elems published and the time from the first item queued to the last
// elem acknowledged (the group is joined before).
func benchBackfill(b *testing.B, cache string, items []ingest.WorkItem) (uint64, time.Duration) {
	b.Helper()
	cluster, addr, err := StartEmbedded(0, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer cluster.Close()
	cfg := newConfig(b, "bootstrap.servers="+addr, "input.format=archive", "tasks.max=2", "backfill.partitions=2",
		"backfill.cache.dir="+cache, "topic.creation.default.partitions=6")
	c, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), WithBrokers(addr))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	for !stable(c.Holding(), 2) {
		select {
		case err := <-errc:
			b.Fatalf("connector stopped: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	start := time.Now()
	for i, it := range items {
		v, err := EncodeWorkItem(it)
		if err != nil {
			b.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.BackfillTopic, Partition: int32(i % 2), Key: []byte(it.URL), Value: v}).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	for !c.Drained(uint64(len(items))) {
		select {
		case err := <-errc:
			b.Fatalf("connector stopped: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	took := time.Since(start)
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	return c.elemTotal(), took
}

// BenchmarkBackfill measures the connector's backfill end to end, in
// process, on the embedded broker: archive dumps served on loopback (the
// cache warm) → two backfill tasks → Avro records on the output topics,
// every one acknowledged. raw: the 10× RouteViews RIB of
// scripts/bench-read.sh as two uncompressed 5× dumps (one per task, 2.7 M
// elems in all); bz2: the 10× RIB bzip2-compressed as one dump (2.7 M
// elems), beside read-bz2, bgpstream reading the same file to bgpreader
// text as the read command does.
func BenchmarkBackfill(b *testing.B) {
	rib5 := archivetest.RepeatRIB(b, benchRIB, 5)
	report := func(b *testing.B, elems uint64, secs float64) {
		b.ReportMetric(float64(elems)/secs, "elems/s")
		b.ReportMetric(float64(kafkatest.PeakRSS())/(1<<20), "peakRSS-MiB")
	}
	cpu := func() float64 {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	backfill := func(dumps ...[]byte) func(b *testing.B) {
		return func(b *testing.B) {
			cache := b.TempDir()
			items := benchItems(b, cache, dumps...)
			var elems uint64
			var secs float64
			c0 := cpu()
			for b.Loop() {
				n, d := benchBackfill(b, cache, items)
				elems, secs = elems+n, secs+d.Seconds()
			}
			report(b, elems, secs)
			b.ReportMetric((cpu()-c0)/float64(elems)*1e9, "cpu-ns/elem")
		}
	}
	b.Run("raw", backfill(rib5, rib5))
	rib10bz := bzip2Data(b, archivetest.RepeatRIB(b, benchRIB, 10))
	b.Run("bz2", backfill(rib10bz))
	b.Run("read-bz2", func(b *testing.B) {
		p := filepath.Join(b.TempDir(), "rib10x.mrt.bz2")
		if err := os.WriteFile(p, rib10bz, 0o644); err != nil {
			b.Fatal(err)
		}
		var elems uint64
		var secs float64
		c0 := cpu()
		for b.Loop() {
			s, err := bgpstream.New(bgpstream.Files(p))
			if err != nil {
				b.Fatal(err)
			}
			w := text.NewWriter(io.Discard, text.Options{Format: text.FormatBGPReader})
			start := time.Now()
			if err := s.Run(context.Background(), w); err != nil {
				b.Fatal(err)
			}
			secs += time.Since(start).Seconds()
			elems += uint64(s.Stats().Elems)
			s.Close()
		}
		report(b, elems, secs)
		b.ReportMetric((cpu()-c0)/float64(elems)*1e9, "cpu-ns/elem")
	})
}
