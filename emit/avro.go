package emit

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/schema"
)

// Source is the Kafka position of the input record an output record derives
// from. It is written into every output datum and into the record headers.
type Source struct {
	// Topic, Partition and Offset locate the input record.
	Topic     string
	Partition int32
	Offset    int64
}

// TypeOf returns the output type of an elem.
func TypeOf(t decode.ElemType) schema.Type {
	switch t {
	case decode.ElemRIB:
		return schema.RIBs
	case decode.ElemAnnouncement:
		return schema.Announcements
	case decode.ElemWithdrawal:
		return schema.Withdrawals
	}
	return schema.PeerStates
}

// AppendElem appends the Avro binary datum of el (without any framing) in the
// schema of TypeOf(el.Type), and returns the extended slice. It writes the
// fields in .avsc order by hand, so it allocates nothing when dst has room;
// the tests decode its output with goavro from the .avsc files.
func AppendElem(dst []byte, rec *decode.Record, el *decode.Elem, src *Source) []byte {
	dst = appendLong(dst, el.Time)
	dst = appendLong(dst, rec.Time)
	dst = appendString(dst, rec.Project)
	dst = appendString(dst, rec.Collector)
	dst = appendString(dst, rec.Router)
	dst = appendOptAddr(dst, rec.RouterIP)
	dst = appendOptAddr(dst, el.PeerIP)
	dst = appendLong(dst, int64(el.PeerASN))
	if el.BMP.Present {
		dst = appendPeerType(append(dst, 2), el.BMP.PeerType)
		dst = appendString(append(dst, 2), el.BMP.RIB())
	} else {
		dst = append(dst, 0, 0)
	}
	dst = appendBool(dst, el.BMP.PostPolicy)
	dst = appendBool(dst, el.BMP.AS2)
	dst = appendLong(dst, int64(el.BMP.PeerDistinguisher))
	dst = appendBool(dst, el.BMP.NoPeerUp)
	switch el.Type {
	case decode.ElemRIB, decode.ElemAnnouncement:
		dst = appendPrefix(dst, el.Prefix)
		dst = appendPathID(dst, el)
		dst = appendAttrs(dst, el)
	case decode.ElemWithdrawal:
		dst = appendPrefix(dst, el.Prefix)
		dst = appendPathID(dst, el)
	default:
		dst = appendString(dst, el.OldState.String())
		dst = appendString(dst, el.NewState.String())
	}
	return appendSource(dst, src)
}

// AppendStat appends the Avro binary datum of a stat in the stats schema.
func AppendStat(dst []byte, rec *decode.Record, st *decode.Stat, src *Source) []byte {
	dst = appendLong(dst, st.Time)
	dst = appendLong(dst, rec.Time)
	dst = appendString(dst, rec.Project)
	dst = appendString(dst, rec.Collector)
	dst = appendString(dst, rec.Router)
	dst = appendOptAddr(dst, rec.RouterIP)
	dst = appendOptAddr(dst, st.PeerIP)
	dst = appendLong(dst, int64(st.PeerASN))
	dst = appendPeerType(append(dst, 2), st.PeerType)
	dst = appendLong(dst, int64(st.PeerDistinguisher))
	dst = appendLong(dst, int64(st.Type))
	dst = appendString(dst, st.Name())
	if st.HasFamily() {
		dst = appendLong(append(dst, 2), int64(st.AFI))
		dst = appendLong(append(dst, 2), int64(st.SAFI))
	} else {
		dst = append(dst, 0, 0)
	}
	dst = appendLong(dst, int64(st.Value))
	return appendSource(dst, src)
}

func appendSource(dst []byte, src *Source) []byte {
	if src == nil {
		return append(dst, 0, 0, 0)
	}
	dst = appendString(dst, src.Topic)
	dst = appendLong(dst, int64(src.Partition))
	return appendLong(dst, src.Offset)
}

func appendPathID(dst []byte, el *decode.Elem) []byte {
	if !el.HasPathID {
		return append(dst, 0)
	}
	return appendLong(append(dst, 2), int64(el.PathID))
}

func appendAttrs(dst []byte, el *decode.Elem) []byte {
	a := el.Attrs
	if a == nil {
		a = &emptyAttrs
	}
	dst = appendOptAddr(dst, el.NextHop)
	dst = appendOptAddr(dst, a.MPNextHopLocal)
	// as_path: array of {type, asns}.
	if n := a.ASPath.NumSegments(); n > 0 {
		dst = appendLong(dst, int64(n))
		for i := 0; i < n; i++ {
			typ, asns := a.ASPath.Segment(i)
			dst = appendLong(dst, int64(typ))
			if len(asns) > 0 {
				dst = appendLong(dst, int64(len(asns)))
				for _, asn := range asns {
					dst = appendLong(dst, int64(asn))
				}
			}
			dst = append(dst, 0)
		}
	}
	dst = append(dst, 0)
	if asn, ok := a.ASPath.OriginASN(); ok {
		dst = appendLong(append(dst, 2), int64(asn))
	} else {
		dst = append(dst, 0)
	}
	if a.Has(decode.AttrOrigin) {
		dst = append(dst, 2)
		switch a.Origin {
		case decode.OriginIGP:
			dst = append(dst, 6, 'I', 'G', 'P')
		case decode.OriginEGP:
			dst = append(dst, 6, 'E', 'G', 'P')
		case decode.OriginIncomplete:
			dst = append(dst, 20, 'I', 'N', 'C', 'O', 'M', 'P', 'L', 'E', 'T', 'E')
		default:
			dst = appendString(dst, a.Origin.String())
		}
	} else {
		dst = append(dst, 0)
	}
	dst = appendOptU32(dst, a.Has(decode.AttrMED), a.MED)
	dst = appendOptU32(dst, a.Has(decode.AttrLocalPref), a.LocalPref)
	dst = appendBool(dst, a.AtomicAggregate)
	if a.Has(decode.AttrAggregator) {
		dst = appendLong(append(dst, 2), int64(a.Aggregator.ASN))
		dst = appendOptAddr(dst, a.Aggregator.Addr)
	} else {
		dst = append(dst, 0, 0)
	}
	if n := len(a.Communities); n > 0 {
		dst = appendLong(dst, int64(n))
		for _, c := range a.Communities {
			dst = appendLong(dst, int64(c.ASN()))
			dst = appendLong(dst, int64(c.Value()))
		}
	}
	dst = append(dst, 0)
	if n := len(a.LargeCommunities); n > 0 {
		dst = appendLong(dst, int64(n))
		for _, c := range a.LargeCommunities {
			dst = appendLong(dst, int64(c.Global))
			dst = appendLong(dst, int64(c.Local1))
			dst = appendLong(dst, int64(c.Local2))
		}
	}
	dst = append(dst, 0)
	if n := len(a.ExtCommunities); n > 0 {
		dst = appendLong(dst, int64(n))
		for _, c := range a.ExtCommunities {
			dst = append(dst, c[:]...)
		}
	}
	dst = append(dst, 0)
	dst = appendOptAddr(dst, a.OriginatorID)
	if n := len(a.ClusterList); n > 0 {
		dst = appendLong(dst, int64(n))
		for _, c := range a.ClusterList {
			dst = appendAddr(dst, c)
		}
	}
	dst = append(dst, 0)
	dst = appendOptU32(dst, a.Has(decode.AttrOnlyToCustomer), a.OnlyToCustomer)
	if a.Action != decode.ActionNone {
		dst = appendString(append(dst, 2), a.Action.String())
	} else {
		dst = append(dst, 0)
	}
	return dst
}

var emptyAttrs decode.Attrs

func appendPeerType(dst []byte, t decode.BMPPeerType) []byte {
	switch t {
	case decode.BMPPeerGlobal:
		return append(dst, 12, 'g', 'l', 'o', 'b', 'a', 'l')
	case decode.BMPPeerRD:
		return append(dst, 4, 'r', 'd')
	case decode.BMPPeerLocal:
		return append(dst, 10, 'l', 'o', 'c', 'a', 'l')
	case decode.BMPPeerLocRIB:
		return append(dst, 14, 'l', 'o', 'c', '-', 'r', 'i', 'b')
	}
	var b [4]byte
	return appendBytes(dst, strconv.AppendUint(b[:0], uint64(t), 10))
}

// PeerTypeName returns the name AppendElem writes for a BMP peer type.
func PeerTypeName(t decode.BMPPeerType) string {
	b := appendPeerType(nil, t)
	return string(b[1:])
}

func appendOptU32(dst []byte, ok bool, v uint32) []byte {
	if !ok {
		return append(dst, 0)
	}
	return appendLong(append(dst, 2), int64(v))
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// appendLong appends an Avro long: zig-zag, then a base-128 varint.
func appendLong(dst []byte, v int64) []byte {
	return binary.AppendUvarint(dst, uint64(v<<1)^uint64(v>>63))
}

func appendString(dst []byte, s string) []byte {
	dst = appendLong(dst, int64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst []byte, b []byte) []byte {
	dst = appendLong(dst, int64(len(b)))
	return append(dst, b...)
}

// appendOptAddr appends a ["null","string"] union holding the address, or
// null for an invalid address.
func appendOptAddr(dst []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(dst, 0)
	}
	return appendAddr(append(dst, 2), a)
}

// appendAddr appends an address as an Avro string without a temporary: the
// text of an address is at most 63 bytes with a zone kept short, so the
// length fits one varint byte, reserved first and patched after.
func appendAddr(dst []byte, a netip.Addr) []byte {
	at := len(dst)
	dst = a.AppendTo(append(dst, 0))
	return patchLen(dst, at)
}

func appendPrefix(dst []byte, p netip.Prefix) []byte {
	at := len(dst)
	dst = p.AppendTo(append(dst, 0))
	return patchLen(dst, at)
}

// patchLen sets the one-byte length reserved at dst[at] for the text that
// follows it, moving the text when the length needs more than one byte.
func patchLen(dst []byte, at int) []byte {
	n := len(dst) - at - 1
	if n < 64 {
		dst[at] = byte(n << 1)
		return dst
	}
	var hdr [binary.MaxVarintLen64]byte
	h := appendLong(hdr[:0], int64(n))
	text := append([]byte(nil), dst[at+1:]...)
	return append(append(dst[:at], h...), text...)
}
