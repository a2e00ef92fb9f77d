package text

import (
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/bgp-connector/bgp-connector/decode"
)

// AppendJSONElem appends one JSON object describing e and its record, and a
// newline. Keys with no value for this elem are left out. The keys are:
//
//	type              "R", "A", "W" or "S"
//	record_type       "rib" or "update"
//	format            MRT container ("TABLE_DUMP_V2", "BGP4MP_ET", "BMP"...)
//	time, time_us     record time as seconds with 6 decimals, and as integer µs
//	elem_time_us      the elem's own time when it differs (BMP, RIB originated)
//	project, collector, router, router_ip
//	peer_asn, peer_ip, prefix, path_id (ADD-PATH, RFC 7911)
//	next_hop, next_hop_local (IPv6 link-local of MP_REACH_NLRI)
//	as_path           rendered as bgpreader does; as_path_segments as data
//	origin_asn, origin ("IGP", "EGP", "INCOMPLETE"), med, local_pref
//	atomic_aggregate, aggregator {asn, ip}
//	communities, large_communities, ext_communities (strings)
//	originator_id, cluster_list, otc (RFC 9234 Only-to-Customer)
//	unknown_attributes [{flags, type, value (hex)}]
//	attribute_errors  RFC 7606 errors met while decoding, with "error_action"
//	old_state, new_state (S elems)
//	bmp {peer_type, post_policy, adj_rib_out, peer_distinguisher, rib, no_peer_up}
func AppendJSONElem(dst []byte, rec *decode.Record, e *decode.Elem) []byte {
	dst = append(dst, `{"type":"`...)
	dst = append(dst, e.Type.Char())
	dst = append(dst, `","record_type":"`...)
	dst = append(dst, rec.Type.String()...)
	dst = append(dst, `","format":"`...)
	dst = append(dst, rec.Format.String()...)
	dst = append(dst, `","time":`...)
	dst = appendTime(dst, rec.Time)
	dst = append(dst, `,"time_us":`...)
	dst = strconv.AppendInt(dst, rec.Time, 10)
	if e.Time != 0 && e.Time != rec.Time {
		dst = append(dst, `,"elem_time_us":`...)
		dst = strconv.AppendInt(dst, e.Time, 10)
	}
	dst = appendJSONKeyString(dst, "project", rec.Project)
	dst = appendJSONKeyString(dst, "collector", rec.Collector)
	if rec.Router != "" {
		dst = appendJSONKeyString(dst, "router", rec.Router)
	}
	dst = appendJSONKeyAddr(dst, "router_ip", rec.RouterIP)
	dst = append(dst, `,"peer_asn":`...)
	dst = appendUint32(dst, e.PeerASN)
	dst = appendJSONKeyAddr(dst, "peer_ip", e.PeerIP)
	if e.Type == decode.ElemPeerState {
		dst = append(dst, `,"old_state":"`...)
		dst = appendState(dst, e.OldState)
		dst = append(dst, `","new_state":"`...)
		dst = appendState(dst, e.NewState)
		dst = append(dst, '"')
	}
	if e.Prefix.IsValid() {
		dst = append(dst, `,"prefix":"`...)
		dst = appendPrefixNtop(dst, e.Prefix)
		dst = append(dst, '"')
	}
	if e.HasPathID {
		dst = append(dst, `,"path_id":`...)
		dst = appendUint32(dst, e.PathID)
	}
	dst = appendJSONKeyAddr(dst, "next_hop", e.NextHop)
	if a := e.Attrs; a != nil {
		dst = appendJSONAttrs(dst, a)
	}
	if b := &e.BMP; b.Present {
		dst = append(dst, `,"bmp":{"peer_type":`...)
		dst = strconv.AppendUint(dst, uint64(b.PeerType), 10)
		dst = append(dst, `,"rib":"`...)
		dst = append(dst, b.RIB()...)
		dst = append(dst, `","post_policy":`...)
		dst = strconv.AppendBool(dst, b.PostPolicy)
		dst = append(dst, `,"adj_rib_out":`...)
		dst = strconv.AppendBool(dst, b.AdjRIBOut)
		dst = append(dst, `,"as2":`...)
		dst = strconv.AppendBool(dst, b.AS2)
		dst = append(dst, `,"peer_distinguisher":`...)
		dst = strconv.AppendUint(dst, b.PeerDistinguisher, 10)
		dst = append(dst, `,"no_peer_up":`...)
		dst = strconv.AppendBool(dst, b.NoPeerUp)
		dst = append(dst, '}')
	}
	return append(dst, "}\n"...)
}

func appendState(dst []byte, s decode.PeerState) []byte {
	if n := s.String(); n != "" || s == decode.StateUnknown {
		return append(dst, n...)
	}
	return strconv.AppendUint(append(dst, "UNKNOWN-"...), uint64(s), 10)
}

func appendJSONAttrs(dst []byte, a *decode.Attrs) []byte {
	dst = appendJSONKeyAddr(dst, "next_hop_local", a.MPNextHopLocal)
	dst = append(dst, `,"as_path":"`...)
	dst = appendASPath(dst, &a.ASPath)
	dst = append(dst, `","as_path_segments":[`...)
	for i := 0; i < a.ASPath.NumSegments(); i++ {
		typ, asns := a.ASPath.Segment(i)
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"type":"`...)
		switch typ {
		case decode.SegSequence:
			dst = append(dst, "AS_SEQUENCE"...)
		case decode.SegSet:
			dst = append(dst, "AS_SET"...)
		case decode.SegConfedSeq:
			dst = append(dst, "AS_CONFED_SEQUENCE"...)
		case decode.SegConfedSet:
			dst = append(dst, "AS_CONFED_SET"...)
		default:
			dst = strconv.AppendUint(dst, uint64(typ), 10)
		}
		dst = append(dst, `","asns":[`...)
		for j, asn := range asns {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendUint32(dst, asn)
		}
		dst = append(dst, "]}"...)
	}
	dst = append(dst, ']')
	if asn, ok := a.ASPath.OriginASN(); ok {
		dst = append(dst, `,"origin_asn":`...)
		dst = appendUint32(dst, asn)
	}
	if a.Has(decode.AttrOrigin) {
		dst = append(dst, `,"origin":"`...)
		dst = append(dst, a.Origin.String()...)
		dst = append(dst, '"')
	}
	if a.Has(decode.AttrMED) {
		dst = append(dst, `,"med":`...)
		dst = strconv.AppendUint(dst, uint64(a.MED), 10)
	}
	if a.Has(decode.AttrLocalPref) {
		dst = append(dst, `,"local_pref":`...)
		dst = strconv.AppendUint(dst, uint64(a.LocalPref), 10)
	}
	dst = append(dst, `,"atomic_aggregate":`...)
	dst = strconv.AppendBool(dst, a.AtomicAggregate || a.Has(decode.AttrAtomicAggregate))
	if a.Has(decode.AttrAggregator) {
		dst = append(dst, `,"aggregator":{"asn":`...)
		dst = appendUint32(dst, a.Aggregator.ASN)
		dst = appendJSONKeyAddr(dst, "ip", a.Aggregator.Addr)
		dst = append(dst, '}')
	}
	dst = appendJSONTexts(dst, "communities", a.Communities)
	dst = appendJSONTexts(dst, "large_communities", a.LargeCommunities)
	dst = appendJSONTexts(dst, "ext_communities", a.ExtCommunities)
	dst = appendJSONKeyAddr(dst, "originator_id", a.OriginatorID)
	if len(a.ClusterList) > 0 {
		dst = append(dst, `,"cluster_list":[`...)
		for i, c := range a.ClusterList {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = appendAddrNtop(dst, c)
			dst = append(dst, '"')
		}
		dst = append(dst, ']')
	}
	if a.Has(decode.AttrOnlyToCustomer) {
		dst = append(dst, `,"otc":`...)
		dst = strconv.AppendUint(dst, uint64(a.OnlyToCustomer), 10)
	}
	if len(a.Unknown) > 0 {
		dst = append(dst, `,"unknown_attributes":[`...)
		for i, u := range a.Unknown {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"flags":`...)
			dst = strconv.AppendUint(dst, uint64(u.Flags), 10)
			dst = append(dst, `,"type":`...)
			dst = strconv.AppendUint(dst, uint64(u.Type), 10)
			dst = append(dst, `,"value":"`...)
			for _, b := range u.Value {
				dst = append(dst, hexDigits[b>>4], hexDigits[b&15])
			}
			dst = append(dst, `"}`...)
		}
		dst = append(dst, ']')
	}
	if len(a.Errors) > 0 {
		dst = append(dst, `,"error_action":"`...)
		dst = append(dst, a.Action.String()...)
		dst = append(dst, `","attribute_errors":[`...)
		for i, err := range a.Errors {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, err.Error())
		}
		dst = append(dst, ']')
	}
	return dst
}

// appendJSONKeyAddr appends `,"key":"addr"`, or nothing for an invalid
// address.
func appendJSONKeyAddr(dst []byte, key string, a netip.Addr) []byte {
	if !a.IsValid() {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, `":"`...)
	dst = appendAddrNtop(dst, a)
	return append(dst, '"')
}

func appendJSONKeyString(dst []byte, key, s string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return appendJSONString(dst, s)
}

// appendJSONString appends s as a JSON string, escaping quotes, backslashes,
// control characters and invalid UTF-8.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// textAppender is a value that renders itself as text (communities).
type textAppender interface{ AppendText([]byte) []byte }

// appendJSONTexts appends `,"key":["t1","t2"...]` with each item's text,
// or nothing for an empty list. The texts need no JSON escaping.
func appendJSONTexts[T textAppender](dst []byte, key string, items []T) []byte {
	if len(items) == 0 {
		return dst
	}
	dst = append(dst, `,"`...)
	dst = append(dst, key...)
	dst = append(dst, `":[`...)
	for i, c := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = c.AppendText(dst)
		dst = append(dst, '"')
	}
	return append(dst, ']')
}
