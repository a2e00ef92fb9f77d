package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/archive"
	"github.com/bgp-connector/bgp-connector/decode"
)

// TestStateCodec: a state round-trips; a value that is not a state, or has
// no URL, is an error.
func TestStateCodec(t *testing.T) {
	in := BackfillState{URL: "http://x/rib.bz2", Status: StateRunning, Offset: 1234, Elems: 99, Reach: 200099, Records: 7,
		Gaps: 1, BytesSkipped: 10, Task: "h/0", Resumes: 2, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	out, err := DecodeState(EncodeState(&in))
	if err != nil || out != in {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	for _, bad := range []string{"", "{", `{"status":"done"}`} {
		if _, err := DecodeState([]byte(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

// TestStateView writes states plainly and in transactions to a compacted
// topic on kfake: Sync returns once the view holds what was committed
// (transaction markers included in the position), an aborted transaction's
// states never show, a tombstone removes a state, and a missing topic reads
// as empty.
func TestStateView(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	base := []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	empty, err := NewStateView(base, "no-such-topic", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.Sync(ctx); err != nil || len(empty.States()) != 0 {
		t.Fatalf("missing topic: %v %v", empty.States(), err)
	}
	empty.Close()

	rec := func(url, status string) *kgo.Record {
		return &kgo.Record{Topic: "state", Key: []byte(url), Value: EncodeState(&BackfillState{URL: url, Status: status})}
	}
	plain, _ := kgo.NewClient(base...)
	defer plain.Close()
	if err := plain.ProduceSync(ctx, rec("a", StateRunning), rec("b", StateRunning), rec("c", StateDone)).FirstErr(); err != nil {
		t.Fatal(err)
	}
	tx, err := kgo.NewClient(append(base, kgo.TransactionalID("t"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for _, commit := range []kgo.TransactionEndTry{kgo.TryAbort, kgo.TryCommit} {
		if err := tx.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		status := StateFailed
		if commit == kgo.TryCommit {
			status = StateDone
		}
		if err := tx.ProduceSync(ctx, rec("a", status), rec("d", status)).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := tx.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	if err := plain.ProduceSync(ctx, &kgo.Record{Topic: "state", Key: []byte("b")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	v, err := NewStateView(base, "state", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for u, s := range v.States() {
		got[u] = s.Status
	}
	want := map[string]string{"a": StateDone, "c": StateDone, "d": StateDone}
	if len(got) != len(want) || got["a"] != want["a"] || got["c"] != want["c"] || got["d"] != want["d"] {
		t.Errorf("view %v, want %v", got, want)
	}
	if _, ok := v.Get("b"); ok {
		t.Error("a tombstoned state is still there")
	}
}

// TestBackfillClipAndResume: the batch ends at the first record past the
// windows' end (kept, outside-interval, without elems), as read clips; the
// resume prefilter skips the records before a checkpoint's offset only.
func TestBackfillClipAndResume(t *testing.T) {
	ws := []archive.Window{{Start: time.Unix(100, 0), End: time.Unix(200, 0)}, {Start: time.Unix(300, 0), End: time.Unix(400, 0)}}
	if got := windowsEnd(ws); got != 400e6 {
		t.Errorf("end %d", got)
	}
	if windowsEnd(append(ws, archive.Window{Start: time.Unix(500, 0)})) != 0 {
		t.Error("an open window has an end")
	}
	if got := windowText(archive.Window{Start: time.UnixMicro(100_000_500), End: time.Unix(200, 0)}); got != "100.000500,200" {
		t.Errorf("window text %q", got)
	}
	b := new(decode.Batch)
	for i, ts := range []int64{350, 400, 401, 399} {
		ri := b.AddRecord(&decode.Record{Time: ts * 1e6, Offset: int64(i * 10)})
		b.AddElem(ri, &decode.Elem{})
	}
	r := &backfillRun{endUS: windowsEnd(ws)}
	if !r.clip(b) || len(b.Records) != 3 || len(b.Elems) != 2 || b.Records[2].Status != decode.StatusOutsideInterval {
		t.Errorf("clip: %d records, %d elems, last status %v", len(b.Records), len(b.Elems), b.Records[len(b.Records)-1].Status)
	}
	p := resumePrefilter{from: 20}
	if p.MatchRecord(&decode.Record{Offset: 19}) || !p.MatchRecord(&decode.Record{Offset: 20}) || !p.WantsFamily(true) {
		t.Error("resume prefilter")
	}
}
