package connector

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
)

// benchData is a real router's BMP stream (pmacct's capture of a Cisco
// router, 1.2 MB) when the shared corpus is present, else the bundled
// gobgpd recording.
func benchData(b *testing.B) string {
	p := filepath.Join(corpus.Root(), "pmacct", "streams", "208-mem-leak-test_router-203.0.113.81.bmp")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp")
}

// BenchmarkEndToEnd measures the connector in process on the embedded
// broker: openbmp.bmp_raw to the output topics, every output acknowledged.
// It reports elems/s and the process's peak RSS.
func BenchmarkEndToEnd(b *testing.B) {
	for _, tasks := range []int{1, 2} {
		b.Run("tasks="+string(rune('0'+tasks)), func(b *testing.B) {
			b.ReportAllocs()
			var elems uint64
			var secs float64
			for b.Loop() {
				res, err := Bench(context.Background(), BenchOptions{
					Data: benchData(b), Repeat: 8, Partitions: 6, Tasks: tasks,
					Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				})
				if err != nil {
					b.Fatal(err)
				}
				elems += res.Elems
				secs += res.Duration.Seconds()
			}
			b.ReportMetric(float64(elems)/secs, "elems/s")
			b.ReportMetric(float64(kafkatest.PeakRSS())/(1<<20), "peakRSS-MiB")
		})
	}
}
