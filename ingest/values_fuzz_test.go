package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
)

// mrtRecordValues returns the file's MRT records, one per value.
func mrtRecordValues(t testing.TB, path string) [][]byte {
	t.Helper()
	v, err := kafkatest.MRTValues(path)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// FuzzMRTValue feeds arbitrary bytes to the MRT value decoder (an input
// record holding one or more MRT records): no panic, and an error names the
// byte offset of the record it stopped at. Seeded with real MRT records.
func FuzzMRTValue(f *testing.F) {
	if dir := corpus.Dir(); dir != "" {
		for _, rel := range []string{"ripe-bgpdump/updates.20100722.2015.gz", "mrtparse/bird-mrtdump_rib", "ripe-bgpdump/bview.ipv6_unicast_add_path.gz"} {
			vals := mrtRecordValues(f, dir+"/"+rel)
			for i := 0; i < len(vals) && i < 20; i++ {
				f.Add(vals[i])
			}
			if len(vals) > 2 {
				f.Add(append(append([]byte(nil), vals[0]...), vals[1]...))
			}
		}
	}
	d := MRTValues{}.NewDecoder("t", 0)
	ts := time.Unix(0, 0)
	var b decode.Batch
	f.Fuzz(func(t *testing.T, v []byte) {
		b.Reset()
		err := d.AppendTo(&b, v, 7, ts)
		for i := range b.Records {
			if b.Records[i].Offset != 7 {
				t.Fatalf("record offset %d, want the Kafka offset 7", b.Records[i].Offset)
			}
		}
		if err != nil && !strings.Contains(err.Error(), "at byte ") {
			t.Fatalf("error without a byte offset: %v", err)
		}
	})
}
