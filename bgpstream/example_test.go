package bgpstream_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bgp-connector/bgp-connector/bgpstream"
)

// Read a file's elems. The file is an MRT updates dump written by a real
// gobgpd (testdata/gobgp-mrt): compression is detected, any number of files
// may be given, and they are merged in time order.
func ExampleNew_file() {
	s, err := bgpstream.New(bgpstream.Files("../testdata/gobgp-mrt/updates.mrt"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	for e, err := range s.Elems(context.Background()) {
		if err != nil {
			fmt.Println("input failed:", err) // the stream goes on with the other inputs
			continue
		}
		asn, _ := e.OriginASN()
		fmt.Println(e.Type, e.Prefix, e.ASPath(), asn, e.Communities())
	}
	// Output:
	// announcement 198.51.100.0/24 4200000001 4200000001 [65002:100 65535:65281]
	// announcement 203.0.113.0/25 4200000001 4200000001 [4200:7]
	// announcement 192.0.2.128/26 4200000001 4200000001 []
	// announcement 2001:db8:100::/48 4200000001 4200000001 [65002:600]
	// announcement 2001:db8:200::/40 4200000001 4200000001 []
	// withdrawal 203.0.113.0/25  0 []
	// withdrawal 2001:db8:200::/40  0 []
}

// Filter with BGPStream's filter language; the filter is pushed down into
// the decoders, so what it rejects is never fully decoded.
func ExampleFilter() {
	s, err := bgpstream.New(
		bgpstream.Files("../testdata/gobgp-mrt/updates.mrt"),
		bgpstream.Filter("ipversion 6 and elemtype announcements"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	for e, err := range s.Elems(context.Background()) {
		if err == nil {
			fmt.Println(e)
		}
	}
	// Output:
	// U|A|1795633037.000000|singlefile|singlefile|||4200000001|127.0.0.21|2001:db8:100::/48|2001:db8::21|4200000001|4200000001|65002:600||
	// U|A|1795633037.000000|singlefile|singlefile|||4200000001|127.0.0.21|2001:db8:200::/40|2001:db8::21|4200000001|4200000001|||
}

// Read a time window of a RIB dump and an updates dump at once (bgpreader's
// singlefile interface), record by record in time order; each dump is
// marked where it begins (B) and ends (E).
func ExampleInterval() {
	s, err := bgpstream.New(
		bgpstream.DataInterface("singlefile"),
		bgpstream.DataInterfaceOption("singlefile", "rib-file", "../testdata/gobgp-mrt/rib.mrt"),
		bgpstream.DataInterfaceOption("singlefile", "upd-file", "../testdata/gobgp-mrt/updates.mrt"),
		bgpstream.Interval(time.Unix(1795633000, 0), time.Unix(1795633100, 0)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	for r, err := range s.Records(context.Background()) {
		if err == nil {
			fmt.Println(r.Type, string(r.DumpPos.Char()), r.Time/1e6, r.NumElems(), "elems")
		}
	}
	// Output:
	// update B 1795633037 1 elems
	// update M 1795633037 1 elems
	// update M 1795633037 1 elems
	// update M 1795633037 1 elems
	// update M 1795633037 1 elems
	// update M 1795633039 1 elems
	// update E 1795633039 1 elems
	// rib B 1795633089 1 elems
	// rib M 1795633089 1 elems
	// rib E 1795633089 1 elems
}

// Every data interface (bgpreader -d); LookupDataInterface gives one's
// options (bgpreader -o '?').
func ExampleDataInterfaces() {
	for _, di := range bgpstream.DataInterfaces() {
		fmt.Println(di.Name)
	}
	info, _ := bgpstream.LookupDataInterface("singlefile")
	for _, o := range info.Options {
		fmt.Println("  -o", o.Name)
	}
	// Output:
	// archive
	// bgpkit
	// broker
	// csvfile
	// files
	// kafka
	// ris-live
	// singlefile
	//   -o rib-file
	//   -o rib-type
	//   -o upd-file
	//   -o upd-type
}
