// Package bgpstream is the public library of bgp-connector: PyBGPStream's
// high-level API in Go idiom. A Stream is one time-ordered stream of BGP
// records and elems (RIB entries, announcements, withdrawals, peer state
// changes) out of any number of inputs — local MRT, BMP and OpenBMP files
// in any compression, the dumps a CSV index lists, the RIS and RouteViews
// archives found through the CAIDA or BGPKIT broker or their own listings
// (fetched with retries and resume, cached safely across processes), Kafka
// topics of BMP, MRT or RIS Live, and RIS Live itself — merged in
// record-time order exactly as bgpreader merges them.
//
//	s, err := bgpstream.New(
//		bgpstream.Files("updates.20150401.0000.bz2", "rrc06.updates.1427846400.gz"),
//		bgpstream.Filter("ipversion 6 and path _4554_"),
//	)
//	if err != nil { ... }
//	defer s.Close()
//	for e, err := range s.Elems(ctx) {
//		if err != nil { log.Print(err); continue } // a damaged input: the stream goes on
//		fmt.Println(e.Time, e.PeerASN, e.Prefix, e.ASPath(), e.Communities())
//	}
//
// Options: DataInterface and DataInterfaceOption are bgpreader's -d and -o
// (DataInterfaces lists every interface — files, singlefile, csvfile,
// broker, bgpkit, archive, kafka, ris-live — and LookupDataInterface its
// options); Filter is
// BGPStream's filter language; Interval (bgpreader -w; no end means live),
// Projects, Collectors, RecordTypes and RIBPeriod select what is read; Files,
// Labels and InputFormat read plain files. New checks every option before
// anything is opened and reports each problem.
//
// Reading: Elems yields elems, Records records (each with its elems),
// Batches the decode.Batches they come in (the fastest way: no value is
// copied). Yielded values are valid until the next iteration: Clone keeps
// one. A damaged record is a record with a corrupted status and an error; a
// region skipped to resynchronise is counted and reported to OnDamage; an
// input that cannot be read to its end is yielded as a *ResourceError and
// the stream goes on with the others. Stats counts all of it.
//
// Inputs are decoded on their own goroutines (the filter runs there too,
// with push-down into the decoders), a bounded amount ahead of the merge, so
// both cores work and memory stays flat however many inputs there are.
//
// It is not a sink: printing (package emit/text) and publishing to Kafka
// (package emit, the connector) take its batches.
package bgpstream
