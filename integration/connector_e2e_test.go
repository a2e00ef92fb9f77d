package integration

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/emit/emittest"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
	"github.com/bgp-connector/bgp-connector/schema"
)

// obmpInput is OpenBMP input with keys (router hashes).
type obmpInput struct {
	values, keys [][]byte
}

// wrapStream frames a raw BMP stream file with the project's OpenBMP writer,
// one v1.7 message per BMP message, as a collector would publish it.
func wrapStream(t testing.TB, in *obmpInput, path string, routerIP netip.Addr) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sr := openbmp.NewStreamReader(f, openbmp.KindBMP)
	name := strings.TrimSuffix(filepath.Base(path), ".bmp")
	h := openbmp.Header{ObjectType: openbmp.ObjectBMPRaw, AdminID: "pmacct-corpus", RouterIP: routerIP, RouterGroup: name, CollectedAt: 1700000000000000}
	h.RouterHash = md5.Sum([]byte(name))
	h.CollectorHash = md5.Sum([]byte(h.AdminID))
	for i := 0; ; i++ {
		fr, err := sr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A capture cut mid-message: keep what came before.
			t.Logf("%s: %v (kept %d messages)", name, err, i)
			break
		}
		h.CollectedAt += 1000
		in.values = append(in.values, h.AppendTo(nil, fr))
		in.keys = append(in.keys, []byte(hex.EncodeToString(h.RouterHash[:])))
	}
}

func realOpenBMPInput(t testing.TB) *obmpInput {
	t.Helper()
	in := &obmpInput{}
	vals, keys, err := kafkatest.ReadFrames(filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp"))
	if err != nil {
		t.Fatal(err)
	}
	in.values, in.keys = vals, keys
	for _, name := range []string{"linx_route_monitoring.obmp", "routeviews2_peer_down.obmp", "routeviews5_peer_down.obmp"} {
		b, err := os.ReadFile(connRealData(t, filepath.Join("openbmp", name)))
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := openbmp.DecodeHeader(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		in.values = append(in.values, b)
		in.keys = append(in.keys, []byte(hex.EncodeToString(h.RouterHash[:])))
	}
	for i, name := range []string{
		"200-BMP-HUAWEI-locrib_instance.traffic-00.bmp",
		"201-BMP-CISCO-rd_instance.traffic-00.bmp",
		"204-BMP-CISCO-peer_down.traffic-00.bmp",
		"205-BMP-6wind-FRR-peer_down.traffic-00.bmp",
		"206-BMP-high-availability.traffic-00.bmp",
		"403-IPFIXv10-BMP-IPv6-CISCO-locrib-peerdown-vrf.traffic-00.bmp",
	} {
		wrapStream(t, in, connRealData(t, filepath.Join("pmacct", "streams", name)), netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}))
	}
	return in
}

// canon is a comparable rendering of a goavro native value.
func canon(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(normTimes(v))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func normTimes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, u := range x {
			out[k] = normTimes(u)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, u := range x {
			out[i] = normTimes(u)
		}
		return out
	case time.Time:
		return x.UnixMicro()
	case int32:
		return int64(x)
	}
	return v
}

func statNative(rec *openbmp.Result, s *decode.Stat, src emittest.Source) map[string]any {
	opt := func(a netip.Addr) any {
		if !a.IsValid() {
			return nil
		}
		return map[string]any{"string": a.String()}
	}
	var afi, safi any
	if s.AFI != 0 {
		afi, safi = map[string]any{"int": int64(s.AFI)}, map[string]any{"int": int64(s.SAFI)}
	}
	return map[string]any{
		"time_us": s.Time, "record_time_us": rec.Record.Time, "project": rec.Record.Project,
		"collector": rec.Record.Collector, "router": rec.Record.Router, "router_ip": opt(rec.Record.RouterIP),
		"peer_ip": opt(s.PeerIP), "peer_asn": int64(s.PeerASN),
		"bmp_peer_type":          map[string]any{"string": emittest.PeerTypeName(s.PeerType)},
		"bmp_peer_distinguisher": int64(s.PeerDistinguisher), "stat_type": int64(s.Type),
		"stat_name": decode.StatName(s.Type), "afi": afi, "safi": safi, "value": int64(s.Value),
		"source_topic": src.Topic, "source_partition": int64(src.Partition), "source_offset": src.Offset,
	}
}

// TestConnectorRealData runs real OpenBMP data (a gobgpd recording, the
// RouteViews/LINX samples, and Cisco/Huawei/FRR captures framed with the
// OpenBMP writer) through the connector on the embedded broker, decodes
// every output with goavro from the .avsc files, and compares, type by type
// and input record by input record, with what openbmp decodes directly.
func TestConnectorRealData(t *testing.T) {
	in := realOpenBMPInput(t)
	const topic = "openbmp.bmp_raw"
	cluster, addr, err := connector.StartEmbedded(0, 6, topic)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	pos := produceAt(t, addr, topic, in.values, in.keys)

	set, _ := connector.SetSettings([]string{"tasks.max=2", "errors.tolerance=all", "errors.deadletterqueue.topic.name=bgp.dlq", "topic.creation.default.partitions=4"})
	cfg, err := connector.NewConfig(set)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connector.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), connector.WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunUntilDrained(context.Background(), uint64(len(in.values)), 2*time.Minute); err != nil {
		t.Fatal(err)
	}

	// Expected: decode each partition's records in offset order with one
	// Decoder per partition, as the connector keeps its sessions.
	type key struct {
		ty  schema.Type
		pos connPos
	}
	want := map[key][]string{}
	wantDLQ := map[connPos]bool{}
	order := make([]int, len(in.values))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		pa, pb := pos[order[a]], pos[order[b]]
		return pa.Partition < pb.Partition || pa.Partition == pb.Partition && pa.Offset < pb.Offset
	})
	decs := map[int32]*openbmp.Decoder{}
	var res openbmp.Result
	counts := map[schema.Type]int{}
	for _, i := range order {
		p := pos[i]
		d := decs[p.Partition]
		if d == nil {
			d = openbmp.NewDecoder()
			decs[p.Partition] = d
		}
		src := emittest.Source{Topic: topic, Partition: p.Partition, Offset: p.Offset}
		if err := d.Decode(in.values[i], &res); err != nil {
			wantDLQ[p] = true
			continue
		}
		for j := range res.Elems {
			el := &res.Elems[j]
			ty := emit.TypeOf(el.Type)
			want[key{ty, p}] = append(want[key{ty, p}], canon(t, emittest.Elem(&res.Record, el, src)))
			counts[ty]++
		}
		for j := range res.Stats {
			want[key{schema.Stats, p}] = append(want[key{schema.Stats, p}], canon(t, statNative(&res, &res.Stats[j], src)))
			counts[schema.Stats]++
		}
	}
	for _, ty := range []schema.Type{schema.Announcements, schema.Withdrawals, schema.PeerStates, schema.Stats} {
		if counts[ty] == 0 {
			t.Errorf("the real input yields no %s: the test would not cover them", ty)
		}
	}

	got := map[key][]string{}
	topics := c.Topics()
	recs, err := kafkatest.ReadAll(context.Background(), []string{addr}, append(topics[:], "bgp.dlq")...)
	if err != nil {
		t.Fatal(err)
	}
	byTopic := map[string]schema.Type{}
	for _, ty := range schema.Types() {
		byTopic[topics[ty]] = ty
	}
	gotDLQ := map[connPos]bool{}
	for _, r := range recs {
		if r.Topic == "bgp.dlq" {
			gotDLQ[dlqPos(t, r)] = true
			continue
		}
		ty := byTopic[r.Topic]
		codec, _ := ty.Codec()
		native, _, err := codec.NativeFromSingle(r.Value)
		if err != nil {
			t.Fatalf("%s/%d@%d: goavro: %v", r.Topic, r.Partition, r.Offset, err)
		}
		m := native.(map[string]any)
		p := connPos{m["source_partition"].(int32), m["source_offset"].(int64)}
		got[key{ty, p}] = append(got[key{ty, p}], canon(t, m))
		checkProvenance(t, r, topic, p)
	}
	mismatch := 0
	for k, w := range want {
		g := got[k]
		sort.Strings(w)
		sort.Strings(g)
		if strings.Join(w, "\n") != strings.Join(g, "\n") {
			mismatch++
			if mismatch <= 3 {
				t.Errorf("%s from %v:\n got  %d: %v\n want %d: %v", k.ty, k.pos, len(g), g, len(w), w)
			}
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s from %v: %d outputs, none expected", k.ty, k.pos, len(g))
		}
	}
	if len(gotDLQ) != len(wantDLQ) {
		t.Errorf("dead letters at %v, want %v", gotDLQ, wantDLQ)
	}
	for p := range wantDLQ {
		if !gotDLQ[p] {
			t.Errorf("undecodable record %v not dead-lettered", p)
		}
	}
	t.Logf("%d input records; expected and got: %v, %d dead letters", len(in.values), counts, len(gotDLQ))
}

// checkProvenance checks the source headers of an output record.
func checkProvenance(t testing.TB, r *kgo.Record, topic string, p connPos) {
	h := map[string]string{}
	for _, x := range r.Headers {
		h[x.Key] = string(x.Value)
	}
	if h[emit.HeaderSourceTopic] != topic || h[emit.HeaderSourcePartition] != itoa(int64(p.Partition)) || h[emit.HeaderSourceOffset] != itoa(p.Offset) {
		t.Fatalf("%s/%d@%d: headers %v, want source %s/%d@%d", r.Topic, r.Partition, r.Offset, h, topic, p.Partition, p.Offset)
	}
}

func dlqPos(t testing.TB, r *kgo.Record) connPos {
	h := map[string]string{}
	for _, x := range r.Headers {
		h[x.Key] = string(x.Value)
	}
	var p connPos
	if _, err := fmtSscan("x|"+h[emit.HeaderErrPartition]+"|"+h[emit.HeaderErrOffset], &p); err != nil {
		t.Fatalf("dead letter without position headers: %v (%v)", h, err)
	}
	return p
}
