package connector

import (
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
)

// FuzzMRTValue feeds arbitrary bytes to the MRT input decoder (an input
// record holding one or more MRT records): no panic, and an error names the
// byte offset of the record it stopped at. Seeded with real MRT records.
func FuzzMRTValue(f *testing.F) {
	for _, rel := range []string{"ripe-bgpdump/updates.20100722.2015.gz", "mrtparse/bird-mrtdump_rib", "ripe-bgpdump/bview.ipv6_unicast_add_path.gz"} {
		p := realDataPath(rel)
		if p == "" {
			continue
		}
		vals := mrtValues(f, p)
		for i := 0; i < len(vals) && i < 20; i++ {
			f.Add(vals[i])
		}
		if len(vals) > 2 {
			f.Add(append(append([]byte(nil), vals[0]...), vals[1]...))
		}
	}
	d := mrtFactory{}.newDecoder()
	ts := time.Unix(0, 0)
	f.Fuzz(func(t *testing.T, v []byte) {
		n := 0
		err := d.decode(v, 7, ts, func(rec *decode.Record, elems []decode.Elem, stats []decode.Stat) {
			if rec.Offset != 7 {
				t.Fatalf("record offset %d, want the Kafka offset 7", rec.Offset)
			}
			n += len(elems)
		})
		if err != nil && !strings.Contains(err.Error(), "at byte ") {
			t.Fatalf("error without a byte offset: %v", err)
		}
	})
}
