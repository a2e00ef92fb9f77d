package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

const (
	stateInput = "openbmp.bmp_raw"
	stateTopic = "bgp.elems.bmp.state"
)

// stateCluster starts a kfake broker with the input topic (partitions
// partitions) and returns its address.
func stateCluster(t testing.TB, partitions int32) (*kfake.Cluster, string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, stateInput))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()[0]
}

func stateProducer(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ProducerLinger(0),
		kgo.RecordPartitioner(StatePartitioner(stateTopic, kgo.StickyKeyPartitioner(nil)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// changelogRecord is a changelog record of input partition p: entry e (a
// tombstone when deleted) made by the input record at src.
func changelogRecord(t testing.TB, p int32, e openbmp.StateEntry, src string) *kgo.Record {
	t.Helper()
	l := &StateLog{Topic: stateTopic}
	r := &kgo.Record{Topic: stateTopic, Partition: p, Key: l.key(nil, stateInput, p, &e)}
	if src != "" {
		r.Headers = []kgo.RecordHeader{{Key: SourceOffsetHeader, Value: []byte(src)}}
	}
	if !e.Deleted {
		v, err := e.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Value = v
	}
	return r
}

// TestStateLogRead: a restore reads the input partition's entries of the
// changelog partition it shares with others, the last per key made before
// the resume offset; it skips tombstoned keys, records made by later input
// records, records without a source offset, undecodable values and aborted
// transactions, and does not wait for an open transaction.
func TestStateLogRead(t *testing.T) {
	c, addr := stateCluster(t, 2)
	adm := kadm.NewClient(stateProducer(t, addr, kgo.MetadataMinAge(10*time.Millisecond)))
	// One changelog partition for two input partitions: they share it.
	if n, err := EnsureStateTopic(context.Background(), adm, stateTopic, 1, -1); err != nil || n != 1 {
		t.Fatalf("EnsureStateTopic: %d %v", n, err)
	}
	if n, err := EnsureStateTopic(context.Background(), adm, stateTopic, 6, -1); err != nil || n != 1 {
		t.Fatalf("EnsureStateTopic of an existing topic: %d %v", n, err)
	}
	rc, _ := adm.DescribeTopicConfigs(context.Background(), stateTopic)
	if v, err := rc.On(stateTopic, nil); err != nil || !strings.Contains(fmt.Sprint(v.Configs), "compact") {
		t.Errorf("changelog topic configs %+v %v", v, err)
	}
	r1 := openbmp.RouterKey{1}
	peer := func(a string, asn uint32) openbmp.StateEntry {
		return openbmp.StateEntry{Router: r1, HasPeer: true, Peer: openbmp.PeerKey{Addr: netip.MustParseAddr(a)},
			Session: openbmp.Session{In: decode.Options{AS4: true, AddPath: 1}, ASN: asn}}
	}
	gone := peer("192.0.2.3", 3)
	gone.Deleted = true
	bad := changelogRecord(t, 0, peer("192.0.2.5", 5), "7")
	bad.Value = []byte{9, 9, 9}
	recs := []*kgo.Record{
		changelogRecord(t, 0, openbmp.StateEntry{Router: r1, SysName: "r1"}, "0"),
		changelogRecord(t, 0, peer("192.0.2.2", 1), "1"),
		changelogRecord(t, 1, openbmp.StateEntry{Router: r1, SysName: "other partition"}, "2"),
		changelogRecord(t, 0, peer("192.0.2.2", 2), "3"), // replaces the first
		changelogRecord(t, 0, peer("192.0.2.3", 3), "4"),
		changelogRecord(t, 0, gone, "5"),                   // deletes it
		changelogRecord(t, 0, peer("192.0.2.4", 4), "10"),  // made after the resume offset
		changelogRecord(t, 0, peer("192.0.2.6", 6), ""),    // no source offset
		changelogRecord(t, 0, peer("192.0.2.6", 6), "x12"), // bad source offset
		bad,
	}
	cl := stateProducer(t, addr)
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// An aborted transaction, then one left open.
	tx := stateProducer(t, addr, kgo.TransactionalID("tx-test"))
	for _, commit := range []kgo.TransactionEndTry{kgo.TryAbort} {
		if err := tx.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := tx.ProduceSync(context.Background(), changelogRecord(t, 0, peer("192.0.2.7", 7), "6")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := tx.EndTransaction(context.Background(), commit); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := tx.ProduceSync(context.Background(), changelogRecord(t, 0, peer("192.0.2.8", 8), "6")).FirstErr(); err != nil {
		t.Fatal(err)
	}

	l := &StateLog{Topic: stateTopic, Client: []kgo.Opt{kgo.SeedBrokers(addr)}, Timeout: 10 * time.Second, Log: quiet()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	st, err := l.read(ctx, stateInput, 0, 8)
	if err != nil {
		t.Fatal(err, st)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("read took %v: it waited for the open transaction", time.Since(start))
	}
	var got []string
	for _, e := range st.entries {
		got = append(got, fmt.Sprintf("%s %d %q", e.Peer.Addr, e.Session.ASN, e.SysName))
	}
	want := []string{`invalid IP 0 "r1"`, `192.0.2.2 2 ""`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entries %q, want %q", got, want)
	}
	if st.later != 1 || st.bad != 3 || st.records != 9 || st.partition != 0 {
		t.Errorf("read %+v: want 9 records of partition 0, 1 later, 3 bad", st)
	}
	// Compaction keeps what a restore needs.
	c.Compact()
	t.Logf("read in %v", time.Since(start))
	if err := tx.EndTransaction(context.Background(), kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	st, err = l.read(ctx, stateInput, 0, 8)
	t.Logf("read after compaction in %v", time.Since(start))
	if err != nil || len(st.entries) != 2 {
		t.Fatalf("after compaction: %+v %v", st.entries, err)
	}
	// A timeout is a *StateError naming both partitions.
	l.Timeout = time.Nanosecond
	sd := l.track(BMPValues{}.NewDecoder(stateInput, 1), stateInput, 1).(*stateDecoder)
	err = l.restore(context.Background(), sd, 5)
	var se *StateError
	if !errors.As(err, &se) || se.Partition != 1 || !strings.Contains(err.Error(), stateInput+"/1 (before offset 5) from "+stateTopic) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("restore with a 1 ns bound: %v", err)
	}
}

// TestStateLogCreatesTopic: a restore of an input topic whose changelog
// does not exist yet creates it co-partitioned with the input.
func TestStateLogCreatesTopic(t *testing.T) {
	_, addr := stateCluster(t, 3)
	l := &StateLog{Topic: stateTopic, Client: []kgo.Opt{kgo.SeedBrokers(addr)}, ReplicationFactor: -1, Log: quiet()}
	st, err := l.read(context.Background(), stateInput, 2, 0)
	if err != nil || st.partition != 2 || len(st.entries) != 0 {
		t.Fatalf("read %+v %v", st, err)
	}
	td, err := kadm.NewClient(stateProducer(t, addr)).ListTopics(context.Background(), stateTopic)
	if err != nil || len(td[stateTopic].Partitions) != 3 {
		t.Fatalf("changelog created with %d partitions (%v), want the input's 3", len(td[stateTopic].Partitions), err)
	}
}

// recordLines renders each record of b with its elems: router name, AS
// path, path id, NoPeerUp and the rest, so that two decodings compare.
func recordLines(b *decode.Batch) map[int64]string {
	out := map[int64]string{}
	for i := range b.Records {
		r := &b.Records[i]
		out[r.Offset] += fmt.Sprintf("%d router=%q rip=%s status=%d;", r.Time, r.Router, r.RouterIP, r.Status)
	}
	for i := range b.Elems {
		e := b.Elems[i]
		r := &b.Records[b.ElemRecord[i]]
		path := ""
		if e.Attrs != nil {
			path = e.Attrs.ASPath.String() + fmt.Sprint(e.Attrs.Communities, e.Attrs.LargeCommunities)
		}
		e.Attrs = nil
		out[r.Offset] += fmt.Sprintf(" %+v path=%s;", e, path)
	}
	return out
}

// runSource reads records from src until it is at offset end of the
// input partition, completing the batches that end before offset done,
// and returns what the records decoded to and the completions of the
// other batches (undelivered, as at a crash). With settle, it then polls
// once more, which in exactly-once mode commits the last transaction.
func runSource(t *testing.T, src *KafkaSource, end, done int64, settle bool) (map[int64]string, []func(error)) {
	t.Helper()
	out := map[int64]string{}
	var undelivered []func(error)
	b := new(decode.Batch)
	deadline := time.Now().Add(30 * time.Second)
	for src.Position(stateInput, 0) < end {
		if time.Now().After(deadline) {
			t.Fatalf("at offset %d of %d after 30 s", src.Position(stateInput, 0), end)
		}
		b.Reset()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := src.Next(ctx, b)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for off, s := range recordLines(b) {
			out[off] = s
		}
		if b.Records[len(b.Records)-1].Offset < done {
			b.Finish(nil)
		} else {
			undelivered = append(undelivered, b.Done)
		}
	}
	if settle {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if err := src.Next(ctx, b); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("settling poll: %v", err)
		}
	}
	return out, undelivered
}

// TestKafkaSourceStateRestart runs the gobgpd recording (a real router's
// BMP session: Initiation with sysName, Peer Up, routes, a session reset;
// re-framed without a router group, so that the router name is the
// sysName) through a KafkaSource that stops in the middle — its last
// records, up to the Peer Down, decoded and their state changes written,
// but their outputs not delivered, so not committed — and a second one
// that resumes from the commit: every record it decodes is identical to an
// uninterrupted decoding, router name and NoPeerUp included (the restore
// ignored the Peer Down that came after the commit). At-least-once the
// changes after the commit are skipped by their source offset,
// exactly-once they are in a transaction that never commits.
func TestKafkaSourceStateRestart(t *testing.T) {
	for _, eos := range []bool{false, true} {
		t.Run(map[bool]string{false: "at-least-once", true: "exactly-once"}[eos], func(t *testing.T) { stateRestart(t, eos) })
	}
}

func stateRestart(t *testing.T, eos bool) {
	frames, _, err := kafkatest.ReadFrames(filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp"))
	if err != nil {
		t.Fatal(err)
	}
	// Re-framed without the router group; the uninterrupted decoding; the
	// Peer Down, and the cut a few records before it.
	var values [][]byte
	want := map[int64]string{}
	dec := BMPValues{}.NewDecoder(stateInput, 0)
	down := int64(-1)
	for i, f := range frames {
		h, hl, err := openbmp.DecodeHeader(f)
		if err != nil {
			t.Fatal(err)
		}
		h.RouterGroup = ""
		v := h.AppendTo(nil, f[hl:hl+h.BMPLen])
		values = append(values, v)
		b := new(decode.Batch)
		if err := dec.AppendTo(b, v, int64(i), time.Time{}); err != nil {
			t.Fatal(err)
		}
		want[int64(i)] = recordLines(b)[int64(i)]
		if f[hl+5] == byte(openbmp.MsgPeerDown) && down < 0 {
			down = int64(i)
		}
	}
	// The cut: the last route before the Peer Down from the Up peer (not
	// Loc-RIB, which has no Peer Up), so that it decodes as the session
	// says only if the restore ignores the Peer Down after it.
	cut := down - 1
	for cut > 0 && !strings.Contains(want[cut], "NoPeerUp:false") {
		cut--
	}
	if cut <= 2 || !strings.Contains(want[cut], `router="GoBGP"`) {
		t.Fatalf("no route of an Up peer of GoBGP before the Peer Down at %d", down)
	}
	_, addr := stateCluster(t, 1)
	prod := stateProducer(t, addr)
	produce := func(vs [][]byte) {
		var recs []*kgo.Record
		for _, v := range vs {
			recs = append(recs, &kgo.Record{Topic: stateInput, Partition: 0, Value: v})
		}
		if err := prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var restores, ignored atomic.Uint64
	newSource := func() *KafkaSource {
		l := &StateLog{Topic: stateTopic, Producer: prod, Client: []kgo.Opt{kgo.SeedBrokers(addr)}, Log: quiet(), Context: context.Background(),
			Counters: StateCounters{Restores: &restores, Ignored: &ignored}}
		o := KafkaOptions{Group: GroupOptions{Group: "g", Topics: []string{stateInput}, FetchMaxWait: 50 * time.Millisecond, SessionTimeout: 6 * time.Second},
			Format: BMPValues{}, State: l, Log: quiet()}
		if eos {
			o.TransactionalID = "state-test" // the restarted task keeps its id
			o.Producer = []kgo.Opt{kgo.RecordPartitioner(StatePartitioner(stateTopic, kgo.StickyKeyPartitioner(nil)))}
		}
		src, err := NewKafkaSource([]kgo.Opt{kgo.SeedBrokers(addr)}, o)
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	if _, err := EnsureStateTopic(context.Background(), kadm.NewClient(prod), stateTopic, 1, -1); err != nil {
		t.Fatal(err)
	}
	// First task: the records before the cut, delivered and committed;
	// then, in one poll, those up to the Peer Down, decoded but not
	// delivered.
	produce(values[:cut])
	a := newSource()
	runSource(t, a, cut, cut, eos)
	if !eos {
		// The commit waits for the state changes' acknowledgements too.
		if err := prod.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := a.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	produce(values[cut : down+1])
	_, undelivered := runSource(t, a, down+1, cut, false)
	if err := a.Client().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := prod.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, done := range undelivered {
		done(errors.New("the process dies")) // their outputs never arrive
	}
	a.Close() // the last transaction stays open

	if restores.Load() != 1 {
		t.Fatalf("%d restores by the first task, want 1", restores.Load())
	}
	// Second task: resumes at the commit and restores.
	produce(values[down+1:])
	b := newSource()
	defer b.Close()
	got, _ := runSource(t, b, int64(len(values)), int64(len(values)), false)

	for off := cut; off < int64(len(values)); off++ {
		if got[off] != want[off] {
			t.Errorf("offset %d after the restart:\n got %s\nwant %s", off, got[off], want[off])
		}
	}
	if _, ok := got[cut-1]; ok {
		t.Errorf("the second task decoded offset %d, before the commit", cut-1)
	}
	if restores.Load() != 2 {
		t.Errorf("%d restores, want 2", restores.Load())
	}
	if !eos && ignored.Load() == 0 {
		t.Error("the restore did not ignore the Peer Down made after the commit")
	}
	t.Logf("resumed at offset %d (Peer Down at %d); %d changelog records ignored", cut, down, ignored.Load())
}

// BenchmarkStateRestore restores an input partition whose changelog
// partition holds routers×10 peer sessions plus the routers' Initiations
// (each written twice, as a session that went up, down and up again
// leaves it before compaction), from the embedded broker. One op is one
// restore: client, offsets, reading, decoding and importing.
func BenchmarkStateRestore(b *testing.B) {
	for _, routers := range []int{100, 1000} {
		b.Run(fmt.Sprintf("routers=%d", routers), func(b *testing.B) {
			_, addr := stateCluster(b, 1)
			prod := stateProducer(b, addr, kgo.MaxBufferedRecords(1<<20))
			if _, err := EnsureStateTopic(context.Background(), kadm.NewClient(prod), stateTopic, 1, -1); err != nil {
				b.Fatal(err)
			}
			var recs []*kgo.Record
			for pass := range 2 {
				for r := range routers {
					rk := openbmp.RouterKey{byte(r), byte(r >> 8), 1}
					recs = append(recs, changelogRecord(b, 0, openbmp.StateEntry{Router: rk, SysName: fmt.Sprintf("router-%d.example", r)}, strconv.Itoa(pass)))
					for p := range 10 {
						e := openbmp.StateEntry{Router: rk, HasPeer: true, Peer: openbmp.PeerKey{Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(p)})},
							Session: openbmp.Session{In: decode.Options{AS4: true, AddPath: 1}, Out: decode.Options{AS4: true}, ASN: 64496}}
						recs = append(recs, changelogRecord(b, 0, e, strconv.Itoa(pass)))
					}
				}
			}
			if err := prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			l := &StateLog{Topic: stateTopic, Client: []kgo.Opt{kgo.SeedBrokers(addr)}, Log: quiet()}
			b.ReportAllocs()
			for b.Loop() {
				sd := l.track(BMPValues{}.NewDecoder(stateInput, 0), stateInput, 0).(*stateDecoder)
				if err := l.restore(context.Background(), sd, 10); err != nil {
					b.Fatal(err)
				}
				if sd.dec.Sessions() != routers*10 {
					b.Fatalf("%d sessions restored", sd.dec.Sessions())
				}
			}
			b.ReportMetric(float64(len(recs)), "records/op")
		})
	}
}

// TestStateWriteHoldsCommit: at-least-once, an input record's offset is
// not committed while the changelog write its decoding made is not
// acknowledged, even though its outputs are delivered.
func TestStateWriteHoldsCommit(t *testing.T) {
	values, _, err := kafkatest.ReadFrames(filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp"))
	if err != nil {
		t.Fatal(err)
	}
	c, addr := stateCluster(t, 1)
	in := stateProducer(t, addr)
	for _, v := range values[:3] { // Initiation, Peer Up, a route
		if err := in.ProduceSync(context.Background(), &kgo.Record{Topic: stateInput, Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := EnsureStateTopic(context.Background(), kadm.NewClient(in), stateTopic, 1, -1); err != nil {
		t.Fatal(err)
	}
	// Hold every produce from now on (the changelog writes: the test
	// produces no outputs) until released.
	release := make(chan struct{})
	var held atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		held.Add(1)
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})
	prod := stateProducer(t, addr)
	src, err := NewKafkaSource([]kgo.Opt{kgo.SeedBrokers(addr)}, KafkaOptions{
		Group:  GroupOptions{Group: "g", Topics: []string{stateInput}, FetchMaxWait: 50 * time.Millisecond},
		Format: BMPValues{}, Log: quiet(),
		State: &StateLog{Topic: stateTopic, Producer: prod, Client: []kgo.Opt{kgo.SeedBrokers(addr)}, Log: quiet(), Context: context.Background()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	runSource(t, src, 3, 3, false) // every batch delivered
	commit := func() int64 {
		t.Helper()
		if err := src.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		return src.Group().Committed()[stateInput][0]
	}
	for held.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if got := commit(); got != 0 {
		t.Fatalf("committed offset %d while the Initiation's changelog write is held", got)
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for commit() != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("committed %d after the changelog writes were released, want 3", commit())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStateRestoreFailureStops: a restore that cannot finish in time stops
// the source with a *StateError naming the partitions (the record is not
// dead-lettered, nothing is committed).
func TestStateRestoreFailureStops(t *testing.T) {
	values, _, err := kafkatest.ReadFrames(filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp"))
	if err != nil {
		t.Fatal(err)
	}
	_, addr := stateCluster(t, 1)
	in := stateProducer(t, addr)
	if err := in.ProduceSync(context.Background(), &kgo.Record{Topic: stateInput, Value: values[0]}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var dead atomic.Int32
	src, err := NewKafkaSource([]kgo.Opt{kgo.SeedBrokers(addr)}, KafkaOptions{
		Group:  GroupOptions{Group: "g", Topics: []string{stateInput}, FetchMaxWait: 50 * time.Millisecond},
		Format: BMPValues{}, Log: quiet(), SkipErrors: true,
		DeadLetter: func(context.Context, *kgo.Record, error, func(error)) { dead.Add(1) },
		State:      &StateLog{Topic: stateTopic, Producer: in, Client: []kgo.Opt{kgo.SeedBrokers(addr)}, Timeout: time.Nanosecond, Log: quiet()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = src.Next(ctx, new(decode.Batch))
	var se *StateError
	if !errors.As(err, &se) || se.Topic != stateInput || se.Partition != 0 || se.Offset != 0 || !strings.Contains(err.Error(), "task 0: restoring the BMP session state of openbmp.bmp_raw/0") {
		t.Fatalf("Next: %v, want a *StateError", err)
	}
	if dead.Load() != 0 {
		t.Error("the record was dead-lettered")
	}
	if err := src.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c, ok := src.Group().Committed()[stateInput][0]; ok {
		t.Errorf("committed %d after a failed restore", c)
	}
}
