package mrt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/bgp-connector/bgp-connector/decode"
)

// BGP4MP and BGP4MP_ET subtypes (RFC 6396 §4.4, RFC 8050).
const (
	BGP4MPStateChange           uint16 = 0
	BGP4MPMessage               uint16 = 1
	BGP4MPEntry                 uint16 = 2 // deprecated (draft-ietf-grow-mrt-00)
	BGP4MPSnapshot              uint16 = 3 // deprecated
	BGP4MPMessageAS4            uint16 = 4
	BGP4MPStateChangeAS4        uint16 = 5
	BGP4MPMessageLocal          uint16 = 6
	BGP4MPMessageAS4Local       uint16 = 7
	BGP4MPMessageAddPath        uint16 = 8  // RFC 8050
	BGP4MPMessageAS4AddPath     uint16 = 9  // RFC 8050
	BGP4MPMessageLocalAddPath   uint16 = 10 // RFC 8050
	BGP4MPMessageAS4LocalAddPth uint16 = 11 // RFC 8050
)

var marker = bytes.Repeat([]byte{0xff}, 16)

// bgp4mpPeer reads the common BGP4MP prefix:
//
//	Peer AS (2 or 4) | Local AS (2 or 4) | Interface Index (2) | AFI (2)
//	Peer IP (4 or 16) | Local IP (4 or 16)
func bgp4mpPeer(b []byte, as4 bool) (peer netip.Addr, asn uint32, rest []byte, err error) {
	w := 2
	if as4 {
		w = 4
	}
	if len(b) < 2*w+4 {
		return peer, 0, nil, truncated("BGP4MP peer header", 2*w+4, len(b))
	}
	if as4 {
		asn = binary.BigEndian.Uint32(b)
	} else {
		asn = uint32(binary.BigEndian.Uint16(b))
	}
	afi := binary.BigEndian.Uint16(b[2*w+2:])
	p := 2*w + 4
	peer, n, err := addr(b[p:], afi)
	if err != nil {
		return peer, asn, nil, err
	}
	p += n
	_, n, err = addr(b[p:], afi)
	if err != nil {
		return peer, asn, nil, err
	}
	return peer, asn, b[p+n:], nil
}

func (e *Elementor) bgp4mp(s *sink, raw *RawRecord) error {
	st := raw.Subtype
	b := raw.Body
	switch st {
	case BGP4MPStateChange, BGP4MPStateChangeAS4:
		return e.stateChange(s, b, st == BGP4MPStateChangeAS4)
	case BGP4MPMessage, BGP4MPMessageAS4, BGP4MPMessageLocal, BGP4MPMessageAS4Local,
		BGP4MPMessageAddPath, BGP4MPMessageAS4AddPath, BGP4MPMessageLocalAddPath, BGP4MPMessageAS4LocalAddPth:
		as4 := st == BGP4MPMessageAS4 || st == BGP4MPMessageAS4Local || st == BGP4MPMessageAS4AddPath || st == BGP4MPMessageAS4LocalAddPth
		addPath := st >= BGP4MPMessageAddPath
		// Old Zebra wrote records with only the two AS numbers before the
		// BGP marker (seen in RIS files of 2000).
		w := 2
		if as4 {
			w = 4
		}
		if len(b) >= 2*w+16 && bytes.Equal(b[2*w:2*w+16], marker) {
			return nil // no peer address: nothing to attribute elems to
		}
		peer, asn, msg, err := bgp4mpPeer(b, as4)
		if err != nil {
			return err
		}
		return e.message(s, peer, asn, msg, decode.Options{AS4: as4, AddPathAll: addPath})
	case BGP4MPEntry:
		return e.entry(s, b)
	}
	return fmt.Errorf("%w: BGP4MP subtype %d", decode.ErrUnsupported, st)
}

// stateChange decodes STATE_CHANGE and STATE_CHANGE_AS4 (RFC 6396 §4.4.1).
func (e *Elementor) stateChange(s *sink, b []byte, as4 bool) error {
	var el decode.Elem
	if len(b) == 8 && !as4 {
		// Zebra 0.8x wrote 8-byte state changes: two ASNs of zero, the
		// interface index, then the states; no addresses.
		el.PeerASN = uint32(binary.BigEndian.Uint16(b))
		b = b[4:]
	} else {
		peer, asn, rest, err := bgp4mpPeer(b, as4)
		if err != nil {
			return err
		}
		el.PeerIP, el.PeerASN, b = peer, asn, rest
	}
	if len(b) < 4 {
		return truncated("STATE_CHANGE states", 4, len(b))
	}
	if e.Prefilter != nil && (!e.Prefilter.WantsElemType(decode.ElemPeerState) || !e.Prefilter.MatchPeer(el.PeerIP, el.PeerASN)) {
		return nil
	}
	el.Type = decode.ElemPeerState
	el.Time = s.rec().Time
	el.OldState = decode.PeerState(binary.BigEndian.Uint16(b))
	el.NewState = decode.PeerState(binary.BigEndian.Uint16(b[2:]))
	s.add(&el)
	return nil
}

// message decodes one BGP message (with its 19-byte header) from peer.
func (e *Elementor) message(s *sink, peer netip.Addr, asn uint32, msg []byte, opts decode.Options) error {
	h, err := decode.DecodeHeader(msg)
	if err != nil {
		return err
	}
	if h.Type != decode.MsgUpdate {
		switch h.Type {
		case decode.MsgOpen, decode.MsgNotification, decode.MsgKeepalive, decode.MsgRouteRefresh:
			return nil
		}
		return fmt.Errorf("%w: BGP message type %d", decode.ErrMalformed, h.Type)
	}
	return e.update(s, peer, asn, msg[decode.HeaderLen:h.Length], opts)
}

// update decodes an UPDATE body into A and W elems.
func (e *Elementor) update(s *sink, peer netip.Addr, asn uint32, body []byte, opts decode.Options) error {
	if e.Prefilter != nil && !e.Prefilter.MatchPeer(peer, asn) {
		return nil
	}
	u := &e.upd
	// On a framing fault the prefixes decoded before it are still reported
	// (bgpdump does the same) and the record is marked corrupted.
	derr := decode.DecodeUpdateAddPathFallback(u, body, &opts)
	wantW := e.Prefilter == nil || e.Prefilter.WantsElemType(decode.ElemWithdrawal)
	wantA := e.Prefilter == nil || e.Prefilter.WantsElemType(decode.ElemAnnouncement)
	s.b.AppendUpdate(s.ri, u, peer, asn, s.rec().Time, wantW, wantA)
	if derr != nil {
		return derr
	}
	if len(u.Unsupported) > 0 && len(u.Withdrawn)+len(u.Announced) == 0 {
		f := u.Unsupported[0]
		return fmt.Errorf("%w: NLRI of AFI %d SAFI %d", decode.ErrUnsupported, f.AFI, f.SAFI)
	}
	return nil
}

// entry decodes the deprecated BGP4MP_ENTRY subtype (draft-ietf-grow-mrt
// before RFC 6396), a RIB entry in update-stream framing:
//
//	<BGP4MP peer header, 2-byte ASNs> | View (2) | Status (2) | Time Last Change (4)
//	AFI (2) | SAFI (1) | Next Hop Length (1) | Next Hop | Prefix (NLRI encoding)
//	Attribute Length (2) | BGP Attributes
func (e *Elementor) entry(s *sink, b []byte) error {
	peer, asn, rest, err := bgp4mpPeer(b, false)
	if err != nil {
		return err
	}
	b = rest
	if len(b) < 12 {
		return truncated("BGP4MP_ENTRY header", 12, len(b))
	}
	f := decode.Family{AFI: binary.BigEndian.Uint16(b[8:]), SAFI: b[10]}
	nhl := int(b[11])
	p := 12
	if len(b)-p < nhl {
		return truncated("BGP4MP_ENTRY next hop", nhl, len(b)-p)
	}
	nh := b[p : p+nhl]
	p += nhl
	if !f.Supported() {
		return fmt.Errorf("%w: BGP4MP_ENTRY AFI %d SAFI %d", decode.ErrUnsupported, f.AFI, f.SAFI)
	}
	pfx, n, err := decode.DecodePrefix(b[p:], f.AFI)
	if err != nil {
		return err
	}
	p += n
	if len(b)-p < 2 {
		return truncated("BGP4MP_ENTRY attribute length", 2, len(b)-p)
	}
	alen := int(binary.BigEndian.Uint16(b[p:]))
	p += 2
	if alen > len(b)-p {
		return truncated("BGP4MP_ENTRY attributes", alen, len(b)-p)
	}
	if e.Prefilter != nil && (!e.Prefilter.WantsElemType(decode.ElemRIB) || !e.Prefilter.MatchPeer(peer, asn) || !e.Prefilter.WantsFamily(f.AFI == decode.AFIIPv6)) {
		return nil
	}
	a := s.b.NewAttrs()
	if err := decode.DecodeAttrs(a, b[p:p+alen], &decode.Options{}); err != nil {
		return err
	}
	if s.owned {
		s.b.Own(a)
	}
	el := decode.Elem{Type: decode.ElemRIB, Time: s.rec().Time, PeerIP: peer, PeerASN: asn, Prefix: pfx, Attrs: a}
	switch len(nh) {
	case 4:
		el.NextHop = netip.AddrFrom4([4]byte(nh))
	case 16, 32:
		el.NextHop = netip.AddrFrom16([16]byte(nh))
	default:
		el.NextHop = nextHop(a, f.AFI == decode.AFIIPv6)
	}
	s.add(&el)
	return nil
}
