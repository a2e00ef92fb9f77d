package connector

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/schema"
)

func realData(t testing.TB, rel string) string {
	t.Helper()
	p := realDataPath(rel)
	if p == "" {
		t.Skipf("real test data %s not present", rel)
	}
	return p
}

// realDataPath returns the path of a shared real-data file, or "".
func realDataPath(rel string) string {
	p := filepath.Join(corpus.Root(), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// mrtValues returns the file's MRT records, one per value.
func mrtValues(t testing.TB, path string) [][]byte {
	t.Helper()
	v, err := kafkatest.MRTValues(path)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

func newConfig(t testing.TB, sets ...string) *Config {
	t.Helper()
	s, err := SetSettings(sets)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := NewConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestMRTThroughKafka runs RIPE RIS updates, one MRT record per input
// record, through the connector and compares the per-type output counts
// with bgpdump's (MANIFEST.md: 5,067 A, 547 W, 40 STATE).
func TestMRTThroughKafka(t *testing.T) {
	values := mrtValues(t, realData(t, "ripe-bgpdump/updates.20100722.2015.gz"))
	cfg := newConfig(t, "input.format=mrt", "topics=ris.mrt")
	cluster, addr, err := StartEmbedded(0, 3, cfg.Topics...)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx := context.Background()
	if err := kafkatest.Produce(ctx, []string{addr}, "ris.mrt", values, nil); err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg, testLog(t), WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunUntilDrained(ctx, uint64(len(values)), time.Minute); err != nil {
		t.Fatal(err)
	}
	counts, _, err := kafkatest.ReadOutputs(ctx, []string{addr}, c.Topics(), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[schema.Type]int{schema.Announcements: 5067, schema.Withdrawals: 547, schema.PeerStates: 40}
	for _, ty := range schema.Types() {
		if counts[ty] != want[ty] {
			t.Errorf("%s: %d records, bgpdump has %d", ty, counts[ty], want[ty])
		}
	}
	// Everything was committed: the group's offsets are the topic's ends.
	ends, err := kafkatest.EndOffsets(ctx, []string{addr}, []string{"ris.mrt"})
	if err != nil {
		t.Fatal(err)
	}
	got := committedOffsets(t, addr, cfg.GroupID, "ris.mrt")
	for p, end := range ends["ris.mrt"] {
		if got[p] != end {
			t.Errorf("partition %d: committed %d, end %d", p, got[p], end)
		}
	}
}

func committedOffsets(t testing.TB, addr, group, topic string) map[int32]int64 {
	t.Helper()
	m, err := kafkatest.CommittedOffsets(context.Background(), []string{addr}, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
