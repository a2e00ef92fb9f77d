package ingest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func rec(p int32, off int64) *kgo.Record {
	return &kgo.Record{Topic: "t", Partition: p, Offset: off, LeaderEpoch: 3}
}

func committed(t *testing.T, tr *Tracker, p int32) (int64, bool) {
	t.Helper()
	o, ok := tr.Committable()["t"][p]
	return o.Offset, ok
}

// TestTrackerNeverPassesInFlight completes outputs out of order and checks
// that the committable offset stops at the first record still in flight.
func TestTrackerNeverPassesInFlight(t *testing.T) {
	tr := NewTracker()
	var ps []*Pending
	for off := int64(10); off < 15; off++ {
		p := tr.Begin(rec(0, off), tr.Generation())
		p.Add(2) // two outputs each
		p.Done(nil)
		ps = append(ps, p)
	}
	if _, ok := committed(t, tr, 0); ok {
		t.Fatal("committable before anything completed")
	}
	// Complete records 12, 13 and 14 fully, 10 half, 11 not at all.
	for _, i := range []int{2, 3, 4} {
		ps[i].Done(nil)
		ps[i].Done(nil)
	}
	ps[0].Done(nil)
	if _, ok := committed(t, tr, 0); ok {
		t.Fatal("committable passed offset 10 whose second output is in flight")
	}
	ps[0].Done(nil)
	if off, _ := committed(t, tr, 0); off != 11 {
		t.Fatalf("committable %d, want 11 (offset 11 still in flight)", off)
	}
	if n := tr.InFlight(); n != 4 {
		t.Fatalf("in flight %d, want 4 (11 plus 12-14 behind it)", n)
	}
	ps[1].Done(nil)
	ps[1].Done(nil)
	if off, _ := committed(t, tr, 0); off != 15 {
		t.Fatalf("committable %d, want 15", off)
	}
	if tr.InFlight() != 0 {
		t.Fatal("records left in flight")
	}
}

func TestTrackerFailureStopsCommits(t *testing.T) {
	tr := NewTracker()
	a := tr.Begin(rec(1, 0), tr.Generation())
	b := tr.Begin(rec(1, 1), tr.Generation())
	c := tr.Begin(rec(1, 2), tr.Generation())
	a.Done(nil)
	b.Add(1)
	b.Done(nil)
	b.Promise(nil, errors.New("broker said no"))
	c.Done(nil)
	if off, _ := committed(t, tr, 1); off != 1 {
		t.Fatalf("committable %d, want 1 (offset 1 failed)", off)
	}
	tp, off, err, ok := tr.Failed()
	if !ok || tp.Partition != 1 || off != 1 || err == nil || err.Error() != "broker said no" {
		t.Fatalf("Failed() = %v %d %v %v", tp, off, err, ok)
	}
	d := tr.Begin(rec(2, 7), tr.Generation())
	d.Fail()
	if _, _, err, _ := tr.Failed(); err == nil {
		t.Fatal("Fail without a cause reports no error")
	}
}

func TestTrackerRevokeWaitsAndForgets(t *testing.T) {
	tr := NewTracker()
	p := tr.Begin(rec(4, 100), tr.Generation())
	p.Add(1)
	p.Done(nil)
	go func() {
		time.Sleep(20 * time.Millisecond)
		p.Done(nil)
	}()
	start := time.Now()
	offs := tr.Revoke(context.Background(), map[string][]int32{"t": {4}})
	if time.Since(start) < 15*time.Millisecond {
		t.Fatal("Revoke did not wait for the output in flight")
	}
	if offs["t"][4].Offset != 101 || offs["t"][4].Epoch != 3 {
		t.Fatalf("revoke offsets %v, want 101 epoch 3", offs)
	}
	if tr.Begin(rec(4, 101), tr.Generation()) != nil {
		t.Fatal("Begin on a revoked partition returned a Pending")
	}
	if _, ok := committed(t, tr, 4); ok {
		t.Fatal("revoked partition still committable")
	}
	// A timeout bounds the wait.
	q := tr.Begin(rec(5, 0), tr.Generation())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	offs = tr.Revoke(ctx, map[string][]int32{"t": {5}})
	if len(offs["t"]) != 0 {
		t.Fatalf("revoke committed an unfinished record: %v", offs)
	}
	_ = q
}

func TestTrackerReassign(t *testing.T) {
	tr := NewTracker()
	tr.Begin(rec(6, 0), tr.Generation()).Done(nil)
	tr.Revoke(context.Background(), map[string][]int32{"t": {6}})
	if tr.Begin(rec(6, 1), tr.Generation()) != nil {
		t.Fatal("revoked partition accepted a record")
	}
	tr.Assign(map[string][]int32{"t": {6}})
	p := tr.Begin(rec(6, 1), tr.Generation())
	if p == nil {
		t.Fatal("reassigned partition refused a record")
	}
	p.Done(nil)
	if off, _ := committed(t, tr, 6); off != 2 {
		t.Fatalf("committable %d, want 2", off)
	}
}

// TestTrackerStaleBatch checks that records polled before a rebalance are
// refused after it, even for a partition assigned again.
func TestTrackerStaleBatch(t *testing.T) {
	tr := NewTracker()
	gen := tr.Generation()
	tr.Begin(rec(7, 0), gen).Done(nil)
	tr.Revoke(context.Background(), map[string][]int32{"t": {7}})
	tr.Assign(map[string][]int32{"t": {7}})
	if tr.Begin(rec(7, 1), gen) != nil {
		t.Fatal("a record polled before the rebalance was accepted after it")
	}
	if p := tr.Begin(rec(7, 1), tr.Generation()); p == nil {
		t.Fatal("a record polled after the rebalance was refused")
	}
	// A partition the rebalance did not touch keeps its older batch: its
	// position is past those records, refusing them would lose them.
	if tr.Begin(rec(8, 0), gen) == nil {
		t.Fatal("a record of a partition that was not revoked was refused")
	}
}
