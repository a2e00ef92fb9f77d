package mrt

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/bgp-connector/bgp-connector/decode"
)

// Subtypes of the deprecated MRT type BGP (5), used by RIPE RIS in 1999–2000
// (RFC 6396 Appendix B.2.1).
const (
	BGPNull        uint16 = 0
	BGPUpdate      uint16 = 1
	BGPPrefUpdate  uint16 = 2
	BGPStateChange uint16 = 3
	BGPSync        uint16 = 4
	BGPOpen        uint16 = 5
	BGPNotify      uint16 = 6
	BGPKeepalive   uint16 = 7
)

// bgp decodes the deprecated BGP type. UPDATE, OPEN, NOTIFY and KEEPALIVE
// carry Peer AS (2) | Peer IP (4) | Local AS (2) | Local IP (4) and then the
// message without its 19-byte header; STATE_CHANGE carries
// Peer AS (2) | Peer IP (4) | Old State (2) | New State (2).
func (e *Elementor) bgp(s *sink, raw *RawRecord) error {
	b := raw.Body
	switch raw.Subtype {
	case BGPStateChange:
		if len(b) < 10 {
			return truncated("BGP STATE_CHANGE", 10, len(b))
		}
		el := decode.Elem{Type: decode.ElemPeerState, Time: s.rec().Time, PeerASN: uint32(binary.BigEndian.Uint16(b)),
			PeerIP: netip.AddrFrom4([4]byte(b[2:])), OldState: decode.PeerState(binary.BigEndian.Uint16(b[6:])), NewState: decode.PeerState(binary.BigEndian.Uint16(b[8:]))}
		if e.Prefilter != nil && (!e.Prefilter.WantsElemType(decode.ElemPeerState) || !e.Prefilter.MatchPeer(el.PeerIP, el.PeerASN)) {
			return nil
		}
		s.add(&el)
		return nil
	case BGPUpdate:
		if len(b) < 12 {
			return truncated("BGP UPDATE peer header", 12, len(b))
		}
		return e.update(s, netip.AddrFrom4([4]byte(b[2:])), uint32(binary.BigEndian.Uint16(b)), b[12:], decode.Options{})
	case BGPOpen, BGPNotify, BGPKeepalive, BGPNull, BGPSync:
		return nil
	}
	return fmt.Errorf("%w: BGP subtype %d", decode.ErrUnsupported, raw.Subtype)
}
