package mrt

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	pbzip2 "github.com/bgp-connector/bgp-connector/internal/bzip2"
)

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// bzip2Bomb returns a tiny .bz2 of n bytes of zeros (n a multiple of 64
// MiB), made with the bzip2 command: a stream of 64 MiB of zeros (a full
// 900k block expands to 45.8 MB of zeros, the worst case bzip2 allows),
// repeated. Concatenated streams are valid bzip2 (bzip2 -d reads them as one
// file) and repeat the same worst-case blocks as one long stream would,
// without compressing gigabytes in the test.
func bzip2Bomb(t *testing.T, n int64) []byte {
	t.Helper()
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("bzip2 command not found")
	}
	const part = 64 << 20
	cmd := exec.Command("bzip2", "-9")
	cmd.Stdin = io.LimitReader(zeros{}, part)
	one, err := cmd.Output()
	if err != nil {
		t.Fatalf("bzip2: %v", err)
	}
	return bytes.Repeat(one, int(n/part))
}

// peakHeap runs f while sampling the heap (live and not yet swept objects)
// every millisecond, and returns the largest sample above the heap before f.
func peakHeap(f func()) uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	var peak uint64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	if peak < base {
		return 0
	}
	return peak - base
}

// TestBzip2BombFlatMemory: 2 GiB of zeros in 2.5 KB of bzip2 decode in
// bounded memory, through the parallel decoder and through the Reader
// (which finds no MRT record in it and reports one gap). The decoder once
// held every block's 45.8 MB output in flight, and pooled them: 460-515 MB.
func TestBzip2BombFlatMemory(t *testing.T) {
	const size = 2 << 30
	bomb := bzip2Bomb(t, size)
	const bound = 64 << 20

	var n int64
	var err error
	peak := peakHeap(func() {
		z := pbzip2.NewReader(bytes.NewReader(bomb), 2)
		n, err = io.Copy(io.Discard, z)
		z.Close()
	})
	t.Logf("bzip2.NewReader: %d-byte bomb, %d bytes out, heap peak %.1f MiB", len(bomb), n, float64(peak)/(1<<20))
	if err != nil || n != size {
		t.Fatalf("bzip2.NewReader: %d bytes, %v; want %d", n, err, int64(size))
	}
	if peak > bound {
		t.Errorf("bzip2.NewReader: heap peak %.1f MiB, want under %d MiB", float64(peak)/(1<<20), bound>>20)
	}

	const mrtSize = 512 << 20 // the Reader scans every byte for a record: keep it short
	bomb = bomb[:len(bomb)/(size/mrtSize)]
	var recs, gaps int
	var gapLen int64
	var final error
	peak = peakHeap(func() {
		r, err := NewReader(bytes.NewReader(bomb), WithName("bomb.bz2"))
		if err != nil {
			final = err
			return
		}
		defer r.Close()
		for {
			_, err := r.Next()
			var g *GapError
			switch {
			case err == nil:
				recs++
				continue
			case errors.As(err, &g):
				gaps++
				gapLen += g.End - g.Start
				continue
			case err != io.EOF:
				final = err
			}
			return
		}
	})
	t.Logf("mrt.NewReader: %d records, %d gaps of %d bytes, heap peak %.1f MiB", recs, gaps, gapLen, float64(peak)/(1<<20))
	if final != nil || recs != 0 || gaps != 1 || gapLen != mrtSize {
		t.Fatalf("mrt.NewReader: %d records, %d gaps of %d bytes, final %v; want one gap of %d bytes", recs, gaps, gapLen, final, mrtSize)
	}
	if peak > bound {
		t.Errorf("mrt.NewReader: heap peak %.1f MiB, want under %d MiB", float64(peak)/(1<<20), bound>>20)
	}
}
