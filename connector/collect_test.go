package connector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

func collectTestConfig(t testing.TB, sets ...string) *Config {
	t.Helper()
	s, err := SetSettings(append([]string{"bootstrap.servers=embedded", "collect.listen=127.0.0.1:0", "collect.admin.id=unit"}, sets...))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := NewConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestNewCollectorConfig(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		key  string
	}{
		{[]string{"topics.regex=^x$"}, "collect.topic"},
		{[]string{"collect.listen=nowhere"}, "collect.listen"},
	} {
		_, err := NewCollector(collectTestConfig(t, tc.sets...), nil)
		var ce *ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Key != tc.key {
			t.Errorf("%v: %v, want a problem with %s", tc.sets, err, tc.key)
		}
	}
	c, err := NewCollector(collectTestConfig(t, "topics=a,b", "collect.router.hash=openbmp"), nil)
	if err != nil || c.Topic() != "a" {
		t.Errorf("topic %q, %v; want the first input topic", c.Topic(), err)
	}
	c, err = NewCollector(collectTestConfig(t, "collect.topic=raw"), nil)
	if err != nil || c.Topic() != "raw" {
		t.Errorf("topic %q, %v", c.Topic(), err)
	}
	if _, err := NewConfig([]Setting{{Key: "collect.router.hash", Value: "sha1", Origin: "--set"}}); err == nil {
		t.Error("collect.router.hash=sha1 accepted")
	}
}

// replayInto writes stream to the collector at addr from loopback address
// from and closes the connection.
func replayInto(tb testing.TB, from netip.Addr, addr string, stream []byte) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from.AsSlice()}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(stream); err != nil {
		tb.Fatal(err)
	}
}

// TestRunWithCollector runs the connector and the collector in one
// process on the embedded broker (run --collect): a router's stream turns
// into elems; on stop the collector flushes and the connector decodes what
// it published before stopping.
func TestRunWithCollector(t *testing.T) {
	stream := corpus.Read(t, "pmacct/streams/201-BMP-CISCO-rd_instance.traffic-00.bmp")
	n := countMessages(stream)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	var log syncBuf
	c, err := New(collectTestConfig(t, "embedded.partitions=2"), slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunWithCollector(ctx, c, listen) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(log.String(), `msg="BMP collector listening"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no collector after 30 s:\n%s", log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	replayInto(t, netip.MustParseAddr("127.0.0.71"), listen, stream)
	// Stop as soon as the collector read the stream: the connector must
	// still decode all of it before it stops.
	for !strings.Contains(log.String(), `msg="bmp router disconnected"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the router's session did not end:\n%s", log.String())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := c.Stats.Records.Load(); got != uint64(n) || c.elemTotal() == 0 {
		t.Errorf("connector decoded %d records (%d elems), the router sent %d messages\n%s", got, c.elemTotal(), n, log.String())
	}
	if !strings.Contains(log.String(), fmt.Sprintf(`msg="BMP collector stopped" produced=%d failed=0`, n)) {
		t.Errorf("collector log:\n%s", log.String())
	}
}

// TestCollectorMetrics: the per-router counters in the Prometheus text
// format.
func TestCollectorMetrics(t *testing.T) {
	stream := corpus.Read(t, "pmacct/streams/200-BMP-HUAWEI-locrib_instance.traffic-00.bmp")
	col, stop := runCollector(t, collectTestConfig(t), CollectMetrics("127.0.0.1:0"))
	defer stop()
	replayInto(t, netip.MustParseAddr("127.0.0.72"), col.Addr().String(), stream)
	deadline := time.Now().Add(20 * time.Second)
	for col.Stats.Produced.Load() < 103 {
		if time.Now().After(deadline) {
			t.Fatalf("%d produced", col.Stats.Produced.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	var b bytes.Buffer
	col.WriteMetrics(&b)
	for _, want := range []string{
		`bgp_connector_collect_router_messages_total{router="127.0.0.72"} 103`,
		fmt.Sprintf(`bgp_connector_collect_router_bytes_total{router="127.0.0.72"} %d`, len(stream)),
		`bgp_connector_collect_router_sessions_total{router="127.0.0.72"} 1`,
		`bgp_connector_collect_produced_total 103`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}

// runCollector runs a collector on its own embedded broker.
func runCollector(tb testing.TB, cfg *Config, opts ...CollectOption) (*Collector, func()) {
	tb.Helper()
	col, err := NewCollector(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	select {
	case <-col.Ready():
	case err := <-done:
		tb.Fatal(err)
	}
	return col, func() {
		cancel()
		if err := <-done; err != nil {
			tb.Error(err)
		}
	}
}

// BenchmarkCollect measures the collector from a replayed router stream
// (a real Cisco router's, 1.2 MB) over TCP to acknowledged records on the
// embedded broker, one op being one replay of the stream.
func BenchmarkCollect(b *testing.B) {
	stream := corpus.Read(b, "pmacct/streams/208-mem-leak-test_router-203.0.113.81.bmp")
	n := countMessages(stream)
	col, stop := runCollector(b, collectTestConfig(b))
	defer stop()
	router := netip.MustParseAddr("127.0.0.73")
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: router.AsSlice()}}
	c, err := d.Dial("tcp", col.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(stream); err != nil {
			b.Fatal(err)
		}
	}
	want := uint64(b.N * n)
	for col.Stats.Produced.Load() < want {
		time.Sleep(100 * time.Microsecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(want)/el.Seconds(), "msgs/s")
}

// BenchmarkCollect20Routers replays 20 real router streams at once (one op)
// and reports the messages per second and the process's peak RSS, which
// includes the embedded broker holding every record.
func BenchmarkCollect20Routers(b *testing.B) {
	paths, _ := filepath.Glob(filepath.Join(corpus.Need(b), "pmacct", "streams", "*.bmp"))
	sort.Strings(paths)
	if len(paths) < 20 {
		b.Skipf("%d streams", len(paths))
	}
	var streams [][]byte
	n, size := 0, 0
	for _, p := range paths[:20] {
		s, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		streams = append(streams, s)
		n += countMessages(s)
		size += len(s)
	}
	col, stop := runCollector(b, collectTestConfig(b))
	defer stop()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		for j, s := range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replayInto(b, netip.AddrFrom4([4]byte{127, 0, 2, byte(10 + j)}), col.Addr().String(), s)
			}()
		}
		wg.Wait()
	}
	// Streams 202-...-02 ends with a cut message: count whole ones.
	for col.Stats.Produced.Load() < uint64(b.N*n) {
		time.Sleep(100 * time.Microsecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*n)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(kafkatest.PeakRSS())/(1<<20), "peak-RSS-MiB")
}

func countMessages(stream []byte) int {
	sr := openbmp.NewStreamReader(bytes.NewReader(stream), openbmp.KindBMP)
	n := 0
	for {
		if _, err := sr.Next(); err != nil {
			return n
		}
		n++
	}
}
