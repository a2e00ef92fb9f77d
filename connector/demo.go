package connector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/demodata"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// Drained reports whether the connector has processed n input records and
// every output of them is acknowledged.
func (c *Connector) Drained(n uint64) bool {
	if c.Stats.Records.Load() < n {
		return false
	}
	return c.inFlight() == 0
}

func (c *Connector) inFlight() int {
	c.tasksMu.Lock()
	defer c.tasksMu.Unlock()
	n := 0
	for _, t := range c.tasks {
		if t != nil {
			n += t.src.InFlight()
		}
	}
	return n
}

// Holding returns the number of input partitions each task holds.
func (c *Connector) Holding() []int {
	c.tasksMu.Lock()
	defer c.tasksMu.Unlock()
	out := make([]int, len(c.tasks))
	for i, t := range c.tasks {
		if t != nil {
			out[i] = t.src.Held()
		}
	}
	return out
}

// RunUntilDrained runs the connector until n input records are processed
// and acknowledged, then shuts it down gracefully (committing) and returns.
func (c *Connector) RunUntilDrained(ctx context.Context, n uint64, timeout time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	deadline := time.After(timeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			if err == nil {
				err = errors.New("connector stopped before the input was drained")
			}
			return err
		case <-deadline:
			cancel()
			<-errc
			return fmt.Errorf("input not drained after %v: %d of %d records", timeout, c.Stats.Records.Load(), n)
		case <-tick.C:
			if c.Drained(n) {
				cancel()
				return <-errc
			}
		}
	}
}

// BundledData names the recording Demo and Bench load by default.
const BundledData = "the bundled gobgpd recording (" + demodata.GoBGPFile + ")"

// demoInput returns the OpenBMP messages of the file at path, or of the
// bundled gobgpd recording when path is "", with their Kafka keys and a name
// for the report.
func demoInput(path string) (values, keys [][]byte, name string, err error) {
	if path == "" {
		name = BundledData
		values, keys, err = kafkatest.Frames(bytes.NewReader(demodata.GoBGP), name)
	} else {
		name = path
		values, keys, err = kafkatest.ReadFrames(path)
	}
	if err == nil && len(values) == 0 {
		err = fmt.Errorf("%s holds no OpenBMP message", name)
	}
	return values, keys, name, err
}

// DemoOptions configure Demo.
type DemoOptions struct {
	// Data is the OpenBMP file to load into openbmp.bmp_raw; "" loads the
	// bundled recording of a real gobgpd's BMP stream, built into the binary.
	Data string
	// Out receives the report.
	Out io.Writer
	// Log receives the connector's log.
	Log *slog.Logger
	// Samples is the number of sample elems printed per output topic.
	Samples int
}

// Demo starts the embedded broker, loads the OpenBMP file into
// openbmp.bmp_raw, runs the connector with the default configuration until
// the input is drained, and prints a table of records per output topic with
// a few decoded sample elems. Then it backfills the two bundled archive
// dumps through backfill.topic with two backfill tasks and prints their
// progress per collector.
func Demo(ctx context.Context, o DemoOptions) error {
	values, keys, name, err := demoInput(o.Data)
	if err != nil {
		return err
	}
	// The demo's broker is in memory, and says so: bootstrap.servers has
	// no default.
	cfg, err := NewConfig([]Setting{{Key: "bootstrap.servers", Value: "embedded", Origin: "demo"}})
	if err != nil {
		return err
	}
	cluster, addr, err := StartEmbedded(0, cfg.EmbeddedPartitions, cfg.Topics...)
	if err != nil {
		return err
	}
	defer cluster.Close()
	fmt.Fprintf(o.Out, "embedded Kafka broker on %s (try: kcat -b %s -L)\n", addr, addr)
	if err := kafkatest.Produce(ctx, []string{addr}, cfg.Topics[0], values, keys); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "loaded %d OpenBMP messages from %s into %s\n", len(values), name, cfg.Topics[0])
	c, err := New(cfg, o.Log, WithBrokers(addr))
	if err != nil {
		return err
	}
	start := time.Now()
	if err := c.RunUntilDrained(ctx, uint64(len(values)), 2*time.Minute); err != nil {
		return err
	}
	took := time.Since(start)
	counts, samples, err := kafkatest.ReadOutputs(ctx, []string{addr}, c.Topics(), o.Samples)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "connector drained the input in %v (offsets committed for group %s)\n\n", took.Round(time.Millisecond), cfg.GroupID)
	tw := tabwriter.NewWriter(o.Out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "output topic\trecords\t")
	var total int
	for _, t := range schema.Types() {
		fmt.Fprintf(tw, "%s\t%d\t\n", c.topics[t], counts[t])
		total += counts[t]
	}
	fmt.Fprintf(tw, "total\t%d\t\n", total)
	tw.Flush()
	fmt.Fprintln(o.Out)
	for _, t := range schema.Types() {
		for _, s := range samples[t] {
			fmt.Fprintf(o.Out, "%s: %s\n", c.topics[t], s)
		}
	}
	return demoBackfill(ctx, o, addr) // backfill_demo.go
}
