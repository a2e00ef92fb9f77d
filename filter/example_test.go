package filter_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
)

func ExampleParse() {
	f, err := filter.Parse(`coll rrc06 and (peer 25152 or path "_2914_") and not comm *:666`)
	if err != nil {
		panic(err)
	}
	rec := &decode.Record{Type: decode.RecordUpdate, Project: "ris", Collector: "rrc06"}
	e := &decode.Elem{Type: decode.ElemAnnouncement, PeerASN: 25152, Prefix: netip.MustParsePrefix("192.108.199.0/24"), Attrs: &decode.Attrs{}}
	e.Attrs.ASPath.AppendSegment(decode.SegSequence, 25152, 2914, 1880)
	fmt.Println(f)
	fmt.Println(f.Match(rec, e))
	// Push-down: a reader may skip records of other collectors undecoded.
	fmt.Println(f.MatchRecord(&decode.Record{Collector: "rrc00"}))
	// Output:
	// collector rrc06 and (peer 25152 or aspath _2914_) and not community *:666
	// true
	// false
}

func ExampleSyntaxError() {
	_, err := filter.Parse("collector rrc00 and prefix more 10.0.0.0/33")
	fmt.Println(err)
	// Output:
	// filter: column 33: bad prefix "10.0.0.0/33" (prefix length out of range): expected an IPv4 or IPv6 prefix such as 192.0.2.0/24 or 2001:db8::/32
	//   collector rrc00 and prefix more 10.0.0.0/33
	//                                   ^^^^^^^^^^^
}

func ExampleFlags_Build() {
	// bgpreader -c rrc00 -t updates -j 25152 -k 2a00::/12 -w 1427846400,1427846700 -n 10
	fl := filter.Flags{
		Collectors: []string{"rrc00"}, Types: []string{"updates"}, PeerASNs: []string{"25152"},
		Prefixes: []string{"2a00::/12"}, Windows: []string{"1427846400,1427846700"}, Count: 10,
	}
	f, err := fl.Build(time.Now())
	if err != nil {
		panic(err)
	}
	fmt.Println(f)
	// Output:
	// collector rrc00 and type updates and peer 25152 and prefix more 2a00::/12 and time 1427846400,1427846700
}
