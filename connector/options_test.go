package connector

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
	"github.com/bgp-connector/bgp-connector/schema"
)

func gobgpFrames(t *testing.T) ([][]byte, [][]byte) {
	t.Helper()
	v, k, err := kafkatest.ReadFrames("../internal/demodata/gobgp-bmp.obmp")
	if err != nil {
		t.Fatal(err)
	}
	return v, k
}

// TestKeyFields checks the output key for each key.field.
func TestKeyFields(t *testing.T) {
	vals, keys := gobgpFrames(t)
	for _, kf := range []string{"prefix", "peer", "router", "none"} {
		t.Run(kf, func(t *testing.T) {
			cluster, addr, err := StartEmbedded(0, 2, "openbmp.bmp_raw")
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Close()
			ctx := context.Background()
			if err := kafkatest.Produce(ctx, []string{addr}, "openbmp.bmp_raw", vals, keys); err != nil {
				t.Fatal(err)
			}
			c, err := New(newConfig(t, "key.field="+kf), testLog(t), WithBrokers(addr))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.RunUntilDrained(ctx, uint64(len(vals)), time.Minute); err != nil {
				t.Fatal(err)
			}
			topics := c.Topics()
			recs, err := kafkatest.ReadAll(ctx, []string{addr}, topics[schema.Announcements], topics[schema.PeerStates])
			if err != nil || len(recs) == 0 {
				t.Fatalf("%d records, %v", len(recs), err)
			}
			for _, r := range recs {
				ty := schema.Announcements
				if r.Topic == topics[schema.PeerStates] {
					ty = schema.PeerStates
				}
				codec, _ := ty.Codec()
				native, _, err := codec.NativeFromSingle(r.Value)
				if err != nil {
					t.Fatal(err)
				}
				m := native.(map[string]any)
				str := func(k string) string {
					if u, ok := m[k].(map[string]any); ok {
						return u["string"].(string)
					}
					return ""
				}
				var want string
				switch kf {
				case "prefix":
					want = str("peer_ip") // peer states have no prefix
					if ty == schema.Announcements {
						want = m["prefix"].(string)
					}
				case "peer":
					want = str("peer_ip")
				case "router":
					want = str("router_ip")
				}
				if string(r.Key) != want {
					t.Fatalf("%s: key %q, want %q", r.Topic, r.Key, want)
				}
			}
		})
	}
}

// TestRawBMPInput reads raw BMP messages (input.format=bmp) and checks the
// elem counts against a direct decode.
func TestRawBMPInput(t *testing.T) {
	path := realData(t, "pmacct/streams/201-BMP-CISCO-rd_instance.traffic-00.bmp")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sr := openbmp.NewStreamReader(f, openbmp.KindBMP)
	var vals [][]byte
	want := 0
	d := openbmp.NewDecoder()
	var res openbmp.Result
	for {
		fr, err := sr.Next()
		if err != nil {
			break
		}
		v := append([]byte(nil), fr...)
		vals = append(vals, v)
		if d.Decode(v, &res) == nil {
			want += len(res.Elems) + len(res.Stats)
		}
	}
	if want == 0 {
		t.Fatal("no elems in the capture")
	}
	cluster, addr, err := StartEmbedded(0, 1, "bmp.raw")
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx := context.Background()
	if err := kafkatest.Produce(ctx, []string{addr}, "bmp.raw", vals, nil); err != nil {
		t.Fatal(err)
	}
	c, err := New(newConfig(t, "input.format=bmp", "topics=bmp.raw"), testLog(t), WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunUntilDrained(ctx, uint64(len(vals)), time.Minute); err != nil {
		t.Fatal(err)
	}
	counts, _, err := kafkatest.ReadOutputs(ctx, []string{addr}, c.Topics(), 0)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, n := range counts {
		got += n
	}
	if got != want {
		t.Fatalf("%d outputs, direct decode %d", got, want)
	}
}

// TestLatestOffsetReset checks consumer.auto.offset.reset=latest: a new
// group skips what was in the topic before it joined.
func TestLatestOffsetReset(t *testing.T) {
	vals, keys := gobgpFrames(t)
	cluster, addr, err := StartEmbedded(0, 1, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := kafkatest.Produce(ctx, []string{addr}, "openbmp.bmp_raw", vals, keys); err != nil {
		t.Fatal(err)
	}
	c, err := New(newConfig(t, "consumer.auto.offset.reset=latest"), testLog(t), WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	waitFor(t, "the assignment", 30*time.Second, func() bool { h := c.Holding(); return len(h) == 1 && h[0] == 1 })
	// Produce new records until some are processed (the reset to the end
	// races with the first of them), then check that nothing older was.
	deadline := time.Now().Add(30 * time.Second)
	for c.Stats.Records.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no new record processed")
		}
		if err := kafkatest.Produce(ctx, []string{addr}, "openbmp.bmp_raw", vals[:5], keys[:5]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, "a drained connector", 30*time.Second, func() bool { return c.inFlight() == 0 })
	recs, err := kafkatest.ReadAll(ctx, []string{addr}, c.Topics()[schema.PeerStates], c.Topics()[schema.Announcements])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		for _, h := range r.Headers {
			if h.Key == "bgp.source.offset" && len(h.Value) > 0 {
				var off int
				for _, ch := range h.Value {
					off = off*10 + int(ch-'0')
				}
				if off < len(vals) {
					t.Fatalf("record at offset %d, from before the group joined, was processed", off)
				}
			}
		}
	}
	cancel()
	<-errc
}

// TestSASL connects to a broker that requires SASL/SCRAM with the
// connector's security settings, and fails clearly with a wrong password.
func TestSASL(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "bgp", "s3cret"),
		kfake.SeedTopics(1, "openbmp.bmp_raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	addr := cluster.ListenAddrs()[0]
	vals, keys := gobgpFrames(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(scram.Auth{User: "bgp", Pass: "s3cret"}.AsSha256Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range vals {
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "openbmp.bmp_raw", Key: keys[i], Value: vals[i]}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	sasl := []string{"bootstrap.servers=" + addr, "security.protocol=SASL_PLAINTEXT", "sasl.mechanism=SCRAM-SHA-256", "sasl.username=bgp"}
	c, err := New(newConfig(t, append(sasl, "sasl.password=s3cret")...), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunUntilDrained(context.Background(), uint64(len(vals)), time.Minute); err != nil {
		t.Fatal(err)
	}
	// A wrong password: Run fails, naming the brokers, instead of hanging.
	c, err = New(newConfig(t, append(sasl, "sasl.password=wrong")...), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = c.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Run with a wrong password: %v", err)
	}
}

// TestFilter runs the connector with a filter and checks the outputs
// against a selection made in plain Go over the directly decoded elems:
// announcements of IPv6 prefixes only; stats are never filtered.
func TestFilter(t *testing.T) {
	vals, keys := gobgpFrames(t)
	d := openbmp.NewDecoder()
	var res openbmp.Result
	want, stats, dropped := 0, 0, 0
	for _, v := range vals {
		if d.Decode(v, &res) != nil {
			continue
		}
		for _, e := range res.Elems {
			if e.Type == decode.ElemAnnouncement && e.Prefix.Addr().Is6() {
				want++
			} else {
				dropped++
			}
		}
		stats += len(res.Stats)
	}
	if want == 0 || dropped == 0 {
		t.Fatalf("the data does not exercise the filter: %d kept, %d dropped", want, dropped)
	}
	cluster, addr, err := StartEmbedded(0, 2, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx := context.Background()
	if err := kafkatest.Produce(ctx, []string{addr}, "openbmp.bmp_raw", vals, keys); err != nil {
		t.Fatal(err)
	}
	c, err := New(newConfig(t, "filter=elemtype announcements and ipversion 6"), testLog(t), WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunUntilDrained(ctx, uint64(len(vals)), time.Minute); err != nil {
		t.Fatal(err)
	}
	counts, _, err := kafkatest.ReadOutputs(ctx, []string{addr}, c.Topics(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if counts[schema.Announcements] != want || counts[schema.Withdrawals] != 0 || counts[schema.PeerStates] != 0 || counts[schema.Stats] != stats {
		t.Fatalf("outputs %v, want %d IPv6 announcements, %d stats", counts, want, stats)
	}
	if n := c.Stats.Filtered.Load(); n != uint64(dropped) {
		t.Fatalf("filtered counter %d, want %d", n, dropped)
	}
}
