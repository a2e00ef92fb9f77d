// Package emittest builds, from decoded elems, the values goavro returns when
// it decodes an output datum with the .avsc schemas. Tests compare the two to
// check the hand-written encoder of package emit, and the whole connector,
// along a path that shares no code with the encoder.
//
// It is for tests only; it is written for clarity, not speed.
package emittest

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
)

// Source mirrors emit.Source without importing emit.
type Source struct {
	Topic     string
	Partition int32
	Offset    int64
}

func str(s string) any { return map[string]any{"string": s} }

func optAddr(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return str(a.String())
}

func optLong(ok bool, v int64) any {
	if !ok {
		return nil
	}
	return map[string]any{"long": v}
}

func ts(us int64) time.Time { return time.UnixMicro(us).UTC() }

// PeerTypeName is the schema's name of a BMP peer type.
func PeerTypeName(t decode.BMPPeerType) string {
	switch t {
	case decode.BMPPeerGlobal:
		return "global"
	case decode.BMPPeerRD:
		return "rd"
	case decode.BMPPeerLocal:
		return "local"
	case decode.BMPPeerLocRIB:
		return "loc-rib"
	}
	return strconv.Itoa(int(t))
}

// Elem returns the goavro native value expected for an elem.
func Elem(rec *decode.Record, el *decode.Elem, src Source) map[string]any {
	m := map[string]any{
		"time_us":                ts(el.Time),
		"record_time_us":         ts(rec.Time),
		"project":                rec.Project,
		"collector":              rec.Collector,
		"router":                 rec.Router,
		"router_ip":              optAddr(rec.RouterIP),
		"peer_ip":                optAddr(el.PeerIP),
		"peer_asn":               int64(el.PeerASN),
		"bmp_peer_type":          nil,
		"bmp_rib":                nil,
		"bmp_post_policy":        el.BMP.PostPolicy,
		"bmp_as2":                el.BMP.AS2,
		"bmp_peer_distinguisher": int64(el.BMP.PeerDistinguisher),
		"bmp_no_peer_up":         el.BMP.NoPeerUp,
		"source_topic":           src.Topic,
		"source_partition":       src.Partition,
		"source_offset":          src.Offset,
	}
	if el.BMP.Present {
		m["bmp_peer_type"] = str(PeerTypeName(el.BMP.PeerType))
		rib := "adj-rib-in"
		if el.BMP.PeerType == decode.BMPPeerLocRIB {
			rib = "loc-rib"
		} else if el.BMP.AdjRIBOut {
			rib = "adj-rib-out"
		}
		m["bmp_rib"] = str(rib)
	}
	switch el.Type {
	case decode.ElemPeerState:
		m["old_state"] = el.OldState.String()
		m["new_state"] = el.NewState.String()
		return m
	}
	m["prefix"] = el.Prefix.String()
	m["path_id"] = optLong(el.HasPathID, int64(el.PathID))
	if el.Type == decode.ElemWithdrawal {
		return m
	}
	a := el.Attrs
	if a == nil {
		a = &decode.Attrs{}
	}
	m["next_hop"] = optAddr(el.NextHop)
	m["next_hop_link_local"] = optAddr(a.MPNextHopLocal)
	segs := []any{}
	for i := 0; i < a.ASPath.NumSegments(); i++ {
		typ, asns := a.ASPath.Segment(i)
		l := []any{}
		for _, x := range asns {
			l = append(l, int64(x))
		}
		segs = append(segs, map[string]any{"type": int32(typ), "asns": l})
	}
	m["as_path"] = segs
	o, ok := a.ASPath.OriginASN()
	m["origin_asn"] = optLong(ok, int64(o))
	m["origin"] = nil
	if a.Has(decode.AttrOrigin) {
		m["origin"] = str(a.Origin.String())
	}
	m["med"] = optLong(a.Has(decode.AttrMED), int64(a.MED))
	m["local_pref"] = optLong(a.Has(decode.AttrLocalPref), int64(a.LocalPref))
	m["atomic_aggregate"] = a.AtomicAggregate
	m["aggregator_asn"] = optLong(a.Has(decode.AttrAggregator), int64(a.Aggregator.ASN))
	m["aggregator_addr"] = nil
	if a.Has(decode.AttrAggregator) {
		m["aggregator_addr"] = optAddr(a.Aggregator.Addr)
	}
	comms := []any{}
	for _, c := range a.Communities {
		comms = append(comms, map[string]any{"asn": int32(c >> 16), "value": int32(c & 0xffff)})
	}
	m["communities"] = comms
	large := []any{}
	for _, c := range a.LargeCommunities {
		large = append(large, map[string]any{"global": int64(c.Global), "local1": int64(c.Local1), "local2": int64(c.Local2)})
	}
	m["large_communities"] = large
	ext := []any{}
	for _, c := range a.ExtCommunities {
		ext = append(ext, append([]byte(nil), c[:]...))
	}
	m["ext_communities"] = ext
	m["originator_id"] = optAddr(a.OriginatorID)
	cl := []any{}
	for _, c := range a.ClusterList {
		cl = append(cl, c.String())
	}
	m["cluster_list"] = cl
	m["only_to_customer"] = optLong(a.Has(decode.AttrOnlyToCustomer), int64(a.OnlyToCustomer))
	m["attr_error"] = nil
	if a.Action != decode.ActionNone {
		m["attr_error"] = str(a.Action.String())
	}
	return m
}
