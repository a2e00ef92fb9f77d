package decode

import (
	"net/netip"
)

// Address family identifiers (IANA) and subsequent address family identifiers.
const (
	AFIIPv4 uint16 = 1
	AFIIPv6 uint16 = 2

	SAFIUnicast   uint8 = 1
	SAFIMulticast uint8 = 2
)

// Family is an AFI/SAFI pair.
type Family struct {
	AFI  uint16
	SAFI uint8
}

// Supported reports whether NLRI of this family decode into elems
// (IPv4/IPv6 unicast and multicast).
func (f Family) Supported() bool {
	return (f.AFI == AFIIPv4 || f.AFI == AFIIPv6) && (f.SAFI == SAFIUnicast || f.SAFI == SAFIMulticast)
}

// Options are the session facts that change how BGP messages are read. The
// zero value means 2-byte ASNs and no ADD-PATH.
type Options struct {
	// AS4 says AS_PATH and AGGREGATOR carry 4-byte ASNs (RFC 6793). For MRT
	// it comes from the record subtype (e.g. BGP4MP_MESSAGE_AS4); for BMP
	// from the Peer Up OPENs or the per-peer A flag.
	AS4 bool
	// AddPath lists the families whose NLRI carry an ADD-PATH path
	// identifier (RFC 7911), one bit per family: see AddPathBit.
	AddPath uint8
	// AddPathAll makes every supported family carry a path identifier
	// (as MRT *_ADDPATH subtypes do, RFC 8050).
	AddPathAll bool
}

// AddPathBit returns the bit of Options.AddPath for a family, or 0 for a
// family that does not decode into elems.
func AddPathBit(f Family) uint8 {
	if !f.Supported() {
		return 0
	}
	return 1 << ((f.AFI-1)*2 + uint16(f.SAFI-1))
}

// HasAddPath reports whether NLRI of family f carry a path identifier.
func (o *Options) HasAddPath(f Family) bool {
	if o == nil {
		return false
	}
	return o.AddPathAll || o.AddPath&AddPathBit(f) != 0
}

// NLRI is one prefix of an UPDATE, with its path identifier and next hop.
type NLRI struct {
	// Prefix is the prefix as on the wire: bits past the prefix length are
	// kept (bgpdump prints them); compare with Prefix.Masked().
	Prefix netip.Prefix
	// PathID is the ADD-PATH path identifier, valid if HasPathID.
	PathID uint32
	// HasPathID says whether the path identifier was on the wire.
	HasPathID bool
	// NextHop is the next hop for an announced prefix (NEXT_HOP for IPv4
	// unicast NLRI in the UPDATE body, MP_REACH_NLRI's next hop otherwise).
	NextHop netip.Addr
	// Multicast says the prefix came with SAFI multicast.
	Multicast bool
}

// Update is a decoded BGP UPDATE message (RFC 4271 §4.3). Decoding reuses its
// storage; Attrs.Unknown values alias the decoded input.
type Update struct {
	// Attrs are the path attributes.
	Attrs Attrs
	// Withdrawn are the withdrawn prefixes: the Withdrawn Routes field and
	// MP_UNREACH_NLRI, plus, under RFC 7606 treat-as-withdraw, the prefixes
	// that were announced.
	Withdrawn []NLRI
	// Announced are the announced prefixes: the NLRI field and MP_REACH_NLRI.
	Announced []NLRI
	// Unsupported lists families seen in MP_REACH/MP_UNREACH that do not
	// decode into elems (e.g. VPNv4, EVPN); their NLRI are skipped.
	Unsupported []Family
	// EndOfRIB is true for an End-of-RIB marker (RFC 4724 §2).
	EndOfRIB bool
}

// Reset empties u, keeping its storage.
func (u *Update) Reset() {
	u.Attrs.Reset()
	u.Withdrawn = u.Withdrawn[:0]
	u.Announced = u.Announced[:0]
	u.Unsupported = u.Unsupported[:0]
	u.EndOfRIB = false
}
