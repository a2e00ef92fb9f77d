package decode

import (
	"net/netip"
	"strconv"
)

// AttrType is a BGP path attribute type code (IANA "BGP Path Attributes").
type AttrType uint8

// Path attribute type codes decoded by this package.
const (
	AttrOrigin           AttrType = 1  // RFC 4271
	AttrASPath           AttrType = 2  // RFC 4271
	AttrNextHop          AttrType = 3  // RFC 4271
	AttrMED              AttrType = 4  // RFC 4271
	AttrLocalPref        AttrType = 5  // RFC 4271
	AttrAtomicAggregate  AttrType = 6  // RFC 4271
	AttrAggregator       AttrType = 7  // RFC 4271
	AttrCommunities      AttrType = 8  // RFC 1997
	AttrOriginatorID     AttrType = 9  // RFC 4456
	AttrClusterList      AttrType = 10 // RFC 4456
	AttrMPReach          AttrType = 14 // RFC 4760
	AttrMPUnreach        AttrType = 15 // RFC 4760
	AttrExtCommunities   AttrType = 16 // RFC 4360
	AttrAS4Path          AttrType = 17 // RFC 6793
	AttrAS4Aggregator    AttrType = 18 // RFC 6793
	AttrLargeCommunities AttrType = 32 // RFC 8092
	AttrOnlyToCustomer   AttrType = 35 // RFC 9234
)

// Origin is the ORIGIN attribute's value.
type Origin uint8

// ORIGIN values (RFC 4271 §5.1.1).
const (
	OriginIGP        Origin = 0
	OriginEGP        Origin = 1
	OriginIncomplete Origin = 2
)

// String returns "IGP", "EGP", "INCOMPLETE" or the number.
func (o Origin) String() string {
	switch o {
	case OriginIGP:
		return "IGP"
	case OriginEGP:
		return "EGP"
	case OriginIncomplete:
		return "INCOMPLETE"
	}
	return strconv.Itoa(int(o))
}

// Segment types of AS_PATH (RFC 4271 §4.3, RFC 5065).
const (
	SegSet           uint8 = 1
	SegSequence      uint8 = 2
	SegConfedSeq     uint8 = 3
	SegConfedSet     uint8 = 4
	maxSegsInline          = 8
	maxASNsInline          = 32
	maxCommInline          = 16
	maxLargeInline         = 4
	maxExtInline           = 8
	maxClusterInline       = 4
)

// ASPath is an AS_PATH as a list of segments. Its storage is reused between
// decodes; use the methods to read it.
type ASPath struct {
	segs []segment
	asns []uint32
}

type segment struct {
	typ        uint8
	start, end uint32 // indexes into asns
}

// Reset empties the path, keeping its storage.
func (p *ASPath) Reset() {
	p.segs = p.segs[:0]
	p.asns = p.asns[:0]
}

// NumSegments returns the number of segments.
func (p *ASPath) NumSegments() int { return len(p.segs) }

// Segment returns segment i's type and ASNs. The slice aliases the path.
func (p *ASPath) Segment(i int) (typ uint8, asns []uint32) {
	s := p.segs[i]
	return s.typ, p.asns[s.start:s.end]
}

// AppendSegment adds a segment (used by decoders and tests).
func (p *ASPath) AppendSegment(typ uint8, asns ...uint32) {
	start := uint32(len(p.asns))
	p.asns = append(p.asns, asns...)
	p.segs = append(p.segs, segment{typ: typ, start: start, end: uint32(len(p.asns))})
}

// ASNs returns every ASN of the path in order, across all segments. The slice
// aliases the path.
func (p *ASPath) ASNs() []uint32 { return p.asns }

// Len returns the path length as counted by the BGP decision process: one per
// ASN of an AS_SEQUENCE, one per AS_SET, none for confederation segments.
func (p *ASPath) Len() int {
	n := 0
	for _, s := range p.segs {
		switch s.typ {
		case SegSequence:
			n += int(s.end - s.start)
		case SegSet:
			n++
		}
	}
	return n
}

// OriginASN returns the last ASN of the path when the last segment is an
// AS_SEQUENCE, and false otherwise (empty path or a set last).
func (p *ASPath) OriginASN() (uint32, bool) {
	if len(p.segs) == 0 {
		return 0, false
	}
	s := p.segs[len(p.segs)-1]
	if s.typ != SegSequence || s.end == s.start {
		return 0, false
	}
	return p.asns[s.end-1], true
}

// CopyFrom makes p a copy of q, reusing p's storage.
func (p *ASPath) CopyFrom(q *ASPath) {
	p.segs = append(p.segs[:0], q.segs...)
	p.asns = append(p.asns[:0], q.asns...)
}

// AppendText appends the path as bgpreader and bgpdump print it: sequences
// space-separated, AS_SET as {a,b}, AS_CONFED_SEQUENCE as (a b),
// AS_CONFED_SET as [a,b], unknown types as <a b>.
func (p *ASPath) AppendText(dst []byte) []byte {
	for i := range p.segs {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = p.AppendSegmentText(dst, i)
	}
	return dst
}

// AppendSegmentText appends segment i in the notation of AppendText.
func (p *ASPath) AppendSegmentText(dst []byte, i int) []byte {
	s := p.segs[i]
	asns := p.asns[s.start:s.end]
	var open, sep, closing byte
	switch s.typ {
	case SegSequence:
		sep = ' '
	case SegSet:
		open, sep, closing = '{', ',', '}'
	case SegConfedSeq:
		open, sep, closing = '(', ' ', ')'
	case SegConfedSet:
		open, sep, closing = '[', ',', ']'
	default:
		open, sep, closing = '<', ' ', '>'
	}
	if open != 0 {
		dst = append(dst, open)
	}
	for j, a := range asns {
		if j > 0 {
			dst = append(dst, sep)
		}
		dst = strconv.AppendUint(dst, uint64(a), 10)
	}
	if closing != 0 {
		dst = append(dst, closing)
	}
	return dst
}

// String returns AppendText's rendering.
func (p *ASPath) String() string { return string(p.AppendText(nil)) }

// Community is a standard community (RFC 1997): high 16 bits ASN, low 16 bits value.
type Community uint32

// Well-known communities (RFC 1997, RFC 3765, RFC 7999, RFC 8326).
const (
	CommunityGracefulShutdown  Community = 0xFFFF0000
	CommunityBlackhole         Community = 0xFFFF029A
	CommunityNoExport          Community = 0xFFFFFF01
	CommunityNoAdvertise       Community = 0xFFFFFF02
	CommunityNoExportSubconfed Community = 0xFFFFFF03
	CommunityNoPeer            Community = 0xFFFFFF04
)

// ASN returns the high 16 bits.
func (c Community) ASN() uint16 { return uint16(c >> 16) }

// Value returns the low 16 bits.
func (c Community) Value() uint16 { return uint16(c) }

// AppendText appends "asn:value".
func (c Community) AppendText(dst []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(c>>16), 10)
	dst = append(dst, ':')
	return strconv.AppendUint(dst, uint64(c&0xffff), 10)
}

// LargeCommunity is a large community (RFC 8092).
type LargeCommunity struct {
	// Global is the global administrator (an ASN).
	Global uint32
	// Local1 and Local2 are the local data parts.
	Local1, Local2 uint32
}

// AppendText appends "global:local1:local2".
func (c LargeCommunity) AppendText(dst []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(c.Global), 10)
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, uint64(c.Local1), 10)
	dst = append(dst, ':')
	return strconv.AppendUint(dst, uint64(c.Local2), 10)
}

// ExtCommunity is an extended community (RFC 4360), kept as its 8 bytes.
type ExtCommunity [8]byte

// Type returns the type octet (high byte of the type field).
func (c ExtCommunity) Type() uint8 { return c[0] }

// Subtype returns the subtype octet.
func (c ExtCommunity) Subtype() uint8 { return c[1] }

// AppendText appends a readable form: "rt:asn:val", "ro:asn:val" for route
// targets and origins of the two-octet-AS, IPv4 and four-octet-AS types, and
// "0xTTSS:hex" otherwise.
func (c ExtCommunity) AppendText(dst []byte) []byte {
	typ := c[0] &^ 0x40 // ignore the transitive bit
	name := ""
	switch c[1] {
	case 0x02:
		name = "rt:"
	case 0x03:
		name = "ro:"
	}
	if name != "" && (typ == 0x00 || typ == 0x01 || typ == 0x02) {
		dst = append(dst, name...)
		switch typ {
		case 0x00:
			dst = strconv.AppendUint(dst, uint64(c[2])<<8|uint64(c[3]), 10)
			dst = append(dst, ':')
			dst = strconv.AppendUint(dst, uint64(be32(c[4:])), 10)
		case 0x01:
			dst = netip.AddrFrom4([4]byte(c[2:6])).AppendTo(dst)
			dst = append(dst, ':')
			dst = strconv.AppendUint(dst, uint64(c[6])<<8|uint64(c[7]), 10)
		case 0x02:
			dst = strconv.AppendUint(dst, uint64(be32(c[2:])), 10)
			dst = append(dst, ':')
			dst = strconv.AppendUint(dst, uint64(c[6])<<8|uint64(c[7]), 10)
		}
		return dst
	}
	const hex = "0123456789abcdef"
	dst = append(dst, '0', 'x', hex[c[0]>>4], hex[c[0]&15], hex[c[1]>>4], hex[c[1]&15], ':')
	for _, b := range c[2:] {
		dst = append(dst, hex[b>>4], hex[b&15])
	}
	return dst
}

// Aggregator is the AGGREGATOR attribute (or AS4_AGGREGATOR merged into it).
type Aggregator struct {
	// ASN is the aggregating AS.
	ASN uint32
	// Addr is the aggregating router's BGP identifier.
	Addr netip.Addr
}

// RawAttr is a path attribute kept as bytes: unknown types, and attributes
// this package does not interpret. Value aliases the decoded input.
type RawAttr struct {
	// Flags are the attribute flags octet.
	Flags uint8
	// Type is the attribute type code.
	Type AttrType
	// Value is the attribute value; it aliases the input of the decode.
	Value []byte
}

// ErrorAction is the RFC 7606 §2 handling an attribute error calls for.
type ErrorAction uint8

// RFC 7606 error handling levels, weakest first.
const (
	// ActionNone means no error.
	ActionNone ErrorAction = iota
	// ActionAttributeDiscard drops the faulty attribute and keeps the route.
	ActionAttributeDiscard
	// ActionTreatAsWithdraw treats every prefix of the UPDATE as withdrawn.
	ActionTreatAsWithdraw
	// ActionAFISAFIDisable would disable the address family (RFC 4760 §7);
	// a passive decoder reports it and skips the MP attribute.
	ActionAFISAFIDisable
	// ActionSessionReset means the message is not parseable at all.
	ActionSessionReset
)

// String returns the RFC 7606 name of the action.
func (a ErrorAction) String() string {
	switch a {
	case ActionAttributeDiscard:
		return "attribute-discard"
	case ActionTreatAsWithdraw:
		return "treat-as-withdraw"
	case ActionAFISAFIDisable:
		return "afi-safi-disable"
	case ActionSessionReset:
		return "session-reset"
	}
	return "none"
}

// Attrs are the path attributes of one UPDATE or RIB entry. Slices are reused
// between decodes; a decoder resets Attrs before filling it.
type Attrs struct {
	present [4]uint64 // bit per attribute type seen

	// Origin is the ORIGIN attribute (valid if Has(AttrOrigin)).
	Origin Origin
	// ASPath is AS_PATH, with AS4_PATH merged in per RFC 6793 §4.2.3.
	ASPath ASPath
	// NextHop is the NEXT_HOP attribute (IPv4).
	NextHop netip.Addr
	// MED is MULTI_EXIT_DISC (valid if Has(AttrMED)).
	MED uint32
	// LocalPref is LOCAL_PREF (valid if Has(AttrLocalPref)).
	LocalPref uint32
	// AtomicAggregate is true when ATOMIC_AGGREGATE is present.
	AtomicAggregate bool
	// Aggregator is AGGREGATOR with AS4_AGGREGATOR merged in (valid if
	// Has(AttrAggregator)).
	Aggregator Aggregator
	// Communities are the standard communities in wire order.
	Communities []Community
	// ExtCommunities are the extended communities in wire order.
	ExtCommunities []ExtCommunity
	// LargeCommunities are the large communities in wire order.
	LargeCommunities []LargeCommunity
	// OriginatorID is ORIGINATOR_ID (RFC 4456).
	OriginatorID netip.Addr
	// ClusterList is CLUSTER_LIST (RFC 4456).
	ClusterList []netip.Addr
	// OnlyToCustomer is the OTC attribute's ASN (RFC 9234), valid if
	// Has(AttrOnlyToCustomer).
	OnlyToCustomer uint32
	// MPNextHop is MP_REACH_NLRI's next hop (global address), and
	// MPNextHopLocal its IPv6 link-local second address, if any.
	MPNextHop, MPNextHopLocal netip.Addr
	// Unknown holds attributes not interpreted here, with raw values.
	Unknown []RawAttr
	// Errors lists RFC 7606 errors found while decoding; the strongest
	// action is in Action.
	Errors []*Error
	// Action is the strongest RFC 7606 action among Errors.
	Action ErrorAction

	scratch4, scratchOut ASPath // AS4_PATH merge buffers
}

// Has reports whether the attribute type was present and well-formed.
func (a *Attrs) Has(t AttrType) bool { return a.present[t>>6]&(1<<(t&63)) != 0 }

// Set marks attribute type t as present (used by decoders and tests).
func (a *Attrs) Set(t AttrType) { a.present[t>>6] |= 1 << (t & 63) }

// Reset empties a, keeping slice storage for reuse.
func (a *Attrs) Reset() {
	a.present = [4]uint64{}
	a.Origin = 0
	a.ASPath.Reset()
	a.NextHop = netip.Addr{}
	a.MED, a.LocalPref = 0, 0
	a.AtomicAggregate = false
	a.Aggregator = Aggregator{}
	a.Communities = a.Communities[:0]
	a.ExtCommunities = a.ExtCommunities[:0]
	a.LargeCommunities = a.LargeCommunities[:0]
	a.OriginatorID = netip.Addr{}
	a.ClusterList = a.ClusterList[:0]
	a.OnlyToCustomer = 0
	a.MPNextHop, a.MPNextHopLocal = netip.Addr{}, netip.Addr{}
	a.Unknown = a.Unknown[:0]
	a.Errors = a.Errors[:0]
	a.Action = ActionNone
}

// CopyFrom makes a a deep copy of b (except Unknown values, which keep
// aliasing their input), reusing a's storage.
func (a *Attrs) CopyFrom(b *Attrs) {
	asp, s4, so := a.ASPath, a.scratch4, a.scratchOut
	comm, ext, large, cl, unk, errs := a.Communities, a.ExtCommunities, a.LargeCommunities, a.ClusterList, a.Unknown, a.Errors
	*a = *b
	a.ASPath, a.scratch4, a.scratchOut = asp, s4, so
	a.ASPath.CopyFrom(&b.ASPath)
	a.Communities = append(comm[:0], b.Communities...)
	a.ExtCommunities = append(ext[:0], b.ExtCommunities...)
	a.LargeCommunities = append(large[:0], b.LargeCommunities...)
	a.ClusterList = append(cl[:0], b.ClusterList...)
	a.Unknown = append(unk[:0], b.Unknown...)
	a.Errors = append(errs[:0], b.Errors...)
}

func be32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func be16(b []byte) uint16 {
	_ = b[1]
	return uint16(b[0])<<8 | uint16(b[1])
}
