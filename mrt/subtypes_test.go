package mrt

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func u16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }
func u32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
func ip(s string) []byte  { return netip.MustParseAddr(s).AsSlice() }

// Attribute lists used below: ORIGIN IGP, AS_PATH, NEXT_HOP 192.0.2.1.
var (
	attrs2 = cat([]byte{0x40, 1, 1, 0}, []byte{0x40, 2, 6, 2, 2, 0xfd, 0xe8, 0x0d, 0x1c}, []byte{0x40, 3, 4, 192, 0, 2, 1})
	attrs4 = cat([]byte{0x40, 1, 1, 0}, []byte{0x40, 2, 10, 2, 2, 0, 3, 0x0d, 0x40, 0, 0, 0x0d, 0x1c}, []byte{0x40, 3, 4, 192, 0, 2, 1})
)

func run(t *testing.T, el *Elementor, typ, st uint16, body []byte) (decode.Record, []decode.Elem) {
	t.Helper()
	var rec decode.Record
	raw := RawRecord{Header: Header{Timestamp: 1700000000, Type: typ, Subtype: st, Length: uint32(len(body))}, Body: body}
	elems, err := el.Elems(&rec, &raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rec, elems
}

func TestTableDumpV1(t *testing.T) {
	body := cat(u16(0), u16(1), ip("198.51.100.0"), []byte{24, 1}, u32(1699999000), ip("192.0.2.9"), u16(65000), u16(uint16(len(attrs2))), attrs2)
	rec, elems := run(t, NewElementor(), TypeTableDump, TableDumpAFIIPv4, body)
	if rec.Status != decode.StatusValid || rec.Type != decode.RecordRIB || len(elems) != 1 {
		t.Fatalf("record %+v elems %d", rec, len(elems))
	}
	e := elems[0]
	if e.Type != decode.ElemRIB || e.Prefix.String() != "198.51.100.0/24" || e.PeerASN != 65000 ||
		e.PeerIP.String() != "192.0.2.9" || e.Attrs.ASPath.String() != "65000 3356" || e.NextHop.String() != "192.0.2.1" {
		t.Errorf("elem %+v path %s", e, e.Attrs.ASPath.String())
	}
	// IPv6 form.
	body6 := cat(u16(0), u16(1), ip("2001:db8::"), []byte{32, 1}, u32(0), ip("2001:db8::9"), u16(65000), u16(uint16(len(attrs2))), attrs2)
	_, elems = run(t, NewElementor(), TypeTableDump, TableDumpAFIIPv6, body6)
	if len(elems) != 1 || elems[0].Prefix.String() != "2001:db8::/32" || elems[0].PeerIP.String() != "2001:db8::9" {
		t.Errorf("IPv6 TABLE_DUMP: %+v", elems)
	}
	// A truncated record is corrupted, not fatal.
	rec, _ = run(t, NewElementor(), TypeTableDump, TableDumpAFIIPv4, body[:20])
	if rec.Status != decode.StatusCorruptedRecord || !errors.Is(rec.Err, decode.ErrTruncated) {
		t.Errorf("truncated: %v %v", rec.Status, rec.Err)
	}
}

func peerIndex() []byte {
	return cat(ip("10.0.0.1"), u16(4), []byte("view"), u16(2),
		[]byte{0x02}, ip("10.0.0.2"), ip("192.0.2.2"), u32(4200000000), // IPv4 peer, AS4
		[]byte{0x01}, ip("10.0.0.3"), ip("2001:db8::3"), u16(65003)) // IPv6 peer, AS2
}

func TestTableDumpV2(t *testing.T) {
	el := NewElementor()
	// A RIB record before the index is corrupted with ErrNoPeerIndex.
	rib := cat(u32(7), []byte{24, 198, 51, 100}, u16(2),
		u16(0), u32(1), u16(uint16(len(attrs4))), attrs4,
		u16(1), u32(2), u16(uint16(len(attrs4))), attrs4)
	rec, _ := run(t, el, TypeTableDumpV2, RIBIPv4Unicast, rib)
	if rec.Status != decode.StatusCorruptedRecord || !errors.Is(rec.Err, ErrNoPeerIndex) {
		t.Errorf("RIB before index: %v %v", rec.Status, rec.Err)
	}
	rec, elems := run(t, el, TypeTableDumpV2, PeerIndexTable, peerIndex())
	if rec.Status != decode.StatusValid || len(elems) != 0 || len(el.Peers()) != 2 || el.Peers()[0].ASN != 4200000000 || el.Peers()[1].IP.String() != "2001:db8::3" {
		t.Fatalf("peer index: %v %+v", rec.Status, el.Peers())
	}
	_, elems = run(t, el, TypeTableDumpV2, RIBIPv4Unicast, rib)
	if len(elems) != 2 || elems[0].PeerASN != 4200000000 || elems[1].PeerASN != 65003 || elems[0].Attrs.ASPath.String() != "200000 3356" || elems[0].HasPathID {
		t.Errorf("RIB_IPV4_UNICAST: %+v", elems)
	}
	// ADD-PATH subtype: a path identifier after the originated time.
	ribAP := cat(u32(8), []byte{32, 0x20, 0x01, 0x0d, 0xb8}, u16(1), u16(1), u32(1), u32(42), u16(uint16(len(attrs4))), attrs4)
	_, elems = run(t, el, TypeTableDumpV2, RIBIPv6UnicastAddPath, ribAP)
	if len(elems) != 1 || elems[0].PathID != 42 || !elems[0].HasPathID || elems[0].Prefix.String() != "2001:db8::/32" {
		t.Errorf("RIB_IPV6_UNICAST_ADDPATH: %+v", elems)
	}
	// RIB_GENERIC with VPNv4 is unsupported, not corrupted.
	gen := cat(u32(9), u16(1), []byte{128}, []byte{0})
	rec, _ = run(t, el, TypeTableDumpV2, RIBGeneric, gen)
	if rec.Status != decode.StatusUnsupported {
		t.Errorf("RIB_GENERIC VPNv4: %v %v", rec.Status, rec.Err)
	}
	// RIB_GENERIC with IPv4 unicast decodes.
	gen = cat(u32(9), u16(1), []byte{1}, []byte{16, 10, 1}, u16(1), u16(0), u32(0), u16(uint16(len(attrs4))), attrs4)
	_, elems = run(t, el, TypeTableDumpV2, RIBGeneric, gen)
	if len(elems) != 1 || elems[0].Prefix.String() != "10.1.0.0/16" {
		t.Errorf("RIB_GENERIC IPv4: %+v", elems)
	}
	// A peer index beyond the table is corrupted.
	bad := cat(u32(7), []byte{24, 198, 51, 100}, u16(1), u16(9), u32(1), u16(uint16(len(attrs4))), attrs4)
	rec, _ = run(t, el, TypeTableDumpV2, RIBIPv4Unicast, bad)
	if rec.Status != decode.StatusCorruptedRecord || !errors.Is(rec.Err, decode.ErrMalformed) {
		t.Errorf("bad peer index: %v %v", rec.Status, rec.Err)
	}
}

func bgpMsg(typ byte, body []byte) []byte {
	m := cat([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, u16(uint16(19+len(body))), []byte{typ})
	return cat(m, body)
}

func TestBGP4MP(t *testing.T) {
	el := NewElementor()
	hdr2 := cat(u16(65001), u16(65000), u16(0), u16(1), ip("192.0.2.7"), ip("192.0.2.8"))
	hdr4 := cat(u32(4200000001), u32(65000), u16(0), u16(2), ip("2001:db8::7"), ip("2001:db8::8"))
	_, elems := run(t, el, TypeBGP4MP, BGP4MPStateChange, cat(hdr2, u16(3), u16(1)))
	if len(elems) != 1 || elems[0].Type != decode.ElemPeerState || elems[0].OldState != decode.StateActive || elems[0].NewState != decode.StateIdle || elems[0].PeerASN != 65001 {
		t.Errorf("STATE_CHANGE: %+v", elems)
	}
	_, elems = run(t, el, TypeBGP4MP, BGP4MPStateChangeAS4, cat(hdr4, u16(5), u16(6)))
	if len(elems) != 1 || elems[0].PeerASN != 4200000001 || elems[0].PeerIP.String() != "2001:db8::7" || elems[0].NewState != decode.StateEstablished {
		t.Errorf("STATE_CHANGE_AS4: %+v", elems)
	}
	upd := cat(u16(2), []byte{8, 10}, u16(uint16(len(attrs2))), attrs2, []byte{24, 198, 51, 100})
	_, elems = run(t, el, TypeBGP4MP, BGP4MPMessage, cat(hdr2, bgpMsg(2, upd)))
	if len(elems) != 2 || elems[0].Type != decode.ElemWithdrawal || elems[0].Prefix.String() != "10.0.0.0/8" ||
		elems[1].Type != decode.ElemAnnouncement || elems[1].Attrs.ASPath.String() != "65000 3356" || elems[1].NextHop.String() != "192.0.2.1" {
		t.Errorf("MESSAGE: %+v", elems)
	}
	updAP := cat(u16(0), u16(uint16(len(attrs4))), attrs4, u32(5), []byte{24, 198, 51, 100})
	_, elems = run(t, el, TypeBGP4MPET, BGP4MPMessageAS4AddPath, cat(cat(u32(4200000001), u32(65000), u16(0), u16(1), ip("192.0.2.7"), ip("192.0.2.8")), bgpMsg(2, updAP)))
	if len(elems) != 1 || elems[0].PathID != 5 || elems[0].Attrs.ASPath.String() != "200000 3356" {
		t.Errorf("MESSAGE_AS4_ADDPATH: %+v", elems)
	}
	// KEEPALIVE: a valid record without elems.
	rec, elems := run(t, el, TypeBGP4MP, BGP4MPMessage, cat(hdr2, bgpMsg(4, nil)))
	if rec.Status != decode.StatusValid || len(elems) != 0 {
		t.Errorf("KEEPALIVE: %v %d", rec.Status, len(elems))
	}
	// BGP4MP_ENTRY.
	entry := cat(hdr2, u16(0), u16(1), u32(0), u16(1), []byte{1, 4}, ip("192.0.2.1"), []byte{16, 10, 2}, u16(uint16(len(attrs2))), attrs2)
	rec, elems = run(t, el, TypeBGP4MP, BGP4MPEntry, entry)
	if rec.Type != decode.RecordRIB || len(elems) != 1 || elems[0].Type != decode.ElemRIB || elems[0].Prefix.String() != "10.2.0.0/16" || elems[0].NextHop.String() != "192.0.2.1" {
		t.Errorf("ENTRY: %+v %+v", rec, elems)
	}
	// The record type of an ENTRY is known before decoding, so a Prefilter
	// asked about the record sees a RIB record.
	el.Prefilter = ribOnly{}
	rec, elems = run(t, el, TypeBGP4MP, BGP4MPEntry, entry)
	if rec.Status != decode.StatusValid || len(elems) != 1 {
		t.Errorf("ENTRY under a RIB-only prefilter: %v, %d elems", rec.Status, len(elems))
	}
	el.Prefilter = nil
	// Unknown subtype.
	rec, _ = run(t, el, TypeBGP4MP, 99, hdr2)
	if rec.Status != decode.StatusUnsupported {
		t.Errorf("subtype 99: %v", rec.Status)
	}
}

func TestDeprecatedBGPType(t *testing.T) {
	el := NewElementor()
	_, elems := run(t, el, TypeBGP, BGPStateChange, cat(u16(3333), ip("193.0.0.56"), u16(1), u16(2)))
	if len(elems) != 1 || elems[0].PeerASN != 3333 || elems[0].NewState != decode.StateConnect {
		t.Errorf("BGP_STATE_CHANGE: %+v", elems)
	}
	upd := cat(u16(2), []byte{8, 10}, u16(uint16(len(attrs2))), attrs2, []byte{24, 198, 51, 100})
	rec, elems := run(t, el, TypeBGP, BGPUpdate, cat(u16(3333), ip("193.0.0.56"), u16(12654), ip("193.0.0.1"), upd))
	if rec.Format != decode.FormatBGP || len(elems) != 2 || elems[0].Prefix.String() != "10.0.0.0/8" || elems[1].Prefix.String() != "198.51.100.0/24" {
		t.Errorf("BGP_UPDATE: %+v", elems)
	}
}

// fakePrefilter rejects one peer ASN, the withdrawal type and every record
// of a RIB dump.
type fakePrefilter struct{}

func (fakePrefilter) MatchRecord(r *decode.Record) bool       { return r.Type != decode.RecordRIB }
func (fakePrefilter) MatchPeer(_ netip.Addr, asn uint32) bool { return asn != 65003 }
func (fakePrefilter) WantsElemType(t decode.ElemType) bool    { return t != decode.ElemWithdrawal }
func (fakePrefilter) WantsFamily(bool) bool                   { return true }

// ribOnly keeps only RIB records.
type ribOnly struct{ fakePrefilter }

func (ribOnly) MatchRecord(r *decode.Record) bool    { return r.Type == decode.RecordRIB }
func (ribOnly) MatchPeer(netip.Addr, uint32) bool    { return true }
func (ribOnly) WantsElemType(t decode.ElemType) bool { return t == decode.ElemRIB }

// peerOnly is fakePrefilter without the record rule.
type peerOnly struct{ fakePrefilter }

func (peerOnly) MatchRecord(*decode.Record) bool { return true }

func TestPrefilterSkipsPeersAndTypes(t *testing.T) {
	el := NewElementor()
	el.Prefilter = fakePrefilter{}
	run(t, el, TypeTableDumpV2, PeerIndexTable, peerIndex())
	rib := cat(u32(7), []byte{24, 198, 51, 100}, u16(2),
		u16(0), u32(1), u16(uint16(len(attrs4))), attrs4,
		u16(1), u32(2), u16(uint16(len(attrs4))), attrs4)
	if len(el.Peers()) != 2 {
		t.Fatalf("a PEER_INDEX_TABLE must be decoded whatever MatchRecord says: %d peers", len(el.Peers()))
	}
	rec, elems := run(t, el, TypeTableDumpV2, RIBIPv4Unicast, rib)
	if rec.Status != decode.StatusFilteredSource || len(elems) != 0 {
		t.Errorf("record push-down: %v, %d elems", rec.Status, len(elems))
	}
	el.Prefilter = peerOnly{}
	_, elems = run(t, el, TypeTableDumpV2, RIBIPv4Unicast, rib)
	if len(elems) != 1 || elems[0].PeerASN != 4200000000 {
		t.Errorf("peer push-down: %+v", elems)
	}
	el.Prefilter = fakePrefilter{}
	hdr2 := cat(u16(65001), u16(65000), u16(0), u16(1), ip("192.0.2.7"), ip("192.0.2.8"))
	upd := cat(u16(2), []byte{8, 10}, u16(uint16(len(attrs2))), attrs2, []byte{24, 198, 51, 100})
	_, elems = run(t, el, TypeBGP4MP, BGP4MPMessage, cat(hdr2, bgpMsg(2, upd)))
	if len(elems) != 1 || elems[0].Type != decode.ElemAnnouncement {
		t.Errorf("type push-down: %+v", elems)
	}
}
