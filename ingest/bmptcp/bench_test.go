package bmptcp

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

// BenchmarkServe measures the TCP side alone: a real router's stream (1.2
// MB) replayed over loopback, framed, wrapped and handed to a Producer that
// keeps nothing. One op is one replay.
func BenchmarkServe(b *testing.B) {
	stream := corpus.Read(b, "pmacct/streams/208-mem-leak-test_router-203.0.113.81.bmp")
	n := len(frames(b, stream))
	var got atomic.Int64
	s, err := NewServer(Config{AdminID: "bench", Log: quiet, Produce: func(_ context.Context, m Message) error {
		got.Add(1)
		return nil
	}})
	if err != nil {
		b.Fatal(err)
	}
	_, addr, stop := startServer(b, s)
	defer stop()
	c := dialFrom(b, netip.MustParseAddr("127.0.0.90"), addr)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(stream); err != nil {
			b.Fatal(err)
		}
	}
	for got.Load() < int64(b.N*n) {
		time.Sleep(50 * time.Microsecond)
	}
	b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "msgs/s")
}
