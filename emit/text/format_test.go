package text

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// The expected lines below are copied from bgpreader-output.md (a real
// bgpreader line) and from bgpdump 1.6.2 output in the real corpus
// (_reference/bgpdump-m); the elems are built from the facts those lines
// show.

func attrs(t *testing.T, path []uint32, set func(a *decode.Attrs)) *decode.Attrs {
	t.Helper()
	a := new(decode.Attrs)
	a.Set(decode.AttrOrigin)
	a.Set(decode.AttrASPath)
	a.ASPath.AppendSegment(decode.SegSequence, path...)
	if set != nil {
		set(a)
	}
	return a
}

func comms(cs ...uint32) []decode.Community {
	out := make([]decode.Community, len(cs))
	for i, c := range cs {
		out[i] = decode.Community(c)
	}
	return out
}

func TestBGPReaderLines(t *testing.T) {
	rec := decode.Record{Type: decode.RecordRIB, Format: decode.FormatTableDumpV2, Time: 1659312000e6,
		DumpTime: 1659827072, Project: "singlefile", Collector: "singlefile", DumpPos: decode.DumpStart}
	a := attrs(t, []uint32{207934, 3292, 6453, 4755, 9583}, func(a *decode.Attrs) {
		a.Set(decode.AttrCommunities)
		a.Communities = comms(3292<<16|1100, 3292<<16|24901, 65000<<16|100)
	})
	e := decode.Elem{Type: decode.ElemRIB, Time: rec.Time, PeerIP: netip.MustParseAddr("185.156.96.227"), PeerASN: 207934,
		Prefix: netip.MustParsePrefix("1.6.166.0/24"), NextHop: netip.MustParseAddr("185.156.96.227"), Attrs: a}
	want := "R|R|1659312000.000000|singlefile|singlefile|||207934|185.156.96.227|1.6.166.0/24|185.156.96.227|207934 3292 6453 4755 9583|9583|3292:1100 3292:24901 65000:100||\n"
	if got := string(AppendBGPReaderElem(nil, &rec, &e)); got != want {
		t.Errorf("elem line\n got %q\nwant %q", got, want)
	}
	if got, want := string(AppendBGPReaderRecord(nil, &rec)), "R|B|1659312000.000000|singlefile|singlefile|||V|1659827072\n"; got != want {
		t.Errorf("record line\n got %q\nwant %q", got, want)
	}

	// Columns per spec: W leaves six empty columns after the prefix, S
	// leaves prefix..communities empty and names the states.
	up := decode.Record{Type: decode.RecordUpdate, Format: decode.FormatBGP4MP, Time: 1427846404_000123, Project: "ris", Collector: "rrc06"}
	w := decode.Elem{Type: decode.ElemWithdrawal, PeerIP: netip.MustParseAddr("2001:200:0:fe00::6249:0"), PeerASN: 25152,
		Prefix: netip.MustParsePrefix("2a02:2158::/32")}
	if got, want := string(AppendBGPReaderElem(nil, &up, &w)), "U|W|1427846404.000123|ris|rrc06|||25152|2001:200:0:fe00::6249:0|2a02:2158::/32||||||\n"; got != want {
		t.Errorf("W line\n got %q\nwant %q", got, want)
	}
	s := decode.Elem{Type: decode.ElemPeerState, PeerIP: netip.MustParseAddr("192.0.2.1"), PeerASN: 65001,
		OldState: decode.StateOpenConfirm, NewState: decode.StateEstablished}
	if got, want := string(AppendBGPReaderElem(nil, &up, &s)), "U|S|1427846404.000123|ris|rrc06|||65001|192.0.2.1||||||OPENCONFIRM|ESTABLISHED\n"; got != want {
		t.Errorf("S line\n got %q\nwant %q", got, want)
	}
	if n := strings.Count(string(AppendBGPReaderElem(nil, &up, &w)), "|"); n != 15 {
		t.Errorf("W line has %d separators, want 15 (16 columns)", n)
	}
	// The origin column is the last ASN of a trailing sequence, the whole
	// segment of a trailing set.
	set := attrs(t, []uint32{1, 2}, func(a *decode.Attrs) { a.ASPath.AppendSegment(decode.SegSet, 3, 4) })
	e.Attrs = set
	if got := string(AppendBGPReaderElem(nil, &rec, &e)); !strings.Contains(got, "|1 2 {3,4}|{3,4}|") {
		t.Errorf("AS_SET origin: %q", got)
	}
}

func TestBGPDumpLines(t *testing.T) {
	peer := netip.MustParseAddr
	for _, tc := range []struct {
		name string
		rec  decode.Record
		e    decode.Elem
		want string
	}{
		{
			name: "BGP4MP_ET announcement",
			rec:  decode.Record{Format: decode.FormatBGP4MPET, MRTType: 17, MRTSubtype: 4, Time: 1726353018_908490},
			e: decode.Elem{Type: decode.ElemAnnouncement, PeerIP: peer("103.151.196.1"), PeerASN: 140684,
				Prefix: netip.MustParsePrefix("103.188.233.0/24"), NextHop: peer("103.151.196.152"),
				Attrs: attrs(t, []uint32{137967, 137541, 137541, 149854}, nil)},
			want: "BGP4MP_ET|1726353018.908490|A|103.151.196.1|140684|103.188.233.0/24|137967 137541 137541 149854|IGP|103.151.196.152|0|0||NAG||",
		},
		{
			name: "aggregator, MED, communities",
			rec:  decode.Record{Format: decode.FormatBGP4MP, MRTType: 16, MRTSubtype: 1, Time: 1192460700e6},
			e: decode.Elem{Type: decode.ElemAnnouncement, PeerIP: peer("213.200.87.254"), PeerASN: 3257,
				Prefix: netip.MustParsePrefix("203.157.152.0/24"), NextHop: peer("213.200.87.254"),
				Attrs: attrs(t, []uint32{3257, 3356, 2516, 4651, 4651, 4651, 4651, 4651, 7470, 9835, 9835, 9835, 9835}, func(a *decode.Attrs) {
					a.Set(decode.AttrMED)
					a.MED = 10
					a.Set(decode.AttrCommunities)
					a.Communities = comms(3257<<16|3150, 3257<<16|3153, 3257<<16|5010)
					a.Set(decode.AttrAtomicAggregate)
					a.AtomicAggregate = true
					a.Set(decode.AttrAggregator)
					a.Aggregator = decode.Aggregator{ASN: 9835, Addr: peer("164.115.26.130")}
				})},
			want: "BGP4MP|1192460700|A|213.200.87.254|3257|203.157.152.0/24|3257 3356 2516 4651 4651 4651 4651 4651 7470 9835 9835 9835 9835|IGP|213.200.87.254|0|10|3257:3150 3257:3153 3257:5010|AG|9835 164.115.26.130|",
		},
		{
			name: "TABLE_DUMP2 IPv6 with no-export",
			rec:  decode.Record{Type: decode.RecordRIB, Format: decode.FormatTableDumpV2, MRTType: 13, MRTSubtype: 4, Time: 1446357600e6},
			e: decode.Elem{Type: decode.ElemRIB, PeerIP: peer("2c0f:feb0:0:1::8"), PeerASN: 37100,
				Prefix: netip.MustParsePrefix("2001::/32"),
				Attrs: attrs(t, []uint32{37100, 6939}, func(a *decode.Attrs) {
					a.Set(decode.AttrMPReach)
					a.MPNextHop = peer("2c0f:feb0:0:1::8")
					a.Set(decode.AttrCommunities)
					a.Communities = comms(0xFFFFFF01)
				})},
			want: "TABLE_DUMP2|1446357600|B|2c0f:feb0:0:1::8|37100|2001::/32|37100 6939|IGP|2c0f:feb0:0:1::8|0|0|no-export|NAG||",
		},
		{
			name: "TABLE_DUMP2_AP without next hop or origin",
			rec:  decode.Record{Type: decode.RecordRIB, Format: decode.FormatTableDumpV2, MRTType: 13, MRTSubtype: 8, Time: 1486801687e6},
			e: decode.Elem{Type: decode.ElemRIB, PeerIP: peer("0.0.0.0"), PeerASN: 0, HasPathID: true, PathID: 0,
				Prefix: netip.MustParsePrefix("192.168.0.0/24"), Attrs: func() *decode.Attrs {
					a := new(decode.Attrs)
					a.Set(decode.AttrASPath)
					return a
				}()},
			want: "TABLE_DUMP2_AP|1486801687|B|0.0.0.0|0|192.168.0.0/24|0||INCOMPLETE|255.255.255.255|0|0||NAG||",
		},
		{
			name: "type 5 BGP: no separator before communities",
			rec:  decode.Record{Format: decode.FormatBGP, MRTType: 5, MRTSubtype: 1, Time: 945188746e6},
			e: decode.Elem{Type: decode.ElemAnnouncement, PeerIP: peer("192.65.184.1"), PeerASN: 513,
				Prefix: netip.MustParsePrefix("204.71.172.0/24"), NextHop: peer("192.65.184.1"),
				Attrs: attrs(t, []uint32{513, 8918, 4565, 5683}, func(a *decode.Attrs) {
					a.Set(decode.AttrCommunities)
					a.Communities = comms(8918<<16|60, 8918<<16|1000, 8918<<16|1020, 8918<<16|4565)
				})},
			want: "BGP|945188746|A|192.65.184.1|513|204.71.172.0/24|513 8918 4565 5683|IGP|192.65.184.1|0|08918:60 8918:1000 8918:1020 8918:4565|NAG||",
		},
		{
			name: "type 5 BGP without communities",
			rec:  decode.Record{Format: decode.FormatBGP, MRTType: 5, MRTSubtype: 1, Time: 946844091e6},
			e: decode.Elem{Type: decode.ElemAnnouncement, PeerIP: peer("195.211.222.254"), PeerASN: 5409,
				Prefix: netip.MustParsePrefix("206.224.32.0/19"), NextHop: peer("195.211.222.254"),
				Attrs: attrs(t, []uint32{5409, 6427, 6461, 568}, func(a *decode.Attrs) {
					a.Set(decode.AttrAtomicAggregate)
					a.Set(decode.AttrAggregator)
					a.Aggregator = decode.Aggregator{ASN: 568, Addr: peer("198.26.118.1")}
				})},
			want: "BGP|946844091|A|195.211.222.254|5409|206.224.32.0/19|5409 6427 6461 568|IGP|195.211.222.254|0|0|AG|568 198.26.118.1|",
		},
		{
			name: "BGP4MP_ET state change",
			rec:  decode.Record{Format: decode.FormatBGP4MPET, MRTType: 17, MRTSubtype: 5, Time: 1445565678_509481},
			e:    decode.Elem{Type: decode.ElemPeerState, PeerIP: peer("206.220.231.55"), PeerASN: 3856, OldState: 1, NewState: 2},
			want: "BGP4MP_ET|1445565678.509481|STATE|206.220.231.55|3856|1|2",
		},
		{
			name: "Zebra 8-byte state change without address",
			rec:  decode.Record{Format: decode.FormatBGP4MP, MRTType: 16, MRTSubtype: 0, Time: 973301054e6},
			e:    decode.Elem{Type: decode.ElemPeerState, PeerASN: 0, OldState: 6, NewState: 1},
			want: "BGP4MP|973301054|STATE|0.0.0.0|0|6|1",
		},
		{
			name: "BGP4MP_AP withdrawal with path id",
			rec:  decode.Record{Format: decode.FormatBGP4MP, MRTType: 16, MRTSubtype: 9, Time: 1486801690e6},
			e: decode.Elem{Type: decode.ElemWithdrawal, PeerIP: peer("192.168.0.10"), PeerASN: 65000,
				Prefix: netip.MustParsePrefix("172.17.0.0/24"), HasPathID: true, PathID: 2},
			want: "BGP4MP_AP|1486801690|W|192.168.0.10|65000|172.17.0.0/24|2",
		},
		{
			name: "IPv6 withdrawal, bgpdump IPv6 text",
			rec:  decode.Record{Format: decode.FormatBGP4MP, MRTType: 16, MRTSubtype: 4, Time: 1577792407e6},
			e: decode.Elem{Type: decode.ElemWithdrawal, PeerIP: peer("2001:db8::2"), PeerASN: 65531,
				Prefix: netip.MustParsePrefix("2001:db8:0:1::/64")},
			want: "BGP4MP|1577792407|W|2001:db8::2|65531|2001:db8:0:1::/64",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendBGPDumpElem(nil, &tc.rec, &tc.e))
			if got != tc.want+"\n" {
				t.Errorf("\n got %q\nwant %q", got, tc.want+"\n")
			}
		})
	}
}

func TestBGPDumpOrder(t *testing.T) {
	// bgpdump prints withdrawals before announcements and IPv4 before
	// IPv6, whatever the decoder's order.
	rec := decode.Record{Format: decode.FormatBGP4MP, MRTType: 16, MRTSubtype: 4, Time: 1e15}
	a := attrs(t, []uint32{1}, nil)
	mk := func(typ decode.ElemType, p string) decode.Elem {
		e := decode.Elem{Type: typ, PeerIP: netip.MustParseAddr("192.0.2.1"), PeerASN: 1, Prefix: netip.MustParsePrefix(p)}
		if typ == decode.ElemAnnouncement {
			e.Attrs, e.NextHop = a, netip.MustParseAddr("192.0.2.1")
		}
		return e
	}
	elems := []decode.Elem{mk(decode.ElemAnnouncement, "2001:db8::/32"), mk(decode.ElemAnnouncement, "10.0.0.0/8"),
		mk(decode.ElemWithdrawal, "2001:db9::/32"), mk(decode.ElemWithdrawal, "11.0.0.0/8")}
	out, n := NewFormatter(Options{Format: FormatBGPDump}).AppendRecord(nil, &rec, elems)
	var prefixes []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		prefixes = append(prefixes, strings.Split(l, "|")[5])
	}
	if got, want := strings.Join(prefixes, " "), "11.0.0.0/8 2001:db9::/32 10.0.0.0/8 2001:db8::/32"; got != want || n != 4 {
		t.Errorf("order %q (%d lines), want %q", got, n, want)
	}
	lim := NewFormatter(Options{Format: FormatBGPDump, Limit: 1})
	if _, n := lim.AppendRecord(nil, &rec, elems); n != 4 || !lim.Done() {
		t.Errorf("limit 1 record printed %d lines (done %v), want all 4 of the record", n, lim.Done())
	}
	if out, n := lim.AppendRecord(nil, &rec, elems); n != 0 || len(out) != 0 {
		t.Errorf("past the limit: %d lines %q", n, out)
	}
	// bgpreader (libbgpstream's MRT format) yields the same order.
	out, _ = NewFormatter(Options{}).AppendRecord(nil, &rec, elems)
	prefixes = prefixes[:0]
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		prefixes = append(prefixes, strings.Split(l, "|")[9])
	}
	if got, want := strings.Join(prefixes, " "), "11.0.0.0/8 2001:db9::/32 10.0.0.0/8 2001:db8::/32"; got != want {
		t.Errorf("bgpreader order %q, want %q", got, want)
	}
}

func TestJSONElem(t *testing.T) {
	rec := decode.Record{Type: decode.RecordUpdate, Format: decode.FormatBGP4MPET, Time: 1726353018_908490,
		Project: "p\"q\\\n\x01\xff", Collector: "rrc00"}
	a := attrs(t, []uint32{65000, 4200000000}, func(a *decode.Attrs) {
		a.LargeCommunities = []decode.LargeCommunity{{Global: 4200000000, Local1: 1, Local2: 2}}
		a.ExtCommunities = []decode.ExtCommunity{{0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 100}}
		a.Unknown = []decode.RawAttr{{Flags: 0xc0, Type: 99, Value: []byte{1, 0xab}}}
		a.MPNextHopLocal = netip.MustParseAddr("fe80::1")
	})
	e := decode.Elem{Type: decode.ElemAnnouncement, PeerIP: netip.MustParseAddr("2001:db8::1"), PeerASN: 65000,
		Prefix: netip.MustParsePrefix("2001:db8:1::/48"), NextHop: netip.MustParseAddr("2001:db8::1"),
		HasPathID: true, PathID: 7, Attrs: a}
	line := AppendJSONElem(nil, &rec, &e)
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", line, err)
	}
	for k, want := range map[string]any{
		"type": "A", "project": "p\"q\\\n\x01\ufffd", "path_id": 7.0, "prefix": "2001:db8:1::/48",
		"next_hop_local": "fe80::1", "as_path": "65000 4200000000", "origin_asn": 4200000000.0, "time_us": 1726353018908490.0,
	} {
		if got[k] != want {
			t.Errorf("%s = %#v, want %#v", k, got[k], want)
		}
	}
	if lc := got["large_communities"].([]any); lc[0] != "4200000000:1:2" {
		t.Errorf("large_communities = %v", lc)
	}
	if ec := got["ext_communities"].([]any); ec[0] != "rt:65000:100" {
		t.Errorf("ext_communities = %v", ec)
	}
	if u := got["unknown_attributes"].([]any)[0].(map[string]any); u["value"] != "01ab" || u["type"] != 99.0 {
		t.Errorf("unknown_attributes = %v", u)
	}
	rl := AppendJSONRecord(nil, &rec, 3)
	if !json.Valid(rl) {
		t.Errorf("invalid record JSON %s", rl)
	}
}

func TestFormatterDumpLinesAndLimit(t *testing.T) {
	rec := decode.Record{Type: decode.RecordRIB, Format: decode.FormatTableDumpV2, MRTSubtype: 2, Time: 1e15, DumpPos: decode.DumpStart}
	a := attrs(t, []uint32{1}, nil)
	elems := make([]decode.Elem, 3)
	for i := range elems {
		elems[i] = decode.Elem{Type: decode.ElemRIB, Prefix: netip.MustParsePrefix("10.0.0.0/8"), Attrs: a}
	}
	f := NewFormatter(Options{Limit: 2})
	out, n := f.AppendRecord(nil, &rec, elems)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if n != 3 || len(lines) != 4 || !strings.HasPrefix(lines[0], "R|B|") || f.Done() {
		t.Errorf("limit 2, first record: n=%d done=%v\n%s", n, f.Done(), out)
	}
	if _, n := f.AppendRecord(nil, &rec, elems); n != 3 || !f.Done() {
		t.Errorf("limit 2, second record: n=%d done=%v", n, f.Done())
	}
	pit := decode.Record{Type: decode.RecordRIB, Format: decode.FormatTableDumpV2, MRTSubtype: 1}
	if out, _ := NewFormatter(Options{}).AppendRecord(nil, &pit, nil); len(out) != 0 {
		t.Errorf("PEER_INDEX_TABLE printed %q", out)
	}
	rec.DumpPos = decode.DumpEnd
	out, _ = NewFormatter(Options{}).AppendRecord(nil, &rec, elems[:1])
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "R|E|") {
		t.Errorf("end of dump:\n%s", out)
	}
	rec.Status = decode.StatusCorruptedRecord
	if out, _ := NewFormatter(Options{}).AppendRecord(nil, &rec, nil); len(out) != 0 {
		t.Errorf("corrupted record printed dump lines %q", out)
	}
	if err := (&Options{Format: FormatBGPDump, Records: true}).Validate(); err == nil {
		t.Error("bgpdump records accepted")
	}
}

// TestFormatterMatchesElemLines checks, on real updates (many elems per
// UPDATE sharing their Attrs), that the Formatter's shared rendering of
// attribute columns prints exactly what AppendBGPReaderElem prints elem by
// elem.
func TestFormatterMatchesElemLines(t *testing.T) {
	batches, _ := loadBatches(t, "ripe-bgpdump/updates.20160811.1600.gz")
	f := NewFormatter(Options{})
	var got, want []byte
	for _, bt := range batches {
		j := 0
		for ri := range bt.Records {
			start := j
			for j < len(bt.Elems) && int(bt.ElemRecord[j]) == ri {
				j++
			}
			rec := &bt.Records[ri]
			got, _ = f.AppendRecord(got, rec, bt.Elems[start:j])
			if isPeerIndex(rec) {
				continue
			}
			if rec.Type == decode.RecordRIB && rec.DumpPos == decode.DumpStart {
				want = AppendBGPReaderRecord(want, rec)
			}
			for k := start; k < j; k++ {
				want = AppendBGPReaderElem(want, rec, &bt.Elems[k])
			}
		}
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Formatter output (%d bytes) differs from per-elem lines (%d bytes)", len(got), len(want))
	}
	if n := bytes.Count(got, []byte("\n")); n != 41234 {
		t.Errorf("%d lines, want 41234 (MANIFEST: bgpdump lines of this file)", n)
	}
}
