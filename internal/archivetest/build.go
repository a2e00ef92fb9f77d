package archivetest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/bgp-connector/bgp-connector/mrt"
)

// RepeatRIB returns the TABLE_DUMP_V2 dump rel (a corpus file, decompressed)
// rebuilt with its PEER_INDEX_TABLE once and its RIB records repeated copies
// times, uncompressed: what scripts/bench-read.sh builds as rib10x.mrt from
// pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2 (copies 10: 2,700,050
// entries). It skips tb when the corpus is absent.
func RepeatRIB(tb testing.TB, rel string, copies int) []byte {
	tb.Helper()
	r, err := mrt.NewReader(bytes.NewReader(Bytes(tb, rel)))
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var pit, ribs []byte
	for {
		raw, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("%s: %v", rel, err)
		}
		if raw.Type == mrt.TypeTableDumpV2 && raw.Subtype == mrt.PeerIndexTable {
			if pit != nil {
				tb.Fatalf("%s: two PEER_INDEX_TABLEs", rel)
			}
			pit = raw.AppendTo(nil)
			continue
		}
		ribs = raw.AppendTo(ribs)
	}
	if pit == nil {
		tb.Fatalf("%s: no PEER_INDEX_TABLE", rel)
	}
	out := make([]byte, 0, len(pit)+copies*len(ribs))
	out = append(out, pit...)
	for range copies {
		out = append(out, ribs...)
	}
	return out
}
