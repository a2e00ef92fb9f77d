package text

import (
	"net/netip"
	"strconv"

	"github.com/bgp-connector/bgp-connector/decode"
)

// MRT subtypes that change bgpdump's line prefix (RFC 6396, RFC 8050).
const (
	td2RIBIPv4UnicastAddPath = 8  // TABLE_DUMP_V2 first ADD-PATH subtype
	td2RIBGenericAddPath     = 12 // TABLE_DUMP_V2 last ADD-PATH subtype
	bgp4mpEntry              = 2  // deprecated BGP4MP_ENTRY
	bgp4mpMessageLocal       = 6
	bgp4mpMessageAS4Local    = 7
	bgp4mpMessageAddPath     = 8
	bgp4mpMessageLocalAP     = 10
	bgp4mpMessageAS4LocalAP  = 11
)

var noneAddr = netip.AddrFrom4([4]byte{255, 255, 255, 255}) // INADDR_NONE

// BGPDumpPrefix returns the first column bgpdump -m prints for an elem of
// rec: TABLE_DUMP, TABLE_DUMP2, TABLE_DUMP2_AP, BGP (the deprecated type 5),
// BGP4MP or BGP4MP_ET with _LOCAL and _AP suffixes for A and W lines (state
// lines carry neither). Formats bgpdump does not know get a name of ours:
// BGP4MP_ENTRY for the deprecated RIB-in-BGP4MP records, BMP for BMP.
func BGPDumpPrefix(rec *decode.Record, t decode.ElemType) string {
	st := rec.MRTSubtype
	switch rec.Format {
	case decode.FormatTableDump:
		return "TABLE_DUMP"
	case decode.FormatTableDumpV2:
		if st >= td2RIBIPv4UnicastAddPath && st <= td2RIBGenericAddPath {
			return "TABLE_DUMP2_AP"
		}
		return "TABLE_DUMP2"
	case decode.FormatBGP:
		return "BGP"
	case decode.FormatBMP:
		return "BMP"
	case decode.FormatBGP4MP, decode.FormatBGP4MPET:
	default:
		return "UNKNOWN"
	}
	et := rec.Format == decode.FormatBGP4MPET
	if t == decode.ElemPeerState {
		if et {
			return "BGP4MP_ET"
		}
		return "BGP4MP"
	}
	if st == bgp4mpEntry {
		return "BGP4MP_ENTRY"
	}
	local := st == bgp4mpMessageLocal || st == bgp4mpMessageAS4Local || st == bgp4mpMessageLocalAP || st == bgp4mpMessageAS4LocalAP
	ap := st >= bgp4mpMessageAddPath && st <= bgp4mpMessageAS4LocalAP
	switch {
	case et && local && ap:
		return "BGP4MP_ET_LOCAL_AP"
	case et && local:
		return "BGP4MP_ET_LOCAL"
	case et && ap:
		return "BGP4MP_ET_AP"
	case et:
		return "BGP4MP_ET"
	case local && ap:
		return "BGP4MP_LOCAL_AP"
	case local:
		return "BGP4MP_LOCAL"
	case ap:
		return "BGP4MP_AP"
	}
	return "BGP4MP"
}

// AppendBGPDumpElem appends the line `bgpdump -m` prints for one elem, and a
// newline. It reproduces bgpdump 1.6.2 byte for byte, including:
//   - time in seconds, with ".usec" for BGP4MP_ET records;
//   - its IPv6 text ("::192.0.2.1" for IPv4-compatible addresses, a single
//     zero group compressed) and 0.0.0.0 for a missing peer address;
//   - ORIGIN printed INCOMPLETE when absent, LOCAL_PREF and MED 0 when
//     absent, 255.255.255.255 for a missing next hop;
//   - no-export, no-advertise and local-AS by name, large communities not
//     printed (bgpdump shows them only with -l);
//   - AG/NAG and "asn address" for the aggregator;
//   - the path id after the prefix in _AP lines (only there);
//   - type 5 (BGP) lines, where bgpdump drops the '|' before the
//     communities.
//
// Elems should be given in bgpdump's order within an UPDATE (IPv4 before
// IPv6, withdrawals before announcements); [Formatter] does that.
func AppendBGPDumpElem(dst []byte, rec *decode.Record, e *decode.Elem) []byte {
	dst = append(dst, BGPDumpPrefix(rec, e.Type)...)
	dst = append(dst, '|')
	if sec := floorDiv(rec.Time, 1e6); sec >= 0 && sec <= 1<<32-1 {
		dst = appendUint32(dst, uint32(sec))
	} else {
		dst = strconv.AppendInt(dst, sec, 10)
	}
	if rec.Format == decode.FormatBGP4MPET {
		us := uint32(rec.Time - floorDiv(rec.Time, 1e6)*1e6)
		dst = append(dst, '.',
			byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10),
			byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10))
	}
	switch e.Type {
	case decode.ElemRIB:
		dst = append(dst, "|B|"...)
	case decode.ElemAnnouncement:
		dst = append(dst, "|A|"...)
	case decode.ElemWithdrawal:
		dst = append(dst, "|W|"...)
	default:
		dst = append(dst, "|STATE|"...)
	}
	dst = appendAddrBGPDump(dst, e.PeerIP)
	dst = append(dst, '|')
	dst = appendUint32(dst, e.PeerASN)
	dst = append(dst, '|')
	if e.Type == decode.ElemPeerState {
		dst = strconv.AppendUint(dst, uint64(e.OldState), 10)
		dst = append(dst, '|')
		dst = strconv.AppendUint(dst, uint64(e.NewState), 10)
		return append(dst, '\n')
	}
	dst = appendPrefixBGPDump(dst, e.Prefix)
	ap := e.HasPathID && bgpdumpAddPath(rec)
	if e.Type == decode.ElemWithdrawal {
		if ap {
			dst = append(dst, '|')
			dst = appendUint32(dst, e.PathID)
		}
		return append(dst, '\n')
	}
	dst = append(dst, '|')
	if ap {
		dst = appendUint32(dst, e.PathID)
		dst = append(dst, '|')
	}
	a := e.Attrs
	if a == nil {
		a = &emptyAttrs
	}
	dst = appendASPath(dst, &a.ASPath)
	dst = append(dst, '|')
	switch {
	case !a.Has(decode.AttrOrigin) || a.Origin > decode.OriginEGP:
		dst = append(dst, "INCOMPLETE"...)
	case a.Origin == decode.OriginIGP:
		dst = append(dst, "IGP"...)
	default:
		dst = append(dst, "EGP"...)
	}
	dst = append(dst, '|')
	dst = appendAddrBGPDump(dst, bgpdumpNextHop(rec, e, a))
	dst = append(dst, '|')
	var lp, med uint32
	if a.Has(decode.AttrLocalPref) {
		lp = a.LocalPref
	}
	if a.Has(decode.AttrMED) {
		med = a.MED
	}
	if signedPrefMED(rec, e, a) {
		// bgpdump prints these with %d for IPv4 prefixes of MP_REACH_NLRI.
		dst = strconv.AppendInt(dst, int64(int32(lp)), 10)
		dst = append(dst, '|')
		dst = strconv.AppendInt(dst, int64(int32(med)), 10)
	} else {
		dst = appendUint32(dst, lp)
		dst = append(dst, '|')
		dst = appendUint32(dst, med)
	}
	hasComm := a.Has(decode.AttrCommunities)
	if rec.Format != decode.FormatBGP || !hasComm {
		// bgpdump omits this separator on type 5 lines with communities.
		dst = append(dst, '|')
	}
	if hasComm {
		dst = appendBGPDumpCommunities(dst, a.Communities)
		if rec.Format == decode.FormatBGP {
			dst = append(dst, '|')
		}
	}
	if rec.Format != decode.FormatBGP {
		dst = append(dst, '|')
	}
	if a.Has(decode.AttrAtomicAggregate) || a.AtomicAggregate {
		dst = append(dst, "AG|"...)
	} else {
		dst = append(dst, "NAG|"...)
	}
	if a.Has(decode.AttrAggregator) && a.Aggregator.Addr != noneAddr {
		dst = appendUint32(dst, a.Aggregator.ASN)
		dst = append(dst, ' ')
		dst = appendAddrBGPDump(dst, a.Aggregator.Addr)
	}
	return append(dst, "|\n"...)
}

var emptyAttrs decode.Attrs

// bgpdumpAddPath reports whether rec's MRT subtype is an ADD-PATH one
// (RFC 8050), whose bgpdump lines carry the path id after the prefix. Path
// ids found otherwise (a session that negotiated ADD-PATH under a plain
// subtype) are not printed, so that the columns stay where bgpdump users
// expect them; the JSON format shows them.
func bgpdumpAddPath(rec *decode.Record) bool {
	st := rec.MRTSubtype
	switch rec.Format {
	case decode.FormatTableDumpV2:
		return st >= td2RIBIPv4UnicastAddPath && st <= td2RIBGenericAddPath
	case decode.FormatBGP4MP, decode.FormatBGP4MPET:
		return st >= bgp4mpMessageAddPath && st <= bgp4mpMessageAS4LocalAP
	}
	return false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// bgpdumpNextHop picks the address bgpdump prints in the next-hop column.
// Update lines print the prefix's own next hop (NEXT_HOP for the NLRI field,
// the MP_REACH_NLRI next hop for MP prefixes); RIB lines print the
// MP_REACH_NLRI next hop when there is one and NEXT_HOP otherwise. A missing
// one prints as INADDR_NONE, 255.255.255.255.
func bgpdumpNextHop(rec *decode.Record, e *decode.Elem, a *decode.Attrs) netip.Addr {
	if e.Type == decode.ElemRIB && rec.Format != decode.FormatBGP4MP && rec.Format != decode.FormatBGP4MPET {
		switch {
		case a.Has(decode.AttrMPReach) && a.MPNextHop.IsValid():
			return a.MPNextHop
		case a.Has(decode.AttrNextHop):
			return a.NextHop
		}
		return noneAddr
	}
	if e.NextHop.IsValid() {
		return e.NextHop
	}
	return noneAddr
}

// signedPrefMED reports whether bgpdump prints LOCAL_PREF and MED signed:
// it does for IPv4 prefixes announced in MP_REACH_NLRI.
func signedPrefMED(rec *decode.Record, e *decode.Elem, a *decode.Attrs) bool {
	if e.Type != decode.ElemAnnouncement || !e.Prefix.Addr().Is4() || !a.Has(decode.AttrMPReach) {
		return false
	}
	return e.NextHop == a.MPNextHop && (!a.Has(decode.AttrNextHop) || a.NextHop != a.MPNextHop)
}

// appendBGPDumpCommunities appends standard communities separated by
// spaces, naming the three well-known ones bgpdump knows.
func appendBGPDumpCommunities(dst []byte, cs []decode.Community) []byte {
	for i, c := range cs {
		if i > 0 {
			dst = append(dst, ' ')
		}
		switch c {
		case decode.CommunityNoExport:
			dst = append(dst, "no-export"...)
		case decode.CommunityNoAdvertise:
			dst = append(dst, "no-advertise"...)
		case decode.CommunityNoExportSubconfed:
			dst = append(dst, "local-AS"...)
		default:
			dst = appendCommunity(dst, c)
		}
	}
	return dst
}

// updateOrder reports whether the elems of rec must be printed in the
// order bgpreader and bgpdump both use for an UPDATE: IPv4 withdrawals (the
// Withdrawn Routes field), IPv6 withdrawals (MP_UNREACH_NLRI), IPv4
// announcements (the NLRI field), IPv6 announcements (MP_REACH_NLRI) —
// whatever the order on the wire or the decoder's. It returns false when
// elems are already in that order, which is the common case.
func updateOrder(rec *decode.Record, elems []decode.Elem) bool {
	switch rec.Format {
	case decode.FormatBGP4MP, decode.FormatBGP4MPET, decode.FormatBGP, decode.FormatBMP:
	default:
		return false
	}
	last := 0
	for i := range elems {
		p := passOf(&elems[i])
		if p < last {
			return true
		}
		last = p
	}
	return false
}

// passOf returns the rank of e in that order: 0 W IPv4 (and S, R),
// 1 W IPv6, 2 A IPv4, 3 A IPv6.
func passOf(e *decode.Elem) int {
	v6 := int(b2i(e.Prefix.Addr().Is6()))
	switch e.Type {
	case decode.ElemWithdrawal:
		return v6
	case decode.ElemAnnouncement:
		return 2 + v6
	}
	return 0
}

func b2i(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
