package connector

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// txCompletion collects the first produce error of a transaction.
type txCompletion struct {
	err atomic.Pointer[error]
}

// Add is a no-op: the transaction's End waits for every output.
func (c *txCompletion) Add(int32) {}

// Promise records the first produce error.
func (c *txCompletion) Promise(_ *kgo.Record, err error) { c.Done(err) }

// Done records err if it is the first.
func (c *txCompletion) Done(err error) {
	if err != nil {
		c.err.CompareAndSwap(nil, &err)
	}
}

// Fail is a no-op: a failed record aborts the whole transaction.
func (c *txCompletion) Fail() {}

func (c *txCompletion) first() error {
	if p := c.err.Load(); p != nil {
		return *p
	}
	return nil
}

// runTx is the exactly-once loop: each poll is one transaction holding its
// outputs, dead letters and input offsets. A rebalance during the
// transaction aborts it, and the records are read again by their owner.
func (t *task) runTx(ctx context.Context) error {
	t.ctx = t.producerContext(ctx)
	endCtx := context.WithoutCancel(ctx) // End must not be cut short by shutdown
	for {
		fs := t.sess.PollRecords(ctx, pollMax)
		if fs.IsClientClosed() || ctx.Err() != nil {
			return nil
		}
		for _, fe := range fs.Errors() {
			if errors.Is(fe.Err, context.Canceled) {
				return nil
			}
			t.log.Warn("fetch error", "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
		}
		if fs.NumRecords() == 0 {
			continue
		}
		if err := t.sess.Begin(); err != nil {
			return fmt.Errorf("task %d: begin transaction: %w", t.id, err)
		}
		t.txOpen.Store(true)
		var nrec uint64 // records of this transaction, uncounted if it aborts
		c := &txCompletion{}
		var failed error
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if failed != nil || len(p.Records) == 0 {
				return
			}
			dec := t.decoder(p.Topic, p.Partition)
			for _, r := range p.Records {
				nrec++
				if err := t.process(dec, r, c); err != nil {
					failed = err
					return
				}
			}
		})
		if failed == nil {
			failed = c.first()
		}
		if failed != nil {
			// Abort: no output and no offset of this poll is committed.
			t.sess.End(endCtx, kgo.TryAbort)
			t.txOpen.Store(false)
			return fmt.Errorf("%w (transaction aborted)", failed)
		}
		committed, err := t.sess.End(endCtx, kgo.TryCommit)
		t.txOpen.Store(false)
		if err != nil {
			return fmt.Errorf("task %d: ending transaction: %w", t.id, err)
		}
		if committed {
			t.c.Stats.Commits.Add(1)
		} else {
			// Not counted: the records are read again.
			t.c.Stats.Records.Add(^(nrec - 1))
			t.log.Info("transaction aborted by a rebalance; its records will be read again")
		}
	}
}
