package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// NewTxSession joins the consumer group of c as one exactly-once task: a
// franz-go GroupTransactSession whose producer has the transactional id
// <transactional.id.prefix>-<task>, reading input with isolation.level=read_committed. Outputs
// produced through its client between Begin and End commit atomically with
// the offsets of the records polled, and a rebalance before End aborts the
// transaction (the records are read again). base are the shared client
// options ([ClientOpts]) and producer are the producer options.
func NewTxSession(c *Config, task int, base, producer []kgo.Opt, log *slog.Logger, hooks Hooks) (*kgo.GroupTransactSession, error) {
	reset := kgo.NewOffset().AtStart()
	if c.AutoOffsetReset == "latest" {
		reset = kgo.NewOffset().AtEnd()
	}
	l := log.With("task", task)
	opts := append(append(append([]kgo.Opt(nil), base...), producer...),
		kgo.TransactionalID(c.TransactionalIDPrefix+"-"+strconv.Itoa(task)),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumerGroup(c.GroupID),
		kgo.Balancers(kgo.RoundRobinBalancer()),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchMaxWait(c.FetchMaxWait),
		kgo.SessionTimeout(c.SessionTimeout),
		kgo.MetadataMaxAge(10*time.Second),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			l.Info("partitions assigned", "partitions", m)
			if hooks.Assigned != nil {
				hooks.Assigned(m)
			}
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			if len(m) > 0 {
				l.Info("partitions revoked (an open transaction aborts)", "partitions", m)
			}
			if hooks.Revoked != nil {
				hooks.Revoked(m)
			}
		}),
	)
	if c.TopicsRegex != "" {
		opts = append(opts, kgo.ConsumeTopics(c.TopicsRegex), kgo.ConsumeRegex())
	} else {
		opts = append(opts, kgo.ConsumeTopics(c.Topics...))
	}
	s, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return nil, fmt.Errorf("task %d: transactional session: %w", task, err)
	}
	return s, nil
}
