package connector

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/internal/demodata"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
	"github.com/bgp-connector/bgp-connector/schema"
)

// TestStateConfig: the changelog topic's default and overrides, the input
// formats that keep state, and the topics it must not share.
func TestStateConfig(t *testing.T) {
	for _, c := range []struct {
		sets []string
		want string
	}{
		{nil, "bgp.elems.bmp.state"},
		{[]string{"input.format=bmp", "output.topic.prefix=x"}, "x.bmp.state"},
		{[]string{"bmp.state.topic=routers.state"}, "routers.state"},
		{[]string{"input.format=mrt"}, ""},
		{[]string{"bmp.state.enable=false"}, ""},
	} {
		cfg := newConfig(t, c.sets...)
		if got := cfg.StateTopic(); got != c.want {
			t.Errorf("%v: state topic %q, want %q", c.sets, got, c.want)
		}
	}
	if cfg := newConfig(t); cfg.BMPStateRestoreTimeout != 30*time.Second || !cfg.BMPState {
		t.Errorf("defaults: %v %v", cfg.BMPState, cfg.BMPStateRestoreTimeout)
	}
	for _, c := range []struct{ sets, want string }{
		{"bmp.state.topic=openbmp.bmp_raw", "also an input, output, dead letter or backfill topic"},
		{"bmp.state.topic=bgp.elems.announcements", "also an input, output, dead letter or backfill topic"},
		{"bmp.state.topic=bgp.backfill", "also an input, output, dead letter or backfill topic"},
		{"backfill.state.topic=s bmp.state.topic=s", "also an input, output, dead letter or backfill topic"},
		{"topics.regex=.*", "matched by topics.regex"},
		{"bmp.state.topic=a/b", "not a valid Kafka topic name"},
		{"bmp.state.restore.timeout.ms=10", "out of range"},
	} {
		s, _ := SetSettings(strings.Split(c.sets, " "))
		_, err := NewConfig(s)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bmp.state") {
			t.Errorf("%s: %v, want an error saying %q", c.sets, err, c.want)
		}
	}
	// The MRT input keeps no state: its changelog name is not checked.
	if _, err := NewConfig([]Setting{{Key: "input.format", Value: "mrt"}, {Key: "topics.regex", Value: ".*"}}); err != nil {
		t.Errorf("mrt with topics.regex=.*: %v", err)
	}
	var b strings.Builder
	WriteExample(&b)
	for _, k := range []string{"bmp.state.enable=true", "#bmp.state.topic=", "bmp.state.restore.timeout.ms=30000"} {
		if !strings.Contains(b.String(), k) {
			t.Errorf("run --print-config lacks %s", k)
		}
	}
}

// routerValues returns a recording's OpenBMP messages framed without a
// router group (so that the router name is the Initiation's sysName), with
// their keys (router hashes).
func routerValues(t testing.TB, rec []byte) (values, keys [][]byte) {
	t.Helper()
	frames, _, err := kafkatest.Frames(bytes.NewReader(rec), "recording")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		h, hl, err := openbmp.DecodeHeader(f)
		if err != nil {
			t.Fatal(err)
		}
		h.RouterGroup = ""
		values = append(values, h.AppendTo(nil, f[hl:hl+h.BMPLen]))
		keys = append(keys, []byte(hex.EncodeToString(h.RouterHash[:])))
	}
	return values, keys
}

// stateOutputLines returns every output record of the topics under prefix as
// "suffix key value" strings, sorted.
func stateOutputLines(t testing.TB, addr, prefix string) []string {
	t.Helper()
	var topics []string
	for _, ty := range schema.Types() {
		topics = append(topics, prefix+"."+ty.Suffix())
	}
	recs, err := kafkatest.ReadAll(context.Background(), []string{addr}, topics...)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s %x %x", strings.TrimPrefix(r.Topic, prefix), r.Key, r.Value))
	}
	slices.Sort(out)
	return out
}

// TestStateThroughKafka runs two real routers' sessions (the gobgpd and
// FRR recordings) through a connector that stops half way and a second one
// that takes over: the changelog is created compacted and co-partitioned
// with the input, holds each router's state in its input partition, the
// second connector restores it, and the outputs of both together are byte
// for byte those of one uninterrupted run (router names from the sysName,
// NoPeerUp flags and AS paths included).
func TestStateThroughKafka(t *testing.T) {
	const topic = "openbmp.bmp_raw"
	var values, keys [][]byte
	for _, rec := range [][]byte{demodata.GoBGP, demodata.FRR} {
		v, k := routerValues(t, rec)
		values, keys = append(values, v...), append(keys, k...)
	}
	cluster, addr, err := StartEmbedded(0, 3, topic)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx := context.Background()
	// Half of each router's messages, then the rest.
	var first, second []int
	seen := map[string]int{}
	for i, k := range keys {
		seen[string(k)]++
		if seen[string(k)] <= 20 {
			first = append(first, i)
		} else {
			second = append(second, i)
		}
	}
	produce := func(idx []int) {
		var vs, ks [][]byte
		for _, i := range idx {
			vs, ks = append(vs, values[i]), append(ks, keys[i])
		}
		if err := kafkatest.Produce(ctx, []string{addr}, topic, vs, ks); err != nil {
			t.Fatal(err)
		}
	}
	run := func(n int, sets ...string) *Connector {
		t.Helper()
		c, err := New(newConfig(t, append([]string{"topics=" + topic, "tasks.max=2"}, sets...)...), testLog(t), WithBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.RunUntilDrained(ctx, uint64(n), time.Minute); err != nil {
			t.Fatal(err)
		}
		return c
	}
	produce(first)
	a := run(len(first))
	produce(second)
	b := run(len(second))
	base := run(len(values), "group.id=uninterrupted", "output.topic.prefix=base", "bmp.state.enable=false")

	got, want := stateOutputLines(t, addr, "bgp.elems"), stateOutputLines(t, addr, "base")
	if !slices.Equal(got, want) {
		t.Errorf("%d outputs over the restart, %d in the uninterrupted run", len(got), len(want))
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("first difference:\n got %s\nwant %s", got[i], want[i])
			}
		}
	}
	if b.Stats.BMPState.Restores.Load() == 0 || b.Stats.BMPState.Entries.Load() < 3 {
		t.Errorf("the second connector restored %d partitions, %d entries", b.Stats.BMPState.Restores.Load(), b.Stats.BMPState.Entries.Load())
	}
	if base.Stats.BMPState.Writes.Load() != 0 {
		t.Errorf("bmp.state.enable=false wrote %d changelog records", base.Stats.BMPState.Writes.Load())
	}

	// The changelog: compacted, co-partitioned, each record in the
	// partition of its router's input records.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	const st = "bgp.elems.bmp.state"
	td, err := adm.ListTopics(ctx, st)
	if err != nil || len(td[st].Partitions) != 3 {
		t.Fatalf("changelog %+v %v, want 3 partitions", td[st], err)
	}
	rc, err := adm.DescribeTopicConfigs(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := rc.On(st, nil); err != nil || !slices.ContainsFunc(r.Configs, func(c kadm.Config) bool {
		return c.Key == "cleanup.policy" && c.Value != nil && *c.Value == "compact"
	}) {
		t.Errorf("changelog configs %+v %v", r.Configs, err)
	}
	inputs, err := kafkatest.ReadAll(ctx, []string{addr}, topic)
	if err != nil {
		t.Fatal(err)
	}
	partOf := map[string]int32{}
	for _, r := range inputs {
		partOf[string(r.Key)] = r.Partition
	}
	recs, err := kafkatest.ReadAll(ctx, []string{addr}, st)
	if err != nil {
		t.Fatal(err)
	}
	if n := a.Stats.BMPState.Writes.Load() + b.Stats.BMPState.Writes.Load(); int(n) != len(recs) || n < 6 {
		t.Errorf("%d changelog records, the connectors wrote %d", len(recs), n)
	}
	for _, r := range recs {
		f := strings.SplitN(string(r.Key), "/", 4)
		if len(f) < 3 || f[0] != topic || f[1] != fmt.Sprint(r.Partition) || partOf[f[2]] != r.Partition {
			t.Errorf("changelog record %q in partition %d; its router's input is in partition %d", r.Key, r.Partition, partOf[f[2]])
		}
		if !slices.ContainsFunc(r.Headers, func(h kgo.RecordHeader) bool { return h.Key == ingest.SourceOffsetHeader }) {
			t.Errorf("changelog record %q has no source offset", r.Key)
		}
	}
}

// BenchmarkEndToEndState is BenchmarkEndToEnd (one task) with the BMP
// session state kept (the default) and not: the cost of the changelog on
// the data path.
func BenchmarkEndToEndState(b *testing.B) {
	for _, on := range []string{"true", "false"} {
		b.Run("bmp.state.enable="+on, func(b *testing.B) {
			var elems uint64
			var secs float64
			for b.Loop() {
				res, err := Bench(context.Background(), BenchOptions{
					Data: benchData(b), Repeat: 8, Partitions: 6, Tasks: 1, Sets: []string{"bmp.state.enable=" + on},
					Log: slog.New(slog.DiscardHandler),
				})
				if err != nil {
					b.Fatal(err)
				}
				elems += res.Elems
				secs += res.Duration.Seconds()
			}
			b.ReportMetric(float64(elems)/secs, "elems/s")
		})
	}
}
