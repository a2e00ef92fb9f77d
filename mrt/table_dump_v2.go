package mrt

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/bgp-connector/bgp-connector/decode"
)

// TABLE_DUMP_V2 subtypes (RFC 6396 §4.3, RFC 6397, RFC 8050).
const (
	PeerIndexTable          uint16 = 1
	RIBIPv4Unicast          uint16 = 2
	RIBIPv4Multicast        uint16 = 3
	RIBIPv6Unicast          uint16 = 4
	RIBIPv6Multicast        uint16 = 5
	RIBGeneric              uint16 = 6
	GeoPeerTable            uint16 = 7  // RFC 6397
	RIBIPv4UnicastAddPath   uint16 = 8  // RFC 8050
	RIBIPv4MulticastAddPath uint16 = 9  // RFC 8050
	RIBIPv6UnicastAddPath   uint16 = 10 // RFC 8050
	RIBIPv6MulticastAddPath uint16 = 11 // RFC 8050
	RIBGenericAddPath       uint16 = 12 // RFC 8050
)

func (e *Elementor) tableDumpV2(s *sink, raw *RawRecord) error {
	st := raw.Subtype
	switch st {
	case PeerIndexTable:
		return e.peerIndex(s, raw.Body)
	case RIBIPv4Unicast, RIBIPv4Multicast, RIBIPv6Unicast, RIBIPv6Multicast,
		RIBIPv4UnicastAddPath, RIBIPv4MulticastAddPath, RIBIPv6UnicastAddPath, RIBIPv6MulticastAddPath:
		afi := decode.AFIIPv4
		if st == RIBIPv6Unicast || st == RIBIPv6Multicast || st == RIBIPv6UnicastAddPath || st == RIBIPv6MulticastAddPath {
			afi = decode.AFIIPv6
		}
		addPath := st >= RIBIPv4UnicastAddPath
		return e.rib(s, raw.Body, afi, addPath, false)
	case RIBGeneric, RIBGenericAddPath:
		return e.rib(s, raw.Body, 0, st == RIBGenericAddPath, true)
	}
	return fmt.Errorf("%w: TABLE_DUMP_V2 subtype %d", decode.ErrUnsupported, st)
}

// peerIndex decodes a PEER_INDEX_TABLE (RFC 6396 §4.3.1).
//
//	Collector BGP ID (4) | View Name Length (2) | View Name | Peer Count (2)
//	Peer Entries: Peer Type (1) | Peer BGP ID (4) | Peer IP (4 or 16) | Peer AS (2 or 4)
func (e *Elementor) peerIndex(s *sink, b []byte) error {
	if len(b) < 6 {
		return truncated("PEER_INDEX_TABLE header", 6, len(b))
	}
	e.collector = netip.AddrFrom4([4]byte(b))
	vl := int(binary.BigEndian.Uint16(b[4:]))
	if len(b) < 6+vl+2 {
		return truncated("PEER_INDEX_TABLE view name", vl+2, len(b)-6)
	}
	e.viewName = string(b[6 : 6+vl])
	n := int(binary.BigEndian.Uint16(b[6+vl:]))
	p := 8 + vl
	e.peers = e.peers[:0]
	e.haveIndex = true
	for i := 0; i < n; i++ {
		if len(b)-p < 5 {
			return truncated(fmt.Sprintf("peer entry %d of %d", i, n), 5, len(b)-p)
		}
		typ := b[p]
		pe := Peer{BGPID: netip.AddrFrom4([4]byte(b[p+1:]))}
		p += 5
		afi := decode.AFIIPv4
		if typ&1 != 0 {
			afi = decode.AFIIPv6
		}
		ip, l, err := addr(b[p:], afi)
		if err != nil {
			return err
		}
		pe.IP = ip
		p += l
		if typ&2 != 0 {
			if len(b)-p < 4 {
				return truncated("peer AS", 4, len(b)-p)
			}
			pe.ASN = binary.BigEndian.Uint32(b[p:])
			p += 4
		} else {
			if len(b)-p < 2 {
				return truncated("peer AS", 2, len(b)-p)
			}
			pe.ASN = uint32(binary.BigEndian.Uint16(b[p:]))
			p += 2
		}
		e.peers = append(e.peers, pe)
	}
	return nil
}

// rib decodes the AFI/SAFI-specific RIB subtypes and RIB_GENERIC
// (RFC 6396 §4.3.2, §4.3.3; RFC 8050 §4 adds a Path Identifier per entry).
//
//	Sequence Number (4) | [AFI (2) | SAFI (1) for RIB_GENERIC] | Prefix (NLRI encoding)
//	Entry Count (2) | RIB Entries: Peer Index (2) | Originated Time (4)
//	[Path Identifier (4)] | Attribute Length (2) | BGP Attributes
func (e *Elementor) rib(s *sink, b []byte, afi uint16, addPath, generic bool) error {
	if !e.haveIndex {
		return ErrNoPeerIndex
	}
	if len(b) < 4 {
		return truncated("RIB sequence number", 4, len(b))
	}
	p := 4
	if generic {
		if len(b) < 7 {
			return truncated("RIB_GENERIC AFI/SAFI", 3, len(b)-4)
		}
		f := decode.Family{AFI: binary.BigEndian.Uint16(b[4:]), SAFI: b[6]}
		if !f.Supported() {
			return fmt.Errorf("%w: RIB_GENERIC AFI %d SAFI %d", decode.ErrUnsupported, f.AFI, f.SAFI)
		}
		afi = f.AFI
		p = 7
	}
	if e.Prefilter != nil && (!e.Prefilter.WantsElemType(decode.ElemRIB) || !e.Prefilter.WantsFamily(afi == decode.AFIIPv6)) {
		s.rec().Status = decode.StatusFilteredSource
		return nil
	}
	pfx, n, err := decode.DecodePrefix(b[p:], afi)
	if err != nil {
		return err
	}
	if pp, ok := e.Prefilter.(PrefixPrefilter); ok && !pp.MatchPrefix(pfx) {
		s.rec().Status = decode.StatusFilteredSource // no entry can match: none is decoded
		return nil
	}
	p += n
	if len(b)-p < 2 {
		return truncated("RIB entry count", 2, len(b)-p)
	}
	count := int(binary.BigEndian.Uint16(b[p:]))
	p += 2
	opts := decode.Options{AS4: true}
	t := s.rec().Time
	for i := 0; i < count; i++ {
		hl := 8
		if addPath {
			hl = 12
		}
		if len(b)-p < hl {
			return truncated(fmt.Sprintf("RIB entry %d of %d", i, count), hl, len(b)-p)
		}
		idx := int(binary.BigEndian.Uint16(b[p:]))
		var pathID uint32
		if addPath {
			pathID = binary.BigEndian.Uint32(b[p+6:])
		}
		alen := int(binary.BigEndian.Uint16(b[p+hl-2:]))
		p += hl
		if alen > len(b)-p {
			return truncated(fmt.Sprintf("RIB entry %d attributes", i), alen, len(b)-p)
		}
		attrs := b[p : p+alen]
		p += alen
		if idx >= len(e.peers) {
			return fmt.Errorf("%w: RIB entry %d names peer index %d, table has %d", decode.ErrMalformed, i, idx, len(e.peers))
		}
		peer := &e.peers[idx]
		if e.Prefilter != nil && !e.Prefilter.MatchPeer(peer.IP, peer.ASN) {
			continue
		}
		a := s.b.NewAttrs()
		if err := decode.DecodeAttrs(a, attrs, &opts); err != nil {
			return err
		}
		if s.owned {
			s.b.Own(a)
		}
		el := s.elem()
		el.Type = decode.ElemRIB
		el.Time = t
		el.PeerIP, el.PeerASN = peer.IP, peer.ASN
		el.Prefix = pfx
		el.PathID, el.HasPathID = pathID, addPath
		el.NextHop = nextHop(a, afi == decode.AFIIPv6)
		el.Attrs = a
	}
	return nil
}
