package decode_test

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

var realDir = corpus.Root()

// corpusUpdates returns up to n UPDATE bodies (after the 19-byte header) and
// whether they use 4-byte ASNs, taken from BGP4MP records of a real RIS file.
// The framing here is deliberately minimal and independent of package mrt.
func corpusUpdates(tb testing.TB, rel string, n int) (bodies [][]byte, as4 []bool) {
	tb.Helper()
	f, err := os.Open(filepath.Join(realDir, rel))
	if err != nil {
		tb.Skipf("real corpus not present: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	for off := 0; len(b)-off >= 12 && len(bodies) < n; {
		typ := binary.BigEndian.Uint16(b[off+4:])
		st := binary.BigEndian.Uint16(b[off+6:])
		l := int(binary.BigEndian.Uint32(b[off+8:]))
		body := b[off+12 : off+12+l]
		off += 12 + l
		if typ == 17 {
			body = body[4:]
		}
		if (typ != 16 && typ != 17) || (st != 1 && st != 4) {
			continue
		}
		w := 2
		if st == 4 {
			w = 4
		}
		afi := binary.BigEndian.Uint16(body[2*w+2:])
		p := 2*w + 4 + 8
		if afi == 2 {
			p = 2*w + 4 + 32
		}
		msg := body[p:]
		if len(msg) < 19 || msg[18] != 2 {
			continue
		}
		bodies = append(bodies, msg[19:])
		as4 = append(as4, st == 4)
	}
	return bodies, as4
}

// FuzzDecodeUpdate checks that no input makes DecodeUpdate panic or report
// prefixes that cannot exist, seeded with real UPDATEs.
func FuzzDecodeUpdate(f *testing.F) {
	bodies, as4 := corpusUpdates(f, "ripe-bgpdump/updates.20160811.1600.gz", 200)
	for i, b := range bodies {
		f.Add(b, as4[i], false)
	}
	b2, a2 := corpusUpdates(f, "ripe-bgpdump/updates.20071015.1505.gz", 50)
	for i, b := range b2 {
		f.Add(b, a2[i], i%2 == 0)
	}
	var u decode.Update
	f.Fuzz(func(t *testing.T, body []byte, as4, addPath bool) {
		o := decode.Options{AS4: as4, AddPathAll: addPath}
		err := decode.DecodeUpdate(&u, body, &o)
		for _, n := range append(u.Announced, u.Withdrawn...) {
			if !n.Prefix.IsValid() {
				t.Fatalf("invalid prefix decoded (err %v)", err)
			}
		}
		_ = u.Attrs.ASPath.String()
		var a decode.Attrs
		_ = decode.DecodeAttrs(&a, body, &o)
	})
}

// BenchmarkDecodeUpdate measures UPDATE decoding on real RIS updates of 2016.
func BenchmarkDecodeUpdate(b *testing.B) {
	bodies, as4 := corpusUpdates(b, "ripe-bgpdump/updates.20160811.1600.gz", 1<<30)
	var u decode.Update
	prefixes := 0
	for i, body := range bodies {
		_ = decode.DecodeUpdate(&u, body, &decode.Options{AS4: as4[i]})
		prefixes += len(u.Announced) + len(u.Withdrawn)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		j := i % len(bodies)
		_ = decode.DecodeUpdate(&u, bodies[j], &decode.Options{AS4: as4[j]})
		n += len(u.Announced) + len(u.Withdrawn)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "elems/s")
}
