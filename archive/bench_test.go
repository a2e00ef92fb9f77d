package archive

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/bgp-connector/bgp-connector/internal/archivetest"
)

// BenchmarkFetch reads a real 2.8 MB RIS bview from loopback: streamed
// with no cache, downloaded into a cold cache (write, fsync, rename, read
// back), and from a warm cache.
func BenchmarkFetch(b *testing.B) {
	srv := archivetest.New(b, archivetest.Options{})
	d, p := dumpOf(b, srv, "rrc00/2000.01/bview.20000111.0032.gz")
	size := int64(len(srv.Data(p)))
	buf := make([]byte, 256<<10)
	read := func(b *testing.B, f *Fetcher) {
		rc, err := f.Open(context.Background(), d)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, onlyReader{rc}, buf)
		rc.Close()
		if err != nil || n != size {
			b.Fatalf("%d bytes, %v", n, err)
		}
	}
	b.Run("stream", func(b *testing.B) {
		f := newFetcher(b, FetchOptions{})
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			read(b, f)
		}
	})
	b.Run("cache-cold", func(b *testing.B) {
		root := b.TempDir()
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			dir, err := os.MkdirTemp(root, "c")
			if err != nil {
				b.Fatal(err)
			}
			f, err := NewFetcher(FetchOptions{CacheDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			read(b, f)
			f.Close()
			os.RemoveAll(dir)
		}
	})
	b.Run("cache-warm", func(b *testing.B) {
		f := newFetcher(b, FetchOptions{CacheDir: b.TempDir()})
		read(b, f)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			read(b, f)
		}
	})
}
