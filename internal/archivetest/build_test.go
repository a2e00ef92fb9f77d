package archivetest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// TestRepeatRIB: the rebuilt RIB holds the slice's 270,005 entries (the
// corpus MANIFEST's count) once per copy, behind one PEER_INDEX_TABLE.
func TestRepeatRIB(t *testing.T) {
	const rel = "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2"
	b := RepeatRIB(t, rel, 2)
	sc, err := mrt.NewScanner(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	var elems, records int
	batch := new(decode.Batch)
	for {
		batch.Reset()
		err := sc.Fill(batch, 4096, 512)
		elems += len(batch.Elems)
		records += len(batch.Records)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if elems != 2*270005 || records != 1+2*9072 {
		t.Errorf("%d elems in %d records, want %d in %d", elems, records, 2*270005, 1+2*9072)
	}
}
