package mrt

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/bgp-connector/bgp-connector/decode"
)

// TABLE_DUMP subtypes (RFC 6396 §4.2).
const (
	TableDumpAFIIPv4 uint16 = 1
	TableDumpAFIIPv6 uint16 = 2
)

// tableDump decodes a legacy TABLE_DUMP record (RFC 6396 §4.2): one RIB
// entry with 2-byte ASNs.
//
//	View Number (2) | Sequence Number (2) | Prefix (4 or 16) | Prefix Length (1)
//	Status (1) | Originated Time (4) | Peer IP (4 or 16) | Peer AS (2)
//	Attribute Length (2) | BGP Attributes (variable)
func (e *Elementor) tableDump(s *sink, raw *RawRecord) error {
	afi := raw.Subtype
	if afi != TableDumpAFIIPv4 && afi != TableDumpAFIIPv6 {
		return fmt.Errorf("%w: TABLE_DUMP subtype %d", decode.ErrUnsupported, afi)
	}
	if e.Prefilter != nil && (!e.Prefilter.WantsElemType(decode.ElemRIB) || !e.Prefilter.WantsFamily(afi == TableDumpAFIIPv6)) {
		s.rec().Status = decode.StatusFilteredSource
		return nil
	}
	b := raw.Body
	if len(b) < 4 {
		return truncated("TABLE_DUMP header", 4, len(b))
	}
	// RFC 6396 has one entry per record. RIPE RIS wrote several entries
	// (one per peer) in one record in early 2000; the entries follow one
	// another without a new view/sequence header, and all are decoded.
	for p := 4; p < len(b); {
		n, err := e.tableDumpEntry(s, b[p:], afi)
		if err != nil {
			return err
		}
		p += n
	}
	return nil
}

// tableDumpEntry decodes one entry (from the prefix on) and returns its length.
func (e *Elementor) tableDumpEntry(s *sink, b []byte, afi uint16) (int, error) {
	pfx, n, err := addr(b, afi)
	if err != nil {
		return 0, err
	}
	p := n
	if len(b)-p < 6 {
		return 0, truncated("TABLE_DUMP entry", 6, len(b)-p)
	}
	bits := int(b[p])
	if bits > pfx.BitLen() {
		return 0, fmt.Errorf("%w: prefix length %d", decode.ErrMalformed, bits)
	}
	p += 2 // prefix length, status
	p += 4 // originated time
	peer, n, err := addr(b[p:], afi)
	if err != nil {
		return 0, err
	}
	p += n
	if len(b)-p < 4 {
		return 0, truncated("TABLE_DUMP peer AS and attribute length", 4, len(b)-p)
	}
	asn := uint32(binary.BigEndian.Uint16(b[p:]))
	alen := int(binary.BigEndian.Uint16(b[p+2:]))
	p += 4
	if alen > len(b)-p {
		return 0, truncated("TABLE_DUMP attributes", alen, len(b)-p)
	}
	attrs := b[p : p+alen]
	p += alen
	if e.Prefilter != nil && !e.Prefilter.MatchPeer(peer, asn) {
		return p, nil
	}
	a := s.b.NewAttrs()
	opts := decode.Options{}
	if err := decode.DecodeAttrs(a, attrs, &opts); err != nil {
		return 0, err
	}
	if s.owned {
		s.b.Own(a)
	}
	el := decode.Elem{
		Type:    decode.ElemRIB,
		Time:    s.rec().Time,
		PeerIP:  peer,
		PeerASN: asn,
		Prefix:  netip.PrefixFrom(pfx, bits),
		NextHop: nextHop(a, afi == TableDumpAFIIPv6),
		Attrs:   a,
	}
	s.add(&el)
	return p, nil
}

// nextHop picks the next hop for a prefix: NEXT_HOP for IPv4 when present,
// the MP_REACH_NLRI next hop otherwise.
func nextHop(a *decode.Attrs, ipv6 bool) netip.Addr {
	if !ipv6 && a.Has(decode.AttrNextHop) {
		return a.NextHop
	}
	if a.MPNextHop.IsValid() {
		return a.MPNextHop
	}
	return a.NextHop
}
