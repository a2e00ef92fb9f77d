package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// SourceOffsetHeader is the header of every changelog record (tombstones
// included) holding, in decimal, the offset of the input record whose
// decoding made the change.
const SourceOffsetHeader = "bgp-connector.source.offset"

// DefaultRestoreTimeout bounds one partition's restore when
// StateLog.Timeout is zero.
const DefaultRestoreTimeout = 30 * time.Second

// StateLog keeps the BMP session state of a KafkaSource's input
// partitions (each router's Initiation and Peer Up sessions, which decide
// the router name and how Route Monitoring decodes: AS widths, ADD-PATH)
// in a compacted changelog topic, so that a restarted or reassigned task
// decodes exactly as an uninterrupted one would (KafkaOptions.State).
//
// Writes: every change a BMP value decoder makes (openbmp.StateEntry: an
// Initiation's sysName, a Peer Up's session, a Peer Down's or
// Termination's deletion) becomes one changelog record, keyed
// "<input topic>/<input partition>/<router key>[/<peer>]" (the entry's
// openbmp key), with the entry's binary encoding as value (nil, a
// tombstone, for a deletion) and the input offset in SourceOffsetHeader.
// It goes to changelog partition p mod n for input partition p (n the
// changelog's partition count: the changelog is co-partitioned with the
// input when n equals the input's partition count; when n is smaller,
// input partitions share changelog partitions, told apart by the key's
// prefix). At-least-once, the record is produced before the input record's
// outputs and counted in its completion, so the input offset is committed
// only once the change is acknowledged; exactly-once, it is produced in the
// poll's transaction. Replaying a record writes the same value again: last
// write wins per key.
//
// Restores: before the first record of a newly assigned input partition is
// decoded (and again whenever the partition's records go back, as after an
// aborted transaction), its decoder is rebuilt from the changelog partition,
// read with isolation.level=read_committed from its start to its last
// stable offset (bounded by Timeout; a restore that fails stops the task
// with a *StateError). Of each key, the last record whose source offset is
// before the record about to be decoded wins; records derived from later
// input records (written by a predecessor that died before committing
// them) are ignored, since those records are decoded again and rewrite
// them. Compaction may remove a record superseded by such a later one:
// the topic is created with min.compaction.lag.ms of one hour so that a
// restart within that time always finds it.
type StateLog struct {
	// Topic is the changelog topic.
	Topic string
	// Producer writes the changelog at-least-once. It must partition with
	// StatePartitioner (as the exactly-once session's producer must: then
	// the session's client writes it, in the poll's transaction).
	Producer *kgo.Client
	// Client are the options of the clients that read the changelog on a
	// restore (seed brokers, TLS, SASL).
	Client []kgo.Opt
	// Timeout bounds one partition's restore (default
	// DefaultRestoreTimeout).
	Timeout time.Duration
	// ReplicationFactor is that of a changelog topic a restore creates when
	// it is missing (-1: the broker's default).
	ReplicationFactor int16
	// Counters are incremented as the changelog is written and read (any
	// may be nil).
	Counters StateCounters
	// Context, when set, is the context changelog records are produced
	// with: the sink's, which outlives a shutdown long enough for what is
	// in flight to be delivered (default: the context of Next, so that a
	// shutdown fails the records in flight, which are then not committed).
	Context context.Context
	// Log receives restore notices.
	Log *slog.Logger
}

// StateCounters count a StateLog's work.
type StateCounters struct {
	// Writes counts changelog records produced.
	Writes *atomic.Uint64
	// Restores counts partition restores; Entries the entries restored;
	// Ignored the records skipped because a later input record made them
	// or their value does not decode (logged).
	Restores, Entries, Ignored *atomic.Uint64
}

// StateError is a failure to restore an input partition's BMP session
// state from the changelog. It is not the record's fault: the source stops
// (nothing past the record is committed) rather than dead-letter it.
type StateError struct {
	// Topic, Partition and Offset name the input record about to be
	// decoded; Changelog and ChangelogPartition the partition read (-1
	// when the failure came first).
	Topic              string
	Partition          int32
	Offset             int64
	Changelog          string
	ChangelogPartition int32
	Err                error
}

// Error names the input partition, the changelog partition and the cause.
func (e *StateError) Error() string {
	from := e.Changelog
	if e.ChangelogPartition >= 0 {
		from += "/" + strconv.Itoa(int(e.ChangelogPartition))
	}
	return fmt.Sprintf("restoring the BMP session state of %s/%d (before offset %d) from %s: %v",
		e.Topic, e.Partition, e.Offset, from, e.Err)
}

// Unwrap returns the cause.
func (e *StateError) Unwrap() error { return e.Err }

// StatePartitioner returns a partitioner that sends the records of the
// changelog topic to partition Record.Partition modulo the topic's
// partition count (the StateLog sets Record.Partition to the input
// partition whose state the record carries) and leaves every other topic
// to def.
func StatePartitioner(topic string, def kgo.Partitioner) kgo.Partitioner {
	return statePartitioner{topic: topic, def: def}
}

type statePartitioner struct {
	topic string
	def   kgo.Partitioner
}

func (p statePartitioner) ForTopic(t string) kgo.TopicPartitioner {
	if t == p.topic {
		return modPartitioner{}
	}
	return p.def.ForTopic(t)
}

type modPartitioner struct{}

func (modPartitioner) RequiresConsistency(*kgo.Record) bool { return true }
func (modPartitioner) Partition(r *kgo.Record, n int) int   { return int(r.Partition) % n }

// StateTopicConfigs are the configurations of a changelog topic that
// EnsureStateTopic creates: compacted, and a record stays uncompacted for
// an hour (see StateLog).
func StateTopicConfigs() map[string]*string {
	return map[string]*string{
		"cleanup.policy":        kadm.StringPtr("compact"),
		"min.compaction.lag.ms": kadm.StringPtr("3600000"),
	}
}

// EnsureStateTopic creates the changelog topic with partitions partitions
// (that of the input: co-partitioned) and StateTopicConfigs when it does
// not exist, and returns its partition count (that of the existing topic
// otherwise).
func EnsureStateTopic(ctx context.Context, adm *kadm.Client, topic string, partitions int32, rf int16) (int32, error) {
	for {
		td, err := adm.ListTopics(ctx, topic)
		if err != nil {
			return 0, fmt.Errorf("changelog topic %s: %w", topic, err)
		}
		if d, ok := td[topic]; ok && d.Err == nil {
			return int32(len(d.Partitions)), nil
		}
		_, err = adm.CreateTopic(ctx, partitions, rf, StateTopicConfigs(), topic)
		if err == nil {
			return partitions, nil
		}
		if !errors.Is(err, kerr.TopicAlreadyExists) {
			return 0, fmt.Errorf("creating changelog topic %s: %w", topic, err)
		}
		// Created meanwhile by another task: wait for its metadata.
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("changelog topic %s: %w", topic, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stateDecoder is a BMP value decoder whose session state the StateLog
// keeps.
type stateDecoder struct {
	ValueDecoder
	dec       *openbmp.Decoder
	topic     string
	partition int32
	restored  bool
	next      int64 // offset after the last record decoded
	changes   []openbmp.StateEntry
}

// track returns d, recording its changes, when it decodes BMP values, and
// d itself otherwise (MRT has no state that outlives a value's dump).
func (l *StateLog) track(d ValueDecoder, topic string, partition int32) ValueDecoder {
	dec := Decoder(d)
	if dec == nil {
		return d
	}
	dec.RecordChanges(true)
	return &stateDecoder{ValueDecoder: d, dec: dec, topic: topic, partition: partition}
}

// decodeValue decodes record r into b with dec: for a decoder whose state
// the StateLog keeps, it first restores the state when the partition is
// new to it or its records went back, and afterwards writes the changes
// the record made, held by pend (at-least-once) or in the open transaction.
func (s *KafkaSource) decodeValue(ctx context.Context, dec ValueDecoder, b *decode.Batch, r *kgo.Record, pend *Pending) error {
	sd, ok := dec.(*stateDecoder)
	if !ok {
		return dec.AppendTo(b, r.Value, r.Offset, r.Timestamp)
	}
	l := s.o.State
	if !sd.restored || r.Offset < sd.next {
		if err := l.restore(ctx, sd, r.Offset); err != nil {
			return err
		}
	}
	sd.next = r.Offset + 1
	err := sd.ValueDecoder.AppendTo(b, r.Value, r.Offset, r.Timestamp)
	if sd.dec.HasChanges() {
		s.writeState(ctx, sd, r, pend)
	}
	return err
}

// writeState produces the changes the last record made.
func (s *KafkaSource) writeState(ctx context.Context, sd *stateDecoder, r *kgo.Record, pend *Pending) {
	l := s.o.State
	cl := l.Producer
	if s.sess != nil {
		cl = s.sess.Client() // in the poll's transaction
	}
	if l.Context != nil {
		ctx = l.Context
	}
	sd.changes = sd.dec.AppendChanges(sd.changes[:0])
	src := strconv.AppendInt(nil, r.Offset, 10)
	for i := range sd.changes {
		e := &sd.changes[i]
		rec := &kgo.Record{Topic: l.Topic, Partition: r.Partition, Key: l.key(nil, sd.topic, sd.partition, e),
			Headers: []kgo.RecordHeader{{Key: SourceOffsetHeader, Value: src}}}
		if !e.Deleted {
			v, err := e.AppendBinary(nil)
			if err != nil { // cannot happen for an entry the decoder made
				s.log.Error("BMP session state entry not written", "key", string(rec.Key), "err", err)
				continue
			}
			rec.Value = v
		}
		inc(l.Counters.Writes, 1)
		if pend != nil {
			pend.Add(1)
			cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
				if err != nil {
					err = fmt.Errorf("writing BMP session state to %s: %w", l.Topic, err)
				}
				pend.Done(err)
			})
			continue
		}
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				err = fmt.Errorf("writing BMP session state to %s: %w", l.Topic, err)
				s.txErr.CompareAndSwap(nil, &err)
			}
		})
	}
	clear(sd.changes)
}

// key appends the changelog key of entry e of input partition
// topic/partition.
func (l *StateLog) key(dst []byte, topic string, partition int32, e *openbmp.StateEntry) []byte {
	dst = append(keyPrefix(dst, topic, partition), e.AppendKey(nil)...)
	return dst
}

func keyPrefix(dst []byte, topic string, partition int32) []byte {
	dst = append(dst, topic...)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, int64(partition), 10)
	return append(dst, '/')
}

func (l *StateLog) timeout() time.Duration {
	if l.Timeout > 0 {
		return l.Timeout
	}
	return DefaultRestoreTimeout
}

func (l *StateLog) logger() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}

// restore rebuilds sd's state as of input offset before: every change
// derived from the partition's records before it.
func (l *StateLog) restore(ctx context.Context, sd *stateDecoder, before int64) error {
	ctx, cancel := context.WithTimeout(ctx, l.timeout())
	defer cancel()
	start := time.Now()
	sd.dec.Reset()
	st, err := l.read(ctx, sd.topic, sd.partition, before)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w after %v (read to offset %d of %d)", err, l.timeout(), st.next, st.end)
		}
		return &StateError{Topic: sd.topic, Partition: sd.partition, Offset: before, Changelog: l.Topic, ChangelogPartition: st.partition, Err: err}
	}
	sd.dec.ImportState(st.entries)
	sd.restored = true
	inc(l.Counters.Restores, 1)
	inc(l.Counters.Entries, uint64(len(st.entries)))
	inc(l.Counters.Ignored, uint64(st.later+st.bad))
	l.logger().Info("BMP session state restored", "topic", sd.topic, "partition", sd.partition, "before_offset", before,
		"changelog", l.Topic+"/"+strconv.Itoa(int(st.partition)), "records", st.records, "entries", len(st.entries),
		"sessions", sd.dec.Sessions(), "ignored_later", st.later, "took", time.Since(start).Round(time.Microsecond))
	return nil
}

// readState is what reading one changelog partition gave.
type readState struct {
	partition  int32 // the changelog partition
	end, next  int64 // the end read to, and how far it got
	records    int   // records of the input partition read
	later, bad int   // ignored: made by later input records, undecodable
	entries    []openbmp.StateEntry
}

// read reads the changelog entries of input partition topic/partition
// made by records before offset before.
func (l *StateLog) read(ctx context.Context, topic string, partition int32, before int64) (readState, error) {
	st := readState{partition: -1}
	opts := append(slices.Clone(l.Client), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(),
		kgo.FetchMaxWait(100*time.Millisecond), kgo.MetadataMinAge(100*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return st, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	td, err := adm.ListTopics(ctx, l.Topic)
	if err != nil {
		return st, fmt.Errorf("metadata of %s: %w", l.Topic, err)
	}
	d, ok := td[l.Topic]
	if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) || len(d.Partitions) == 0 {
		// No changelog yet (an input topic created after the start):
		// create it co-partitioned with this input topic; it is empty.
		in, lerr := adm.ListTopics(ctx, topic)
		n := int32(1)
		if d, ok := in[topic]; lerr == nil && ok && d.Err == nil && len(d.Partitions) > 0 {
			n = int32(len(d.Partitions))
		}
		if n, err = EnsureStateTopic(ctx, adm, l.Topic, n, l.ReplicationFactor); err != nil {
			return st, err
		}
		l.logger().Info("BMP session state changelog created", "topic", l.Topic, "partitions", n)
		st.partition = partition % n
		return st, nil
	}
	if d.Err != nil {
		return st, fmt.Errorf("metadata of %s: %w", l.Topic, d.Err)
	}
	st.partition = partition % int32(len(d.Partitions))
	ends, err := adm.ListCommittedOffsets(ctx, l.Topic) // last stable offsets
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return st, fmt.Errorf("listing the end of %s: %w", l.Topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, l.Topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return st, fmt.Errorf("listing the start of %s: %w", l.Topic, err)
	}
	first := starts[l.Topic][st.partition].Offset
	st.end = ends[l.Topic][st.partition].Offset
	st.next = first
	if st.end <= first {
		return st, nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{l.Topic: {st.partition: kgo.NewOffset().At(first)}})
	type value struct {
		v      []byte
		offset int64
	}
	latest := map[string]value{}
	prefix := keyPrefix(nil, topic, partition)
	var lastErr error
	for st.next < st.end {
		pctx, cancel := context.WithTimeout(ctx, restoreIdle)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return st, errors.Join(err, lastErr)
		}
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				lastErr = fmt.Errorf("fetching %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		got := 0
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= st.end || r.Offset < st.next {
				return
			}
			got++
			st.next = r.Offset + 1
			if r.Attrs.IsControl() || !bytes.HasPrefix(r.Key, prefix) {
				return
			}
			st.records++
			src, ok := sourceOffset(r)
			if !ok || src >= before {
				if ok {
					st.later++
				} else {
					st.bad++
					l.logger().Warn("BMP session state record without a valid source offset ignored", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset)
				}
				return
			}
			if r.Value == nil {
				delete(latest, string(r.Key))
				return
			}
			latest[string(r.Key)] = value{r.Value, r.Offset}
		})
		if got == 0 && st.next < st.end {
			// Nothing came: the rest may be offsets the consumer skips
			// without a record to show (compacted away, aborted data).
			done, err := caughtUp(ctx, cl, d.Partitions[st.partition].Leader, l.Topic, d.ID, st.partition, st.next, st.end)
			if err != nil {
				lastErr = err
			}
			if done {
				break
			}
		}
	}
	keys := make([]string, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	st.entries = make([]openbmp.StateEntry, 0, len(keys))
	for _, k := range keys {
		var e openbmp.StateEntry
		if err := e.UnmarshalBinary(latest[k].v); err != nil {
			st.bad++
			l.logger().Warn("undecodable BMP session state record ignored", "topic", l.Topic, "partition", st.partition, "offset", latest[k].offset, "key", k, "err", err)
			continue
		}
		st.entries = append(st.entries, e)
	}
	return st, nil
}

// restoreIdle is how long a restore waits for records before it asks the
// broker whether any are left before the end.
const restoreIdle = 200 * time.Millisecond

// caughtUp reports whether changelog partition topic/partition holds no
// record the consumer will still deliver in [next, end): what is left is
// offsets compaction removed or aborted transactional data, which a
// consumer skips without a record to show for it (franz-go has no
// position to ask). It fetches at next directly from the leader and reads
// the record batch headers.
func caughtUp(ctx context.Context, cl *kgo.Client, leader int32, topic string, id kadm.TopicID, partition int32, next, end int64) (bool, error) {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MinBytes = 1
	req.MaxBytes = 1 << 20
	req.IsolationLevel = 1 // read_committed
	req.SessionEpoch = -1  // no fetch session
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, next, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl.Broker(int(leader)))
	if err != nil {
		return false, fmt.Errorf("fetching %s/%d at %d: %w", topic, partition, next, err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return false, fmt.Errorf("fetching %s/%d at %d: %w", topic, partition, next, err)
			}
			for b := p.RecordBatches; len(b) > 0; {
				// Batch header: first offset (8), length (4) of the rest.
				if len(b) < 12 {
					return false, nil
				}
				n := 12 + int(int32(binary.BigEndian.Uint32(b[8:])))
				if n < 12 || n > len(b) {
					return false, nil // a partial batch: undecided
				}
				var rb kmsg.RecordBatch
				if err := rb.ReadFrom(b[:n]); err != nil {
					return false, nil
				}
				b = b[n:]
				if rb.FirstOffset+int64(rb.LastOffsetDelta) < next {
					continue
				}
				if rb.FirstOffset >= end {
					return true, nil
				}
				if abortedBatch(&rb, p.AbortedTransactions) {
					continue
				}
				return false, nil // a record (or marker) the consumer delivers
			}
		}
	}
	return true, nil
}

// abortedBatch reports whether rb is data of an aborted transaction.
func abortedBatch(rb *kmsg.RecordBatch, aborted []kmsg.FetchResponseTopicPartitionAbortedTransaction) bool {
	const transactional, control = 0x10, 0x20
	if rb.Attributes&transactional == 0 || rb.Attributes&control != 0 {
		return false
	}
	for _, a := range aborted {
		if a.ProducerID == rb.ProducerID && a.FirstOffset <= rb.FirstOffset {
			return true
		}
	}
	return false
}

// sourceOffset returns the input offset a changelog record carries.
func sourceOffset(r *kgo.Record) (int64, bool) {
	for _, h := range r.Headers {
		if h.Key == SourceOffsetHeader {
			n, err := strconv.ParseInt(string(h.Value), 10, 64)
			return n, err == nil && n >= 0
		}
	}
	return 0, false
}
