package filter_test

import (
	"bytes"
	"compress/bzip2"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// ribFile is a RouteViews TABLE_DUMP_V2 IPv4 RIB slice (270,005 entries, 35
// peers), cut at a record boundary.
const ribFile = "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2"

func loadRIB(tb testing.TB, times int) []byte {
	tb.Helper()
	f, err := os.Open(filepath.Join(realDir, ribFile))
	if err != nil {
		tb.Skipf("corpus file missing: %v", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		tb.Fatal(err)
	}
	// Repeating the dump (PEER_INDEX_TABLE included) makes a larger RIB
	// with the same peers.
	return bytes.Repeat(raw, times)
}

// readAll decodes an uncompressed MRT stream as the read command does:
// batches of elems, each elem then tested with the filter (if any). It
// returns the elems decoded and the elems kept.
func readAll(tb testing.TB, raw []byte, f *filter.Filter) (decoded, kept int) {
	el := mrt.NewElementor()
	if f != nil {
		el.Prefilter = f
	}
	sc, err := mrt.NewScanner(bytes.NewReader(raw), el, mrt.WithCompression("none"))
	if err != nil {
		tb.Fatal(err)
	}
	var b decode.Batch
	for {
		b.Reset()
		err := sc.Fill(&b, 4096, 1<<30)
		if errors.Is(err, io.EOF) {
			return decoded, kept
		}
		if err != nil {
			tb.Fatal(err)
		}
		decoded += len(b.Elems)
		for i := range b.Elems {
			if f.Match(&b.Records[b.ElemRecord[i]], &b.Elems[i]) {
				kept++
			}
		}
	}
}

// BenchmarkReadPushDown compares reading a RIB with no filter and with
// "peer <one ASN>", where the elementor skips other peers' entries before
// decoding their attributes. One op is one pass over the RIB slice repeated
// ten times (2.7 M entries).
func BenchmarkReadPushDown(b *testing.B) {
	raw := loadRIB(b, 10)
	for _, tc := range []struct{ name, expr string }{
		{"none", ""},
		{"peer", "peer 6939"},
		{"peer-and-prefix", "peer 6939 and prefix more 1.0.0.0/8"},
	} {
		var f *filter.Filter
		if tc.expr != "" {
			f = mustParse(b, tc.expr)
		}
		b.Run(tc.name, func(b *testing.B) {
			kept := 0
			loopCPU(b, func(int) { _, kept = readAll(b, raw, f) })
			b.ReportMetric(float64(kept), "elems-kept")
		})
	}
}

// cpuOf returns the thread CPU time fn takes, best of n runs.
func cpuOf(n int, fn func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	best := time.Duration(1<<63 - 1)
	for range n {
		start := threadCPU()
		fn()
		best = min(best, threadCPU()-start)
	}
	return best
}

// TestPushDownSpeedup checks the push-down contract end to end on a real
// RIB: "peer X" keeps exactly X's elems, the elementor builds no others,
// and it reads at least 3x faster than no filter (CPU time, best of 3, so
// that other load on the machine does not decide the outcome).
func TestPushDownSpeedup(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	raw := loadRIB(t, 2)
	f := mustParse(t, "peer 6939")
	all, _ := readAll(t, raw, nil)
	built, kept := readAll(t, raw, f)
	// The push-down itself, without a clock: the elementor builds only the
	// elems the filter keeps; the others are skipped before their
	// attributes are decoded.
	if built != kept {
		t.Errorf("with the push-down the elementor built %d elems of which the filter kept %d: it should build only those", built, kept)
	}
	// Independent count: elems of peer 6939 among all decoded elems.
	want := 0
	el := mrt.NewElementor()
	sc, err := mrt.NewScanner(bytes.NewReader(raw), el, mrt.WithCompression("none"))
	if err != nil {
		t.Fatal(err)
	}
	var b decode.Batch
	for {
		b.Reset()
		if err := sc.Fill(&b, 4096, 1<<30); err != nil {
			break
		}
		for i := range b.Elems {
			if b.Elems[i].PeerASN == 6939 {
				want++
			}
		}
	}
	if kept != want || want == 0 {
		t.Fatalf("peer 6939 kept %d elems, want %d", kept, want)
	}
	none := cpuOf(3, func() { readAll(t, raw, nil) })
	peer := cpuOf(3, func() { readAll(t, raw, f) })
	speedup := float64(none) / float64(peer)
	t.Logf("%d elems; no filter %v, peer 6939 (%d elems) %v: %.1fx", all, none, kept, peer, speedup)
	if speedup < 3 {
		t.Errorf("push-down speedup %.1fx, want at least 3x", speedup)
	}
}
