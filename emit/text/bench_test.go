package text

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/mrt"
)

var corpusDir = corpus.Root()

// loadBatches decodes a corpus file into batches (skipping the benchmark
// when the corpus is absent).
func loadBatches(b testing.TB, name string) ([]*decode.Batch, int) {
	b.Helper()
	f, err := os.Open(filepath.Join(corpusDir, name))
	if err != nil {
		b.Skipf("corpus file: %v", err)
	}
	defer f.Close()
	sc, err := mrt.NewScanner(f, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Reader().Close()
	var out []*decode.Batch
	elems := 0
	for {
		bt := new(decode.Batch)
		err := sc.Fill(bt, 4096, 512)
		if len(bt.Records) > 0 {
			out = append(out, bt)
			elems += len(bt.Elems)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	return out, elems
}

func benchFormat(b *testing.B, name string, o Options) {
	batches, elems := loadBatches(b, name)
	buf := make([]byte, 0, 1<<20)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := NewFormatter(o)
		for _, bt := range batches {
			j := 0
			for ri := range bt.Records {
				start := j
				for j < len(bt.Elems) && int(bt.ElemRecord[j]) == ri {
					j++
				}
				buf, _ = f.AppendRecord(buf[:0], &bt.Records[ri], bt.Elems[start:j])
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(elems), "ns/elem")
}

// The 2015 BGP4MP_ET updates (577,744 elems) and the RouteViews TDv2 RIB
// slice (270,005 entries) of the speed targets.
const (
	benchUpdates = "ripe-bgpdump/updates.et-header.2015.gz"
	benchRIB     = "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2"
)

func BenchmarkFormatBGPReaderUpdates(b *testing.B) {
	benchFormat(b, benchUpdates, Options{Format: FormatBGPReader})
}
func BenchmarkFormatBGPReaderRIB(b *testing.B) {
	benchFormat(b, benchRIB, Options{Format: FormatBGPReader})
}
func BenchmarkFormatBGPDumpUpdates(b *testing.B) {
	benchFormat(b, benchUpdates, Options{Format: FormatBGPDump})
}
func BenchmarkFormatBGPDumpRIB(b *testing.B) {
	benchFormat(b, benchRIB, Options{Format: FormatBGPDump})
}
func BenchmarkFormatJSONUpdates(b *testing.B) {
	benchFormat(b, benchUpdates, Options{Format: FormatJSON})
}
func BenchmarkFormatRecordsUpdates(b *testing.B) {
	benchFormat(b, benchUpdates, Options{Format: FormatBGPReader, Records: true})
}

// BenchmarkWriterRIB measures the Writer: decoded batches formatted and
// written to io.Discard.
func BenchmarkWriterRIB(b *testing.B) {
	batches, elems := loadBatches(b, benchRIB)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := NewWriter(io.Discard, Options{})
		for _, src := range batches {
			if err := w.Write(context.Background(), src); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(elems), "ns/elem")
}
