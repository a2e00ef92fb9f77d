package connector

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// BenchOptions configure Bench.
type BenchOptions struct {
	// Data is the OpenBMP file whose messages make the input; "" uses the
	// bundled gobgpd recording.
	Data string
	// Repeat is how many copies of the file's messages are loaded.
	Repeat int
	// Partitions of the input topic; Tasks is tasks.max.
	Partitions, Tasks int
	// Sets are extra configuration settings (key=value).
	Sets []string
	// Log receives the connector's log.
	Log *slog.Logger
}

// BenchResult is what one Bench run measured.
type BenchResult struct {
	Records  uint64
	Elems    uint64
	Duration time.Duration
	// PeakRSS is the process's peak resident set size in bytes (VmHWM), or
	// 0 where /proc is not available. It includes the embedded broker and
	// the loaded input.
	PeakRSS int64
}

// ElemsPerSec returns Elems/Duration.
func (r BenchResult) ElemsPerSec() float64 { return float64(r.Elems) / r.Duration.Seconds() }

// String reports the run on one line.
func (r BenchResult) String() string {
	return fmt.Sprintf("%d input records, %d elems in %v: %.0f elems/s, %.0f records/s, peak RSS %.1f MiB",
		r.Records, r.Elems, r.Duration.Round(time.Millisecond), r.ElemsPerSec(), float64(r.Records)/r.Duration.Seconds(), float64(r.PeakRSS)/(1<<20))
}

// Bench measures the connector end to end on the embedded broker, in
// process: the input (Repeat copies of the file) is loaded first, then the
// clock runs from the first input record produced (once the connector's
// group is stable) until every output is acknowledged.
func Bench(ctx context.Context, o BenchOptions) (BenchResult, error) {
	var res BenchResult
	values, keys, _, err := demoInput(o.Data)
	if err != nil {
		return res, err
	}
	if o.Repeat < 1 {
		o.Repeat = 1
	}
	if o.Partitions < 1 {
		o.Partitions = 6
	}
	if o.Tasks < 1 {
		o.Tasks = 1
	}
	sets := append([]string{"tasks.max=" + strconv.Itoa(o.Tasks), "errors.tolerance=all"}, o.Sets...)
	set, err := SetSettings(sets)
	if err != nil {
		return res, err
	}
	cfg, err := NewConfig([]Setting{{Key: "bootstrap.servers", Value: "embedded", Origin: "bench"}}, set)
	if err != nil {
		return res, err
	}
	cluster, addr, err := StartEmbedded(0, o.Partitions, cfg.Topics...)
	if err != nil {
		return res, err
	}
	defer cluster.Close()
	allV := make([][]byte, 0, len(values)*o.Repeat)
	allK := make([][]byte, 0, len(values)*o.Repeat)
	for i := 0; i < o.Repeat; i++ {
		allV = append(allV, values...)
		allK = append(allK, keys...)
	}
	c, err := New(cfg, o.Log, WithBrokers(addr))
	if err != nil {
		return res, err
	}
	// Start the connector on the empty topic and wait until the group is
	// stable (every task holds partitions, all partitions held), so that
	// the measure is not a group join; then load the input and time from
	// the first produced input record to the last acknowledged output.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	deadline := time.Now().Add(2 * time.Minute)
	for !stable(c.Holding(), o.Partitions) {
		select {
		case err := <-errc:
			return res, fmt.Errorf("connector stopped before the group was stable: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("group not stable after 2 minutes: %v", c.Holding())
		}
	}
	start := time.Now()
	if err := kafkatest.Produce(ctx, []string{addr}, cfg.Topics[0], allV, allK); err != nil {
		return res, err
	}
	for !c.Drained(uint64(len(allV))) {
		select {
		case err := <-errc:
			return res, fmt.Errorf("connector stopped before the input was drained: %v", err)
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline.Add(8 * time.Minute)) {
			return res, fmt.Errorf("input not drained: %d of %d records", c.Stats.Records.Load(), len(allV))
		}
	}
	res.Duration = time.Since(start)
	cancel()
	if err := <-errc; err != nil {
		return res, err
	}
	res.Records = c.Stats.Records.Load()
	for _, t := range schema.Types() {
		res.Elems += c.Stats.Elems[t].Load()
	}
	res.PeakRSS = kafkatest.PeakRSS()
	return res, nil
}

// stable reports whether every task holds partitions and all are held.
func stable(holding []int, partitions int) bool {
	if len(holding) == 0 {
		return false
	}
	total := 0
	for _, n := range holding {
		if n == 0 && len(holding) <= partitions {
			return false
		}
		total += n
	}
	return total == partitions
}
