package mrt

import (
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// benchElems decodes the framed records of a corpus file repeatedly and
// reports elems/s; the batch is reset per record, as a pipeline recycles it.
func benchElems(b *testing.B, rel string) {
	needCorpus(b)
	raws := frames(slurp(b, rel))
	el := NewElementor()
	var batch decode.Batch
	elems := 0
	for i := range raws {
		el.AppendTo(&batch, &raws[i])
	}
	elems = len(batch.Elems)
	b.ReportAllocs()
	b.SetBytes(0)
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		batch.Reset()
		for j := range raws {
			if len(batch.Elems) > 4096 {
				batch.Reset()
			}
			el.AppendTo(&batch, &raws[j])
		}
		n += elems
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "elems/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/elem")
}

// BenchmarkElementorRIB decodes a RouteViews TABLE_DUMP_V2 IPv4 RIB slice
// (270,005 entries, 35 peers).
func BenchmarkElementorRIB(b *testing.B) {
	benchElems(b, "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2")
}

// BenchmarkElementorUpdates decodes the 2015 RIS BGP4MP_ET updates file
// (577,744 elems).
func BenchmarkElementorUpdates(b *testing.B) {
	benchElems(b, "ripe-bgpdump/updates.et-header.2015.gz")
}
