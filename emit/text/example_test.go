package text_test

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/emit/text"
)

// Printing one announcement in the three formats.
func ExampleFormatter() {
	rec := decode.Record{Type: decode.RecordUpdate, Format: decode.FormatBGP4MP, MRTType: 16, MRTSubtype: 4,
		Time: 1470931200e6, Project: "ris", Collector: "rrc00"}
	a := new(decode.Attrs)
	a.Set(decode.AttrOrigin)
	a.Set(decode.AttrASPath)
	a.ASPath.AppendSegment(decode.SegSequence, 59689, 6939, 28573)
	a.Set(decode.AttrCommunities)
	a.Communities = []decode.Community{59689<<16 | 200}
	a.LargeCommunities = []decode.LargeCommunity{{Global: 59689, Local1: 1, Local2: 2}}
	elems := []decode.Elem{{Type: decode.ElemAnnouncement, PeerIP: netip.MustParseAddr("2001:7f8:54::188"), PeerASN: 59689,
		Prefix: netip.MustParsePrefix("2804:14d::/40"), NextHop: netip.MustParseAddr("2001:7f8:54::10"), Attrs: a}}

	for _, f := range []text.Format{text.FormatBGPReader, text.FormatBGPDump, text.FormatJSON} {
		out, _ := text.NewFormatter(text.Options{Format: f}).AppendRecord(nil, &rec, elems)
		os.Stdout.Write(out)
	}
	fmt.Println(text.BGPDumpPrefix(&rec, decode.ElemAnnouncement))
	// Output:
	// U|A|1470931200.000000|ris|rrc00|||59689|2001:7f8:54::188|2804:14d::/40|2001:7f8:54::10|59689 6939 28573|28573|59689:200||
	// BGP4MP|1470931200|A|2001:7f8:54::188|59689|2804:14d::/40|59689 6939 28573|IGP|2001:7f8:54::10|0|0|59689:200|NAG||
	// {"type":"A","record_type":"update","format":"BGP4MP","time":1470931200.000000,"time_us":1470931200000000,"project":"ris","collector":"rrc00","peer_asn":59689,"peer_ip":"2001:7f8:54::188","prefix":"2804:14d::/40","next_hop":"2001:7f8:54::10","as_path":"59689 6939 28573","as_path_segments":[{"type":"AS_SEQUENCE","asns":[59689,6939,28573]}],"origin_asn":28573,"origin":"IGP","atomic_aggregate":false,"communities":["59689:200"],"large_communities":["59689:1:2"]}
	// BGP4MP
}
