package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/bgp-connector/bgp-connector/emit/text"
)

// benchRead runs the whole read pipeline (framing, decoding, formatting,
// writing to io.Discard) on a file. BENCH_READ_FILE overrides the file, e.g.
// with the 10x RIB scripts/bench-read.sh builds.
func benchRead(b *testing.B, name string, elems int, f text.Format) {
	path := filepath.Join(corpusDir, name)
	if p := os.Getenv("BENCH_READ_FILE"); p != "" {
		path, elems = p, 0
	}
	if _, err := os.Stat(path); err != nil {
		b.Skipf("%v", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var total int64
	for i := 0; i < b.N; i++ {
		cfg := readConfig{Options: text.Options{Format: f}, Project: "singlefile", Collector: "singlefile", Type: "auto"}
		sum, err := readInputs(context.Background(), &cfg, []string{path}, nil, io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		if elems > 0 && sum.Elems != int64(elems) {
			b.Fatalf("%d elems, want %d", sum.Elems, elems)
		}
		total += sum.Elems
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "elems/s")
}

// Reference counts from MANIFEST.md (bgpdump -m lines).
func BenchmarkReadRIBBGPReader(b *testing.B) {
	benchRead(b, "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2", 270005, text.FormatBGPReader)
}

func BenchmarkReadUpdatesETBGPReader(b *testing.B) {
	benchRead(b, "ripe-bgpdump/updates.et-header.2015.gz", 577744, text.FormatBGPReader)
}

func BenchmarkReadUpdatesETBGPDump(b *testing.B) {
	benchRead(b, "ripe-bgpdump/updates.et-header.2015.gz", 577744, text.FormatBGPDump)
}
