package rislive

import (
	"bytes"
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/internal/rislivetest"
)

// BenchmarkDecode decodes a real RIS stream derived from
// updates.20160811.1600 of RIS (17,384 messages, 41,212 elems), one
// message per op, into batches as a source fills them: msgs/s is on one
// core, allocs/op is per message. "raw" decodes the BGP message (what the
// client asks RIS Live for), "json-fields" the JSON fields alone.
func BenchmarkDecode(b *testing.B) {
	for _, tc := range []struct {
		name string
		o    rislivetest.DeriveOptions
	}{
		{"raw", rislivetest.DeriveOptions{Host: "rrc06.ripe.net"}},
		{"json-fields", rislivetest.DeriveOptions{Host: "rrc06.ripe.net", OmitRaw: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			lines := derive(b, bgpdumpFile, tc.o)
			size := 0
			for _, l := range lines {
				size += len(l) + 1
			}
			d := NewDecoder()
			var batch decode.Batch
			batch.Reset()
			b.SetBytes(int64(size / len(lines)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			elems := 0
			for i := 0; b.Loop(); i++ {
				if i == len(lines) {
					i = 0
				}
				if len(batch.Records) >= ingest.BatchRecords || len(batch.Elems) >= ingest.BatchElems {
					elems += len(batch.Elems)
					batch.Reset()
				}
				if err := d.Decode(&batch, lines[i], int64(i)); err != nil {
					b.Fatal(err)
				}
			}
			elems += len(batch.Elems)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(elems)/b.Elapsed().Seconds(), "elems/s")
			// The machine may be shared: msgs per second of this process's
			// CPU time is the figure for one core.
			if d := cpuTime() - cpu0; d > 0 {
				b.ReportMetric(float64(b.N)/d.Seconds(), "cpu-msgs/s")
			}
		})
	}
}

// BenchmarkFileSource reads the derived stream as a saved file (line
// splitting included), one whole file per op.
func BenchmarkFileSource(b *testing.B) {
	lines := derive(b, bgpdumpFile, rislivetest.DeriveOptions{Host: "rrc06"})
	data := append(bytes.Join(lines, []byte("\n")), '\n')
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var batch decode.Batch
	for b.Loop() {
		src, err := NewFileSource(bytes.NewReader(data), "bench")
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			batch.Reset()
			if err := src.Next(context.Background(), &batch); err != nil {
				break
			}
			n += len(batch.Records)
		}
		src.Close()
		if n != len(lines) {
			b.Fatalf("%d records of %d", n, len(lines))
		}
	}
	b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkClient replays the derived stream through the fake RIS Live
// (on the same machine: the server's work is included) and reads it with a
// Client, one whole stream per op.
func BenchmarkClient(b *testing.B) {
	lines := derive(b, bgpdumpFile, rislivetest.DeriveOptions{Host: "rrc06"})
	size := 0
	for _, l := range lines {
		size += len(l) + 1
	}
	for _, transport := range []string{"websocket", "firehose"} {
		b.Run(transport, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			var batch decode.Batch
			for b.Loop() {
				srv := rislivetest.NewServer(lines)
				url := srv.WSURL()
				if transport == "firehose" {
					url = srv.FirehoseURL()
				}
				c, err := New(url, quiet())
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				for n := 0; n < len(lines); {
					batch.Reset()
					if err := c.Next(ctx, &batch); err != nil {
						b.Fatal(err)
					}
					n += len(batch.Records)
				}
				cancel()
				c.Close()
				srv.Close()
			}
			b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// cpuTime returns the process's CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
