package bgpstream

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/archivetest"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// The five real update files of the 2010 and 2015 merge sets.
var benchFiles = []string{
	"libbgpstream/ris.rrc06.updates.1427846400.gz",
	"libbgpstream/routeviews.route-views.jinx.updates.1427846400.bz2",
	"bgpkit/rrc03_2010.02_updates.20100227.1600.first-796-records.gz",
	"bgpkit/rrc15_2010.02_updates.20100227.1600.gz",
	"bgpkit/rrc15_2010.02_updates.20100227.1610.gz",
}

// drain reads a stream to its end and returns the elems and the largest
// heap in use seen (sampled every 100 ms).
func drain(b *testing.B, s *Stream) (int64, uint64) {
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var m runtime.MemStats
		var max uint64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > max {
				max = m.HeapInuse
			}
			select {
			case <-stop:
				peak <- max
				return
			case <-t.C:
			}
		}
	}()
	var n int64
	for bt, err := range s.Batches(context.Background()) {
		if err != nil {
			b.Fatal(err)
		}
		n += int64(len(bt.Elems))
	}
	close(stop)
	return n, <-peak
}

func benchStream(b *testing.B, paths []string, wantElems int64) {
	b.ReportAllocs()
	var elems int64
	var heap uint64
	for i := 0; i < b.N; i++ {
		s, err := New(Files(paths...))
		if err != nil {
			b.Fatal(err)
		}
		n, h := drain(b, s)
		s.Close()
		if wantElems > 0 && n != wantElems {
			b.Fatalf("%d elems, want %d", n, wantElems)
		}
		elems += n
		heap = max(heap, h)
	}
	b.ReportMetric(float64(elems)/b.Elapsed().Seconds(), "elems/s")
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
}

// BenchmarkMergeRealFiles merges the five real 2010/2015 update files
// (72,826 elems; bgpdump -m prints as many lines) into one stream.
func BenchmarkMergeRealFiles(b *testing.B) {
	var paths []string
	for _, f := range benchFiles {
		paths = append(paths, corpus.Path(b, f))
	}
	benchStream(b, paths, 72826)
}

// splitFiles writes the records of a real updates file round-robin into n
// gzip files, so that every file spans the whole hour: the merge has all n
// open at once (the worst case for memory).
func splitFiles(b *testing.B, rel string, n int) ([]string, int64) {
	f, err := os.Open(corpus.Path(b, rel))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rd, err := mrt.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	bufs := make([]bytes.Buffer, n)
	i := 0
	for {
		raw, err := rd.Next()
		if err != nil {
			break
		}
		bufs[i%n].Write(raw.AppendTo(nil))
		i++
	}
	dir := b.TempDir()
	paths := make([]string, n)
	for k := range bufs {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(bufs[k].Bytes())
		w.Close()
		paths[k] = filepath.Join(dir, fmt.Sprintf("part-%04d.mrt.gz", k))
		if err := os.WriteFile(paths[k], z.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return paths, int64(i)
}

// BenchmarkMerge1000Files merges 1,000 small gzip files cut from a real
// RIS updates file, every one open at once: memory must stay flat (peak
// heap) while the stream keeps its speed.
func BenchmarkMerge1000Files(b *testing.B) {
	paths, _ := splitFiles(b, "ripe-bgpdump/updates.20160811.1600.gz", 1000)
	b.ResetTimer()
	benchStream(b, paths, 0)
}

// BenchmarkArchiveWindow reads a multi-collector window (RIS rrc03, rrc15,
// rrc06 and RouteViews jinx, route-views2, route-views6 over their 2010,
// 2014 and 2015 dumps) from the archive emulator on loopback, through the
// archive index: cold (every dump downloaded, prefetched while earlier ones
// decode) and from a warm cache.
func BenchmarkArchiveWindow(b *testing.B) {
	corpus.Need(b)
	srv := archivetest.New(b, archivetest.Options{})
	selection := []Option{
		Collectors("rrc03", "rrc15", "rrc06", "route-views.jinx", "route-views2", "route-views6"),
		Interval(time.Date(2010, 2, 27, 16, 0, 0, 0, time.UTC), time.Date(2010, 2, 27, 16, 20, 0, 0, time.UTC)),
		Interval(time.Date(2014, 5, 23, 6, 0, 0, 0, time.UTC), time.Date(2014, 5, 23, 6, 1, 0, 0, time.UTC)),
		Interval(time.Date(2015, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2015, 4, 1, 0, 14, 0, 0, time.UTC)),
		Interval(time.Date(2015, 11, 1, 6, 0, 0, 0, time.UTC), time.Date(2015, 11, 1, 6, 1, 0, 0, time.UTC)),
	}
	opts := func(cache string) []Option {
		o := append([]Option{DataInterface("archive"),
			DataInterfaceOption("archive", "ris-base", srv.RISBase()), DataInterfaceOption("archive", "routeviews-base", srv.RouteViewsBase())},
			selection...)
		if cache != "" {
			o = append(o, DataInterfaceOption("archive", "cache-dir", cache))
		}
		return o
	}
	// The same dumps as local files, through -d csvfile: what a warm cache
	// should match.
	var csv strings.Builder
	for _, e := range archivetest.Catalogue() {
		switch e.Collector {
		case "rrc03", "rrc15", "rrc06", "route-views.jinx", "route-views2", "route-views6":
			fmt.Fprintf(&csv, "%s,%s,%s,%s,%d,%d,%d\n", corpus.Path(b, e.Source), e.Project, e.Type, e.Collector,
				e.Start.Unix(), int64(e.Duration/time.Second), e.Start.Unix()+1)
		}
	}
	csvPath := filepath.Join(b.TempDir(), "window.csv")
	os.WriteFile(csvPath, []byte(csv.String()), 0o644)
	warm := b.TempDir()
	for _, tc := range []struct {
		name  string
		cache string
	}{{"cold", ""}, {"warm-cache", warm}, {"local-files", "csv"}} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.cache == "csv" {
				o := append([]Option{DataInterface("csvfile"), DataInterfaceOption("csvfile", "csv-file", csvPath)}, selection...)
				opts = func(string) []Option { return o }
				tc.cache = ""
			}
			if tc.cache != "" { // fill the cache first
				s, _ := New(opts(tc.cache)...)
				drain(b, s)
				s.Close()
				b.ResetTimer()
			}
			b.ReportAllocs()
			var elems int64
			var heap uint64
			for i := 0; i < b.N; i++ {
				s, err := New(opts(tc.cache)...)
				if err != nil {
					b.Fatal(err)
				}
				n, h := drain(b, s)
				s.Close()
				elems += n
				heap = max(heap, h)
			}
			b.ReportMetric(float64(elems)/b.Elapsed().Seconds(), "elems/s")
			b.ReportMetric(float64(elems)/float64(b.N), "elems/op")
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		})
	}
}
