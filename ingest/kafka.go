package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/decode"
)

// KafkaCounters are the counters a KafkaSource keeps (any may be nil).
type KafkaCounters struct {
	// Records counts input records decoded (uncounted again when an
	// exactly-once transaction aborts and they will be read again).
	Records *atomic.Uint64
	// Errors counts undecodable input records; DeadLetters those sent to
	// the dead letter topic, Skipped those dropped without one.
	Errors, DeadLetters, Skipped *atomic.Uint64
	// Commits counts committed transactions (exactly-once mode).
	Commits *atomic.Uint64
}

func inc(c *atomic.Uint64, n uint64) {
	if c != nil {
		c.Add(n)
	}
}

// DeadLetterFunc sends an undecodable input record to the dead letter
// topic and calls done once it is acknowledged (or failed).
type DeadLetterFunc func(ctx context.Context, r *kgo.Record, cause error, done func(error))

// KafkaOptions configure a KafkaSource.
type KafkaOptions struct {
	// Group are the consumer-group settings.
	Group GroupOptions
	// Task numbers the group member (logs, errors).
	Task int
	// Format decodes the values (one decoder per input partition).
	Format ValueFormat
	// DeadLetter receives undecodable records (errors.tolerance=all with a
	// dead letter topic). When nil, an undecodable record stops the source
	// with a *RecordError (nothing past it is committed) unless SkipErrors.
	DeadLetter DeadLetterFunc
	// SkipErrors drops undecodable records without a dead letter topic
	// (errors.tolerance=all), counting them.
	SkipErrors bool
	// LogErrors logs each undecodable record (errors.log.enable).
	LogErrors bool
	// TransactionalID, when set, makes the source exactly-once: each poll
	// is one transaction of the session's producer (Client) holding the
	// outputs of its records and their offsets.
	TransactionalID string
	// Producer are the producer options of the exactly-once session.
	Producer []kgo.Opt
	// PollMax bounds the records one poll takes (default 2048).
	PollMax int
	// State, when set, keeps the BMP session state of every partition's
	// value decoder in a changelog topic, restored before a newly assigned
	// partition's first record is decoded (bmpstate.go).
	State *StateLog
	// Hooks are called on assignment and revocation, after the source's
	// own handling (revoked partitions' decoders are dropped).
	Hooks Hooks
	// Counters are incremented as records are read.
	Counters KafkaCounters
	// OnDecodeError, when set, is told the cause of each undecodable
	// record (metrics by kind).
	OnDecodeError func(error)
	// Log receives the source's notices.
	Log *slog.Logger
}

// RecordError is an input record that could not be decoded, with its
// position.
type RecordError struct {
	Topic     string
	Partition int32
	Offset    int64
	Err       error
}

// Error returns "topic/partition offset N: cause".
func (e *RecordError) Error() string {
	return fmt.Sprintf("%s/%d offset %d: %v", e.Topic, e.Partition, e.Offset, e.Err)
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// KafkaSource is the Source of the connector: one consumer-group member
// reading raw input topics (OpenBMP, raw BMP, MRT values). Each Next turns
// a run of one partition's polled records into a batch, decoding every
// value with the partition's decoder (BMP session state follows the
// partition carrying the router), and sets the batch's Done so that the
// records' offsets become committable only once the sink has delivered
// every output derived from them (at-least-once), or, in exactly-once mode,
// ends the poll's transaction once all its batches are delivered. An
// undecodable record is dead-lettered (Options.DeadLetter), skipped, or
// stops the source loudly, naming topic, partition and offset.
//
// Next must be called from one goroutine; the membership hooks run on the
// group's own goroutine.
type KafkaSource struct {
	o    KafkaOptions
	g    *Group                    // at-least-once
	sess *kgo.GroupTransactSession // exactly-once
	log  *slog.Logger

	poll   Polled
	pi, ri int                      // next partition and record of poll
	pos    map[TopicPartition]int64 // next offset to read, per partition

	mu   sync.Mutex
	decs map[TopicPartition]ValueDecoder
	held atomic.Int32 // partitions assigned

	// exactly-once transaction state
	txOpen      atomic.Bool
	txRecords   uint64
	outstanding sync.WaitGroup // batches of the transaction not yet delivered
	txErr       atomic.Pointer[error]
}

// NewKafkaSource joins the consumer group as one task. base are the shared
// client options (seed brokers, TLS, SASL).
func NewKafkaSource(base []kgo.Opt, o KafkaOptions) (*KafkaSource, error) {
	if o.Format == nil {
		return nil, errors.New("kafka source: no value format")
	}
	if o.PollMax <= 0 {
		o.PollMax = 2048
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &KafkaSource{o: o, log: o.Log.With("task", o.Task), decs: map[TopicPartition]ValueDecoder{}, pos: map[TopicPartition]int64{}}
	hooks := Hooks{Assigned: s.assigned, Revoked: s.revoked}
	var err error
	if o.TransactionalID != "" {
		s.sess, err = NewTxSession(o.Group, o.TransactionalID, o.Task, base, o.Producer, o.Log, hooks)
	} else {
		s.g, err = NewGroup(o.Group, o.Task, base, o.Log, hooks)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Client returns the source's client: in exactly-once mode outputs must be
// produced through it (its transactions hold them).
func (s *KafkaSource) Client() *kgo.Client {
	if s.sess != nil {
		return s.sess.Client()
	}
	return s.g.Client()
}

// Group returns the at-least-once consumer-group member (nil in
// exactly-once mode).
func (s *KafkaSource) Group() *Group { return s.g }

// Held returns the number of input partitions assigned.
func (s *KafkaSource) Held() int { return int(s.held.Load()) }

// InFlight returns the input records whose outputs are not all delivered
// (at-least-once), or 1 while a transaction is open.
func (s *KafkaSource) InFlight() int {
	if s.g != nil {
		return s.g.Tracker().InFlight()
	}
	if s.txOpen.Load() {
		return 1
	}
	return 0
}

func (s *KafkaSource) assigned(m map[string][]int32) {
	for _, ps := range m {
		s.held.Add(int32(len(ps)))
	}
	if s.o.Hooks.Assigned != nil {
		s.o.Hooks.Assigned(m)
	}
}

// revoked forgets the decoders (and so the BMP sessions of the routers
// those partitions carry) of revoked partitions.
func (s *KafkaSource) revoked(m map[string][]int32) {
	s.mu.Lock()
	for topic, ps := range m {
		s.held.Add(-int32(len(ps)))
		for _, p := range ps {
			delete(s.decs, TopicPartition{Topic: topic, Partition: p})
		}
	}
	s.mu.Unlock()
	if s.o.Hooks.Revoked != nil {
		s.o.Hooks.Revoked(m)
	}
}

// Position returns the offset after the last record Next read from a
// partition (0 before any). It is to be called from Next's goroutine.
func (s *KafkaSource) Position(topic string, partition int32) int64 {
	return s.pos[TopicPartition{topic, partition}]
}

// Decoder returns the decoder of a partition, making it if needed.
func (s *KafkaSource) Decoder(topic string, partition int32) ValueDecoder {
	tp := TopicPartition{Topic: topic, Partition: partition}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.decs[tp]
	if d == nil {
		d = s.o.Format.NewDecoder(topic, partition)
		if s.o.State != nil {
			d = s.o.State.track(d, topic, partition)
		}
		s.decs[tp] = d
	}
	return d
}

// Next fills b with the next run of one partition's records. It blocks
// until records arrive; it returns ctx.Err() or kgo.ErrClientClosed when
// the source stops, a *RecordError for an undecodable record that can be
// neither dead-lettered nor skipped, and an error when an earlier batch's
// outputs failed.
func (s *KafkaSource) Next(ctx context.Context, b *decode.Batch) error {
	for {
		if s.g != nil && ctx.Err() != nil {
			return ctx.Err() // at-least-once: what was not delivered is read again
		}
		if err := s.failed(); err != nil {
			return err
		}
		if s.pi >= len(s.poll.Partitions) {
			if err := s.nextPoll(ctx); err != nil {
				return err
			}
			continue
		}
		p := &s.poll.Partitions[s.pi]
		ok, err := s.fill(ctx, b, p)
		if s.ri >= len(p.Records) {
			s.pi, s.ri = s.pi+1, 0
		}
		if err != nil || ok {
			return err
		}
	}
}

// fill decodes the next records of partition p into b; it reports whether
// the batch holds records to hand on.
func (s *KafkaSource) fill(ctx context.Context, b *decode.Batch, p *Partition) (bool, error) {
	dec := s.Decoder(p.Topic, p.Partition)
	b.Source, b.Partition = p.Topic, p.Partition
	ack := &batchAck{s: s}
	for s.ri < len(p.Records) && len(b.Records) < BatchRecords && len(b.Elems) < BatchElems {
		r := p.Records[s.ri]
		s.ri++
		s.pos[TopicPartition{r.Topic, r.Partition}] = r.Offset + 1
		var pend *Pending
		if s.g != nil {
			if pend = s.g.Begin(&s.poll, r); pend == nil {
				continue // polled before a rebalance: read again from the commit
			}
		}
		n := len(b.Records)
		err := s.decodeValue(ctx, dec, b, r, pend) // AppendTo, and the BMP session state (bmpstate.go)
		inc(s.o.Counters.Records, 1)
		s.txRecords++
		if err == nil {
			if pend != nil {
				ack.pends = append(ack.pends, pend)
			}
			continue
		}
		b.Truncate(n)
		if serr := (*StateError)(nil); errors.As(err, &serr) {
			// Not the record's fault: stop, committing nothing past it.
			if pend != nil {
				pend.Fail()
			}
			ack.done(nil)
			ferr := fmt.Errorf("task %d: %w", s.o.Task, err)
			s.txErr.CompareAndSwap(nil, &ferr)
			return false, ferr
		}
		inc(s.o.Counters.Errors, 1)
		if s.o.OnDecodeError != nil {
			s.o.OnDecodeError(err)
		}
		rerr := &RecordError{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Err: err}
		switch {
		case s.o.DeadLetter != nil:
			if s.o.LogErrors {
				s.log.Warn("undecodable record sent to the dead letter topic", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
			}
			if pend != nil {
				pend.Add(1) // the dead letter's own hold
				s.o.DeadLetter(ctx, r, err, pend.Done)
				pend.Done(nil) // the processing hold
			} else {
				s.o.DeadLetter(ctx, r, err, s.txDone())
			}
			inc(s.o.Counters.DeadLetters, 1)
		case s.o.SkipErrors:
			if s.o.LogErrors {
				s.log.Warn("undecodable record skipped (errors.tolerance=all, no dead letter topic)", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
			}
			if pend != nil {
				pend.Done(nil)
			}
			inc(s.o.Counters.Skipped, 1)
		default:
			if pend != nil {
				pend.Fail()
			}
			ack.done(nil)
			ferr := fmt.Errorf("task %d: undecodable record (errors.tolerance=none; nothing past it is committed): %w", s.o.Task, rerr)
			s.txErr.CompareAndSwap(nil, &ferr) // exactly-once: the poll's transaction aborts
			return false, ferr
		}
	}
	if len(b.Records) == 0 && len(ack.pends) == 0 {
		return false, nil
	}
	if s.sess != nil {
		s.outstanding.Add(1)
		b.Done = s.txBatchDone
	} else {
		b.Done = ack.done
	}
	return true, nil
}

// batchAck completes the records of one batch once its outputs are
// delivered.
type batchAck struct {
	s     *KafkaSource
	pends []*Pending
}

func (a *batchAck) done(err error) {
	for _, p := range a.pends {
		p.Done(err)
	}
	a.pends = nil
}

// failed returns the first output failure of earlier batches.
func (s *KafkaSource) failed() error {
	if s.g != nil {
		if tp, off, err, failed := s.g.Tracker().Failed(); failed {
			return fmt.Errorf("task %d: producing the outputs of %s/%d offset %d: %w", s.o.Task, tp.Topic, tp.Partition, off, err)
		}
	}
	return nil
}

func (s *KafkaSource) txBatchDone(err error) {
	if err != nil {
		s.txErr.CompareAndSwap(nil, &err)
	}
	s.outstanding.Done()
}

// txDone returns a completion that records a dead letter's failure in the
// transaction.
func (s *KafkaSource) txDone() func(error) {
	return func(err error) {
		if err != nil {
			s.txErr.CompareAndSwap(nil, &err)
		}
	}
}

// nextPoll polls the next records; in exactly-once mode it first ends the
// transaction of the previous poll, once every batch of it is delivered.
func (s *KafkaSource) nextPoll(ctx context.Context) error {
	if s.sess == nil {
		pb, err := s.g.Poll(ctx, s.o.PollMax)
		if err != nil {
			return err
		}
		s.poll, s.pi, s.ri = pb, 0, 0
		return nil
	}
	if err := s.endTx(ctx); err != nil {
		return err
	}
	fs := s.sess.PollRecords(ctx, s.o.PollMax)
	if fs.IsClientClosed() {
		return kgo.ErrClientClosed
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, fe := range fs.Errors() {
		if errors.Is(fe.Err, context.Canceled) {
			return fe.Err
		}
		s.log.Warn("fetch error", "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
	}
	s.poll, s.pi, s.ri = Polled{}, 0, 0
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) > 0 {
			s.poll.Partitions = append(s.poll.Partitions, Partition{Topic: p.Topic, Partition: p.Partition, Records: p.Records})
			s.poll.Records += len(p.Records)
		}
	})
	if s.poll.Records == 0 {
		return nil
	}
	if err := s.sess.Begin(); err != nil {
		return fmt.Errorf("task %d: begin transaction: %w", s.o.Task, err)
	}
	s.txOpen.Store(true)
	s.txRecords = 0
	return nil
}

// endTx ends the open transaction: commit once every batch is delivered,
// or abort when one failed (nothing of the poll is then committed, and the
// source stops). A rebalance aborts it too: its records are read again.
func (s *KafkaSource) endTx(ctx context.Context) error {
	if !s.txOpen.Load() {
		return nil
	}
	endCtx := context.WithoutCancel(ctx) // End must not be cut short by shutdown
	s.Client().Flush(endCtx)
	s.outstanding.Wait()
	defer s.txOpen.Store(false)
	if p := s.txErr.Swap(nil); p != nil {
		s.sess.End(endCtx, kgo.TryAbort)
		return fmt.Errorf("task %d: %w (transaction aborted)", s.o.Task, *p)
	}
	committed, err := s.sess.End(endCtx, kgo.TryCommit)
	if err != nil {
		return fmt.Errorf("task %d: ending transaction: %w", s.o.Task, err)
	}
	if committed {
		inc(s.o.Counters.Commits, 1)
		return nil
	}
	// Not counted: the records are read again.
	if c := s.o.Counters.Records; c != nil {
		c.Add(^(s.txRecords - 1))
	}
	s.log.Info("transaction aborted by a rebalance; its records will be read again")
	return nil
}

// Commit commits the offsets whose outputs are delivered (at-least-once;
// a no-op in exactly-once mode, where transactions commit).
func (s *KafkaSource) Commit(ctx context.Context) error {
	if s.g == nil {
		return nil
	}
	return s.g.Commit(ctx)
}

// Shutdown stops the source: at-least-once, it stops fetching, waits
// (until ctx ends) for the records in flight, commits what completed and
// leaves the group; exactly-once, it ends the open transaction (committing
// what was delivered) and leaves. It returns the final commit's error.
func (s *KafkaSource) Shutdown(ctx context.Context) error {
	if s.g != nil {
		return s.g.Close(ctx)
	}
	err := s.endTx(ctx)
	s.sess.Close()
	return err
}

// Close leaves the group without waiting (Shutdown is the graceful stop).
func (s *KafkaSource) Close() error {
	if s.g != nil {
		s.g.Client().Close()
		return nil
	}
	s.sess.Close()
	return nil
}
