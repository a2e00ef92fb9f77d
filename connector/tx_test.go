package connector

import (
	"context"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
	"github.com/bgp-connector/bgp-connector/schema"
)

// TestExactlyOnce runs the connector with exactly.once.support=required:
// read_committed readers see each elem once, input offsets are committed
// to the end, and a damaged record under errors.tolerance=none aborts its
// transaction so that none of that poll's outputs become visible.
func TestExactlyOnce(t *testing.T) {
	vals, keys := gobgpFrames(t)
	want := map[schema.Type]int{}
	d := openbmp.NewDecoder()
	var res openbmp.Result
	for _, v := range vals {
		if d.Decode(v, &res) == nil {
			for _, e := range res.Elems {
				want[emit.TypeOf(e.Type)]++
			}
		}
	}
	cluster, addr, err := StartEmbedded(0, 3, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx := context.Background()
	if err := kafkatest.Produce(ctx, []string{addr}, "openbmp.bmp_raw", vals, keys); err != nil {
		t.Fatal(err)
	}
	cfg := newConfig(t, "exactly.once.support=required", "tasks.max=2", "group.id=eos")
	c, err := New(cfg, testLog(t), WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunUntilDrained(ctx, uint64(len(vals)), time.Minute); err != nil {
		t.Fatal(err)
	}
	topics := c.Topics()
	recs, err := kafkatest.ReadCommitted(ctx, []string{addr}, time.Second, topics[:]...)
	if err != nil {
		t.Fatal(err)
	}
	got := map[schema.Type]int{}
	for _, r := range recs {
		for _, ty := range schema.Types() {
			if r.Topic == topics[ty] {
				got[ty]++
			}
		}
	}
	for _, ty := range schema.Types() {
		if got[ty] != want[ty] {
			t.Errorf("%s: %d committed records, direct decode %d", ty, got[ty], want[ty])
		}
	}
	ends, err := kafkatest.EndOffsets(ctx, []string{addr}, []string{"openbmp.bmp_raw"})
	if err != nil {
		t.Fatal(err)
	}
	co := committedOffsets(t, addr, "eos", "openbmp.bmp_raw")
	for p, e := range ends["openbmp.bmp_raw"] {
		if co[p] != e {
			t.Errorf("partition %d: committed %d, end %d", p, co[p], e)
		}
	}
}

// TestExactlyOnceAbort checks that a failure aborts the poll's transaction:
// nothing of it is visible to read_committed readers and no offset moves.
func TestExactlyOnceAbort(t *testing.T) {
	vals, keys := gobgpFrames(t)
	bad := append([]byte(nil), vals[len(vals)-1]...)
	bad[5] = 6 // OpenBMP 1.6: undecodable
	vals = append(vals, bad)
	keys = append(keys, keys[len(keys)-1])
	cluster, addr, err := StartEmbedded(0, 1, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx := context.Background()
	if err := kafkatest.Produce(ctx, []string{addr}, "openbmp.bmp_raw", vals, keys); err != nil {
		t.Fatal(err)
	}
	c, err := New(newConfig(t, "exactly.once.support=required", "group.id=eos-abort"), testLog(t), WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	err = c.RunUntilDrained(ctx, uint64(len(vals)), time.Minute)
	if err == nil {
		t.Fatal("an undecodable record under errors.tolerance=none did not stop the task")
	}
	topics := c.Topics()
	recs, rerr := kafkatest.ReadCommitted(ctx, []string{addr}, time.Second, topics[:]...)
	if rerr != nil {
		t.Fatal(rerr)
	}
	// Outputs are visible exactly for the committed input: every visible
	// output comes from an offset before the commit, the commit is not past
	// the damaged record, and the visible count is the direct decode's for
	// the committed records.
	co := committedOffsets(t, addr, "eos-abort", "openbmp.bmp_raw")[0]
	if co > int64(len(vals)-1) {
		t.Fatalf("committed %d, past the damaged record at %d", co, len(vals)-1)
	}
	d := openbmp.NewDecoder()
	var res openbmp.Result
	want := 0
	for _, v := range vals[:co] {
		if d.Decode(v, &res) == nil {
			want += len(res.Elems) + len(res.Stats)
		}
	}
	if len(recs) != want {
		t.Errorf("%d outputs visible, want %d for the %d committed records (%v)", len(recs), want, co, err)
	}
	for _, r := range recs {
		for _, h := range r.Headers {
			if h.Key == emit.HeaderSourceOffset && len(h.Value) > 0 {
				var off int64
				for _, ch := range h.Value {
					off = off*10 + int64(ch-'0')
				}
				if off >= co {
					t.Errorf("output of offset %d visible, but the commit is at %d", off, co)
				}
			}
		}
	}
}
