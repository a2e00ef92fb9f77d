package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Partition is the records of one input partition in one Polled, in offset
// order.
type Partition struct {
	Topic     string
	Partition int32
	Records   []*kgo.Record
}

// Polled is what one Poll returns: records grouped by partition.
type Polled struct {
	Partitions []Partition
	// Records is the total number of records.
	Records int
	// Gen is the tracker generation when the poll returned; Begin refuses
	// the batch's records once a later rebalance made them stale.
	Gen uint64
}

// Hooks are the pipeline's callbacks on group membership changes. They run
// on the group's goroutine, possibly concurrently with record processing.
type Hooks struct {
	// Assigned is called with newly assigned partitions.
	Assigned func(map[string][]int32)
	// Revoked is called with revoked or lost partitions, after their
	// completed offsets are committed: per-partition state (BMP sessions)
	// must be dropped.
	Revoked func(map[string][]int32)
	// Revoking, when set, is called first, before the group waits for the
	// records in flight of revoked partitions (not lost ones: another
	// member may own those already): a source whose records take long to
	// complete (a backfill item's whole dump) stops them here, leaving them
	// uncompleted, so the group does not wait.
	Revoking func(ctx context.Context, revoked map[string][]int32)
}

// Group is one consumer-group member (a task): it polls input records and
// commits, for each partition, the offset up to which every record's outputs
// are acknowledged (see [Tracker]).
type Group struct {
	cl    *kgo.Client
	trk   *Tracker
	log   *slog.Logger
	hooks Hooks

	commitMu sync.Mutex
	last     map[string]map[int32]int64
}

// GroupOptions are the consumer-group settings of a Kafka source (the
// connector fills them from its configuration).
type GroupOptions struct {
	// Group is the consumer group id.
	Group string
	// Topics are the topics consumed; TopicsRegex, when set, replaces them
	// with every topic matching the (anchored) pattern.
	Topics      []string
	TopicsRegex string
	// ResetLatest starts a partition without a committed offset at its end
	// instead of its start (auto.offset.reset=latest).
	ResetLatest bool
	// FetchMaxWait and SessionTimeout are the client settings of the same
	// names (0: franz-go's defaults).
	FetchMaxWait, SessionTimeout time.Duration
}

// consumerOpts returns the options every consumer-group client of the
// source shares: round-robin balancing (topics often have one partition),
// the reset offset, the topics, and the membership hooks.
func (o *GroupOptions) consumerOpts() []kgo.Opt {
	reset := kgo.NewOffset().AtStart()
	if o.ResetLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.ConsumerGroup(o.Group),
		kgo.Balancers(kgo.RoundRobinBalancer()),
		kgo.ConsumeResetOffset(reset),
		kgo.MetadataMaxAge(10 * time.Second),
	}
	if o.FetchMaxWait > 0 {
		opts = append(opts, kgo.FetchMaxWait(o.FetchMaxWait))
	}
	if o.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(o.SessionTimeout))
	}
	if o.TopicsRegex != "" {
		return append(opts, kgo.ConsumeTopics(o.TopicsRegex), kgo.ConsumeRegex())
	}
	return append(opts, kgo.ConsumeTopics(o.Topics...))
}

// NewGroup joins the consumer group of o as one task. base are the shared
// client options (seed brokers, TLS, SASL).
func NewGroup(o GroupOptions, task int, base []kgo.Opt, log *slog.Logger, hooks Hooks) (*Group, error) {
	s := &Group{trk: NewTracker(), log: log.With("task", task), hooks: hooks, last: map[string]map[int32]int64{}}
	opts := append(append(append([]kgo.Opt(nil), base...), o.consumerOpts()...),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.lost),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("task %d: consumer: %w", task, err)
	}
	s.cl = cl
	return s, nil
}

// Client returns the underlying consumer client.
func (s *Group) Client() *kgo.Client { return s.cl }

// Tracker returns the source's offset tracker.
func (s *Group) Tracker() *Tracker { return s.trk }

func (s *Group) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	s.trk.Assign(m)
	s.log.Info("partitions assigned", "partitions", m)
	if s.hooks.Assigned != nil {
		s.hooks.Assigned(m)
	}
}

// revoked waits for the revoked partitions' records in flight, commits what
// completed and drops their state, before the group hands them to another
// member.
func (s *Group) revoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if s.hooks.Revoking != nil && len(m) > 0 {
		s.hooks.Revoking(wctx, m)
	}
	offs := s.trk.Revoke(wctx, m)
	if len(offs) > 0 {
		if err := s.commit(ctx, offs); err != nil {
			s.log.Warn("commit on revoke failed", "err", err)
		}
	}
	s.commitMu.Lock()
	for t, ps := range m {
		for _, p := range ps {
			delete(s.last[t], p)
		}
	}
	s.commitMu.Unlock()
	if len(m) > 0 {
		s.log.Info("partitions revoked", "partitions", m, "committed", offs)
	}
	if s.hooks.Revoked != nil {
		s.hooks.Revoked(m)
	}
}

// lost drops the partitions without committing: the group session is gone,
// so a commit would be refused or rewind another member.
func (s *Group) lost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.trk.Revoke(ctx, m)
	s.log.Warn("partitions lost", "partitions", m)
	if s.hooks.Revoked != nil {
		s.hooks.Revoked(m)
	}
}

// Poll returns the next records, blocking until some arrive or ctx ends.
// Fetch errors that the client retries (e.g. a topic that does not exist
// yet) are logged and not returned; the error is non-nil only when ctx ended
// or the client was closed.
func (s *Group) Poll(ctx context.Context, max int) (Polled, error) {
	fs := s.cl.PollRecords(ctx, max)
	if fs.IsClientClosed() {
		return Polled{}, kgo.ErrClientClosed
	}
	// The generation is taken after the poll: a poll that spans a
	// rebalance returns records of the new assignment, which must not be
	// refused (their position is past them: refusing would lose them).
	// Records handed out before a later revocation are refused by Begin
	// and fetched again from the commit.
	b := Polled{Gen: s.trk.Generation()}
	for _, fe := range fs.Errors() {
		if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
			return b, fe.Err
		}
		s.log.Warn("fetch error", "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
	}
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		b.Partitions = append(b.Partitions, Partition{Topic: p.Topic, Partition: p.Partition, Records: p.Records})
		b.Records += len(p.Records)
	})
	if ctx.Err() != nil && b.Records == 0 {
		return b, ctx.Err()
	}
	return b, nil
}

// Begin registers a record of batch b before processing: see
// [Tracker.Begin]. A nil result means skip the record.
func (s *Group) Begin(b *Polled, r *kgo.Record) *Pending { return s.trk.Begin(r, b.Gen) }

// Commit commits, per partition, the offset up to which every record has
// completed, skipping partitions whose offset did not move.
func (s *Group) Commit(ctx context.Context) error {
	// The offsets are read under the commit lock, so that a periodic commit
	// computed before a revocation cannot land after the revocation's own
	// commit and rewind it.
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.commitLocked(ctx, s.trk.Committable())
}

func (s *Group) commit(ctx context.Context, offs map[string]map[int32]kgo.EpochOffset) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.commitLocked(ctx, offs)
}

func (s *Group) commitLocked(ctx context.Context, offs map[string]map[int32]kgo.EpochOffset) error {
	todo := map[string]map[int32]kgo.EpochOffset{}
	for t, ps := range offs {
		for p, eo := range ps {
			if last, ok := s.last[t][p]; ok && last == eo.Offset {
				continue
			}
			if todo[t] == nil {
				todo[t] = map[int32]kgo.EpochOffset{}
			}
			todo[t][p] = eo
		}
	}
	if len(todo) == 0 {
		return nil
	}
	var errs []error
	s.cl.CommitOffsetsSync(ctx, todo, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if e := kerr.ErrorForCode(p.ErrorCode); e != nil {
					errs = append(errs, fmt.Errorf("commit %s/%d: %w", t.Topic, p.Partition, e))
					continue
				}
				if s.last[t.Topic] == nil {
					s.last[t.Topic] = map[int32]int64{}
				}
				s.last[t.Topic][p.Partition] = todo[t.Topic][p.Partition].Offset
			}
		}
	})
	return errors.Join(errs...)
}

// Committed returns the offsets this source last committed.
func (s *Group) Committed() map[string]map[int32]int64 {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	out := map[string]map[int32]int64{}
	for t, ps := range s.last {
		out[t] = map[int32]int64{}
		for p, o := range ps {
			out[t][p] = o
		}
	}
	return out
}

// Close stops fetching, waits (until ctx ends) for records in flight,
// commits what completed, and leaves the group.
func (s *Group) Close(ctx context.Context) error {
	s.cl.PauseFetchTopics(s.cl.GetConsumeTopics()...)
	for s.trk.InFlight() > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
	err := s.Commit(ctx)
	// Leave within ctx: Close alone waits on an unreachable broker.
	s.cl.LeaveGroupContext(ctx)
	s.cl.Close()
	return err
}
