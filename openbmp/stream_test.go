package openbmp

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"

	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

// garbageLen is the damage between the two streams of
// TestStreamResyncFlatMemory: more than the 64 MiB the reader once scanned
// before giving up.
const garbageLen = 65 << 20

// garbage returns n pseudo-random bytes, generated as they are read so that
// the test itself does not hold them. The first byte is 0, which is no BMP
// version and no OpenBMP magic, so the damage starts with a framing error
// where the garbage starts.
func garbage(n int64) io.Reader {
	return io.MultiReader(bytes.NewReader([]byte{0}), io.LimitReader(rand.NewChaCha8([32]byte{'b', 'm', 'p'}), n-1))
}

// readFrames reads sr to the end, handing each frame to each, and returns
// the errors Next returned on the way (it stops after 11).
func readFrames(sr *StreamReader, each func(frame []byte)) []error {
	var errs []error
	for len(errs) <= 10 {
		f, err := sr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		each(f)
	}
	return errs
}

// frameSums reads every frame of an intact stream and returns their
// SHA-256 sums.
func frameSums(t *testing.T, data []byte, kind Kind) [][32]byte {
	t.Helper()
	var out [][32]byte
	if errs := readFrames(NewStreamReader(bytes.NewReader(data), kind), func(f []byte) { out = append(out, sha256.Sum256(f)) }); errs != nil {
		t.Fatalf("intact stream: %v", errs)
	}
	return out
}

// asOpenBMP wraps every frame of a raw BMP stream in an OpenBMP v1.7
// header, as a collector would publish it.
func asOpenBMP(t *testing.T, bmp []byte) []byte {
	t.Helper()
	h := Header{ObjectType: ObjectBMPRaw, AdminID: "collector", RouterIP: netip.MustParseAddr("192.0.2.1")}
	var out []byte
	if errs := readFrames(NewStreamReader(bytes.NewReader(bmp), KindBMP), func(f []byte) { out = h.AppendTo(out, f) }); errs != nil {
		t.Fatal(errs)
	}
	return out
}

// TestStreamResyncFlatMemory: two real BMP streams with 65 MiB of
// pseudo-random garbage between them, raw and wrapped in OpenBMP headers.
// Every frame of both streams comes back, one framing error is reported,
// Skipped counts exactly the garbage, and the reader allocates a bounded
// amount (its buffer is bounded by MaxFrame, not by the garbage).
func TestStreamResyncFlatMemory(t *testing.T) {
	a := corpus.Read(t, "pmacct/streams/201-BMP-CISCO-rd_instance.traffic-00.bmp")
	b := corpus.Read(t, "pmacct/streams/204-BMP-CISCO-peer_down.traffic-00.bmp")
	for _, c := range []struct {
		kind Kind
		a, b []byte
	}{
		{KindBMP, a, b},
		{KindOpenBMP, asOpenBMP(t, a), asOpenBMP(t, b)},
	} {
		t.Run(c.kind.String(), func(t *testing.T) {
			want := append(frameSums(t, c.a, c.kind), frameSums(t, c.b, c.kind)...)
			got := make([][32]byte, 0, len(want))

			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			sr := NewStreamReader(io.MultiReader(bytes.NewReader(c.a), garbage(garbageLen), bytes.NewReader(c.b)), KindUnknown)
			errs := readFrames(sr, func(f []byte) { got = append(got, sha256.Sum256(f)) })
			runtime.ReadMemStats(&after)

			if len(got) != len(want) {
				t.Fatalf("%d frames, want %d (%d + %d)", len(got), len(want), len(want)-len(frameSums(t, c.b, c.kind)), len(frameSums(t, c.b, c.kind)))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("frame %d differs", i)
				}
			}
			var de *DecodeError
			if len(errs) != 1 || !errors.As(errs[0], &de) || de.Offset != len(c.a) {
				t.Errorf("errors %v, want one framing error at offset %d", errs, len(c.a))
			}
			if sr.Skipped() != garbageLen {
				t.Errorf("Skipped() = %d, want %d", sr.Skipped(), garbageLen)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d frames, %d bytes skipped, %.1f MiB allocated while reading", len(got), sr.Skipped(), float64(alloc)/(1<<20))
			if alloc > 40<<20 {
				t.Errorf("reading allocated %.1f MiB for %d MiB of garbage, want under 40 MiB", float64(alloc)/(1<<20), garbageLen>>20)
			}
		})
	}
}
