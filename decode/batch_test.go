package decode

import (
	"errors"
	"testing"
)

// clipBatch: records at 10, 20, 30 and 40 µs with two elems each, a gap
// before the third record and a stat on the fourth.
func clipBatch() *Batch {
	b := &Batch{}
	for i, t := range []int64{10, 20, 30, 40} {
		if i == 2 {
			b.AddGap(100, 124, errors.New("damaged"))
		}
		ri := b.AddRecord(&Record{Time: t, Status: StatusValid})
		b.NewElem(ri).PeerASN = uint32(2 * i)
		b.NewElem(ri).PeerASN = uint32(2*i + 1)
		if i == 3 {
			b.AddStat(ri, &Stat{})
		}
	}
	return b
}

// TestClipAfter: the first record past the end stays, outside-interval and
// without elems; what follows it goes, with its elems, gaps and stats; what
// precedes it is untouched. No record past the end, or no end, changes
// nothing.
func TestClipAfter(t *testing.T) {
	b := clipBatch()
	if !b.ClipAfter(25) {
		t.Fatal("not clipped at 25")
	}
	if len(b.Records) != 3 || b.Records[2].Time != 30 || b.Records[2].Status != StatusOutsideInterval {
		t.Fatalf("records %+v", b.Records)
	}
	if b.Records[0].Status != StatusValid || b.Records[1].Status != StatusValid {
		t.Errorf("records before the end changed: %+v", b.Records[:2])
	}
	if len(b.Elems) != 4 || b.Elems[3].PeerASN != 3 || b.ElemRecord[3] != 1 {
		t.Errorf("elems %d (%v), want the first two records' 4", len(b.Elems), b.ElemRecord)
	}
	if len(b.Gaps) != 1 || len(b.Stats) != 0 {
		t.Errorf("gaps %d (want the one before the clipped record), stats %d (want 0)", len(b.Gaps), len(b.Stats))
	}

	for _, end := range []int64{0, 40, 1000} {
		b := clipBatch()
		if b.ClipAfter(end) || len(b.Records) != 4 || len(b.Elems) != 8 || len(b.Stats) != 1 || b.Records[3].Status != StatusValid {
			t.Errorf("end %d: clipped to %d records, %d elems", end, len(b.Records), len(b.Elems))
		}
	}
	b = clipBatch()
	if !b.ClipAfter(5) || len(b.Records) != 1 || len(b.Elems) != 0 || len(b.Gaps) != 0 {
		t.Errorf("end before every record: %d records, %d elems, %d gaps", len(b.Records), len(b.Elems), len(b.Gaps))
	}
}
