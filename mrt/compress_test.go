package mrt

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// stdBzip2 is the standard library's sequential decoder, the reference for
// the parallel one.
func stdBzip2(b []byte) io.Reader { return bzip2.NewReader(bytes.NewReader(b)) }

// bz2Files lists the corpus's bzip2 files.
func bz2Files(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join(corpusDir(t), "*", "*.bz2"))
	if err != nil || len(files) < 5 {
		t.Fatalf("bzip2 corpus: %v, %d files", err, len(files))
	}
	return files
}

// TestBzip2MatchesStdlib decodes every .bz2 in the corpus with 1 and 2
// workers (native block decoder, and the standard library's per block) and
// compares output and error class with compress/bzip2.
func TestBzip2MatchesStdlib(t *testing.T) {
	var all []byte // every intact file concatenated: a multi-stream input
	var allWant []byte
	for _, f := range bz2Files(t) {
		in := rawFile(t, f[len(corpusDir(t))+1:])
		want, werr := io.ReadAll(stdBzip2(in))
		if werr == nil {
			all = append(all, in...)
			allWant = append(allWant, want...)
		}
		for _, v := range []struct {
			w      int
			native bool
		}{{1, true}, {2, true}, {2, false}} {
			w, native := v.w, v.native
			if !native && len(in) > 100<<10 {
				continue // the standard library per block: small files only (time)
			}
			{
				z := newBzip2Reader(bytes.NewReader(in), w, native)
				got, gerr := io.ReadAll(z)
				z.Close()
				if !bytes.Equal(got, want) {
					t.Errorf("%s, %d workers, native %v: %d bytes, stdlib %d (equal prefix: %v)", f, w, native, len(got), len(want), bytes.HasPrefix(want, got))
				}
				if (werr == nil) != (gerr == nil) || (werr != nil && !errors.Is(gerr, werr)) {
					t.Errorf("%s, %d workers, native %v: error %v, stdlib %v", f, w, native, gerr, werr)
				}
			}
		}
	}
	z := NewBzip2Reader(bytes.NewReader(all), 2)
	got, err := io.ReadAll(z)
	z.Close()
	if err != nil || !bytes.Equal(got, allWant) {
		t.Errorf("multi-stream: %d bytes (want %d), %v", len(got), len(allWant), err)
	}
}

// TestBzip2FalseSplit cuts the first block of a multi-block file at a fake
// magic (as a magic pattern inside compressed data would): both halves fail
// to decode alone and Read must decode them joined, giving stdlib's output.
func TestBzip2FalseSplit(t *testing.T) {
	in := rawFile(t, "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2")
	want, err := io.ReadAll(stdBzip2(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int64{400001} {
		bzTestSplit = cut
		z := NewBzip2Reader(bytes.NewReader(in), 2)
		got, err := io.ReadAll(z)
		z.Close()
		bzTestSplit = 0
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("cut at bit %d: %d bytes (want %d), %v", cut, len(got), len(want), err)
		}
	}
}

// TestBzip2Corrupt flips one bit in the middle of the compressed data: the
// blocks before it decode, then the damaged block fails its CRC or
// structure, as with the standard library.
func TestBzip2Corrupt(t *testing.T) {
	in := bytes.Clone(rawFile(t, "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2"))
	in[len(in)/2] ^= 0x10
	want, werr := io.ReadAll(stdBzip2(in))
	z := NewBzip2Reader(bytes.NewReader(in), 2)
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

func TestDetectCompression(t *testing.T) {
	for in, want := range map[string]string{
		"\x1f\x8b\x08":             "gzip",
		"BZh9\x31\x41":             "bzip2",
		"BZh0":                     "none",
		"\xfd7zXZ\x00":             "xz",
		"\x28\xb5\x2f\xfd\x00":     "zstd",
		"\x38\x7a\x7a\x18\x00\x0c": "none",
		"":                         "none",
	} {
		if got := DetectCompression([]byte(in)); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
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
			defer reportCPU(b, len(plain))()
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

// reportCPU adds "cpu-MB/s": bytes per second of process CPU time (all
// threads), a figure that other load on a shared machine disturbs less than
// wall time. Call the returned function at the end of the benchmark.
func reportCPU(b *testing.B, bytesPerOp int) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		if d := cpu() - start; d > 0 {
			b.ReportMetric(float64(bytesPerOp)*float64(b.N)/d.Seconds()/1e6, "cpu-MB/s")
		}
	}
}

// BenchmarkBzip2 compares decoders on the 1 MB bzip2 RIB slice; MB/s counts
// uncompressed bytes.
func BenchmarkBzip2(b *testing.B) {
	in := rawFile(b, "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2")
	plain, _ := io.ReadAll(stdBzip2(in))
	run := func(b *testing.B, mk func() io.Reader) {
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		defer reportCPU(b, len(plain))()
		for i := 0; i < b.N; i++ {
			r := mk()
			n, err := io.Copy(io.Discard, r)
			if err != nil || n != int64(len(plain)) {
				b.Fatal(n, err)
			}
			if c, ok := r.(io.Closer); ok {
				c.Close()
			}
		}
	}
	b.Run("stdlib", func(b *testing.B) { run(b, func() io.Reader { return stdBzip2(in) }) })
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("native-%d", w), func(b *testing.B) {
			run(b, func() io.Reader { return NewBzip2Reader(bytes.NewReader(in), w) })
		})
		b.Run(fmt.Sprintf("native-onechain-%d", w), func(b *testing.B) {
			bzOneChain = true
			defer func() { bzOneChain = false }()
			run(b, func() io.Reader { return NewBzip2Reader(bytes.NewReader(in), w) })
		})
		b.Run(fmt.Sprintf("stdlib-blocks-%d", w), func(b *testing.B) {
			run(b, func() io.Reader { return newBzip2Reader(bytes.NewReader(in), w, false) })
		})
	}
}

// TestBzip2NativeBlocks decodes every block of every corpus file with the
// native block decoder alone (no fallback) and compares it with the
// standard library's decoding of the same block.
func TestBzip2NativeBlocks(t *testing.T) {
	var d bzBlockDecoder
	blocks := 0
	for _, f := range bz2Files(t) {
		in := rawFile(t, f[len(corpusDir(t))+1:])
		s := &bitScanner{r: bytes.NewReader(in), buf: make([]byte, 0, 1<<20)}
		s.ensure(4)
		level := s.bytes(0, 4)[3]
		bit := int64(32)
		for {
			if !s.ensure((bit+48+7)/8) || s.bits(bit, 48) != bzBlockMagic {
				break
			}
			nxt, ok := s.find(bit + 48)
			if !ok {
				break // truncated last block
			}
			j := &bzJob{src: bytes.Clone(s.bytes(bit/8, int((nxt+7)/8-bit/8))), bitOff: uint(bit % 8), nbits: nxt - bit,
				level: level, crc: uint32(s.bits(bit+48, 32))}
			want, werr := io.ReadAll(bzip2.NewReader(bytes.NewReader(synthesize(nil, j))))
			got, gerr := d.decode(nil, j.src, j.bitOff, j.nbits, j.level)
			if werr != nil || gerr != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s block at bit %d: native %d bytes %v, stdlib %d bytes %v", f, bit, len(got), gerr, len(want), werr)
			}
			blocks++
			bit = nxt
		}
	}
	if blocks < 30 {
		t.Errorf("only %d blocks checked", blocks)
	}
	t.Logf("%d blocks identical", blocks)
}

func TestBzCRC(t *testing.T) {
	// Bytewise reference, as in the bzip2 format description.
	ref := func(p []byte) uint32 {
		c := ^uint32(0)
		for _, b := range p {
			c ^= uint32(b) << 24
			for k := 0; k < 8; k++ {
				if c&0x80000000 != 0 {
					c = c<<1 ^ 0x04C11DB7
				} else {
					c <<= 1
				}
			}
		}
		return ^c
	}
	p := []byte("The quick brown fox jumps over the lazy dog, 0123456789 times over")
	for n := 0; n <= len(p); n++ {
		if got, want := bzCRC(p[:n]), ref(p[:n]); got != want {
			t.Fatalf("len %d: %08x, want %08x", n, got, want)
		}
	}
}

// FuzzBzip2 compares the parallel decoder with compress/bzip2: when either
// succeeds both must, with identical output (both verify every CRC); when
// they fail, the parallel decoder's output must be a prefix of stdlib's
// (it withholds a damaged block that stdlib hands out in part).
func FuzzBzip2(f *testing.F) {
	dir := filepath.Join("..", "..", "shared", "testdata", "real")
	for _, s := range []string{"pyasn/bview.20140112.1600_3samples.bz2", "ryu/rib.20161101.0000_pick.bz2",
		"bgpkit/examples_local_only_updates.bz2"} {
		if b, err := os.ReadFile(filepath.Join(dir, s)); err == nil {
			f.Add(b)
			f.Add(append(bytes.Clone(b), b...)) // two streams
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tm := time.AfterFunc(20*time.Second, func() { panic(fmt.Sprintf("FuzzBzip2: input of %d bytes still running after 20 s", len(in))) })
		defer tm.Stop()
		want, werr := io.ReadAll(io.LimitReader(stdBzip2(in), 64<<20))
		z := NewBzip2Reader(bytes.NewReader(in), 2)
		defer z.Close()
		got, gerr := io.ReadAll(io.LimitReader(z, 64<<20))
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("stdlib: %d bytes, %v; parallel: %d bytes, %v", len(want), werr, len(got), gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("outputs differ: %d vs %d bytes", len(got), len(want))
		}
		if werr != nil && !bytes.HasPrefix(want, got) {
			t.Fatalf("parallel output (%d bytes) is not a prefix of stdlib's (%d bytes)", len(got), len(want))
		}
	})
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
	defer reportCPU(b, int(plainLen))()
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

// TestBzip2EmptyStreams: streams without blocks ("BZh9", end magic, CRC 0)
// around a real one decode like compress/bzip2 does.
func TestBzip2EmptyStreams(t *testing.T) {
	empty := []byte{'B', 'Z', 'h', '9', 0x17, 0x72, 0x45, 0x38, 0x50, 0x90, 0, 0, 0, 0}
	real := rawFile(t, "pyasn/bview.20140112.1600_3samples.bz2")
	for _, in := range [][]byte{empty, append(append(bytes.Clone(empty), real...), empty...)} {
		want, werr := io.ReadAll(stdBzip2(in))
		z := NewBzip2Reader(bytes.NewReader(in), 2)
		got, err := io.ReadAll(z)
		z.Close()
		if werr != nil || err != nil || !bytes.Equal(got, want) {
			t.Errorf("%d-byte input: %d bytes, %v; stdlib %d bytes, %v", len(in), len(got), err, len(want), werr)
		}
	}
}
