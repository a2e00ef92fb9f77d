package ingest

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
)

// NewTxSession joins the consumer group of o as one exactly-once task: a
// franz-go GroupTransactSession whose producer has the given transactional
// id, reading input with isolation.level=read_committed. Outputs
// produced through its client between Begin and End commit atomically with
// the offsets of the records polled, and a rebalance before End aborts the
// transaction (the records are read again). base are the shared client
// options (seed brokers, TLS, SASL) and producer the producer options.
func NewTxSession(o GroupOptions, transactionalID string, task int, base, producer []kgo.Opt, log *slog.Logger, hooks Hooks) (*kgo.GroupTransactSession, error) {
	l := log.With("task", task)
	opts := append(append(append(append([]kgo.Opt(nil), base...), producer...), o.consumerOpts()...),
		kgo.TransactionalID(transactionalID),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
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
	s, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return nil, fmt.Errorf("task %d: transactional session: %w", task, err)
	}
	return s, nil
}
