package connector

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/archive"
	"github.com/bgp-connector/bgp-connector/bgpstream"
	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/internal/archivetest"
	"github.com/bgp-connector/bgp-connector/internal/demodata"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// backfillWindow is a window of the archive emulator's catalogue.
type backfillWindow struct {
	w          archive.Window
	collectors []string
}

var (
	bfWin2010 = backfillWindow{archive.Window{Start: time.Date(2010, 2, 27, 16, 0, 0, 0, time.UTC), End: time.Date(2010, 2, 27, 16, 20, 0, 0, time.UTC)},
		[]string{"rrc03", "rrc15"}}
	bfWin2015 = backfillWindow{archive.Window{Start: time.Date(2015, 4, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2015, 4, 1, 0, 14, 0, 0, time.UTC)},
		[]string{"rrc06", "route-views.jinx"}}
)

// backfillItems lists the window's dumps through the archive index of srv.
func backfillItems(t testing.TB, srv *archivetest.Server, ws ...backfillWindow) []ingest.WorkItem {
	t.Helper()
	idx, err := archive.NewArchiveIndex(archive.ArchiveOptions{RISBase: srv.RISBase(), RouteViewsBase: srv.RouteViewsBase()})
	if err != nil {
		t.Fatal(err)
	}
	var out []ingest.WorkItem
	for _, w := range ws {
		ds, err := idx.Find(context.Background(), archive.Query{Collectors: w.collectors, Windows: []archive.Window{w.w}})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			out = append(out, ingest.WorkItem{Dump: d, Windows: []archive.Window{w.w}})
		}
	}
	if len(out) == 0 {
		t.Fatal("no dumps in the windows")
	}
	return out
}

// readElems returns what bgpstream reads of the windows from srv (the read
// command's stream), as sorted elem lines.
func readElems(t testing.TB, srv *archivetest.Server, ws ...backfillWindow) []string {
	t.Helper()
	var out []string
	for _, w := range ws {
		s, err := bgpstream.New(bgpstream.DataInterface("archive"),
			bgpstream.DataInterfaceOption("archive", "ris-base", srv.RISBase()),
			bgpstream.DataInterfaceOption("archive", "routeviews-base", srv.RouteViewsBase()),
			bgpstream.Collectors(w.collectors...), bgpstream.Interval(w.w.Start, w.w.End))
		if err != nil {
			t.Fatal(err)
		}
		for b, err := range s.Batches(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			for i := range b.Elems {
				out = append(out, elemLine(&b.Records[b.ElemRecord[i]], &b.Elems[i]))
			}
		}
		s.Close()
	}
	sort.Strings(out)
	return out
}

// elemLine renders an elem's identity and content for comparison.
func elemLine(r *decode.Record, e *decode.Elem) string {
	path, prefix, state := "", "", ""
	if e.Attrs != nil {
		path = string(e.Attrs.ASPath.AppendText(nil))
	}
	if e.Prefix.IsValid() {
		prefix = e.Prefix.String()
	}
	if e.Type == decode.ElemPeerState {
		state = e.NewState.String()
	}
	return fmt.Sprintf("%s|%s|%s|%d|%d|%s|%s|%s|%s", emit.TypeOf(e.Type), r.Project, r.Collector, e.Time/1e6, e.PeerASN, e.PeerIP, prefix, path, state)
}

// outputLines reads the output topics and renders their elems as elemLine
// does, decoded with goavro from the .avsc files.
func outputLines(t testing.TB, addr string, topics [schema.NumTypes]string) []string {
	t.Helper()
	recs, err := kafkatest.ReadAll(context.Background(), []string{addr}, topics[:]...)
	if err != nil {
		t.Fatal(err)
	}
	byTopic := map[string]schema.Type{}
	for _, ty := range schema.Types() {
		byTopic[topics[ty]] = ty
	}
	var out []string
	for _, r := range recs {
		ty := byTopic[r.Topic]
		c, _ := ty.Codec()
		n, _, err := c.NativeFromSingle(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		m := n.(map[string]any)
		str := func(k string) string {
			switch v := m[k].(type) {
			case string:
				return v
			case map[string]any:
				return fmt.Sprint(v["string"])
			}
			return ""
		}
		var path []string
		if segs, ok := m["as_path"].([]any); ok {
			for _, s := range segs {
				seg := s.(map[string]any)
				var asns []string
				for _, a := range seg["asns"].([]any) {
					asns = append(asns, fmt.Sprint(a))
				}
				if seg["type"].(int32) == 1 {
					path = append(path, "{"+strings.Join(asns, ",")+"}")
				} else {
					path = append(path, strings.Join(asns, " "))
				}
			}
		}
		ts := m["time_us"].(time.Time).Unix()
		out = append(out, fmt.Sprintf("%s|%s|%s|%d|%d|%s|%s|%s|%s", ty, str("project"), str("collector"), ts, m["peer_asn"], str("peer_ip"),
			str("prefix"), strings.Join(path, " "), str("new_state")))
	}
	sort.Strings(out)
	return out
}

// TestBackfillMatchesRead backfills two windows over four collectors from
// the archive emulator through the embedded broker, with two backfill
// tasks, and checks that the output topics hold exactly the elems a read
// of the same windows yields, with their labels; then that queueing the
// same backfill again publishes nothing.
func TestBackfillMatchesRead(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	cluster, addr, err := StartEmbedded(0, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cfg := newConfig(t, "bootstrap.servers="+addr, "input.format=archive", "tasks.max=2", "backfill.partitions=4", "session.timeout.ms=6000", "offset.flush.interval.ms=50")
	items := backfillItems(t, srv, bfWin2010, bfWin2015)
	ctx := context.Background()
	plan, err := QueueBackfill(ctx, cfg, items, BackfillQueueOptions{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Queue) != len(items) {
		t.Fatalf("queued %d of %d", len(plan.Queue), len(items))
	}
	c := drainBackfill(t, cfg, addr, len(items))
	want := readElems(t, srv, bfWin2010, bfWin2015)
	got := outputLines(t, addr, c.Topics())
	if len(want) < 1000 || !slices.Equal(got, want) {
		t.Errorf("%d elems on the output topics, %d read", len(got), len(want))
		for i := 0; i < min(len(got), len(want)); i++ {
			if got[i] != want[i] {
				t.Errorf("first difference:\n got %s\nwant %s", got[i], want[i])
				break
			}
		}
	}
	var done int64
	for _, st := range c.BackfillStats() {
		done += st.ItemsDone
	}
	if done != int64(len(items)) {
		t.Errorf("%d items done, want %d", done, len(items))
	}
	rep, err := BackfillStatus(ctx, cfg, BackfillStatusOptions{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Items != len(items) || rep.Total.Done != len(items) || rep.Total.Elems != int64(len(want)) || len(rep.Collectors) != 4 || rep.Lag != 0 {
		t.Errorf("status %+v", rep)
	}
	again, err := QueueBackfill(ctx, cfg, items, BackfillQueueOptions{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Queue) != 0 || len(again.Done) != len(items) {
		t.Errorf("second queueing: %d queued, %d done", len(again.Queue), len(again.Done))
	}
}

// ribEntry is the route-views2 RIB of the emulator's catalogue, serving
// data instead (nil: the corpus slice).
func ribEntry(t testing.TB, data []byte) archivetest.Entry {
	t.Helper()
	e, ok := archivetest.Find("bgpdata/2014.05/RIBS/rib.20140523.0600.bz2")
	if !ok {
		t.Fatal("no route-views2 RIB in the catalogue")
	}
	e.Data = data
	return e
}

var ribWindow = backfillWindow{archive.Window{Start: time.Date(2014, 5, 23, 6, 0, 0, 0, time.UTC), End: time.Date(2014, 5, 23, 6, 1, 0, 0, time.UTC)},
	[]string{"route-views2"}}

// backfillSetup starts the embedded broker and the emulator serving
// entries, queues the windows' dumps, and returns the broker address, the
// configuration (sets added) and the items.
func backfillSetup(t *testing.T, entries []archivetest.Entry, ws []backfillWindow, sets ...string) (string, *Config, []ingest.WorkItem, *archivetest.Server) {
	t.Helper()
	srv := archivetest.New(t, archivetest.Options{Entries: entries})
	cluster, addr, err := StartEmbedded(0, 1, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	cfg := newConfig(t, append([]string{"bootstrap.servers=" + addr, "input.format=archive", "backfill.partitions=1",
		"session.timeout.ms=6000", "offset.flush.interval.ms=50", "errors.tolerance=all"}, sets...)...)
	items := backfillItems(t, srv, ws...)
	if _, err := QueueBackfill(context.Background(), cfg, items, BackfillQueueOptions{Brokers: []string{addr}}); err != nil {
		t.Fatal(err)
	}
	return addr, cfg, items, srv
}

// drainBackfill runs a connector until n work items are done, and returns
// it.
func drainBackfill(t *testing.T, cfg *Config, addr string, n int) *Connector {
	t.Helper()
	c, err := New(cfg, testLog(t), WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunUntilDrained(context.Background(), uint64(n), time.Minute); err != nil {
		t.Fatal(err)
	}
	return c
}

// startBackfillConnector runs a connector until stop is called (a graceful
// shutdown), returning it.
func startBackfillConnector(t *testing.T, cfg *Config, addr string) (*Connector, func() error) {
	t.Helper()
	c, err := New(cfg, testLog(t), WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-errc
	}
	t.Cleanup(func() { stop() })
	return c, stop
}

// outputValues returns each distinct output value with its count (a value
// holds the elem's time, peer, prefix, dump URL and record offset: two
// equal values are one elem published twice).
func outputValues(t testing.TB, addr string, topics [schema.NumTypes]string) (map[string]int, int) {
	t.Helper()
	recs, err := kafkatest.ReadAll(context.Background(), []string{addr}, topics[:]...)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, r := range recs {
		m[string(r.Value)]++
	}
	return m, len(recs)
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBackfillStopResumes stops a connector (gracefully) in the middle of a
// RIB and starts another: it resumes at the final checkpoint the first one
// wrote, so that every elem is published exactly once; meanwhile a task
// never runs more than backfill.checkpoint.elems past its last durable
// checkpoint.
func TestBackfillStopResumes(t *testing.T) {
	for _, eos := range []bool{false, true} {
		t.Run(fmt.Sprint("exactly-once=", eos), func(t *testing.T) { backfillStopResumes(t, eos) })
	}
}

func backfillStopResumes(t *testing.T, eos bool) {
	const ckpt = 10000
	sets := []string{"backfill.checkpoint.elems=" + fmt.Sprint(ckpt), "backfill.checkpoint.interval.ms=100"}
	if eos {
		sets = append(sets, "exactly.once.support=required")
	}
	addr, cfg, _, _ := backfillSetup(t, []archivetest.Entry{ribEntry(t, nil)}, []backfillWindow{ribWindow}, sets...)
	a, stopA := startBackfillConnector(t, cfg, addr)
	var maxLag int64
	waitUntil(t, "first connector half way", time.Minute, func() bool {
		st := backfillTotals(a)
		maxLag = max(maxLag, st.CheckpointLag)
		return st.Elems >= 100000
	})
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	first := backfillTotals(a)
	if first.ItemsDone != 0 || first.Elems >= 270005 {
		t.Fatalf("first connector finished the dump before it was stopped: %+v", first)
	}
	b := drainBackfill(t, cfg, addr, 1)
	second := backfillTotals(b)
	if second.Resumes != 1 || second.ItemsDone != 1 || second.Republished != 0 {
		t.Errorf("second connector: %+v", second)
	}
	if first.Elems+second.Elems != 270005 {
		t.Errorf("%d + %d elems published, want 270005", first.Elems, second.Elems)
	}
	var vals map[string]int
	var n int
	if !eos {
		vals, n = outputValues(t, addr, b.Topics())
	} else {
		topics := b.Topics()
		recs, err := kafkatest.ReadCommitted(context.Background(), []string{addr}, time.Second, topics[:]...)
		if err != nil {
			t.Fatal(err)
		}
		vals, n = map[string]int{}, len(recs)
		for _, r := range recs {
			vals[string(r.Value)]++
		}
	}
	if n != 270005 || len(vals) != n {
		t.Errorf("%d output records, %d distinct; want 270005 once each", n, len(vals))
	}
	if maxLag > ckpt {
		t.Errorf("checkpoint lag reached %d elems, bound %d", maxLag, ckpt)
	}
	if first.Checkpoints < 100000/ckpt {
		t.Errorf("%d checkpoints for %d elems", first.Checkpoints, first.Elems)
	}
}

// dumpRecords decodes a dump with ingest.FileSource and returns its
// records' offsets and the elems of each.
func dumpRecords(t testing.TB, data []byte, name string) (offsets []int64, elems []int) {
	t.Helper()
	fs, err := ingest.NewFileSource(bytes.NewReader(data), ingest.FileOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	b := new(decode.Batch)
	for {
		b.Reset()
		err := fs.Next(context.Background(), b)
		for ri := range b.Records {
			from, to := b.RecordElems(int32(ri), 0)
			offsets, elems = append(offsets, b.Records[ri].Offset), append(elems, to-from)
		}
		if errors.Is(err, io.EOF) {
			return offsets, elems
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestBackfillResumesCheckpoint: a task that finds a checkpoint written by
// a reader that stopped without a final one (a crash) publishes only the
// records at or after its offset, and counts as republished the elems below
// the checkpoint's reach.
func TestBackfillResumesCheckpoint(t *testing.T) {
	e := ribEntry(t, nil)
	data := archivetest.Bytes(t, e.Source)
	offsets, elems := dumpRecords(t, data, "rib")
	const at, slack = 4000, 7000
	var before int
	for _, n := range elems[:at] {
		before += n
	}
	addr, cfg, items, _ := backfillSetup(t, []archivetest.Entry{e}, []backfillWindow{ribWindow})
	st := ingest.BackfillState{URL: items[0].URL, Status: ingest.StateRunning, Offset: offsets[at], Elems: int64(before),
		Reach: int64(before + slack), Records: at, Task: "crashed/0", Time: time.Now()}
	if err := kafkatest.Produce(context.Background(), []string{addr}, cfg.BackfillStateTopic,
		[][]byte{ingest.EncodeState(&st)}, [][]byte{[]byte(st.URL)}); err != nil {
		t.Fatal(err)
	}
	c := drainBackfill(t, cfg, addr, 1)
	tot := backfillTotals(c)
	if tot.Resumes != 1 || tot.ItemsDone != 1 || tot.Republished != slack || tot.Elems != int64(270005-before) {
		t.Errorf("after resuming at record %d (offset %d, %d elems before): %+v", at, offsets[at], before, tot)
	}
	vals, n := outputValues(t, addr, c.Topics())
	if n != 270005-before || len(vals) != n {
		t.Errorf("%d output records (%d distinct), want %d", n, len(vals), 270005-before)
	}
	rep, err := BackfillStatus(context.Background(), cfg, BackfillStatusOptions{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Done != 1 || rep.Total.Elems != 270005 {
		t.Errorf("status %+v", rep.Total)
	}
}

// TestBackfillExactlyOnce runs a RIB in transactions of at most
// backfill.checkpoint.elems elems, each with its checkpoint: a
// read_committed reader sees every elem once and the dump done.
func TestBackfillExactlyOnce(t *testing.T) {
	const ckpt = 20000
	addr, cfg, _, _ := backfillSetup(t, []archivetest.Entry{ribEntry(t, nil)}, []backfillWindow{ribWindow},
		"exactly.once.support=required", "backfill.checkpoint.elems="+fmt.Sprint(ckpt))
	c := drainBackfill(t, cfg, addr, 1)
	tot := backfillTotals(c)
	if tot.ItemsDone != 1 || tot.Elems != 270005 || c.Stats.Commits.Load() < 270005/ckpt {
		t.Errorf("%+v, %d transactions", tot, c.Stats.Commits.Load())
	}
	topics := c.Topics()
	recs, err := kafkatest.ReadCommitted(context.Background(), []string{addr}, time.Second, topics[:]...)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		seen[string(r.Value)] = true
	}
	if len(recs) != 270005 || len(seen) != len(recs) {
		t.Errorf("%d committed output records, %d distinct; want 270005", len(recs), len(seen))
	}
}

// TestBackfillGaps: a dump with a damaged region is read past it; the gap
// is counted, recorded with the dump's state, and the elems are those a
// file read of the same bytes yields.
func TestBackfillGaps(t *testing.T) {
	e, ok := archivetest.Find("rrc15/2010.02/updates.20100227.1600.gz")
	if !ok {
		t.Fatal("no rrc15 dump")
	}
	gz := archivetest.Bytes(t, e.Source)
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	offsets, _ := dumpRecords(t, plain, "plain")
	cut := offsets[len(offsets)/2]
	damaged := append(append(append([]byte(nil), plain[:cut]...), bytes.Repeat([]byte{0xee}, 300)...), plain[cut:]...)
	_, elems := dumpRecords(t, damaged, "damaged")
	var want int
	for _, n := range elems {
		want += n
	}
	e.Data = damaged
	w := backfillWindow{archive.Window{Start: e.Start, End: e.End()}, []string{"rrc15"}}
	addr, cfg, items, _ := backfillSetup(t, []archivetest.Entry{e}, []backfillWindow{w})
	if len(items) != 1 {
		t.Fatalf("%d items", len(items))
	}
	c := drainBackfill(t, cfg, addr, 1)
	tot := backfillTotals(c)
	if tot.Gaps != 1 || tot.BytesSkipped < 300 || tot.ItemsDone != 1 {
		t.Errorf("%+v", tot)
	}
	_, n := outputValues(t, addr, c.Topics())
	if n != want || want == 0 {
		t.Errorf("%d elems published, %d read from the same bytes", n, want)
	}
	rep, err := BackfillStatus(context.Background(), cfg, BackfillStatusOptions{Brokers: []string{addr}})
	if err != nil || rep.Total.Done != 1 {
		t.Fatalf("status %+v %v", rep, err)
	}
}

// TestBackfillToleranceNone: under errors.tolerance=none a dump that
// cannot be fetched stops the connector with its URL and cause; the item is
// neither committed nor recorded as failed, so a restart tries it again.
func TestBackfillToleranceNone(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	cluster, addr, err := StartEmbedded(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cfg := newConfig(t, "bootstrap.servers="+addr, "input.format=archive", "backfill.partitions=1", "errors.tolerance=none")
	missing := srv.URL() + "/ris/rrc03/2010.02/updates.20100227.1605.gz"
	it := ingest.WorkItem{Dump: archive.Dump{URL: missing, Project: "ris", Collector: "rrc03", Type: "updates",
		Start: time.Date(2010, 2, 27, 16, 5, 0, 0, time.UTC), Duration: 5 * time.Minute}}
	ctx := context.Background()
	if _, err := QueueBackfill(ctx, cfg, []ingest.WorkItem{it}, BackfillQueueOptions{Brokers: []string{addr}}); err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg, testLog(t), WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	err = c.RunUntilDrained(ctx, 1, time.Minute)
	if err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, archive.ErrNotPublished) || !strings.Contains(err.Error(), "errors.tolerance=none") {
		t.Fatalf("connector error %v", err)
	}
	if got := committedOffsets(t, addr, cfg.BackfillGroup(), cfg.BackfillTopic); got[0] != 0 {
		t.Errorf("committed %v", got)
	}
	rep, err := BackfillStatus(ctx, cfg, BackfillStatusOptions{Brokers: []string{addr}})
	if err != nil || rep.Total.Items != 1 || rep.Total.Waiting != 1 {
		t.Errorf("status %+v %v", rep.Total, err)
	}
}

// TestBackfillBesideOpenBMP runs one process with an OpenBMP input task and
// a backfill task (backfill.tasks=1): both inputs reach the same output
// topics with their own labels, and the backfill task's metrics say what it
// did.
func TestBackfillBesideOpenBMP(t *testing.T) {
	e, ok := archivetest.Find("rrc06/2015.04/updates.20150401.0000.gz")
	if !ok {
		t.Fatal("no rrc06 dump")
	}
	w := backfillWindow{archive.Window{Start: e.Start, End: e.End()}, []string{"rrc06"}}
	addr, cfg, items, _ := backfillSetup(t, []archivetest.Entry{e}, []backfillWindow{w},
		"input.format=openbmp", "backfill.tasks=1", "metrics.listen=127.0.0.1:0")
	values, keys, err := kafkatest.Frames(bytes.NewReader(demodata.GoBGP), "gobgp")
	if err != nil {
		t.Fatal(err)
	}
	if err := kafkatest.Produce(context.Background(), []string{addr}, cfg.Topics[0], values, keys); err != nil {
		t.Fatal(err)
	}
	c, stop := startBackfillConnector(t, cfg, addr)
	waitUntil(t, "both inputs drained", time.Minute, func() bool { return c.Drained(uint64(len(values) + len(items))) })
	got := outputLines(t, addr, c.Topics())
	projects := map[string]int{}
	for _, l := range got {
		projects[strings.Split(l, "|")[1]]++
	}
	if projects["openbmp"] == 0 || projects["ris"] != 1561 {
		t.Errorf("elems by project: %v (want the gobgpd recording's and rrc06's 1561)", projects)
	}
	mfs := scrape(t, c.MetricsAddr())
	for _, m := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bgp_connector_backfill_items_total", []string{"task", "1", "result", "done"}, 1},
		{"bgp_connector_backfill_items_in_flight", []string{"task", "1"}, 0},
		{"bgp_connector_backfill_elems_total", []string{"task", "1"}, 1561},
		{"bgp_connector_backfill_fetched_bytes_total", []string{"task", "1"}, float64(len(archivetest.Bytes(t, e.Source)))},
		{"bgp_connector_backfill_checkpoint_lag_elems", []string{"task", "1"}, 0},
		{"bgp_connector_backfill_republished_elems_total", []string{"task", "1"}, 0},
		{"bgp_connector_assigned_partitions", []string{"task", "1"}, 1},
	} {
		if v, ok := value(mfs, m.name, m.labels...); !ok || v != m.want {
			t.Errorf("%s%v = %v (%v), want %v", m.name, m.labels, v, ok, m.want)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestBackfillDeadLettersBothModes: an undecodable work item and one whose
// dump answers 404 go to the dead letter topic (in exactly-once mode inside
// transactions, with the failed state), with the stage and class of their
// failure, and both are committed.
func TestBackfillDeadLettersBothModes(t *testing.T) {
	for _, eos := range []bool{false, true} {
		t.Run(fmt.Sprint("exactly-once=", eos), func(t *testing.T) {
			srv := archivetest.New(t, archivetest.Options{})
			cluster, addr, err := StartEmbedded(0, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Close()
			sets := []string{"bootstrap.servers=" + addr, "input.format=archive", "backfill.partitions=1",
				"errors.tolerance=all", "errors.deadletterqueue.topic.name=bgp.dlq", "offset.flush.interval.ms=50"}
			if eos {
				sets = append(sets, "exactly.once.support=required")
			}
			cfg := newConfig(t, sets...)
			missing := ingest.WorkItem{Dump: archive.Dump{URL: srv.URL() + "/ris/rrc03/2010.02/updates.20100227.1605.gz", Project: "ris",
				Collector: "rrc03", Type: "updates", Start: time.Date(2010, 2, 27, 16, 5, 0, 0, time.UTC), Duration: 5 * time.Minute}}
			ctx := context.Background()
			if _, err := QueueBackfill(ctx, cfg, []ingest.WorkItem{missing}, BackfillQueueOptions{Brokers: []string{addr}}); err != nil {
				t.Fatal(err)
			}
			if err := kafkatest.Produce(ctx, []string{addr}, cfg.BackfillTopic, [][]byte{[]byte("not avro")}, [][]byte{[]byte("garbage")}); err != nil {
				t.Fatal(err)
			}
			c := drainBackfill(t, cfg, addr, 2)
			recs, err := kafkatest.ReadCommitted(ctx, []string{addr}, time.Second, "bgp.dlq")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range recs {
				h := map[string]string{}
				for _, x := range r.Headers {
					h[x.Key] = string(x.Value)
				}
				got[string(r.Key)] = h["__connect.errors.stage"] + " " + h["__connect.errors.class.name"]
			}
			want := map[string]string{"garbage": "VALUE_CONVERTER ingest.WorkItem", missing.URL: "TASK_POLL archive.Fetcher"}
			if len(got) != 2 || got["garbage"] != want["garbage"] || got[missing.URL] != want[missing.URL] {
				t.Errorf("dead letters %v, want %v", got, want)
			}
			if n := c.Stats.DeadLetters.Load(); n != 2 {
				t.Errorf("%d dead letters counted", n)
			}
			if got := committedOffsets(t, addr, cfg.BackfillGroup(), cfg.BackfillTopic); got[0] != 2 {
				t.Errorf("committed %v, want both items", got)
			}
			rep, err := BackfillStatus(ctx, cfg, BackfillStatusOptions{Brokers: []string{addr}})
			if err != nil || rep.Total.Failed != 1 {
				t.Errorf("status %+v %v", rep.Total, err)
			}
		})
	}
}
