package emit

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/emit/emittest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// testElems returns elems of every type exercising every field, including
// long strings and many-ASN paths that need multi-byte lengths.
func testElems() (*decode.Record, []decode.Elem) {
	rec := &decode.Record{
		Type: decode.RecordUpdate, Format: decode.FormatBMP,
		Time: 1700000000123456, Project: "openbmp", Collector: "is-cc-bmp1",
		Router: "route-views5", RouterIP: netip.MustParseAddr("128.223.51.105"),
	}
	a := &decode.Attrs{}
	a.Set(decode.AttrOrigin)
	a.Origin = decode.OriginIncomplete
	a.Set(decode.AttrASPath)
	a.ASPath.AppendSegment(decode.SegSequence, 65001, 4200000000, 3356)
	a.ASPath.AppendSegment(decode.SegSet, 1, 2)
	a.Set(decode.AttrMED)
	a.MED = 4294967295
	a.Set(decode.AttrLocalPref)
	a.LocalPref = 100
	a.AtomicAggregate = true
	a.Set(decode.AttrAggregator)
	a.Aggregator = decode.Aggregator{ASN: 65010, Addr: netip.MustParseAddr("192.0.2.9")}
	a.Communities = []decode.Community{65000<<16 | 1, decode.CommunityNoExport}
	a.LargeCommunities = []decode.LargeCommunity{{Global: 4200000000, Local1: 1, Local2: 4294967295}}
	a.ExtCommunities = []decode.ExtCommunity{{0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 100}}
	a.OriginatorID = netip.MustParseAddr("10.0.0.1")
	a.ClusterList = []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")}
	a.Set(decode.AttrOnlyToCustomer)
	a.OnlyToCustomer = 65002
	a.MPNextHopLocal = netip.MustParseAddr("fe80::1")
	a.Action = decode.ActionAttributeDiscard

	long := &decode.Attrs{}
	long.Set(decode.AttrOrigin)
	var asns []uint32
	for i := 0; i < 300; i++ {
		asns = append(asns, uint32(i*1000003))
	}
	long.ASPath.AppendSegment(decode.SegSequence, asns...)

	bmp := decode.BMPInfo{Present: true, PeerType: decode.BMPPeerRD, PostPolicy: true, AdjRIBOut: true, AS2: true, PeerDistinguisher: 0xfedcba9876543210, NoPeerUp: true}
	peer := netip.MustParseAddr("2001:db8::1")
	els := []decode.Elem{
		{Type: decode.ElemAnnouncement, Time: 1700000000000001, PeerIP: peer, PeerASN: 4200000001,
			Prefix: netip.MustParsePrefix("2001:db8:1234::/48"), PathID: 7, HasPathID: true,
			NextHop: netip.MustParseAddr("2001:db8::ffff"), Attrs: a, BMP: bmp},
		{Type: decode.ElemRIB, Time: 1, PeerIP: netip.MustParseAddr("192.0.2.1"), PeerASN: 1,
			Prefix: netip.MustParsePrefix("0.0.0.0/0"), Attrs: long},
		{Type: decode.ElemRIB, Time: 2, PeerIP: netip.MustParseAddr("192.0.2.1"), PeerASN: 1,
			Prefix: netip.MustParsePrefix("198.51.100.0/24"), Attrs: nil},
		{Type: decode.ElemWithdrawal, Time: -5, PeerIP: peer, PeerASN: 2,
			Prefix: netip.MustParsePrefix("203.0.113.128/25"), BMP: decode.BMPInfo{Present: true, PeerType: decode.BMPPeerLocRIB}},
		{Type: decode.ElemPeerState, Time: 3, PeerIP: peer, PeerASN: 3, OldState: decode.StateEstablished, NewState: decode.StateIdle,
			BMP: decode.BMPInfo{Present: true, PeerType: 77}},
		{Type: decode.ElemPeerState, Time: 4, PeerASN: 0},
	}
	return rec, els
}

func TestAppendElemDecodesWithGoavro(t *testing.T) {
	rec, els := testElems()
	src := Source{Topic: "openbmp.bmp_raw", Partition: 5, Offset: 1 << 40}
	for i := range els {
		el := &els[i]
		typ := TypeOf(el.Type)
		codec, err := typ.Codec()
		if err != nil {
			t.Fatal(err)
		}
		buf := AppendElem(nil, rec, el, &src)
		native, rest, err := codec.NativeFromBinary(buf)
		if err != nil {
			t.Fatalf("elem %d (%s): goavro: %v", i, typ, err)
		}
		if len(rest) != 0 {
			t.Fatalf("elem %d: %d bytes left after the datum", i, len(rest))
		}
		want := emittest.Elem(rec, el, emittest.Source(src))
		compareNative(t, fmt.Sprintf("elem %d (%s)", i, typ), native.(map[string]any), want)
	}
}

func compareNative(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: field %s missing", what, k)
			continue
		}
		if gt, ok := g.(time.Time); ok {
			g = gt.UTC()
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: field %s = %#v, want %#v", what, k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected field %s", what, k)
		}
	}
}

func TestAppendStatDecodesWithGoavro(t *testing.T) {
	rec, _ := testElems()
	codec, err := schema.Stats.Codec()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		st        decode.Stat
		name      string
		hasFamily bool
	}{
		{decode.Stat{Time: 10, PeerIP: netip.MustParseAddr("192.0.2.7"), PeerASN: 65000, PeerType: decode.BMPPeerGlobal, Type: 0, Value: 12}, "rejected-prefixes", false},
		{decode.Stat{Time: 11, PeerIP: netip.MustParseAddr("2001:db8::7"), PeerASN: 65000, PeerType: decode.BMPPeerLocRIB, PeerDistinguisher: 9,
			Type: 9, AFI: 2, SAFI: 1, Value: 1 << 62}, "adj-rib-in-routes-per-afi-safi", true},
	} {
		st := tc.st
		buf := AppendStat(nil, rec, &st, &Source{Topic: "t", Partition: 1, Offset: 2})
		native, rest, err := codec.NativeFromBinary(buf)
		if err != nil || len(rest) != 0 {
			t.Fatalf("stat %s: %v (%d left)", tc.name, err, len(rest))
		}
		m := native.(map[string]any)
		var fam [2]any
		if tc.hasFamily {
			fam = [2]any{map[string]any{"int": int32(st.AFI)}, map[string]any{"int": int32(st.SAFI)}}
		}
		want := map[string]any{
			"time_us": time.UnixMicro(st.Time).UTC(), "record_time_us": time.UnixMicro(rec.Time).UTC(),
			"project": rec.Project, "collector": rec.Collector, "router": rec.Router,
			"router_ip": map[string]any{"string": rec.RouterIP.String()}, "peer_ip": map[string]any{"string": st.PeerIP.String()},
			"peer_asn": int64(st.PeerASN), "bmp_peer_type": map[string]any{"string": emittest.PeerTypeName(st.PeerType)},
			"bmp_peer_distinguisher": int64(st.PeerDistinguisher), "stat_type": int32(st.Type), "stat_name": tc.name,
			"afi": fam[0], "safi": fam[1], "value": int64(st.Value),
			"source_topic": "t", "source_partition": int32(1), "source_offset": int64(2),
		}
		compareNative(t, "stat "+tc.name, m, want)
	}
}

func TestSingleObjectFraming(t *testing.T) {
	f, err := SingleObject()
	if err != nil {
		t.Fatal(err)
	}
	rec, els := testElems()
	for i := range els {
		typ := TypeOf(els[i].Type)
		buf := f.AppendHeader(nil, typ)
		buf = AppendElem(buf, rec, &els[i], nil)
		codec, _ := typ.Codec()
		if _, _, err := codec.NativeFromSingle(buf); err != nil {
			t.Fatalf("elem %d: goavro NativeFromSingle: %v", i, err)
		}
		// A datum framed for another type must be refused by its fingerprint.
		other, _ := schema.Stats.Codec()
		if _, _, err := other.NativeFromSingle(buf); err == nil {
			t.Fatalf("elem %d: stats codec accepted a %s datum", i, typ)
		}
	}
}

func TestPatchLenLongText(t *testing.T) {
	// An IPv6 address with a long zone exceeds 63 bytes of text.
	a := netip.MustParseAddr("fe80::1%" + string(make([]byte, 0)) + "averyveryveryverylongzonenamethatgoesonandonandon0123456789")
	buf := appendAddr([]byte{0xAA}, a)
	codec, err := schema.Withdrawals.Codec()
	if err != nil {
		t.Fatal(err)
	}
	_ = codec
	if buf[0] != 0xAA {
		t.Fatal("prefix byte overwritten")
	}
	n, k := decodeLong(buf[1:])
	if int(n) != len(a.String()) || string(buf[1+k:]) != a.String() {
		t.Fatalf("length %d (%d bytes), text %q; want %d %q", n, k, buf[1+k:], len(a.String()), a.String())
	}
}

func decodeLong(b []byte) (int64, int) {
	var u uint64
	var s uint
	for i, c := range b {
		u |= uint64(c&0x7f) << s
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), i + 1
		}
		s += 7
	}
	return 0, 0
}

func BenchmarkAppendElem(b *testing.B) {
	rec, els := testElems()
	el := &els[0]
	src := Source{Topic: "openbmp.bmp_raw", Partition: 3, Offset: 123456789}
	f, _ := SingleObject()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf = f.AppendHeader(buf[:0], schema.Announcements)
		buf = AppendElem(buf, rec, el, &src)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkGoavroReusedMap is the reference the issue quotes: goavro with a
// native map built once and reused.
func BenchmarkGoavroReusedMap(b *testing.B) {
	rec, els := testElems()
	el := &els[0]
	native := emittest.Elem(rec, el, emittest.Source{Topic: "openbmp.bmp_raw", Partition: 3, Offset: 123456789})
	codec, _ := schema.Announcements.Codec()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = codec.BinaryFromNative(buf[:0], native)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendElemTypical encodes a typical IPv4 announcement: a 4-ASN
// path, two communities, BMP post-policy Adj-RIB-In.
func BenchmarkAppendElemTypical(b *testing.B) {
	rec := &decode.Record{Time: 1700000000123456, Project: "openbmp", Collector: "is-cc-bmp1", Router: "route-views5", RouterIP: netip.MustParseAddr("128.223.51.105")}
	a := &decode.Attrs{}
	a.Set(decode.AttrOrigin)
	a.ASPath.AppendSegment(decode.SegSequence, 3356, 174, 13335, 64512)
	a.Set(decode.AttrMED)
	a.MED = 10
	a.Communities = []decode.Community{3356<<16 | 2, 3356<<16 | 501}
	el := &decode.Elem{Type: decode.ElemAnnouncement, Time: 1700000000000000, PeerIP: netip.MustParseAddr("198.51.100.7"), PeerASN: 3356,
		Prefix: netip.MustParsePrefix("203.0.113.0/24"), NextHop: netip.MustParseAddr("198.51.100.7"), Attrs: a,
		BMP: decode.BMPInfo{Present: true, PostPolicy: true}}
	src := Source{Topic: "openbmp.bmp_raw", Partition: 3, Offset: 123456789}
	f, _ := SingleObject()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.AppendHeader(buf[:0], schema.Announcements)
		buf = AppendElem(buf, rec, el, &src)
	}
	b.SetBytes(int64(len(buf)))
}
