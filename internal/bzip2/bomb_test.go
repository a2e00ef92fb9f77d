package bzip2

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os/exec"
	"testing"
)

// bzip2CLI compresses plain with the bzip2 command (level 9), or skips.
func bzip2CLI(t *testing.T, plain []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("bzip2 command not found")
	}
	cmd := exec.Command("bzip2", "-9")
	cmd.Stdin = bytes.NewReader(plain)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bzip2: %v", err)
	}
	return out
}

// runs returns n bytes of runs of random bytes with random lengths up to
// 600: RLE1 makes each 900 kB block of it expand to several MB, beyond
// maxBlockOut, so that blocks are held in their pre-RLE1 form.
func runs(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, n)
	for len(b) < n {
		c := byte(r.IntN(256))
		for k := 1 + r.IntN(600); k > 0 && len(b) < n; k-- {
			b = append(b, c)
		}
	}
	return b
}

// TestBzip2LargeBlocks: blocks that expand beyond maxBlockOut (long runs,
// and zeros: the worst case) decode to the standard library's output with
// the native decoder and through the standard-library fallback, with 1 and
// 2 workers and small reads, and a block failing its CRC is withheld whole.
func TestBzip2LargeBlocks(t *testing.T) {
	plain := append(runs(16<<20), make([]byte, 24<<20)...)
	in := bzip2CLI(t, plain)
	t.Logf("%d bytes in %d compressed", len(plain), len(in))
	for _, std := range []bool{false, true} {
		for _, w := range []int{1, 2} {
			bzTestStdOnly = std
			z := NewReader(bytes.NewReader(in), w)
			var got []byte
			var err error
			if w == 1 {
				got, err = io.ReadAll(z)
			} else {
				// Reads of 1000 bytes cut the runs of the expansion anywhere.
				got, err = io.ReadAll(readerOnly{io.LimitReader(z, int64(len(plain))+1), 1000})
			}
			z.Close()
			bzTestStdOnly = false
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("std fallback %v, %d workers: %d bytes (want %d), equal prefix %v, %v", std, w, len(got), len(plain), bytes.HasPrefix(plain, got), err)
			}
		}
	}

	// The first block's CRC (bytes 10-13: the block starts byte-aligned
	// after "BZh9") is damaged: nothing of the block may come out.
	bad := bytes.Clone(in)
	bad[10] ^= 1
	z := NewReader(bytes.NewReader(bad), 2)
	got, err := io.ReadAll(z)
	z.Close()
	if err == nil || len(got) != 0 {
		t.Errorf("damaged block CRC: %d bytes out, %v; want none and an error", len(got), err)
	}
}

// readerOnly reads at most n bytes at a time.
type readerOnly struct {
	r io.Reader
	n int
}

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p[:min(len(p), r.n)]) }
