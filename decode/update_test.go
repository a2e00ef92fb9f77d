package decode

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

// attr builds one path attribute with the given flags, type and value.
func attr(flags byte, typ AttrType, v ...byte) []byte {
	if len(v) > 255 {
		return append([]byte{flags | flagExtLen, byte(typ), byte(len(v) >> 8), byte(len(v))}, v...)
	}
	return append([]byte{flags, byte(typ), byte(len(v))}, v...)
}

// update builds an UPDATE body from withdrawn routes, attributes and NLRI.
func update(withdrawn []byte, attrs [][]byte, nlri []byte) []byte {
	var al []byte
	for _, a := range attrs {
		al = append(al, a...)
	}
	b := []byte{byte(len(withdrawn) >> 8), byte(len(withdrawn))}
	b = append(b, withdrawn...)
	b = append(b, byte(len(al)>>8), byte(len(al)))
	b = append(b, al...)
	return append(b, nlri...)
}

func TestDecodeUpdateIPv4AllAttributes(t *testing.T) {
	body := update(
		[]byte{24, 192, 0, 2, 16, 10, 1}, // 192.0.2.0/24, 10.1.0.0/16
		[][]byte{
			attr(0x40, AttrOrigin, 0),
			attr(0x40, AttrASPath, 2, 3, 0, 0, 0xfd, 0xe8, 0, 0, 0x0d, 0x1c, 0x00, 0x03, 0x0d, 0x40, 1, 2, 0, 0, 0, 1, 0, 0, 0, 2), // SEQ 65000 3356 200000, SET {1,2}
			attr(0x40, AttrNextHop, 198, 51, 100, 1),
			attr(0x80, AttrMED, 0, 0, 0, 50),
			attr(0x40, AttrLocalPref, 0, 0, 0, 100),
			attr(0x40, AttrAtomicAggregate),
			attr(0xc0, AttrAggregator, 0, 0, 0xfd, 0xe8, 203, 0, 113, 9),
			attr(0xc0, AttrCommunities, 0x0d, 0x1c, 0x00, 0x64, 0xff, 0xff, 0xff, 0x01),
			attr(0x80, AttrOriginatorID, 10, 0, 0, 1),
			attr(0x80, AttrClusterList, 10, 0, 0, 2, 10, 0, 0, 3),
			attr(0xc0, AttrExtCommunities, 0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 7),
			attr(0xc0, AttrLargeCommunities, 0, 3, 0x0d, 0x40, 0, 0, 0, 1, 0, 0, 0, 2),
			attr(0xc0, AttrOnlyToCustomer, 0, 0, 0xfd, 0xe9),
			attr(0xc0, 99, 0xde, 0xad),
		},
		[]byte{32, 203, 0, 113, 7, 8, 10}, // 203.0.113.7/32, 10.0.0.0/8
	)
	var u Update
	if err := DecodeUpdate(&u, body, &Options{AS4: true}); err != nil {
		t.Fatal(err)
	}
	a := &u.Attrs
	if len(a.Errors) != 0 {
		t.Fatalf("errors: %v", a.Errors)
	}
	wantW := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("10.1.0.0/16")}
	wantA := []netip.Prefix{netip.MustParsePrefix("203.0.113.7/32"), netip.MustParsePrefix("10.0.0.0/8")}
	if got := prefixes(u.Withdrawn); !slices.Equal(got, wantW) {
		t.Errorf("withdrawn %v, want %v", got, wantW)
	}
	if got := prefixes(u.Announced); !slices.Equal(got, wantA) {
		t.Errorf("announced %v, want %v", got, wantA)
	}
	if u.Announced[0].NextHop != netip.MustParseAddr("198.51.100.1") {
		t.Errorf("next hop %v", u.Announced[0].NextHop)
	}
	if got := a.ASPath.String(); got != "65000 3356 200000 {1,2}" {
		t.Errorf("AS path %q", got)
	}
	if _, ok := a.ASPath.OriginASN(); ok {
		t.Errorf("origin ASN of a path ending in a set must be absent")
	}
	if a.ASPath.Len() != 4 {
		t.Errorf("path length %d, want 4", a.ASPath.Len())
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"origin", a.Has(AttrOrigin) && a.Origin == OriginIGP},
		{"med", a.Has(AttrMED) && a.MED == 50},
		{"localpref", a.Has(AttrLocalPref) && a.LocalPref == 100},
		{"atomic", a.AtomicAggregate},
		{"aggregator", a.Aggregator == Aggregator{65000, netip.MustParseAddr("203.0.113.9")}},
		{"communities", slices.Equal(a.Communities, []Community{3356<<16 | 100, CommunityNoExport})},
		{"originator", a.OriginatorID == netip.MustParseAddr("10.0.0.1")},
		{"cluster", slices.Equal(a.ClusterList, []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")})},
		{"ext", len(a.ExtCommunities) == 1 && string(a.ExtCommunities[0].AppendText(nil)) == "rt:65000:7"},
		{"large", slices.Equal(a.LargeCommunities, []LargeCommunity{{200000, 1, 2}})},
		{"otc", a.Has(AttrOnlyToCustomer) && a.OnlyToCustomer == 65001},
		{"unknown", len(a.Unknown) == 1 && a.Unknown[0].Type == 99 && string(a.Unknown[0].Value) == "\xde\xad"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s wrong: %+v", c.name, a)
		}
	}
}

func prefixes(ns []NLRI) []netip.Prefix {
	var out []netip.Prefix
	for _, n := range ns {
		out = append(out, n.Prefix)
	}
	return out
}

func TestDecodeUpdateMPReachIPv6AddPath(t *testing.T) {
	nh := netip.MustParseAddr("2001:db8::1").As16()
	ll := netip.MustParseAddr("fe80::1").As16()
	mp := []byte{0, 2, 1, 32}
	mp = append(mp, nh[:]...)
	mp = append(mp, ll[:]...)
	mp = append(mp, 0)                                                 // reserved
	mp = append(mp, 0, 0, 0, 7, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 1)      // path 7, 2001:db8:1::/48
	unreach := []byte{0, 2, 1, 0, 0, 0, 9, 32, 0x20, 0x01, 0x0d, 0xb8} // path 9, 2001:db8::/32
	body := update(nil, [][]byte{
		attr(0x40, AttrOrigin, 2),
		attr(0x40, AttrASPath, 2, 1, 0, 0, 0, 1),
		attr(0x80, AttrMPReach, mp...),
		attr(0x80, AttrMPUnreach, unreach...),
	}, nil)
	var u Update
	o := Options{AS4: true, AddPath: AddPathBit(Family{AFIIPv6, SAFIUnicast})}
	if err := DecodeUpdate(&u, body, &o); err != nil {
		t.Fatal(err)
	}
	if len(u.Announced) != 1 || u.Announced[0].Prefix != netip.MustParsePrefix("2001:db8:1::/48") ||
		u.Announced[0].PathID != 7 || !u.Announced[0].HasPathID || u.Announced[0].NextHop != netip.AddrFrom16(nh) {
		t.Errorf("announced %+v", u.Announced)
	}
	if u.Attrs.MPNextHopLocal != netip.AddrFrom16(ll) {
		t.Errorf("link-local next hop %v", u.Attrs.MPNextHopLocal)
	}
	if len(u.Withdrawn) != 1 || u.Withdrawn[0].Prefix != netip.MustParsePrefix("2001:db8::/32") || u.Withdrawn[0].PathID != 9 {
		t.Errorf("withdrawn %+v", u.Withdrawn)
	}
}

func TestDecodeUpdateUnsupportedFamilyIsNotFatal(t *testing.T) {
	// VPNv4 (AFI 1, SAFI 128): 12-byte next hop (RD + IPv4), one labeled VPN prefix.
	mp := []byte{0, 1, 128, 12, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1, 0,
		112, 0, 0, 1, 0, 0, 0, 100, 0, 0, 0, 1, 10, 0, 0}
	body := update(nil, [][]byte{attr(0x40, AttrOrigin, 0), attr(0x40, AttrASPath), attr(0x80, AttrMPReach, mp...)}, nil)
	var u Update
	if err := DecodeUpdate(&u, body, &Options{AS4: true}); err != nil {
		t.Fatal(err)
	}
	if len(u.Unsupported) != 1 || u.Unsupported[0] != (Family{1, 128}) || len(u.Announced) != 0 {
		t.Errorf("unsupported %v announced %v", u.Unsupported, u.Announced)
	}
}

func TestDecodeUpdateAS4Merge(t *testing.T) {
	// A 2-byte session: AS_PATH 65001 23456 23456 3356, AS4_PATH 200000 4200000000 3356.
	body := update(nil, [][]byte{
		attr(0x40, AttrOrigin, 0),
		attr(0x40, AttrASPath, 2, 4, 0xfd, 0xe9, 0x5b, 0xa0, 0x5b, 0xa0, 0x0d, 0x1c),
		attr(0x40, AttrNextHop, 192, 0, 2, 1),
		attr(0xc0, AttrAggregator, 0x5b, 0xa0, 192, 0, 2, 9),
		attr(0xc0, AttrAS4Path, 2, 3, 0, 3, 0x0d, 0x40, 0xfa, 0x56, 0xea, 0x00, 0, 0, 0x0d, 0x1c),
		attr(0xc0, AttrAS4Aggregator, 0xfa, 0x56, 0xea, 0x00, 192, 0, 2, 9),
	}, []byte{24, 198, 51, 100})
	var u Update
	if err := DecodeUpdate(&u, body, &Options{}); err != nil {
		t.Fatal(err)
	}
	if got := u.Attrs.ASPath.String(); got != "65001 200000 4200000000 3356" {
		t.Errorf("merged path %q", got)
	}
	if u.Attrs.Aggregator.ASN != 4200000000 {
		t.Errorf("aggregator %d", u.Attrs.Aggregator.ASN)
	}
	// The same attributes on a 4-byte session are read as 4-byte ASNs: the
	// AS_PATH is then malformed (odd length) and the route treat-as-withdraw.
	if err := DecodeUpdate(&u, body, &Options{AS4: true}); err != nil {
		t.Fatal(err)
	}
	if u.Attrs.Action != ActionTreatAsWithdraw || len(u.Announced) != 0 || len(u.Withdrawn) != 1 {
		t.Errorf("4-byte read of 2-byte path: action %v announced %d withdrawn %d", u.Attrs.Action, len(u.Announced), len(u.Withdrawn))
	}
}

func TestDecodeUpdateAS4PathLongerIsIgnored(t *testing.T) {
	body := update(nil, [][]byte{
		attr(0x40, AttrOrigin, 0),
		attr(0x40, AttrASPath, 2, 1, 0x5b, 0xa0),
		attr(0x40, AttrNextHop, 192, 0, 2, 1),
		attr(0xc0, AttrAS4Path, 2, 2, 0, 3, 0x0d, 0x40, 0, 3, 0x0d, 0x41),
	}, []byte{24, 198, 51, 100})
	var u Update
	if err := DecodeUpdate(&u, body, &Options{}); err != nil {
		t.Fatal(err)
	}
	if got := u.Attrs.ASPath.String(); got != "23456" {
		t.Errorf("path %q: an AS4_PATH longer than AS_PATH must be ignored (RFC 6793 §4.2.3)", got)
	}
}

func TestDecodeUpdateRFC7606(t *testing.T) {
	cases := []struct {
		name   string
		attrs  [][]byte
		action ErrorAction
		field  string
		nAnn   int
	}{
		{"bad origin", [][]byte{attr(0x40, AttrOrigin, 7), attr(0x40, AttrASPath), attr(0x40, AttrNextHop, 192, 0, 2, 1)}, ActionTreatAsWithdraw, "ORIGIN", 0},
		{"bad atomic length", [][]byte{attr(0x40, AttrOrigin, 0), attr(0x40, AttrASPath), attr(0x40, AttrNextHop, 192, 0, 2, 1), attr(0x40, AttrAtomicAggregate, 1)}, ActionAttributeDiscard, "ATOMIC_AGGREGATE", 1},
		{"communities not multiple of 4", [][]byte{attr(0x40, AttrOrigin, 0), attr(0x40, AttrASPath), attr(0x40, AttrNextHop, 192, 0, 2, 1), attr(0xc0, AttrCommunities, 1, 2, 3)}, ActionTreatAsWithdraw, "COMMUNITIES", 0},
		{"missing next hop", [][]byte{attr(0x40, AttrOrigin, 0), attr(0x40, AttrASPath)}, ActionTreatAsWithdraw, "path attributes", 0},
		{"attribute overruns list", [][]byte{attr(0x40, AttrOrigin, 0), {0x40, byte(AttrASPath), 9, 2}}, ActionTreatAsWithdraw, "AS_PATH", 0},
		{"repeated MED", [][]byte{attr(0x40, AttrOrigin, 0), attr(0x40, AttrASPath), attr(0x40, AttrNextHop, 192, 0, 2, 1), attr(0x80, AttrMED, 0, 0, 0, 1), attr(0x80, AttrMED, 0, 0, 0, 2)}, ActionAttributeDiscard, "MULTI_EXIT_DISC", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var u Update
			if err := DecodeUpdate(&u, update(nil, c.attrs, []byte{24, 198, 51, 100}), &Options{AS4: true}); err != nil {
				t.Fatal(err)
			}
			if u.Attrs.Action != c.action {
				t.Errorf("action %v, want %v (errors %v)", u.Attrs.Action, c.action, u.Attrs.Errors)
			}
			if len(u.Attrs.Errors) == 0 || u.Attrs.Errors[0].Field != c.field {
				t.Errorf("errors %v, want field %s", u.Attrs.Errors, c.field)
			}
			if len(u.Announced) != c.nAnn || len(u.Announced)+len(u.Withdrawn) != 1 {
				t.Errorf("announced %d withdrawn %d, want %d announced", len(u.Announced), len(u.Withdrawn), c.nAnn)
			}
		})
	}
}

func TestDecodeUpdateFramingErrors(t *testing.T) {
	cases := map[string][]byte{
		"short":                  {0, 0, 0},
		"withdrawn overrun":      {0, 9, 24, 1, 2},
		"attribute len overrun":  {0, 0, 0, 9, 0x40, 1, 1, 0},
		"prefix length over 32":  update(nil, nil, []byte{33, 1, 2, 3, 4, 5}),
		"prefix bytes missing":   update(nil, nil, []byte{24, 1, 2}),
		"withdrawn prefix short": update([]byte{16, 10}, nil, nil),
	}
	for name, b := range cases {
		var u Update
		err := DecodeUpdate(&u, b, &Options{})
		var de *Error
		if !errors.As(err, &de) || de.Action != ActionSessionReset {
			t.Errorf("%s: err %v, want a session-reset *Error", name, err)
		}
	}
}

func TestDecodeUpdateEndOfRIB(t *testing.T) {
	var u Update
	if err := DecodeUpdate(&u, []byte{0, 0, 0, 0}, &Options{}); err != nil || !u.EndOfRIB {
		t.Errorf("IPv4 End-of-RIB: err %v eor %v", err, u.EndOfRIB)
	}
	if err := DecodeUpdate(&u, update(nil, [][]byte{attr(0x80, AttrMPUnreach, 0, 2, 1)}, nil), &Options{}); err != nil || !u.EndOfRIB {
		t.Errorf("IPv6 End-of-RIB: err %v eor %v", err, u.EndOfRIB)
	}
}

func TestDecodeAttrsAbbreviatedMPReach(t *testing.T) {
	nh := netip.MustParseAddr("2001:db8::2").As16()
	abbrev := append([]byte{16}, nh[:]...)
	full := append([]byte{0, 2, 1, 16}, nh[:]...)
	full = append(full, 0)
	for name, v := range map[string][]byte{"abbreviated": abbrev, "full": full} {
		var a Attrs
		if err := DecodeAttrs(&a, attr(0x80, AttrMPReach, v...), &Options{AS4: true}); err != nil {
			t.Fatal(err)
		}
		if a.MPNextHop != netip.AddrFrom16(nh) || len(a.Errors) != 0 {
			t.Errorf("%s: next hop %v errors %v", name, a.MPNextHop, a.Errors)
		}
	}
}

func TestDecodeOpenCapabilities(t *testing.T) {
	// OPEN: version 4, AS 23456, hold 90, id 192.0.2.1, capabilities MP IPv4/IPv6
	// unicast, 4-byte AS 4200000000, ADD-PATH IPv6 unicast send/receive.
	caps := []byte{1, 4, 0, 1, 0, 1, 1, 4, 0, 2, 0, 1, 65, 4, 0xfa, 0x56, 0xea, 0x00, 69, 4, 0, 2, 1, 3}
	body := []byte{4, 0x5b, 0xa0, 0, 90, 192, 0, 2, 1, byte(2 + len(caps)), 2, byte(len(caps))}
	body = append(body, caps...)
	var o Open
	if err := DecodeOpen(&o, body); err != nil {
		t.Fatal(err)
	}
	if o.ASN != 4200000000 || !o.AS4 || o.HoldTime != 90 || o.ID != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("open %+v", o)
	}
	if len(o.Families) != 2 || o.AddPathReceive != AddPathBit(Family{2, 1}) || o.AddPathSend != AddPathBit(Family{2, 1}) {
		t.Errorf("families %v addpath %x/%x", o.Families, o.AddPathSend, o.AddPathReceive)
	}
	so := SessionOptions(&o, &o)
	if !so.AS4 || !so.HasAddPath(Family{2, 1}) || so.HasAddPath(Family{1, 1}) {
		t.Errorf("session options %+v", so)
	}
}

func TestDecodeHeader(t *testing.T) {
	msg := append(slices.Repeat([]byte{0xff}, 16), 0, 19, 4)
	h, err := DecodeHeader(msg)
	if err != nil || h.Type != MsgKeepalive || h.Length != 19 {
		t.Errorf("keepalive: %+v %v", h, err)
	}
	msg[17] = 18
	if _, err := DecodeHeader(msg); !errors.Is(err, ErrMalformed) {
		t.Errorf("length 18: %v", err)
	}
	msg[17] = 40
	if _, err := DecodeHeader(msg); !errors.Is(err, ErrTruncated) {
		t.Errorf("length 40 of 19: %v", err)
	}
}
