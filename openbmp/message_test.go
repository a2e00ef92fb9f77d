package openbmp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// Builders for synthetic BMP messages, written from RFC 7854's diagrams.

func bmpMsg(typ MessageType, body ...[]byte) []byte {
	b := []byte{3, 0, 0, 0, 0, byte(typ)}
	for _, p := range body {
		b = append(b, p...)
	}
	binary.BigEndian.PutUint32(b[1:], uint32(len(b)))
	return b
}

type peer struct {
	typ   decode.BMPPeerType
	flags uint8
	dist  uint64
	addr  netip.Addr
	asn   uint32
	sec   uint32
}

func (p peer) bytes() []byte {
	b := make([]byte, PeerHeaderLen)
	b[0], b[1] = byte(p.typ), p.flags
	binary.BigEndian.PutUint64(b[2:], p.dist)
	if p.addr.Is4() {
		a := p.addr.As4()
		copy(b[22:26], a[:])
	} else if p.addr.IsValid() {
		a := p.addr.As16()
		copy(b[10:26], a[:])
	}
	binary.BigEndian.PutUint32(b[26:], p.asn)
	copy(b[30:34], []byte{192, 0, 2, 99})
	binary.BigEndian.PutUint32(b[34:], p.sec)
	binary.BigEndian.PutUint32(b[38:], 250000)
	return b
}

func bgpMsg(typ decode.MessageType, body []byte) []byte {
	b := bytes.Repeat([]byte{0xff}, 16)
	b = binary.BigEndian.AppendUint16(b, uint16(19+len(body)))
	b = append(b, byte(typ))
	return append(b, body...)
}

// open builds an OPEN with the 4-byte AS capability (if as4) and ADD-PATH
// for IPv4 unicast with the given send/receive mode (0 for none).
func open(asn uint32, as4 bool, addPathMode byte) []byte {
	var caps []byte
	caps = append(caps, 1, 4, 0, 1, 0, 1) // MP IPv4 unicast
	caps = append(caps, 1, 4, 0, 2, 0, 1) // MP IPv6 unicast
	if as4 {
		caps = binary.BigEndian.AppendUint32(append(caps, 65, 4), asn)
	}
	if addPathMode != 0 {
		caps = append(caps, 69, 4, 0, 1, 1, addPathMode)
	}
	my := uint16(asn)
	if asn > 65535 {
		my = decode.ASTrans
	}
	b := binary.BigEndian.AppendUint16([]byte{4}, my)
	b = append(b, 0, 180, 192, 0, 2, 1)
	b = append(b, byte(2+len(caps)), 2, byte(len(caps)))
	return bgpMsg(decode.MsgOpen, append(b, caps...))
}

func peerUpBody(sent, recv []byte, tlvs ...[]byte) []byte {
	b := make([]byte, 20)
	copy(b[12:16], []byte{192, 0, 2, 1})
	binary.BigEndian.PutUint16(b[16:], 179)
	binary.BigEndian.PutUint16(b[18:], 40000)
	b = append(b, sent...)
	b = append(b, recv...)
	for _, t := range tlvs {
		b = append(b, t...)
	}
	return b
}

func tlv(typ uint16, v []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

// update4 builds an UPDATE announcing 198.51.100.0/24 (with a path id if
// pathID > 0) with AS_PATH [asns] encoded with asWidth bytes per ASN.
func update4(asns []uint32, asWidth int, pathID uint32) []byte {
	path := []byte{2, byte(len(asns))}
	for _, a := range asns {
		if asWidth == 4 {
			path = binary.BigEndian.AppendUint32(path, a)
		} else {
			path = binary.BigEndian.AppendUint16(path, uint16(a))
		}
	}
	attrs := []byte{0x40, 1, 1, 0}
	attrs = append(append(attrs, 0x40, 2, byte(len(path))), path...)
	attrs = append(attrs, 0x40, 3, 4, 192, 0, 2, 7)
	var nlri []byte
	if pathID > 0 {
		nlri = binary.BigEndian.AppendUint32(nlri, pathID)
	}
	nlri = append(nlri, 24, 198, 51, 100)
	body := []byte{0, 0}
	body = binary.BigEndian.AppendUint16(body, uint16(len(attrs)))
	body = append(append(body, attrs...), nlri...)
	return bgpMsg(decode.MsgUpdate, body)
}

func mustDecode(t *testing.T, d *Decoder, frame []byte) *Result {
	t.Helper()
	var r Result
	if err := d.Decode(frame, &r); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return &r
}

var (
	peerA = peer{typ: decode.BMPPeerGlobal, addr: netip.MustParseAddr("192.0.2.10"), asn: 4200000010, sec: 1700000000}
	peer6 = peer{typ: decode.BMPPeerRD, flags: PeerFlagV | PeerFlagL, dist: 0x0000fde8_00000064, addr: netip.MustParseAddr("2001:db8::10"), asn: 64500, sec: 1700000001}
)

func TestPeerHeader(t *testing.T) {
	for _, p := range []peer{peerA, peer6, {typ: decode.BMPPeerLocRIB, flags: PeerFlagF, asn: 65000, sec: 5}} {
		ph, err := DecodePeerHeader(p.bytes())
		if err != nil {
			t.Fatal(err)
		}
		want := p.addr
		if !want.IsValid() {
			want = netip.IPv4Unspecified()
		}
		if ph.Type != p.typ || ph.Flags != p.flags || ph.Distinguisher != p.dist || ph.Addr != want || ph.ASN != p.asn || ph.Time != int64(p.sec)*1e6+250000 {
			t.Errorf("%+v from %+v", ph, p)
		}
		info := ph.Info()
		if info.PostPolicy != (p.flags&PeerFlagL != 0 && p.typ != decode.BMPPeerLocRIB) || info.PeerDistinguisher != p.dist {
			t.Errorf("info %+v", info)
		}
		if p.typ == decode.BMPPeerLocRIB && (!ph.Filtered() || ph.PostPolicy() || info.RIB() != "loc-rib") {
			t.Errorf("Loc-RIB flags: filtered %v post %v rib %s", ph.Filtered(), ph.PostPolicy(), info.RIB())
		}
	}
	if _, err := DecodePeerHeader(make([]byte, 41)); !errors.Is(err, ErrTruncated) {
		t.Errorf("41 bytes: %v", err)
	}
}

// TestSessionOptions: Peer Up OPENs decide AS width and ADD-PATH; without a
// Peer Up the A flag decides and the elem is marked NoPeerUp; Adj-RIB-Out
// uses the direction the router sends.
func TestSessionOptions(t *testing.T) {
	const sendRecv, recvOnly, sendOnly = 3, 1, 2
	d := NewDecoder()
	// The router (sent OPEN) receives ADD-PATH; the peer sends it.
	up := bmpMsg(MsgPeerUp, peerA.bytes(), peerUpBody(open(4200000001, true, recvOnly), open(peerA.asn, true, sendOnly)))
	r := mustDecode(t, d, up)
	if len(r.Elems) != 1 || r.Elems[0].Type != decode.ElemPeerState || r.Elems[0].NewState != decode.StateEstablished || r.Elems[0].PeerASN != peerA.asn {
		t.Fatalf("Peer Up elems %+v", r.Elems)
	}
	if r.PeerUp.LocalPort != 179 || r.PeerUp.RemotePort != 40000 || r.PeerUp.LocalAddr.String() != "192.0.2.1" || !r.PeerUp.Received.AS4 || r.PeerUp.Received.ASN != peerA.asn {
		t.Errorf("Peer Up %+v", r.PeerUp)
	}
	rm := bmpMsg(MsgRouteMonitoring, peerA.bytes(), update4([]uint32{4200000010, 64496}, 4, 7))
	r = mustDecode(t, d, rm)
	if len(r.Elems) != 1 {
		t.Fatalf("elems %+v", r.Elems)
	}
	e := r.Elems[0]
	if e.Prefix.String() != "198.51.100.0/24" || !e.HasPathID || e.PathID != 7 || e.BMP.NoPeerUp || e.Attrs.ASPath.String() != "4200000010 64496" || e.NextHop.String() != "192.0.2.7" {
		t.Errorf("Adj-RIB-In elem %+v path %s", e, e.Attrs.ASPath.String())
	}
	if e.Time != int64(peerA.sec)*1e6+250000 || r.Record.Time != e.Time {
		t.Errorf("times: elem %d record %d", e.Time, r.Record.Time)
	}
	// Adj-RIB-Out: the router sends without ADD-PATH (the peer does not
	// receive it), so no path id.
	out := peerA
	out.flags = PeerFlagO
	r = mustDecode(t, d, bmpMsg(MsgRouteMonitoring, out.bytes(), update4([]uint32{4200000001}, 4, 0)))
	if len(r.Elems) != 1 || r.Elems[0].HasPathID || !r.Elems[0].BMP.AdjRIBOut || r.Elems[0].BMP.RIB() != "adj-rib-out" {
		t.Errorf("Adj-RIB-Out elems %+v", r.Elems)
	}
	// No Peer Up for this peer: the A flag says 2-byte ASNs.
	other := peerA
	other.addr, other.flags = netip.MustParseAddr("192.0.2.11"), PeerFlagA
	r = mustDecode(t, d, bmpMsg(MsgRouteMonitoring, other.bytes(), update4([]uint32{64496, 64497}, 2, 0)))
	if len(r.Elems) != 1 || !r.Elems[0].BMP.NoPeerUp || !r.Elems[0].BMP.AS2 || r.Elems[0].Attrs.ASPath.String() != "64496 64497" {
		t.Errorf("no-Peer-Up 2-byte elem %+v", r.Elems)
	}
	// Without the A flag the default is 4-byte ASNs.
	other.flags = 0
	r = mustDecode(t, d, bmpMsg(MsgRouteMonitoring, other.bytes(), update4([]uint32{4200000099}, 4, 0)))
	if len(r.Elems) != 1 || r.Elems[0].Attrs.ASPath.String() != "4200000099" {
		t.Errorf("no-Peer-Up 4-byte elem %+v", r.Elems)
	}
	// Peer Down forgets the session: the same ADD-PATH message no longer
	// decodes as ADD-PATH.
	r = mustDecode(t, d, bmpMsg(MsgPeerDown, peerA.bytes(), []byte{DownRemoteNoData}))
	if len(r.Elems) != 1 || r.Elems[0].NewState != decode.StateIdle || d.Sessions() != 0 {
		t.Fatalf("Peer Down elems %+v, %d sessions", r.Elems, d.Sessions())
	}
	var res Result
	if err := d.Decode(rm, &res); err == nil && len(res.Elems) == 1 && res.Elems[0].HasPathID {
		t.Errorf("ADD-PATH kept after Peer Down: %+v", res.Elems)
	}
	// Two-byte session from the OPENs.
	d = NewDecoder(WithBGPStreamPeerState(true))
	r = mustDecode(t, d, bmpMsg(MsgPeerUp, peerA.bytes(), peerUpBody(open(65001, false, 0), open(64510, false, 0))))
	if r.Elems[0].NewState != decode.StateActive {
		t.Errorf("compatibility Peer Up state %s, want ACTIVE", r.Elems[0].NewState)
	}
	r = mustDecode(t, d, bmpMsg(MsgRouteMonitoring, peerA.bytes(), update4([]uint32{64510, 23456}, 2, 0)))
	if len(r.Elems) != 1 || r.Elems[0].BMP.NoPeerUp || r.Elems[0].Attrs.ASPath.String() != "64510 23456" {
		t.Errorf("2-byte session elem %+v", r.Elems)
	}
}

func TestPeerDownReasons(t *testing.T) {
	notif := bgpMsg(decode.MsgNotification, []byte{6, 2, 0xab})
	cases := []struct {
		reason byte
		data   []byte
		check  func(*PeerDown) bool
	}{
		{DownLocalNotification, notif, func(p *PeerDown) bool {
			return p.HasNotification && p.Notification.Code == 6 && p.Notification.Subcode == 2 && bytes.Equal(p.Notification.Data, []byte{0xab})
		}},
		{DownLocalFSM, []byte{0, 18}, func(p *PeerDown) bool { return p.FSMEvent == 18 }},
		{DownRemoteNotification, notif, func(p *PeerDown) bool { return p.HasNotification && p.Notification.Code == 6 }},
		{DownRemoteNoData, nil, func(p *PeerDown) bool { return !p.HasNotification && len(p.Data) == 0 }},
		{DownDeconfigured, nil, func(p *PeerDown) bool { return p.Reason == DownDeconfigured }},
		{DownLocalTLV, tlv(InfoVRFName, []byte("vrf-a")), func(p *PeerDown) bool {
			return len(p.TLVs) == 1 && string(p.TLVs[0].Value) == "vrf-a"
		}},
		{9, []byte{1, 2}, func(p *PeerDown) bool { return bytes.Equal(p.Data, []byte{1, 2}) }},
	}
	for _, c := range cases {
		r := mustDecode(t, NewDecoder(), bmpMsg(MsgPeerDown, peer6.bytes(), append([]byte{c.reason}, c.data...)))
		if r.PeerDown.Reason != c.reason || !c.check(&r.PeerDown) || len(r.Elems) != 1 || r.Elems[0].NewState != decode.StateIdle || r.Elems[0].PeerIP != peer6.addr {
			t.Errorf("reason %d: %+v elems %+v", c.reason, r.PeerDown, r.Elems)
		}
	}
	// A NOTIFICATION cut short is an error at its offset.
	var r Result
	err := NewDecoder().Decode(bmpMsg(MsgPeerDown, peer6.bytes(), []byte{DownLocalNotification}, notif[:10]), &r)
	var de *DecodeError
	if !errors.As(err, &de) || de.Offset != 6+42+1 || r.Record.Status != decode.StatusCorruptedRecord {
		t.Errorf("cut NOTIFICATION: %v (status %s)", err, r.Record.Status)
	}
}

func TestStatisticsReport(t *testing.T) {
	var body []byte
	var n uint32
	add := func(typ uint16, v []byte) {
		body = append(body, tlv(typ, v)...)
		n++
	}
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	u64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	perAFI := func(afi uint16, safi byte, v uint64) []byte {
		return append(append(binary.BigEndian.AppendUint16(nil, afi), safi), u64(v)...)
	}
	for typ := uint16(0); typ <= 6; typ++ {
		add(typ, u32(uint32(100+typ)))
	}
	add(7, u64(1<<40))
	add(8, u64(1<<41))
	add(9, perAFI(1, 1, 900))
	add(10, perAFI(2, 1, 1000))
	add(11, u32(111))
	add(12, u32(112))
	add(13, u32(113))
	add(14, u64(114))
	add(15, u64(115))
	add(16, perAFI(1, 128, 116))
	add(17, perAFI(2, 128, 117))
	add(65531, u32(7)) // vendor type seen in the 6WIND captures
	msg := bmpMsg(MsgStatisticsReport, peer6.bytes(), u32(n), body)
	d := NewDecoder(WithRouter("r", netip.MustParseAddr("192.0.2.200")))
	r := mustDecode(t, d, msg)
	if len(r.Stats) != int(n) || len(r.Elems) != 0 {
		t.Fatalf("%d stats, %d elems", len(r.Stats), len(r.Elems))
	}
	want := map[uint16]decode.Stat{
		0: {Value: 100}, 6: {Value: 106}, 7: {Value: 1 << 40}, 8: {Value: 1 << 41}, 9: {AFI: 1, SAFI: 1, Value: 900},
		10: {AFI: 2, SAFI: 1, Value: 1000}, 13: {Value: 113}, 15: {Value: 115}, 16: {AFI: 1, SAFI: 128, Value: 116},
		17: {AFI: 2, SAFI: 128, Value: 117}, 65531: {Value: 7},
	}
	for _, s := range r.Stats {
		if s.PeerIP != peer6.addr || s.PeerASN != peer6.asn || s.PeerType != decode.BMPPeerRD || s.PeerDistinguisher != peer6.dist || s.RouterIP.String() != "192.0.2.200" || s.Time != int64(peer6.sec)*1e6+250000 {
			t.Errorf("stat context %+v", s)
		}
		if w, ok := want[s.Type]; ok && (s.Value != w.Value || s.AFI != w.AFI || s.SAFI != w.SAFI) {
			t.Errorf("type %d: %+v, want %+v", s.Type, s, w)
		}
	}
	// A count larger than the entries present is an error at the entry.
	var res Result
	err := d.Decode(bmpMsg(MsgStatisticsReport, peer6.bytes(), u32(2), tlv(0, u32(1))), &res)
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "offset 60") {
		t.Errorf("short stats: %v", err)
	}
}

func TestInitiationTermination(t *testing.T) {
	d := NewDecoder(WithRouter("default-name", netip.MustParseAddr("192.0.2.1")), WithCollector("c1"), WithProject("p1"))
	r := mustDecode(t, d, bmpMsg(MsgInitiation, tlv(InfoSysDescr, []byte("VRP 8")), tlv(InfoSysName, []byte("edge-1")), tlv(InfoString, []byte("hello"))))
	if r.Initiation.SysName != "edge-1" || r.Initiation.SysDescr != "VRP 8" || len(r.Initiation.TLVs) != 3 || r.Record.Router != "edge-1" {
		t.Errorf("Initiation %+v record %+v", r.Initiation, r.Record)
	}
	if r.Record.Collector != "c1" || r.Record.Project != "p1" || r.Record.RouterIP.String() != "192.0.2.1" || r.Record.Status != decode.StatusValid {
		t.Errorf("record %+v", r.Record)
	}
	mustDecode(t, d, bmpMsg(MsgPeerUp, peerA.bytes(), peerUpBody(open(1, true, 0), open(peerA.asn, true, 0))))
	r = mustDecode(t, d, bmpMsg(MsgRouteMonitoring, peerA.bytes(), update4([]uint32{1}, 4, 0)))
	if r.Record.Router != "edge-1" || d.Sessions() != 1 {
		t.Errorf("router %q sessions %d", r.Record.Router, d.Sessions())
	}
	r = mustDecode(t, d, bmpMsg(MsgTermination, tlv(InfoString, []byte("bye")), tlv(TermReason, []byte{0, 2})))
	if !r.Initiation.HasReason || r.Initiation.Reason != 2 || r.MsgType != MsgTermination || r.Record.Router != "edge-1" {
		t.Errorf("Termination %+v", r.Initiation)
	}
	if d.Sessions() != 0 {
		t.Errorf("%d sessions after Termination", d.Sessions())
	}
	r = mustDecode(t, d, bmpMsg(MsgRouteMonitoring, peerA.bytes(), update4([]uint32{1}, 4, 0)))
	if !r.Elems[0].BMP.NoPeerUp || r.Record.Router != "default-name" {
		t.Errorf("after Termination: %+v router %q", r.Elems[0].BMP, r.Record.Router)
	}
}

func TestRouteMirroring(t *testing.T) {
	up := update4([]uint32{1}, 4, 0)
	r := mustDecode(t, NewDecoder(), bmpMsg(MsgRouteMirroring, peerA.bytes(), tlv(MirrorBGPMessage, up), tlv(MirrorInformation, []byte{0, 1})))
	if r.MsgType != MsgRouteMirroring || len(r.Mirroring.Messages) != 1 || !bytes.Equal(r.Mirroring.Messages[0], up) || len(r.Mirroring.Codes) != 1 || r.Mirroring.Codes[0] != 1 {
		t.Errorf("mirroring %+v", r.Mirroring)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	bmp := bmpMsg(MsgInitiation, tlv(InfoSysName, []byte("x")))
	for _, h := range []Header{
		{Flags: FlagRouterMessage, ObjectType: ObjectBMPRaw, CollectedAt: 1636335955123456, CollectorHash: [16]byte{1, 2}, AdminID: "is-ah-bmp1", RouterHash: [16]byte{3}, RouterIP: netip.MustParseAddr("195.66.241.146"), RouterGroup: "linx", RowCount: 1},
		{Flags: FlagRouterMessage | FlagRouterIPv6, ObjectType: ObjectBMPRaw, CollectedAt: 1, AdminID: "a", RouterIP: netip.MustParseAddr("2001:db8::1"), RowCount: 1},
		{ObjectType: ObjectCollector, CollectedAt: 2e6, AdminID: "collector", RowCount: 1},
	} {
		b := h.AppendTo([]byte("prefix"), bmp)
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatal("AppendTo dropped dst")
		}
		b = b[6:]
		got, hl, err := DecodeHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		h.BMPLen, h.Version = len(bmp), Version17
		if got != h || hl != h.Len() || !bytes.Equal(b[hl:], bmp) {
			t.Errorf("round trip:\n got %+v (len %d)\nwant %+v (len %d)", got, hl, h, h.Len())
		}
	}
	// An IPv4-mapped router address is the IPv4 router: written in the
	// first 4 bytes with the IPv6 flag clear, and read back unmapped, also
	// when a collector wrote it as IPv6 (the FuzzHeader crasher
	// 9961c71f1af631c0 read it back as 0.0.0.0).
	mapped := netip.MustParseAddr("::ffff:192.0.2.1")
	b := (&Header{ObjectType: ObjectBMPRaw, AdminID: "a", RouterIP: mapped}).AppendTo(nil, bmp)
	if got, _, err := DecodeHeader(b); err != nil || got.RouterIP != mapped.Unmap() || got.Flags&FlagRouterIPv6 != 0 || string(b[57:61]) != "\xc0\x00\x02\x01" {
		t.Errorf("IPv4-mapped router %s: decoded %v (flags %#x), err %v, wire % x", mapped, got.RouterIP, got.Flags, err, b[57:73])
	}
	b[12] |= FlagRouterIPv6
	copy(b[57:73], mapped.AsSlice())
	if got, _, err := DecodeHeader(b); err != nil || got.RouterIP != mapped.Unmap() {
		t.Errorf("IPv4-mapped router written as IPv6: decoded %v, err %v", got.RouterIP, err)
	}
	good := (&Header{ObjectType: ObjectBMPRaw, AdminID: "a", RouterIP: netip.MustParseAddr("192.0.2.1")}).AppendTo(nil, bmp)
	for name, c := range map[string]struct {
		b    []byte
		want error
		off  int
	}{
		"version 1.6": {append([]byte("OBMP\x01\x06"), good[6:]...), ErrVersion, 4},
		"magic":       {append([]byte("OBMX"), good[4:]...), ErrMalformed, 0},
		"cut header":  {good[:50], ErrTruncated, 0},
		"cut message": {good[:len(good)-1], ErrTruncated, 79},
	} {
		var r Result
		err := NewDecoder().Decode(c.b, &r)
		var de *DecodeError
		if !errors.Is(err, c.want) || !errors.As(err, &de) || de.Offset != c.off {
			t.Errorf("%s: %v, want %v at offset %d", name, err, c.want, c.off)
		}
	}
	// The collector heartbeat is a valid message that yields nothing.
	var r Result
	hb := (&Header{ObjectType: ObjectCollector, AdminID: "c"}).AppendTo(nil, nil)
	if err := NewDecoder().Decode(hb, &r); err != nil || r.Record.Status != decode.StatusUnsupported || r.MsgType != MsgNone {
		t.Errorf("heartbeat: %v %+v", err, r.Record)
	}
}

func TestTextHeaderAndFraming(t *testing.T) {
	bmp := bmpMsg(MsgPeerDown, peerA.bytes(), []byte{DownDeconfigured})
	text := []byte("V: 1.7\nC_HASH_ID: 0102030405060708090a0b0c0d0e0f10\nR_HASH: 1112131415161718191a1b1c1d1e1f20\nR_IP: 192.0.2.33\nL: " + itoa(len(bmp)) + "\n\n")
	frame := append(text, bmp...)
	r := mustDecode(t, NewDecoder(), frame)
	if r.MsgType != MsgPeerDown || r.Record.RouterIP.String() != "192.0.2.33" || r.Key[0] != 0x11 {
		t.Errorf("text header: %s %+v key %x", r.MsgType, r.Record, r.Key)
	}
	if _, _, err := DecodeTextHeader([]byte("V: 1.6\nL: 0\n\n")); !errors.Is(err, ErrVersion) {
		t.Errorf("V: 1.6: %v", err)
	}
	obmp := (&Header{ObjectType: ObjectBMPRaw, AdminID: "a", RouterIP: netip.MustParseAddr("192.0.2.1")}).AppendTo(nil, bmp)
	// Length-prefixed frames of each kind, then a cut one.
	var stream []byte
	for _, f := range [][]byte{obmp, frame, bmp} {
		stream = binary.BigEndian.AppendUint32(stream, uint32(len(f)))
		stream = append(stream, f...)
	}
	cut := len(stream)
	stream = binary.BigEndian.AppendUint32(stream, 100)
	stream = append(stream, 3, 0)
	for _, c := range []struct {
		data []byte
		kind Kind
	}{{stream, KindLengthPrefixed}, {append(bytes.Repeat(obmp, 3), '\n'), KindOpenBMP}, {bytes.Repeat(frame, 2), KindOpenBMPText}, {bytes.Repeat(bmp, 4), KindBMP}} {
		if k := Detect(c.data[:8]); k != c.kind {
			t.Errorf("Detect = %s, want %s", k, c.kind)
		}
		sr := NewStreamReader(bytes.NewReader(c.data), KindUnknown)
		n := 0
		var err error
		for {
			var f []byte
			if f, err = sr.Next(); err != nil {
				break
			}
			r := mustDecode(t, NewDecoder(), f)
			if r.MsgType != MsgPeerDown {
				t.Errorf("%s frame %d: %s", c.kind, n, r.MsgType)
			}
			n++
		}
		if c.kind == KindLengthPrefixed {
			var de *DecodeError
			if n != 3 || !errors.As(err, &de) || !errors.Is(err, ErrTruncated) || de.Offset != cut {
				t.Errorf("length-prefixed: %d frames, %v; want 3 and truncated at %d", n, err, cut)
			}
		} else if err != io.EOF || n < 2 {
			t.Errorf("%s: %d frames, %v", c.kind, n, err)
		}
	}
	if Detect([]byte("garbage!")) != KindUnknown {
		t.Error("garbage detected as a known kind")
	}
}

func itoa(n int) string {
	b := []byte{}
	for ; n > 0 || len(b) == 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestSessionBound: the session table stays within WithMaxSessions by
// dropping the least recently used router; DropRouter forgets one router.
func TestSessionBound(t *testing.T) {
	d := NewDecoder(WithMaxSessions(2))
	frame := func(router byte, msg []byte) []byte {
		h := Header{ObjectType: ObjectBMPRaw, AdminID: "a", RouterHash: [16]byte{router}, RouterIP: netip.AddrFrom4([4]byte{192, 0, 2, router})}
		return h.AppendTo(nil, msg)
	}
	up := bmpMsg(MsgPeerUp, peerA.bytes(), peerUpBody(open(1, true, 0), open(peerA.asn, true, 0)))
	rm := bmpMsg(MsgRouteMonitoring, peerA.bytes(), update4([]uint32{1}, 4, 0))
	mustDecode(t, d, frame(1, up))
	mustDecode(t, d, frame(2, up))
	mustDecode(t, d, frame(2, rm)) // router 2 is now the most recent
	mustDecode(t, d, frame(3, up))
	if d.Sessions() != 2 {
		t.Errorf("%d sessions, bound 2", d.Sessions())
	}
	if r := mustDecode(t, d, frame(1, rm)); !r.Elems[0].BMP.NoPeerUp {
		t.Error("router 1 (least recently used) kept its session")
	}
	if r := mustDecode(t, d, frame(2, rm)); r.Elems[0].BMP.NoPeerUp {
		t.Error("router 2 lost its session")
	}
	// Routers are bounded too: Initiations from many routers keep at most 2.
	for i := byte(10); i < 20; i++ {
		mustDecode(t, d, frame(i, bmpMsg(MsgInitiation, tlv(InfoSysName, []byte{'r', i}))))
	}
	if len(d.routers) > 2 || d.Sessions() > 2 {
		t.Errorf("%d routers, %d sessions with a bound of 2", len(d.routers), d.Sessions())
	}
	mustDecode(t, d, frame(2, up))
	d.DropRouter(RouterKey{2})
	if r := mustDecode(t, d, frame(2, rm)); !r.Elems[0].BMP.NoPeerUp || d.Sessions() != 0 {
		t.Errorf("after DropRouter: NoPeerUp %v, %d sessions", r.Elems[0].BMP.NoPeerUp, d.Sessions())
	}
}

func TestBMPVersion4(t *testing.T) {
	msg := bmpMsg(MsgRouteMonitoring, peerA.bytes())
	msg[0] = 4
	var r Result
	err := NewDecoder().Decode(msg, &r)
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "version 4") || r.Record.Status != decode.StatusUnsupported {
		t.Errorf("BMP v4: %v, status %s", err, r.Record.Status)
	}
}

// TestStreamResync: garbage between frames is reported once with its
// offset, then reading goes on with the next valid frame; a version error
// at the start of a stream is final.
func TestStreamResync(t *testing.T) {
	m1 := bmpMsg(MsgPeerDown, peerA.bytes(), []byte{DownDeconfigured})
	m2 := bmpMsg(MsgInitiation, tlv(InfoSysName, []byte("r")))
	garbage := bytes.Repeat([]byte{0xee, 3, 0}, 13)
	h := Header{ObjectType: ObjectBMPRaw, AdminID: "a", RouterIP: netip.MustParseAddr("192.0.2.1")}
	o1, o2 := h.AppendTo(nil, m1), h.AppendTo(nil, m2)
	lp := func(f []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(f))), f...) }
	for _, c := range []struct {
		kind      Kind
		a, b      []byte
		badOffset int
	}{
		{KindBMP, m1, m2, len(m1)},
		{KindOpenBMP, o1, o2, len(o1)},
		{KindLengthPrefixed, lp(o1), lp(m2), len(lp(o1))},
	} {
		data := append(append(append(append([]byte{}, c.a...), garbage...), c.b...), c.b...)
		sr := NewStreamReader(bytes.NewReader(data), c.kind)
		var got []string
		errs := readFrames(sr, func(f []byte) { got = append(got, mustDecode(t, NewDecoder(), f).MsgType.String()) })
		var de *DecodeError
		if len(errs) != 1 || !errors.As(errs[0], &de) || de.Offset != c.badOffset {
			t.Errorf("%s: errors %v, want one at offset %d", c.kind, errs, c.badOffset)
		}
		if strings.Join(got, ",") != "Peer Down,Initiation,Initiation" || sr.Skipped() != int64(len(garbage)) {
			t.Errorf("%s: frames %v, skipped %d, want 3 frames and %d bytes skipped", c.kind, got, sr.Skipped(), len(garbage))
		}
	}
	v4 := bytes.Repeat(m1, 3)
	for i := 0; i < len(v4); i += len(m1) {
		v4[i] = 4
	}
	sr := NewStreamReader(bytes.NewReader(v4), KindUnknown)
	_, err1 := sr.Next()
	_, err2 := sr.Next()
	if !errors.Is(err1, ErrVersion) || err2 != err1 {
		t.Errorf("BMP v4 stream: %v then %v, want the same version error", err1, err2)
	}
}
