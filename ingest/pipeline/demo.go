package pipeline

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/openbmp"
	"github.com/bgp-connector/bgp-connector/schema"
)

// ReadFrames reads a file of OpenBMP messages (or raw BMP, or 4-byte
// length-prefixed frames; detected from the first bytes) and returns each
// frame with its Kafka key: the OpenBMP router hash in hex, as OpenBMP
// collectors key openbmp.bmp_raw, so that a router's messages share a
// partition.
func ReadFrames(path string) (values, keys [][]byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sr := openbmp.NewStreamReader(f, openbmp.KindUnknown)
	for {
		fr, err := sr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		v := append([]byte(nil), fr...)
		var key []byte
		if h, _, err := openbmp.DecodeHeader(v); err == nil {
			key = []byte(hex.EncodeToString(h.RouterHash[:]))
		}
		values = append(values, v)
		keys = append(keys, key)
	}
	return values, keys, nil
}

// Produce writes values (with keys) to topic and waits for every ack.
func Produce(ctx context.Context, brokers []string, topic string, values, keys [][]byte) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(1<<20))
	if err != nil {
		return err
	}
	defer cl.Close()
	errc := make(chan error, 1)
	for i, v := range values {
		r := &kgo.Record{Topic: topic, Value: v}
		if i < len(keys) {
			r.Key = keys[i]
		}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return fmt.Errorf("producing to %s: %w", topic, err)
	default:
	}
	return nil
}

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
		switch {
		case t == nil:
		case t.src != nil:
			n += t.src.Tracker().InFlight()
		case t.txOpen.Load():
			n++
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
			out[i] = int(t.held.Load())
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

// DemoOptions configure Demo.
type DemoOptions struct {
	// Data is the OpenBMP file to load into openbmp.bmp_raw.
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
// a few decoded sample elems.
func Demo(ctx context.Context, o DemoOptions) error {
	values, keys, err := ReadFrames(o.Data)
	if err != nil {
		return err
	}
	if len(values) == 0 {
		return fmt.Errorf("%s holds no OpenBMP message", o.Data)
	}
	cfg, err := ingest.NewConfig()
	if err != nil {
		return err
	}
	cluster, addr, err := StartEmbedded(0, cfg.EmbeddedPartitions, cfg.Topics...)
	if err != nil {
		return err
	}
	defer cluster.Close()
	fmt.Fprintf(o.Out, "embedded Kafka broker on %s (try: kcat -b %s -L)\n", addr, addr)
	if err := Produce(ctx, []string{addr}, cfg.Topics[0], values, keys); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "loaded %d OpenBMP messages from %s into %s\n", len(values), o.Data, cfg.Topics[0])
	c, err := New(cfg, o.Log, WithBrokers(addr))
	if err != nil {
		return err
	}
	start := time.Now()
	if err := c.RunUntilDrained(ctx, uint64(len(values)), 2*time.Minute); err != nil {
		return err
	}
	took := time.Since(start)
	counts, samples, err := ReadOutputs(ctx, []string{addr}, c.Topics(), o.Samples)
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
	return nil
}

// ReadOutputs reads every output topic from the start to its end and
// returns the record count per type and up to samples records per type
// decoded from Avro single-object encoding with goavro, as JSON.
func ReadOutputs(ctx context.Context, brokers []string, topics [schema.NumTypes]string, samples int) ([schema.NumTypes]int, [schema.NumTypes][]string, error) {
	var counts [schema.NumTypes]int
	var out [schema.NumTypes][]string
	byTopic := map[string]schema.Type{}
	for _, t := range schema.Types() {
		byTopic[topics[t]] = t
	}
	recs, err := ReadAll(ctx, brokers, topics[:]...)
	if err != nil {
		return counts, out, err
	}
	for _, r := range recs {
		t := byTopic[r.Topic]
		counts[t]++
		if len(out[t]) < samples {
			codec, err := t.Codec()
			if err != nil {
				return counts, out, err
			}
			native, _, err := codec.NativeFromSingle(r.Value)
			if err != nil {
				return counts, out, fmt.Errorf("%s/%d offset %d: %w", r.Topic, r.Partition, r.Offset, err)
			}
			js, _ := json.Marshal(compact(native))
			out[t] = append(out[t], string(js))
		}
	}
	return counts, out, nil
}

// ReadAll consumes topics from their start up to their current end and
// returns every record, ordered by topic, partition and offset.
func ReadAll(ctx context.Context, brokers []string, topics ...string) ([]*kgo.Record, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := listEnds(ctx, brokers, topics)
	if err != nil {
		return nil, err
	}
	remaining := 0
	for _, ps := range ends {
		for _, o := range ps {
			remaining += int(o)
		}
	}
	var all []*kgo.Record
	seen := map[string]map[int32]int64{}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for remaining > 0 {
		fs := cl.PollFetches(rctx)
		if rctx.Err() != nil {
			return all, fmt.Errorf("reading %v: %d records missing at timeout", topics, remaining)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset < ends[r.Topic][r.Partition] {
				if seen[r.Topic] == nil {
					seen[r.Topic] = map[int32]int64{}
				}
				seen[r.Topic][r.Partition] = r.Offset
				all = append(all, r)
				remaining--
			}
		})
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Topic != b.Topic {
			return strings.Compare(a.Topic, b.Topic) < 0
		}
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		return a.Offset < b.Offset
	})
	return all, nil
}

// compact drops null, false, zero and empty fields of a goavro native value
// and unwraps unions, so that a sample elem reads on one line.
func compact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, u := range x {
				if k == "string" || k == "long" || k == "int" {
					return u
				}
			}
		}
		out := map[string]any{}
		for k, u := range x {
			switch w := u.(type) {
			case nil:
				continue
			case bool:
				if !w {
					continue
				}
			case int64:
				if w == 0 && k != "peer_asn" && k != "source_offset" {
					continue
				}
			case []any:
				if len(w) == 0 {
					continue
				}
			case time.Time:
				u = w.UTC().Format("2006-01-02T15:04:05.000000Z")
			}
			out[k] = compact(u)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, u := range x {
			out[i] = compact(u)
		}
		return out
	}
	return v
}

// ReadCommitted consumes topics from their start with
// isolation.level=read_committed and returns every committed record once
// nothing new arrived for quiet (offsets of transactional topics include
// control records and aborted data, so the end offsets cannot be counted to).
func ReadCommitted(ctx context.Context, brokers []string, quiet time.Duration, topics ...string) ([]*kgo.Record, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var all []*kgo.Record
	for {
		pctx, cancel := context.WithTimeout(ctx, quiet)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return all, ctx.Err()
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) { all = append(all, r); n++ })
		if n == 0 && pctx.Err() != nil {
			return all, nil
		}
	}
}
