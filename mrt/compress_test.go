package mrt

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
	pbzip2 "github.com/bgp-connector/bgp-connector/internal/bzip2"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// stdBzip2 is the standard library's sequential decoder, the reference for
// the parallel one.
func stdBzip2(b []byte) io.Reader { return bzip2.NewReader(bytes.NewReader(b)) }

// TestBzip2Corrupt flips one bit in the middle of the compressed data: the
// blocks before it decode, then the damaged block fails its CRC or
// structure, as with the standard library.
func TestBzip2Corrupt(t *testing.T) {
	in := bytes.Clone(rawFile(t, "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2"))
	in[len(in)/2] ^= 0x10
	want, werr := io.ReadAll(stdBzip2(in))
	z := pbzip2.NewReader(bytes.NewReader(in), 2)
	got, gerr := io.ReadAll(z)
	z.Close()
	if werr == nil || gerr == nil {
		t.Fatalf("errors: stdlib %v, parallel %v", werr, gerr)
	}
	// The standard library hands out the damaged block's bytes before it
	// finds the CRC mismatch; the parallel decoder withholds the whole
	// block, so its output is a shorter prefix.
	if !bytes.HasPrefix(want, got) || len(got) == 0 {
		t.Errorf("parallel gave %d bytes before the error, not a prefix of stdlib's %d", len(got), len(want))
	}
	if !strings.Contains(gerr.Error(), "compressed byte") {
		t.Errorf("error %q does not give the compressed offset", gerr)
	}
	// Through the Reader: the complete records, then a TruncatedError
	// wrapping the decompressor's error.
	g := readAll(t, in)
	var te *TruncatedError
	if !errors.As(g.final, &te) || !errors.Is(g.final, decode.ErrTruncated) {
		t.Fatalf("final %v", g.final)
	}
	offs := records(t, got[:lastRecordEnd(got)])
	if len(g.recs) != len(offs) {
		t.Errorf("%d records before the damage, want %d", len(g.recs), len(offs))
	}
}

// lastRecordEnd returns the end of the last complete record of a plain
// stream that may end inside a record.
func lastRecordEnd(b []byte) int {
	off := 0
	for off+12 <= len(b) {
		n := off + 12 + int(uint32(b[off+8])<<24|uint32(b[off+9])<<16|uint32(b[off+10])<<8|uint32(b[off+11]))
		if n > len(b) {
			break
		}
		off = n
	}
	return off
}

type compressor struct {
	name string
	fn   func(t *testing.T, plain []byte) []byte
}

func compressors() []compressor {
	return []compressor{
		{"none", func(t *testing.T, p []byte) []byte { return p }},
		{"gzip", func(t *testing.T, p []byte) []byte {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write(p)
			w.Close()
			return b.Bytes()
		}},
		{"gzip", func(t *testing.T, p []byte) []byte {
			// Multi-member: cut at an odd point inside a record.
			var b bytes.Buffer
			for _, part := range [][]byte{p[:len(p)/3+7], p[len(p)/3+7:]} {
				w := gzip.NewWriter(&b)
				w.Write(part)
				w.Close()
			}
			return b.Bytes()
		}},
		{"xz", func(t *testing.T, p []byte) []byte {
			var b bytes.Buffer
			w, err := xz.NewWriter(&b)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(p)
			w.Close()
			return b.Bytes()
		}},
		{"zstd", func(t *testing.T, p []byte) []byte {
			e, err := zstd.NewWriter(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			return e.EncodeAll(p, nil)
		}},
	}
}

// TestReaderCompressionFormats frames one real file in every compression
// (made in the test) and compares with the naive framing of the plain bytes.
func TestReaderCompressionFormats(t *testing.T) {
	plain := plainFile(t, "ripe-bgpdump/updates.20100722.2015.gz")
	offs := records(t, plain)
	for i, c := range compressors() {
		t.Run(fmt.Sprintf("%d-%s", i, c.name), func(t *testing.T) {
			in := c.fn(t, plain)
			g := readAll(t, in, WithChunkSize(4096)) // small chunks: records span chunks
			if g.comp != c.name || g.final != io.EOF || len(g.recs) != len(offs) || g.stats.Bytes != int64(len(plain)) {
				t.Fatalf("compression %q, final %v, %d records (want %d), stats %+v", g.comp, g.final, len(g.recs), len(offs), g.stats)
			}
			for j, r := range g.recs {
				if r.off != int64(offs[j]) {
					t.Fatalf("record %d at %d, want %d", j, r.off, offs[j])
				}
			}
			if g.stats.CompressedBytes != int64(len(in)) {
				t.Errorf("CompressedBytes %d, input %d", g.stats.CompressedBytes, len(in))
			}
		})
	}
	// bzip2, multi-stream: two corpus files concatenated.
	a := rawFile(t, "bgpkit/examples_local_only_updates.bz2")
	b := rawFile(t, "libbgpstream/routeviews.route-views.jinx.updates.1427846400.bz2")
	pa, _ := io.ReadAll(stdBzip2(a))
	pb, _ := io.ReadAll(stdBzip2(b))
	g := readAll(t, append(bytes.Clone(a), b...))
	// MANIFEST: 85 BGP4MP_ET and 1756 BGP4MP MESSAGE_AS4 records.
	if g.comp != "bzip2" || g.final != io.EOF || len(g.recs) != 85+1756 || g.stats.Bytes != int64(len(pa)+len(pb)) {
		t.Fatalf("bzip2 multi-stream: %q, %v, %d records, %+v", g.comp, g.final, len(g.recs), g.stats)
	}
	checkChain(t, g)
}

// TestReaderTruncatedCompressed cuts each compressed form in the middle:
// every record complete in what the decompressor yields before failing
// comes out, then a TruncatedError at the first incomplete record that wraps
// the decompressor's error. The expectation comes from running the same
// decompression library directly on the cut input.
func TestReaderTruncatedCompressed(t *testing.T) {
	// Three intact update files back to back (5 MB): several zstd blocks
	// and xz chunks.
	var plain []byte
	for _, f := range []string{"ripe-bgpdump/updates.20100722.2015.gz", "ripe-bgpdump/updates.20160811.1600.gz", "ripe-bgpdump/updates.20070211.0141.gz"} {
		plain = append(plain, plainFile(t, f)...)
	}
	offs := records(t, plain)
	direct := map[string]func([]byte) ([]byte, error){
		"gzip": func(b []byte) ([]byte, error) {
			z, err := kgzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			return io.ReadAll(z)
		},
		"xz": func(b []byte) ([]byte, error) {
			z, err := xz.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			return io.ReadAll(z)
		},
		"zstd": func(b []byte) ([]byte, error) {
			z, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, err
			}
			defer z.Close()
			return io.ReadAll(z)
		},
	}
	for i, c := range compressors()[1:] {
		t.Run(fmt.Sprintf("%d-%s", i, c.name), func(t *testing.T) {
			in := c.fn(t, plain)
			in = in[:len(in)/2]
			prefix, derr := direct[c.name](in)
			if derr == nil || !bytes.HasPrefix(plain, prefix) {
				t.Fatalf("direct decompression of the cut input: %d bytes, %v", len(prefix), derr)
			}
			want := len(records(t, prefix[:lastRecordEnd(prefix)]))
			if want == 0 {
				t.Fatalf("the decompressor yields no complete record: make the input larger")
			}
			g := readAll(t, in, WithName("half."+c.name))
			var te *TruncatedError
			if !errors.As(g.final, &te) || !errors.Is(g.final, decode.ErrTruncated) || !errors.Is(g.final, derr) {
				t.Fatalf("final %v (direct: %v)", g.final, derr)
			}
			n := len(g.recs)
			if n != want {
				t.Fatalf("%d records, the decompressor yields %d complete ones", n, want)
			}
			for j, r := range g.recs {
				if r.off != int64(offs[j]) {
					t.Fatalf("record %d at %d, want %d", j, r.off, offs[j])
				}
			}
			// The stream stopped inside record n (or exactly at its start).
			if te.Offset != int64(offs[n]) || g.stats.Bytes != int64(len(prefix)) {
				t.Errorf("TruncatedError at %d, stats %+v; record %d at %d, decompressed %d", te.Offset, g.stats, n, offs[n], len(prefix))
			}
			if !strings.HasPrefix(te.Error(), fmt.Sprintf("half.%s: offset %d: ", c.name, te.Offset)) {
				t.Errorf("error %q", te)
			}
		})
	}
}

// ribBench is the framing benchmark input: the PEER_INDEX_TABLE of the
// pyasn 2014 RIB slice, then its RIB records 10 times over (~150 MB).
func ribBench(b *testing.B) []byte {
	plain, err := io.ReadAll(stdBzip2(rawFile(b, "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2")))
	if err != nil {
		b.Fatal(err)
	}
	offs := records(b, plain)
	out := append([]byte(nil), plain[:offs[1]]...)
	for i := 0; i < 10; i++ {
		out = append(out, plain[offs[1]:]...)
	}
	return out
}

// BenchmarkReaderFraming measures raw framing of uncompressed input; MB/s
// counts uncompressed bytes. Allocations are per pass of ~90k records (the
// Reader's buffers), none per record.
func BenchmarkReaderFraming(b *testing.B) {
	in := ribBench(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := NewReader(bytes.NewReader(in), WithCompression("none"))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			n++
		}
		r.Close()
		b.ReportMetric(float64(n), "records/op")
	}
}

// BenchmarkReaderBzip2 frames the bzip2 RIB slice end to end (decompression
// on other goroutines); MB/s counts uncompressed bytes.
func BenchmarkReaderBzip2(b *testing.B) {
	in := rawFile(b, "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2")
	plain, _ := io.ReadAll(stdBzip2(in))
	for _, w := range []int{0, 2} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			defer corpus.ReportCPU(b, len(plain))()
			for i := 0; i < b.N; i++ {
				r, err := NewReader(bytes.NewReader(in), WithBzip2Workers(w))
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := r.Next(); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
				}
				r.Close()
			}
		})
	}
}

// BenchmarkReaderGzip frames the RIS BGP4MP_ET gzip file end to end
// (klauspost gzip on the pipe goroutine); MB/s counts uncompressed bytes.
func BenchmarkReaderGzip(b *testing.B) {
	in := rawFile(b, "ripe-bgpdump/updates.et-header.2015.gz")
	benchReader(b, in, int64(len(plainFile(b, "ripe-bgpdump/updates.et-header.2015.gz"))))
}

// BenchmarkReaderDamaged frames the uncompressed RIS 2000 bview whose 2,490
// records are all 4 bytes short: every record takes the repair path.
func BenchmarkReaderDamaged(b *testing.B) {
	in := plainFile(b, "bgpkit/rrc00_2000.01_bview.20000111.0032.gz")
	benchReader(b, in, int64(len(in)))
}

func benchReader(b *testing.B, in []byte, plainLen int64) {
	b.SetBytes(plainLen)
	b.ReportAllocs()
	defer corpus.ReportCPU(b, int(plainLen))()
	for i := 0; i < b.N; i++ {
		r, err := NewReader(bytes.NewReader(in))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
		r.Close()
	}
}

// TestReaderBadCompressedHeader: a file that announces gzip but holds no
// gzip header fails in NewReader, naming the file and the offset.
func TestReaderBadCompressedHeader(t *testing.T) {
	_, err := NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 0x00}), WithName("bad.gz"))
	if err == nil || !strings.Contains(err.Error(), "bad.gz: offset 0: gzip") {
		t.Fatalf("error %v", err)
	}
	// Garbage after the last gzip member: every record, then a
	// TruncatedError at the end of the decompressed data.
	plain := plainFile(t, "ripe-bgpdump/updates.20100722.2015.gz")
	in := append(compressors()[1].fn(t, plain), "trailing garbage"...)
	g := readAll(t, in, WithName("tail.gz"))
	var te *TruncatedError
	if len(g.recs) != len(records(t, plain)) || !errors.As(g.final, &te) || te.Offset != int64(len(plain)) {
		t.Fatalf("%d records, final %v", len(g.recs), g.final)
	}
}

// BenchmarkReaderSmallFile measures the per-file cost: a 11 KB RIS update
// file (96 KB, 795 records) and a 1.7 KB bzip2 one, opened and read whole.
func BenchmarkReaderSmallFile(b *testing.B) {
	for _, f := range []string{"libbgpstream/ris.rrc06.updates.1427846400.gz", "bgpkit/examples_local_only_updates.bz2"} {
		in := rawFile(b, f)
		b.Run(filepath.Base(f), func(b *testing.B) {
			benchReader(b, in, int64(len(plainFile(b, f))))
		})
	}
}
