package mrt

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

// corpusDir is the shared real-data corpus; tests skip when it is absent.
func corpusDir(t testing.TB) string {
	t.Helper()
	d := corpus.Root()
	if _, err := os.Stat(filepath.Join(d, "MANIFEST.md")); err != nil {
		t.Skip("real corpus not present:", err)
	}
	return d
}

// rawFile reads a corpus file as stored (compressed or not).
func rawFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// plainFile returns the uncompressed content of a corpus file, decoded with
// the standard library (gzip) or the sequential bzip2 path, independently of
// the Reader's pipeline.
func plainFile(t testing.TB, rel string) []byte {
	t.Helper()
	b := rawFile(t, rel)
	switch {
	case strings.HasSuffix(rel, ".gz"):
		z, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(z)
		if err != nil {
			t.Fatal(err)
		}
		return out
	case strings.HasSuffix(rel, ".bz2"):
		out, err := io.ReadAll(stdBzip2(b))
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatal(err)
		}
		return out
	}
	return b
}

// got is what a full read produced.
type got struct {
	recs   []recInfo
	gaps   []*GapError
	final  error // io.EOF or the fatal error
	stats  ReaderStats
	comp   string
	counts map[[2]uint16]int
}

type recInfo struct {
	h    Header
	off  int64
	size int
	sum  uint32 // CRC-32 of the body
	// short is RawRecord.LengthShort.
	short int
}

func readAll(t testing.TB, in []byte, opts ...ReaderOpt) got {
	t.Helper()
	r, err := NewReader(bytes.NewReader(in), opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	g := got{counts: map[[2]uint16]int{}, comp: r.Compression()}
	for {
		rec, err := r.Next()
		if err != nil {
			var gap *GapError
			if errors.As(err, &gap) {
				g.gaps = append(g.gaps, gap)
				continue
			}
			g.final = err
			break
		}
		g.recs = append(g.recs, recInfo{rec.Header, rec.Offset, len(rec.Body), crc32.ChecksumIEEE(rec.Body), rec.LengthShort})
		g.counts[[2]uint16{rec.Type, rec.Subtype}]++
	}
	if rec, err := r.Next(); rec != nil || err != io.EOF {
		t.Errorf("Next after the end = %v, %v; want nil, io.EOF", rec, err)
	}
	g.stats = r.Stats()
	return g
}

// manifestRow is one row of MANIFEST.md's "MRT files" table.
type manifestRow struct {
	path, types, compression string
}

func manifestMRT(t *testing.T) []manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir(t), "MANIFEST.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []manifestRow
	in := false
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## MRT files"
			continue
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		c := strings.Split(line, "|")
		rows = append(rows, manifestRow{
			path:        strings.Trim(strings.TrimSpace(c[1]), "`"),
			types:       strings.TrimSpace(c[4]),
			compression: strings.TrimSpace(c[5]),
		})
	}
	if len(rows) < 40 {
		t.Fatalf("parsed %d MRT rows from MANIFEST.md, expected the full table", len(rows))
	}
	return rows
}

// Type and subtype names as MANIFEST.md writes them (RFC 6396, RFC 8050);
// written out here independently of the package's constants.
var (
	manifestTypes = map[string]uint16{"BGP": 5, "TABLE_DUMP": 12, "TABLE_DUMP_V2": 13, "BGP4MP": 16, "BGP4MP_ET": 17}
	bgp4mpSub     = map[string]uint16{"STATE_CHANGE": 0, "MESSAGE": 1, "ENTRY(deprecated)": 2, "SNAPSHOT": 3,
		"MESSAGE_AS4": 4, "STATE_CHANGE_AS4": 5, "MESSAGE_LOCAL": 6, "MESSAGE_AS4_LOCAL": 7,
		"MESSAGE_ADDPATH": 8, "MESSAGE_AS4_ADDPATH": 9, "MESSAGE_LOCAL_ADDPATH": 10, "MESSAGE_AS4_LOCAL_ADDPATH": 11}
	manifestSubtypes = map[uint16]map[string]uint16{
		5: {"BGP_NULL": 0, "BGP_UPDATE": 1, "BGP_PREF_UPDATE": 2, "BGP_STATE_CHANGE": 3, "BGP_SYNC": 4,
			"BGP_OPEN": 5, "BGP_NOTIFY": 6, "BGP_KEEPALIVE": 7},
		12: {"AFI_IPv4": 1, "AFI_IPv6": 2},
		13: {"PEER_INDEX_TABLE": 1, "RIB_IPV4_UNICAST": 2, "RIB_IPV4_MULTICAST": 3, "RIB_IPV6_UNICAST": 4,
			"RIB_IPV6_MULTICAST": 5, "RIB_GENERIC": 6, "GEO_PEER_TABLE": 7, "RIB_IPV4_UNICAST_ADDPATH": 8,
			"RIB_IPV4_MULTICAST_ADDPATH": 9, "RIB_IPV6_UNICAST_ADDPATH": 10, "RIB_IPV6_MULTICAST_ADDPATH": 11,
			"RIB_GENERIC_ADDPATH": 12},
		16: bgp4mpSub,
		17: bgp4mpSub,
	}
)

// parseCounts turns "BGP4MP/MESSAGE=1, BGP4MP/STATE_CHANGE_AS4=12; BGP msgs: ..."
// into per type/subtype counts; it reports whether the row carries a
// "scan:" note (damaged or truncated input).
func parseCounts(t *testing.T, s string) (map[[2]uint16]int, bool) {
	t.Helper()
	parts := strings.Split(s, ";")
	scan := false
	for _, p := range parts[1:] {
		if strings.Contains(p, "scan:") {
			scan = true
		}
	}
	m := map[[2]uint16]int{}
	for _, item := range strings.Split(parts[0], ",") {
		item = strings.TrimSpace(item)
		name, n, ok := strings.Cut(item, "=")
		if !ok {
			t.Fatalf("bad MANIFEST item %q", item)
		}
		cnt, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("bad count in %q", item)
		}
		tn, sn, _ := strings.Cut(name, "/")
		var key [2]uint16
		if v, err := strconv.Atoi(tn); err == nil {
			s, _ := strconv.Atoi(sn)
			key = [2]uint16{uint16(v), uint16(s)}
		} else {
			ty, ok := manifestTypes[tn]
			st, ok2 := manifestSubtypes[ty][sn]
			if !ok || !ok2 {
				t.Fatalf("unknown MANIFEST type %q", name)
			}
			key = [2]uint16{ty, st}
		}
		m[key] = cnt
	}
	return m, scan
}

// TestReaderCorpus frames every MRT file of the corpus and compares the
// per type/subtype record counts with MANIFEST.md (an independent framing
// scan). Rows with a "scan:" note are damaged or truncated inputs, pinned
// by the dedicated tests below.
func TestReaderCorpus(t *testing.T) {
	dir := corpusDir(t)
	special := map[string]bool{
		"bgpkit/rrc00_2000.01_bview.20000111.0032.gz":   true, // TestReaderDamagedBview2000
		"bgpkit/rrc00_2000.03_updates.20000325.0345.gz": true, // TestReaderDamagedUpdates2000
		"pyasn/rib.20080501.0644_firstMB.bz2":           true, // TestReaderTruncatedBzip2
		"pyasn/rib.20140523.0600_firstMB.bz2":           true,
		"pyasn/rib6.20151101.0600_firstMB.bz2":          true,
	}
	for _, row := range manifestMRT(t) {
		t.Run(row.path, func(t *testing.T) {
			want, scan := parseCounts(t, row.types)
			if scan != special[row.path] {
				t.Fatalf("MANIFEST scan note = %v, but the test treats the file as special = %v", scan, special[row.path])
			}
			if scan {
				t.Skip("damaged or truncated input: see the dedicated test")
			}
			in, err := os.ReadFile(filepath.Join(dir, row.path))
			if err != nil {
				t.Fatal(err)
			}
			g := readAll(t, in, WithName(row.path))
			if g.final != io.EOF {
				t.Fatalf("final error %v, want io.EOF", g.final)
			}
			if len(g.gaps) != 0 {
				t.Errorf("%d gaps in an intact file: %v", len(g.gaps), g.gaps[0])
			}
			if g.comp != row.compression {
				t.Errorf("Compression() = %q, MANIFEST says %q", g.comp, row.compression)
			}
			for k, n := range want {
				if g.counts[k] != n {
					t.Errorf("type %d subtype %d: %d records, MANIFEST says %d", k[0], k[1], g.counts[k], n)
				}
			}
			for k, n := range g.counts {
				if _, ok := want[k]; !ok {
					t.Errorf("type %d subtype %d: %d records not in MANIFEST", k[0], k[1], n)
				}
			}
			checkChain(t, g)
		})
	}
}

// checkChain checks that the records of an intact stream tile it: each
// record starts where the previous one ended and the last ends at the total.
func checkChain(t *testing.T, g got) {
	t.Helper()
	var next int64
	for i, r := range g.recs {
		if r.off != next {
			t.Fatalf("record %d at offset %d, previous ended at %d", i, r.off, next)
		}
		if r.short != 0 {
			t.Fatalf("record %d at %d: length repaired by %d in an intact stream", i, r.off, r.short)
		}
		next = r.off + HeaderLen + int64(r.h.Length)
		want := int(r.h.Length)
		if IsET(r.h.Type) {
			want -= 4
		}
		if r.size != want {
			t.Fatalf("record %d: body %d bytes, length field %d", i, r.size, r.h.Length)
		}
	}
	if g.stats.Bytes != next || g.stats.Records != int64(len(g.recs)) {
		t.Errorf("stats %+v, records end at %d (%d records)", g.stats, next, len(g.recs))
	}
}

// TestReaderETMicroseconds checks the extended timestamp on the BGP4MP_ET
// file: the microsecond field comes from the first 4 body bytes and the
// Body starts after it, so it begins with the BGP4MP peer AS numbers.
func TestReaderETMicroseconds(t *testing.T) {
	plain := plainFile(t, "ripe-bgpdump/updates.et-header.2015.gz")
	r, err := NewReader(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if rec.Type != TypeBGP4MPET {
		t.Fatalf("type %d", rec.Type)
	}
	if want := binary.BigEndian.Uint32(plain[12:]); rec.Microseconds != want || want >= 1e6 {
		t.Errorf("Microseconds %d, bytes say %d", rec.Microseconds, want)
	}
	if !bytes.Equal(rec.Body, plain[16:12+binary.BigEndian.Uint32(plain[8:])]) {
		t.Error("Body does not start after the microsecond field")
	}
}

// chainRecords walks a plain MRT stream by its length fields from offset
// off, the way a naive framer does, and returns the record offsets until a
// header fails check or the data ends; end is where the walk stopped.
func chainRecords(b []byte, off int, check func(ts uint32, typ, sub uint16) bool) (offs []int, end int) {
	for off+12 <= len(b) {
		ts := binary.BigEndian.Uint32(b[off:])
		typ, sub := binary.BigEndian.Uint16(b[off+4:]), binary.BigEndian.Uint16(b[off+6:])
		if !check(ts, typ, sub) {
			break
		}
		offs = append(offs, off)
		off += 12 + int(binary.BigEndian.Uint32(b[off+8:]))
	}
	return offs, off
}

// TestReaderDamagedBview2000: the early RIPE TABLE_DUMP file whose records
// each declare 4 bytes less than they occupy (bgpkit's fixture notes;
// bgpdump stops after the first record). Expectations come from an
// independent walk in the test: starting at 0, every record's real end is
// its declared end + 4, and hopping that way must land on a TABLE_DUMP
// AFI_IPv4 header each time and end exactly at EOF. The Reader must deliver
// every one of those records with its length repaired (LengthShort 4, the
// Body covering the real extent), without gaps, and end cleanly.
func TestReaderDamagedBview2000(t *testing.T) {
	const name = "bgpkit/rrc00_2000.01_bview.20000111.0032.gz"
	plain := plainFile(t, name)
	var want []int
	off := 0
	for off+12 <= len(plain) {
		if binary.BigEndian.Uint16(plain[off+4:]) != 12 || binary.BigEndian.Uint16(plain[off+6:]) != 1 {
			t.Fatalf("independent walk: no TABLE_DUMP header at %d", off)
		}
		want = append(want, off)
		off += 12 + int(binary.BigEndian.Uint32(plain[off+8:])) + 4
	}
	if off != len(plain) {
		t.Fatalf("independent walk ended at %d of %d", off, len(plain))
	}
	if len(want) < 2000 {
		t.Fatalf("independent walk found only %d records", len(want))
	}

	g := readAll(t, rawFile(t, name), WithName(name))
	if g.final != io.EOF || len(g.gaps) != 0 {
		t.Fatalf("final %v, %d gaps", g.final, len(g.gaps))
	}
	if len(g.recs) != len(want) {
		t.Fatalf("%d records, want %d", len(g.recs), len(want))
	}
	for i, r := range g.recs {
		if r.off != int64(want[i]) || r.short != 4 || r.size != int(r.h.Length)+4 {
			t.Fatalf("record %d at %d (short %d, body %d, length %d), want at %d, short 4", i, r.off, r.short, r.size, r.h.Length, want[i])
		}
	}
	if g.stats.LengthRepairs != int64(len(want)) || g.stats.Bytes != int64(len(plain)) || g.stats.Gaps != 0 {
		t.Errorf("stats %+v", g.stats)
	}
	t.Logf("%s: %d records, %d length repairs, %d gaps (bgpdump: 1 record)", name, len(g.recs), g.stats.LengthRepairs, len(g.gaps))
}

// TestReaderDamagedUpdates2000: the RIPE 2000 updates file with two damaged
// boundaries (bgpdump stops after 5 records). Reading the bytes (see the
// checks below):
//   - records at 0, 36, 60, 124 chain; the header at 188 is torn after 10
//     bytes: its length field's low half is the next record's timestamp
//     (0x38dc...), a new record starts at 198 and chains to a STATE_CHANGE
//     at 4532 whose declared end, 4554, holds no header;
//   - 14 bytes later, at 4568, a record starts that chains exactly to EOF.
//
// So the Reader must give 4 records, a gap [188, 198), the records from 198
// to 4532, a gap [4554, 4568), and the records from 4568 to EOF.
func TestReaderDamagedUpdates2000(t *testing.T) {
	const name = "bgpkit/rrc00_2000.03_updates.20000325.0345.gz"
	plain := plainFile(t, name)
	// A strict header check for this file: deprecated BGP type, known
	// subtype, timestamp within a day of the first record.
	first := binary.BigEndian.Uint32(plain)
	bgpHdr := func(ts uint32, typ, sub uint16) bool {
		d := int64(ts) - int64(first)
		return typ == 5 && sub <= 7 && d > -86400 && d < 86400
	}
	a, endA := chainRecords(plain, 0, bgpHdr)
	if len(a) != 5 || a[4] != 188 {
		t.Fatalf("naive walk: %v", a)
	}
	if endA <= len(plain) && !bgpHdr(binary.BigEndian.Uint32(plain[198:]), binary.BigEndian.Uint16(plain[202:]), binary.BigEndian.Uint16(plain[204:])) {
		t.Fatal("no header at 198 inside the header at 188: not torn as described")
	}
	b, endB := chainRecords(plain, 198, bgpHdr)
	if endB != 4554 || b[len(b)-1] != 4532 {
		t.Fatalf("second chain ends at %d (last %d)", endB, b[len(b)-1])
	}
	c, endC := chainRecords(plain, 4568, bgpHdr)
	if endC != len(plain) {
		t.Fatalf("third chain ends at %d of %d", endC, len(plain))
	}
	var want []int
	want = append(want, a[:4]...)
	want = append(want, b...)
	want = append(want, c...)

	g := readAll(t, rawFile(t, name), WithName(name))
	if g.final != io.EOF {
		t.Fatalf("final %v", g.final)
	}
	if len(g.recs) != len(want) {
		t.Fatalf("%d records, want %d", len(g.recs), len(want))
	}
	for i, r := range g.recs {
		if r.off != int64(want[i]) {
			t.Fatalf("record %d at %d, want %d", i, r.off, want[i])
		}
	}
	if len(g.gaps) != 2 || g.gaps[0].Start != 188 || g.gaps[0].End != 198 || g.gaps[1].Start != 4554 || g.gaps[1].End != 4568 {
		t.Fatalf("gaps %v", g.gaps)
	}
	if g.stats.BytesSkipped != 24 || g.stats.Gaps != 2 || g.stats.Bytes != int64(len(plain)) {
		t.Errorf("stats %+v", g.stats)
	}
	if !strings.HasPrefix(g.gaps[0].Error(), name+": offset 188: skipped 10 bytes") {
		t.Errorf("gap error %q", g.gaps[0])
	}
	t.Logf("%s: %d records, %d gaps, %d bytes skipped (bgpdump: 5 records)", name, len(g.recs), len(g.gaps), g.stats.BytesSkipped)
}

// TestReaderTruncatedBzip2: the pyasn *_firstMB.bz2 files are the first MiB
// of RouteViews RIBs, cut inside a bzip2 block. The *.recordcut.mrt.bz2
// beside each is, per MANIFEST, the same data cut at the last complete
// record (bgpdump output identical). So the Reader must return exactly the
// recordcut's records (same offsets and bodies), then a TruncatedError at
// the recordcut's length that wraps both decode.ErrTruncated and the
// decompressor's io.ErrUnexpectedEOF.
func TestReaderTruncatedBzip2(t *testing.T) {
	for _, base := range []string{"pyasn/rib.20080501.0644_firstMB", "pyasn/rib.20140523.0600_firstMB", "pyasn/rib6.20151101.0600_firstMB"} {
		t.Run(base, func(t *testing.T) {
			cut := readAll(t, rawFile(t, base+".recordcut.mrt.bz2"))
			if cut.final != io.EOF {
				t.Fatalf("recordcut: %v", cut.final)
			}
			for _, workers := range []int{2, 0} {
				if workers == 0 && base != "pyasn/rib.20080501.0644_firstMB" {
					continue // the sequential decoder on one file only (time)
				}
				g := readAll(t, rawFile(t, base+".bz2"), WithName(base), WithBzip2Workers(workers))
				if len(g.recs) != len(cut.recs) {
					t.Fatalf("workers %d: %d records, recordcut has %d", workers, len(g.recs), len(cut.recs))
				}
				for i := range g.recs {
					if g.recs[i] != cut.recs[i] {
						t.Fatalf("workers %d: record %d differs: %+v vs %+v", workers, i, g.recs[i], cut.recs[i])
					}
				}
				var te *TruncatedError
				if !errors.As(g.final, &te) || te.Offset != cut.stats.Bytes {
					t.Fatalf("workers %d: final %v, want TruncatedError at %d", workers, g.final, cut.stats.Bytes)
				}
				if !errors.Is(g.final, decode.ErrTruncated) || !errors.Is(g.final, io.ErrUnexpectedEOF) {
					t.Errorf("workers %d: %v does not unwrap to ErrTruncated and ErrUnexpectedEOF", workers, g.final)
				}
				if len(g.gaps) != 0 {
					t.Errorf("gaps %v", g.gaps)
				}
			}
		})
	}
}

// records frames an uncompressed stream the naive way (it must be intact)
// and returns the record offsets.
func records(t testing.TB, b []byte) []int {
	t.Helper()
	offs, end := chainRecords(b, 0, func(uint32, uint16, uint16) bool { return true })
	if end != len(b) {
		t.Fatalf("naive framing ends at %d of %d", end, len(b))
	}
	return offs
}

// TestReaderHandDamaged corrupts an intact real file in several ways and
// checks the gap and the recovery against offsets computed by naive
// framing of the intact original.
func TestReaderHandDamaged(t *testing.T) {
	orig := plainFile(t, "ripe-bgpdump/updates.20100722.2015.gz")
	offs := records(t, orig)
	n := len(offs)
	const k = 100 // the damaged record
	recLen := func(i int) int { return int(binary.BigEndian.Uint32(orig[offs[i]+8:])) }

	t.Run("length above max", func(t *testing.T) {
		b := bytes.Clone(orig)
		binary.BigEndian.PutUint32(b[offs[k]+8:], 0x7fffff00)
		g := readAll(t, b)
		// Record k is lost; the gap is [offs[k], offs[k+1]).
		if g.final != io.EOF || len(g.recs) != n-1 || len(g.gaps) != 1 {
			t.Fatalf("final %v, %d records (want %d), gaps %v", g.final, len(g.recs), n-1, g.gaps)
		}
		if g.gaps[0].Start != int64(offs[k]) || g.gaps[0].End != int64(offs[k+1]) {
			t.Fatalf("gap %v, want [%d, %d)", g.gaps[0], offs[k], offs[k+1])
		}
		if g.recs[k].off != int64(offs[k+1]) {
			t.Errorf("record after the gap at %d", g.recs[k].off)
		}
	})
	t.Run("length 5 short", func(t *testing.T) {
		b := bytes.Clone(orig)
		binary.BigEndian.PutUint32(b[offs[k]+8:], uint32(recLen(k)-5))
		g := readAll(t, b)
		// Record k is delivered whole: the 5 bytes past its declared end
		// are taken back (LengthShort 5), and no gap is reported.
		if g.final != io.EOF || len(g.recs) != n || len(g.gaps) != 0 {
			t.Fatalf("final %v, %d records (want %d), gaps %v", g.final, len(g.recs), n, g.gaps)
		}
		if r := g.recs[k]; r.short != 5 || r.size != recLen(k) || g.recs[k+1].off != int64(offs[k+1]) {
			t.Fatalf("record %d: short %d body %d, want 5 and %d", k, r.short, r.size, recLen(k))
		}
	})
	t.Run("length 7 long", func(t *testing.T) {
		b := bytes.Clone(orig)
		binary.BigEndian.PutUint32(b[offs[k]+8:], uint32(recLen(k)+7))
		g := readAll(t, b)
		// Record k overruns record k+1's header: the resync point lies
		// inside it, so record k goes into the gap.
		if g.final != io.EOF || len(g.recs) != n-1 || len(g.gaps) != 1 {
			t.Fatalf("final %v, %d records (want %d), gaps %v", g.final, len(g.recs), n-1, g.gaps)
		}
		if g.gaps[0].Start != int64(offs[k]) || g.gaps[0].End != int64(offs[k+1]) {
			t.Fatalf("gap %v, want [%d, %d)", g.gaps[0], offs[k], offs[k+1])
		}
	})
	t.Run("garbage inserted", func(t *testing.T) {
		junk := bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x10}, 50)
		b := append(append(bytes.Clone(orig[:offs[k]]), junk...), orig[offs[k]:]...)
		g := readAll(t, b)
		if g.final != io.EOF || len(g.recs) != n || len(g.gaps) != 1 {
			t.Fatalf("final %v, %d records (want %d), gaps %v", g.final, len(g.recs), n, g.gaps)
		}
		if g.gaps[0].Start != int64(offs[k]) || g.gaps[0].End != int64(offs[k]+len(junk)) {
			t.Fatalf("gap %v", g.gaps[0])
		}
		if g.stats.BytesSkipped != int64(len(junk)) {
			t.Errorf("stats %+v", g.stats)
		}
	})
	t.Run("garbage then later data", func(t *testing.T) {
		// Records after the damage are 40 days later than those before
		// (two dumps concatenated): the resync accepts them on a longer
		// chain of mutually consistent headers.
		junk := bytes.Repeat([]byte{0x55}, 777)
		later := bytes.Clone(orig[offs[k]:])
		for _, o := range offs[k:] {
			o -= offs[k]
			binary.BigEndian.PutUint32(later[o:], binary.BigEndian.Uint32(later[o:])+40*86400)
		}
		b := append(append(bytes.Clone(orig[:offs[k]]), junk...), later...)
		g := readAll(t, b)
		if g.final != io.EOF || len(g.recs) != n || len(g.gaps) != 1 || g.gaps[0].Start != int64(offs[k]) || g.gaps[0].End != int64(offs[k]+len(junk)) {
			t.Fatalf("final %v, %d records (want %d), gaps %v", g.final, len(g.recs), n, g.gaps)
		}
	})
	t.Run("zeroed region", func(t *testing.T) {
		// 3000 zero bytes overwrite records k.. ; recovery at the first
		// record starting after them.
		b := bytes.Clone(orig)
		clear(b[offs[k] : offs[k]+3000])
		j := k
		for offs[j] < offs[k]+3000 {
			j++
		}
		g := readAll(t, b)
		if g.final != io.EOF || len(g.gaps) != 1 || len(g.recs) != n-(j-k) {
			t.Fatalf("final %v, %d records (want %d), gaps %v", g.final, len(g.recs), n-(j-k), g.gaps)
		}
		if g.gaps[0].Start != int64(offs[k]) || g.gaps[0].End != int64(offs[j]) {
			t.Fatalf("gap %v, want [%d, %d)", g.gaps[0], offs[k], offs[j])
		}
	})
}

// TestReaderTruncatedPlain cuts an uncompressed stream inside a record.
func TestReaderTruncatedPlain(t *testing.T) {
	orig := plainFile(t, "ripe-bgpdump/updates.20100722.2015.gz")
	offs := records(t, orig)
	cut := offs[50] + 20
	g := readAll(t, orig[:cut], WithName("cut.mrt"))
	var te *TruncatedError
	if len(g.recs) != 50 || !errors.As(g.final, &te) || te.Offset != int64(offs[50]) || !errors.Is(te, decode.ErrTruncated) {
		t.Fatalf("%d records, final %v", len(g.recs), g.final)
	}
	if !strings.HasPrefix(te.Error(), "cut.mrt: offset "+strconv.Itoa(offs[50])+": ") {
		t.Errorf("error %q", te)
	}
	// A cut inside the header.
	g = readAll(t, orig[:offs[50]+5])
	if len(g.recs) != 50 || !errors.As(g.final, &te) || te.Offset != int64(offs[50]) {
		t.Fatalf("%d records, final %v", len(g.recs), g.final)
	}
	// Empty input is a clean, empty stream.
	g = readAll(t, nil)
	if len(g.recs) != 0 || g.final != io.EOF || g.comp != "none" {
		t.Fatalf("empty: %+v", g)
	}
}

func TestReaderOptions(t *testing.T) {
	for _, o := range []ReaderOpt{WithMaxRecordLen(0), WithCompression("lz4"), WithChunkSize(10), WithBzip2Workers(-1), WithMaxTimeSkew(-1)} {
		if _, err := NewReader(bytes.NewReader(nil), WithName("x.mrt"), o); err == nil || !strings.Contains(err.Error(), "x.mrt") {
			t.Errorf("option accepted or error %v does not name the input", err)
		}
	}
}

// FuzzReader frames arbitrary input: it must not panic, offsets must grow,
// gaps and records must not overlap, and the byte count must add up.
func FuzzReader(f *testing.F) {
	dir := corpus.Root()
	seeds := []string{"mrtparse/bird-mrtdump_bgp", "mrtparse/bird6-mrtdump_rib", "mrtparse/openbgpd_rib_table",
		"mrtparse/quagga_rib", "mrtparse/openbgpd_rib_table-v2", "ripe-bgpdump/updates.nlri_mask_trailing_bits.gz",
		"ryu/rib.20161101.0000_pick.bz2", "pyasn/bview.20140112.1600_3samples.bz2", "bgpkit/examples_local_only_updates.bz2"}
	for _, s := range seeds {
		if b, err := os.ReadFile(filepath.Join(dir, s)); err == nil {
			f.Add(b)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "bgpkit/rrc00_2000.03_updates.20000325.0345.gz")); err == nil {
		if z, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if p, err := io.ReadAll(z); err == nil {
				f.Add(p[:5000]) // includes both damaged boundaries
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// A hang is a bug too: crash (so the fuzzer keeps the input) if one
		// input takes more than 20 s.
		tm := time.AfterFunc(20*time.Second, func() { panic(fmt.Sprintf("FuzzReader: input of %d bytes still running after 20 s", len(in))) })
		defer tm.Stop()
		r, err := NewReader(bytes.NewReader(in), WithMaxRecordLen(1<<20))
		if err != nil {
			return
		}
		defer r.Close()
		var pos int64 // end of the last record or gap
		for i := 0; ; i++ {
			rec, err := r.Next()
			if err != nil {
				var gap *GapError
				if errors.As(err, &gap) {
					if gap.Start < pos || gap.End <= gap.Start {
						t.Fatalf("gap [%d, %d) after position %d", gap.Start, gap.End, pos)
					}
					pos = gap.End
					continue
				}
				var te *TruncatedError
				if errors.As(err, &te) && te.Offset < pos {
					t.Fatalf("truncated at %d before position %d", te.Offset, pos)
				}
				if err != io.EOF && te == nil {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				break
			}
			if rec.Offset < pos {
				t.Fatalf("record at %d before position %d", rec.Offset, pos)
			}
			l := int64(rec.Length) + int64(rec.LengthShort)
			if IsET(rec.Type) {
				l -= 4
			}
			if int64(len(rec.Body)) != l || rec.LengthShort < 0 || rec.LengthShort > maxSkip {
				t.Fatalf("body %d, length %d, short %d", len(rec.Body), rec.Length, rec.LengthShort)
			}
			pos = rec.Offset + HeaderLen + int64(rec.Length) + int64(rec.LengthShort)
		}
		if r.Compression() == "none" && r.Stats().Bytes != int64(len(in)) {
			t.Fatalf("consumed %d of %d bytes", r.Stats().Bytes, len(in))
		}
	})
}

// TestReaderCloseStopsGoroutines abandons readers mid-stream: Close must
// stop the decompression goroutines (the pipe's and bzip2's workers).
func TestReaderCloseStopsGoroutines(t *testing.T) {
	files := []string{"pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2", "ripe-bgpdump/updates.et-header.2015.gz"}
	ins := make([][]byte, len(files))
	for i, f := range files {
		ins[i] = rawFile(t, f)
	}
	base := runtime.NumGoroutine()
	for _, in := range ins {
		for _, workers := range []int{0, 2} {
			r, err := NewReader(bytes.NewReader(in), WithBzip2Workers(workers), WithChunkSize(64<<10))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 1000; i++ {
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			}
			r.Close()
			r.Close() // idempotent
			if rec, err := r.Next(); rec != nil || err != io.EOF {
				t.Fatalf("Next after Close: %v, %v", rec, err)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReaderUnknownTypes: a record of a type the package does not know is
// framed like any other when the headers after it chain to known types; a
// "type" of 256 or more (what a timestamp read at the wrong offset looks
// like) is treated as damage.
func TestReaderUnknownTypes(t *testing.T) {
	orig := plainFile(t, "ripe-bgpdump/updates.20100722.2015.gz")
	offs := records(t, orig)
	n := len(offs)
	const k = 300
	setType := func(b []byte, i int, typ uint16) { binary.BigEndian.PutUint16(b[offs[i]+4:], typ) }

	b := bytes.Clone(orig)
	setType(b, k, 20)
	setType(b, k+1, 20)
	setType(b, n-1, TypeDie) // last record: ends exactly at EOF
	g := readAll(t, b)
	if g.final != io.EOF || len(g.gaps) != 0 || len(g.recs) != n || g.counts[[2]uint16{20, g.recs[k].h.Subtype}] == 0 || g.recs[n-1].h.Type != TypeDie {
		t.Fatalf("final %v, gaps %v, %d records (want %d)", g.final, g.gaps, len(g.recs), n)
	}
	checkChain(t, g)

	b = bytes.Clone(orig)
	setType(b, k, 300)
	g = readAll(t, b)
	if g.final != io.EOF || len(g.gaps) != 1 || g.gaps[0].Start != int64(offs[k]) || g.gaps[0].End != int64(offs[k+1]) || len(g.recs) != n-1 {
		t.Fatalf("type 300: final %v, gaps %v, %d records", g.final, g.gaps, len(g.recs))
	}
}

// TestReaderNoAllocsPerRecord: in steady state Next allocates nothing (the
// window and the chunk buffers are reused).
func TestReaderNoAllocsPerRecord(t *testing.T) {
	plain := plainFile(t, "ripe-bgpdump/updates.20160811.1600.gz")
	r, err := NewReader(bytes.NewReader(bytes.Repeat(plain, 3)), WithChunkSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; i < 5000; i++ { // warm up: window and chunk pool
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	avg := testing.AllocsPerRun(20000, func() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if avg > 0.001 {
		t.Errorf("%.4f allocations per record", avg)
	}
}

// TestRawRecordAppendToRoundTrip re-frames every record of a real BGP4MP_ET
// file with AppendTo: the concatenation must equal the decompressed input.
func TestRawRecordAppendToRoundTrip(t *testing.T) {
	plain := plainFile(t, "ripe-bgpdump/updates.et-header.2015.gz")
	r, err := NewReader(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []byte
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = rec.AppendTo(out)
	}
	if !bytes.Equal(out, plain) {
		t.Fatalf("re-framed %d bytes differ from the %d input bytes", len(out), len(plain))
	}
}

// TestBzip2Workers: the worker count options resolve to, the last
// WithBzip2Workers winning, else the default (2, or 1 with one CPU).
func TestBzip2Workers(t *testing.T) {
	if got, want := Bzip2Workers(), min(2, runtime.GOMAXPROCS(0)); got != want {
		t.Errorf("default: %d, want %d", got, want)
	}
	if got := Bzip2Workers(WithChunkSize(16<<10), WithBzip2Workers(1)); got != 1 {
		t.Errorf("WithBzip2Workers(1): %d", got)
	}
	if got := Bzip2Workers(WithBzip2Workers(0), WithName("x")); got != 0 {
		t.Errorf("WithBzip2Workers(0): %d", got)
	}
	if got := Bzip2Workers(WithBzip2Workers(1), WithBzip2Workers(4)); got != 4 {
		t.Errorf("last wins: %d", got)
	}
}
