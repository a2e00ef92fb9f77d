package emit_test

import (
	"fmt"
	"net/netip"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/schema"
)

// An elem encoded in Avro single-object encoding and read back with goavro
// from the announcements schema.
func ExampleAppendElem() {
	rec := &decode.Record{Time: 1700000000000000, Project: "openbmp", Collector: "is-cc-bmp1"}
	attrs := &decode.Attrs{}
	attrs.ASPath.AppendSegment(decode.SegSequence, 3356, 13335)
	el := &decode.Elem{Type: decode.ElemAnnouncement, Time: rec.Time, PeerIP: netip.MustParseAddr("192.0.2.1"), PeerASN: 3356,
		Prefix: netip.MustParsePrefix("1.1.1.0/24"), NextHop: netip.MustParseAddr("192.0.2.1"), Attrs: attrs}

	framing, _ := emit.SingleObject()
	buf := framing.AppendHeader(nil, emit.TypeOf(el.Type))
	buf = emit.AppendElem(buf, rec, el, &emit.Source{Topic: "openbmp.bmp_raw", Partition: 0, Offset: 7})

	codec, _ := schema.Announcements.Codec()
	native, _, err := codec.NativeFromSingle(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := native.(map[string]any)
	fmt.Println(m["prefix"], m["origin_asn"], m["as_path"], m["source_offset"])
	// Output: 1.1.1.0/24 map[long:13335] [map[asns:[3356 13335] type:2]] 7
}
