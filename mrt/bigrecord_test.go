package mrt

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"runtime"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// bigRIB returns a TABLE_DUMP_V2 dump: a PEER_INDEX_TABLE and n
// RIB_IPV4_UNICAST records of entries entries each, every entry with an
// AS_PATH of asns 4-byte ASNs (n records of ~entries*asns*4 bytes).
func bigRIB(n, entries, asns int) []byte {
	var out []byte
	rec := func(sub uint16, body []byte) {
		out = (&RawRecord{Header: Header{Timestamp: 1400000000, Type: TypeTableDumpV2, Subtype: sub, Length: uint32(len(body))}, Body: body}).AppendTo(out)
	}
	rec(PeerIndexTable, []byte{192, 0, 2, 1, 0, 0, 0, 1, 2, 192, 0, 2, 9, 192, 0, 2, 9, 0, 0, 0xfd, 0xe8})
	for r := 0; r < n; r++ {
		var b []byte
		b = binary.BigEndian.AppendUint32(b, uint32(r))
		b = append(b, 24, 10, byte(r), 0) // 10.r.0.0/24
		b = binary.BigEndian.AppendUint16(b, uint16(entries))
		for e := 0; e < entries; e++ {
			var path []byte
			for left := asns; left > 0; left -= 255 {
				k := min(left, 255)
				path = append(path, 2, byte(k))
				for i := 0; i < k; i++ {
					path = binary.BigEndian.AppendUint32(path, uint32(64512+i))
				}
			}
			attrs := append([]byte{0x40, 1, 1, 0, 0x50, 2}, binary.BigEndian.AppendUint16(nil, uint16(len(path)))...)
			attrs = append(append(attrs, path...), 0x40, 3, 4, 192, 0, 2, 9)
			b = binary.BigEndian.AppendUint16(b, 0)
			b = binary.BigEndian.AppendUint32(b, 1400000000)
			b = binary.BigEndian.AppendUint16(b, uint16(len(attrs)))
			b = append(b, attrs...)
		}
		rec(RIBIPv4Unicast, b)
	}
	return out
}

// TestScannerBatchBytes: batches of large records are capped by bytes, not
// only by counts (a 1 MiB record per batch here, where the counts would
// allow eight), so memory follows the input's size.
func TestScannerBatchBytes(t *testing.T) {
	in := bigRIB(8, 250, 1100) // 8 records of ~1.1 MB, 250 elems each
	sc, err := NewScanner(bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	sc.MaxBytes = 1 << 20
	defer sc.Close()
	var b decode.Batch
	ribs, batches := 0, 0
	for {
		b.Reset()
		err := sc.Fill(&b, 1<<20, 1<<20)
		if err != nil {
			break
		}
		batches++
		n := 0
		for i := range b.Records {
			if b.Records[i].MRTSubtype == RIBIPv4Unicast {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("batch %d holds %d records of 1.1 MB with a 1 MiB cap", batches, n)
		}
		ribs += n
	}
	if ribs != 8 {
		t.Errorf("%d RIB records read, want 8", ribs)
	}
}

// prefixOnly is a Prefilter that wants one prefix.
type prefixOnly struct{ p netip.Prefix }

func (prefixOnly) MatchRecord(*decode.Record) bool    { return true }
func (prefixOnly) MatchPeer(netip.Addr, uint32) bool  { return true }
func (prefixOnly) WantsElemType(decode.ElemType) bool { return true }
func (prefixOnly) WantsFamily(bool) bool              { return true }
func (f prefixOnly) MatchPrefix(p netip.Prefix) bool  { return p == f.p }

// TestPrefixPushDown: a RIB record whose prefix the filter rejects is
// skipped before any entry's attributes are decoded.
func TestPrefixPushDown(t *testing.T) {
	in := bigRIB(4, 50, 100)
	el := NewElementor()
	el.Prefilter = prefixOnly{netip.MustParsePrefix("10.2.0.0/24")}
	sc, err := NewScanner(bytes.NewReader(in), el)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	var b decode.Batch
	if err := sc.Fill(&b, 1<<20, 1<<20); err != nil {
		t.Fatal(err)
	}
	filtered := 0
	for i := range b.Records {
		if b.Records[i].Status == decode.StatusFilteredSource {
			filtered++
		}
	}
	if filtered != 3 || len(b.Elems) != 50 {
		t.Fatalf("%d records filtered, %d elems; want 3 skipped and the 50 entries of 10.2.0.0/24", filtered, len(b.Elems))
	}
	for _, e := range b.Elems {
		if e.Prefix != netip.MustParsePrefix("10.2.0.0/24") {
			t.Fatalf("elem for %v decoded", e.Prefix)
		}
	}
}

// TestBigRecordsMemory: 12 TABLE_DUMP_V2 records of ~4 MB with long AS
// paths, read in batches whose counts would take them all, with the
// default byte cap: a batch holds about one record's worth, whatever the
// counts a caller asks for (without the cap all twelve come in at once),
// and a filter that matches no prefix
// allocates a small fraction of the input: the entries' attributes are
// never decoded.
func TestBigRecordsMemory(t *testing.T) {
	in := bigRIB(12, 1000, 1000) // ~4 MB per record, 1000 elems each
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	read := func(el *Elementor, maxBytes int) (maxHeld uint64, allocated uint64, elems int) {
		sc, err := NewScanner(bytes.NewReader(in), el)
		if err != nil {
			t.Fatal(err)
		}
		if maxBytes >= 0 {
			sc.MaxBytes = maxBytes
		}
		defer sc.Close()
		base := heap()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		var b decode.Batch
		for {
			b.Reset()
			if err := sc.Fill(&b, 1<<20, 1<<20); err != nil {
				break
			}
			elems += len(b.Elems)
			if h := heap(); h > base && h-base > maxHeld {
				maxHeld = h - base
			}
		}
		runtime.ReadMemStats(&ms1)
		return maxHeld, ms1.TotalAlloc - ms0.TotalAlloc, elems
	}
	held, _, elems := read(nil, -1)
	if elems != 12*1000 {
		t.Fatalf("%d elems, want 12000", elems)
	}
	uncapped, _, _ := read(nil, 0)
	t.Logf("input %d MB; a batch held at most %d MB (%d MB without the byte cap)", len(in)>>20, held>>20, uncapped>>20)
	if held > 24<<20 || uncapped < 2*held {
		t.Errorf("a batch held %d MB with the default byte cap, %d MB without", held>>20, uncapped>>20)
	}
	el := NewElementor()
	el.Prefilter = prefixOnly{netip.MustParsePrefix("192.0.2.0/24")}
	_, allocated, elems := read(el, -1)
	t.Logf("non-matching prefix filter: %d MB allocated for %d MB of input", allocated>>20, len(in)>>20)
	if elems != 0 || allocated > uint64(len(in))/8 {
		t.Errorf("non-matching filter: %d elems, %d MB allocated for %d MB of input", elems, allocated>>20, len(in)>>20)
	}
}
