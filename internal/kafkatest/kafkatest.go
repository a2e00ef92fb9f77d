// Package kafkatest holds the Kafka helpers that tests, the demo and the
// benchmarks share: reading OpenBMP files into Kafka values, producing them
// and waiting for the acks, reading topics back (whole, or read_committed),
// decoding output samples with goavro, committed and end offsets, and the
// process's peak RSS.
//
// It is not part of the data path: the connector never calls it while
// running.
package kafkatest

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/mrt"
	"github.com/bgp-connector/bgp-connector/openbmp"
	"github.com/bgp-connector/bgp-connector/schema"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
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
	return Frames(f, path)
}

// Frames is ReadFrames on data read from r; name labels its errors.
func Frames(r io.Reader, name string) (values, keys [][]byte, err error) {
	sr := openbmp.NewStreamReader(r, openbmp.KindUnknown)
	for {
		fr, err := sr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
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

// Produce writes values (with keys) to topic and waits for every ack. opts
// are extra client options (TLS, SASL) for a secured broker.
func Produce(ctx context.Context, brokers []string, topic string, values, keys [][]byte, opts ...kgo.Opt) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5 * time.Millisecond), kgo.MaxBufferedRecords(1 << 20)}, opts...)...)
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

// ReadOutputs reads every output topic from the start to its end and
// returns the record count per type and up to samples records per type
// decoded from Avro single-object encoding with goavro, as JSON. opts are
// extra client options (TLS, SASL).
func ReadOutputs(ctx context.Context, brokers []string, topics [schema.NumTypes]string, samples int, opts ...kgo.Opt) ([schema.NumTypes]int, [schema.NumTypes][]string, error) {
	var counts [schema.NumTypes]int
	var out [schema.NumTypes][]string
	byTopic := map[string]schema.Type{}
	for _, t := range schema.Types() {
		byTopic[topics[t]] = t
	}
	recs, err := ReadAllWith(ctx, brokers, topics[:], opts...)
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
	return ReadAllWith(ctx, brokers, topics)
}

// ReadAllWith is ReadAll with extra client options (TLS, SASL).
func ReadAllWith(ctx context.Context, brokers []string, topics []string, opts ...kgo.Opt) ([]*kgo.Record, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50 * time.Millisecond)}, opts...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := EndOffsets(ctx, brokers, topics, opts...)
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

// EndOffsets returns the end offset of every partition of topics. opts are
// extra client options (TLS, SASL).
func EndOffsets(ctx context.Context, brokers []string, topics []string, opts ...kgo.Opt) (map[string]map[int32]int64, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	lo, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	out := map[string]map[int32]int64{}
	var ferr error
	lo.Each(func(o kadm.ListedOffset) {
		if o.Err != nil && ferr == nil {
			ferr = o.Err
		}
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out, ferr
}

// PeakRSS returns the process's peak resident set size in bytes from
// /proc/self/status (VmHWM), or 0 when unavailable.
func PeakRSS() int64 {
	if runtime.GOOS != "linux" {
		return 0
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	return parseHWM(f)
}

func parseHWM(r io.Reader) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// CommittedOffsets returns the offsets group has committed on topic, per
// partition.
func CommittedOffsets(ctx context.Context, brokers []string, group, topic string) (map[int32]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	os, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	os.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			out[o.Partition] = o.At
		}
	})
	return out, nil
}

// DecodedOutputs decodes OpenBMP values directly (one decoder, in order)
// and counts the output records the connector publishes for them, per type:
// elems by type, and BMP statistics.
func DecodedOutputs(values [][]byte) [schema.NumTypes]int {
	var n [schema.NumTypes]int
	d := openbmp.NewDecoder()
	var res openbmp.Result
	for _, v := range values {
		if d.Decode(v, &res) == nil {
			for _, e := range res.Elems {
				n[emit.TypeOf(e.Type)]++
			}
			n[schema.Stats] += len(res.Stats)
		}
	}
	return n
}

// MRTValues reads an MRT file (any compression) and returns its records,
// one Kafka value each, re-framed from the reader's raw records
// (input.format=mrt).
func MRTValues(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := mrt.NewReader(f, mrt.WithName(path))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out [][]byte
	for {
		raw, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, raw.AppendTo(make([]byte, 0, 16+len(raw.Body))))
	}
}
