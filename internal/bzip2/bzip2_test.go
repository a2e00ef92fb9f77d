package bzip2

import (
	"bytes"
	stdbzip2 "compress/bzip2"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

func readFile(t testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stdBzip2 is the standard library's sequential decoder, the reference for
// the parallel one.
func stdBzip2(b []byte) io.Reader { return stdbzip2.NewReader(bytes.NewReader(b)) }

// bz2Files lists the corpus's bzip2 files.
func bz2Files(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join(corpus.Need(t), "*", "*.bz2"))
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
		in := readFile(t, f)
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
				z := newReader(bytes.NewReader(in), w, native)
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
	z := NewReader(bytes.NewReader(all), 2)
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
	in := corpus.Read(t, "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2")
	want, err := io.ReadAll(stdBzip2(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int64{400001} {
		bzTestSplit = cut
		z := NewReader(bytes.NewReader(in), 2)
		got, err := io.ReadAll(z)
		z.Close()
		bzTestSplit = 0
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("cut at bit %d: %d bytes (want %d), %v", cut, len(got), len(want), err)
		}
	}
}

// BenchmarkBzip2 compares decoders on the 1 MB bzip2 RIB slice; MB/s counts
// uncompressed bytes.
func BenchmarkBzip2(b *testing.B) {
	in := corpus.Read(b, "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2")
	plain, _ := io.ReadAll(stdBzip2(in))
	run := func(b *testing.B, mk func() io.Reader) {
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		defer corpus.ReportCPU(b, len(plain))()
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
			run(b, func() io.Reader { return NewReader(bytes.NewReader(in), w) })
		})
		b.Run(fmt.Sprintf("native-onechain-%d", w), func(b *testing.B) {
			bzOneChain = true
			defer func() { bzOneChain = false }()
			run(b, func() io.Reader { return NewReader(bytes.NewReader(in), w) })
		})
		b.Run(fmt.Sprintf("stdlib-blocks-%d", w), func(b *testing.B) {
			run(b, func() io.Reader { return newReader(bytes.NewReader(in), w, false) })
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
		in := readFile(t, f)
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
			want, werr := io.ReadAll(stdbzip2.NewReader(bytes.NewReader(synthesize(nil, j))))
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
	dir := corpus.Dir()
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
		z := NewReader(bytes.NewReader(in), 2)
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

// TestBzip2EmptyStreams: streams without blocks ("BZh9", end magic, CRC 0)
// around a real one decode like compress/bzip2 does.
func TestBzip2EmptyStreams(t *testing.T) {
	empty := []byte{'B', 'Z', 'h', '9', 0x17, 0x72, 0x45, 0x38, 0x50, 0x90, 0, 0, 0, 0}
	real := corpus.Read(t, "pyasn/bview.20140112.1600_3samples.bz2")
	for _, in := range [][]byte{empty, append(append(bytes.Clone(empty), real...), empty...)} {
		want, werr := io.ReadAll(stdBzip2(in))
		z := NewReader(bytes.NewReader(in), 2)
		got, err := io.ReadAll(z)
		z.Close()
		if werr != nil || err != nil || !bytes.Equal(got, want) {
			t.Errorf("%d-byte input: %d bytes, %v; stdlib %d bytes, %v", len(in), len(got), err, len(want), werr)
		}
	}
}

// reportCPU adds "cpu-MB/s": bytes per second of process CPU time (all
// threads), a figure that other load on a shared machine disturbs less than
// wall time. Call the returned function at the end of the benchmark.
