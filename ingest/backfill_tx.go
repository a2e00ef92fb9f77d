package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/decode"
)

// The exactly-once side of BackfillSource: transactions of at most
// CheckpointElems elems (or CheckpointInterval), each ending with the state
// record of what it holds. Transaction boundaries are taken under txMu, by
// Next (the task goroutine) or by a revocation.

// txEndTimeout bounds the end of a transaction: the wait for its last
// acknowledgements, its state record and the commit.
const txEndTimeout = 30 * time.Second

// handOutTx hands b on inside the open transaction, first ending the
// transaction when b would take it past the checkpoint interval.
func (s *BackfillSource) handOutTx(ctx context.Context, run *backfillRun, b *decode.Batch) (bool, error) {
	n := int64(len(b.Elems))
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if run.isStopped() {
		return false, nil
	}
	if s.txOpen && s.txElems > 0 && (s.txElems+n > s.o.CheckpointElems || time.Since(s.txStarted) >= s.o.CheckpointInterval) {
		if err := s.commitTxLocked(ctx, run, StateRunning); err != nil {
			return false, err
		}
	}
	if err := s.beginTxLocked(); err != nil {
		return false, err
	}
	end := run.register(b, false)
	s.txElems += n
	b.Done = func(err error) { run.batchDone(end, n, err) }
	return true, nil
}

// beginTxLocked opens a transaction unless one is open.
func (s *BackfillSource) beginTxLocked() error {
	if s.txOpen {
		return nil
	}
	if err := s.txp.BeginTransaction(); err != nil {
		return fmt.Errorf("task %d: begin transaction: %w", s.o.Task, err)
	}
	s.txOpen, s.txElems, s.txStarted = true, 0, time.Now()
	return nil
}

// waitBatches waits (within ctx) until every batch of run handed out is
// acknowledged.
func (s *BackfillSource) waitBatches(ctx context.Context, run *backfillRun) error {
	if err := s.txp.Flush(ctx); err != nil {
		return err
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	if !run.waitLocked(ctx, func() bool { return run.outstanding == 0 }, nil) {
		return ctx.Err()
	}
	return nil
}

// commitTxLocked ends the open transaction with run's state at what it
// produced (status StateRunning: a checkpoint; StateDone or StateFailed:
// the item's completion). A failure aborts the transaction and is
// returned: the next owner redoes the chunk from the last committed
// checkpoint.
func (s *BackfillSource) commitTxLocked(ctx context.Context, run *backfillRun, status string) error {
	if err := s.beginTxLocked(); err != nil {
		return err
	}
	// A shutdown must not cut the end of a transaction short (what it
	// holds would be redone): the end has its own bound.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), txEndTimeout)
	defer cancel()
	abort := func(err error) error {
		s.txp.AbortBufferedRecords(context.WithoutCancel(ctx))
		s.txp.EndTransaction(context.WithoutCancel(ctx), kgo.TryAbort)
		s.txOpen = false
		return fmt.Errorf("task %d: %s (transaction aborted): %w", s.o.Task, run.item.URL, err)
	}
	if err := s.waitBatches(ctx, run); err != nil {
		return abort(err)
	}
	if err := s.failed(); err != nil {
		return abort(err)
	}
	run.mu.Lock()
	p := run.produced
	st := run.state(status, p, p.elems)
	run.mu.Unlock()
	if err := s.txp.ProduceSync(ctx, s.stateRecord(st)).FirstErr(); err != nil {
		return abort(err)
	}
	s.stats.checkpoints.Add(1)
	if err := s.txp.EndTransaction(context.WithoutCancel(ctx), kgo.TryCommit); err != nil {
		s.txOpen = false
		return fmt.Errorf("task %d: committing the transaction of %s: %w", s.o.Task, run.item.URL, err)
	}
	s.txOpen = false
	inc(s.o.Counters.Commits, 1)
	run.mu.Lock()
	s.stats.elems.Add(p.elems - run.durable.elems)
	run.durable, run.issued, run.issuedAt = p, p.elems, time.Now()
	run.signalLocked()
	run.mu.Unlock()
	return nil
}

// completeTx completes an item whose dump is read (or failed): its last
// elems, its dead letter when it failed, and its final state commit in one
// transaction.
func (s *BackfillSource) completeTx(ctx context.Context, run *backfillRun, class string) error {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if run.isStopped() {
		return nil
	}
	status := StateDone
	if run.final != nil {
		status = StateFailed
		if s.o.DeadLetter != nil {
			if err := s.beginTxLocked(); err != nil {
				return err
			}
			s.o.DeadLetter(ctx, run.rec, "TASK_POLL", class, run.final, func(err error) {
				if err != nil {
					s.fail(fmt.Errorf("task %d: dead letter of %s: %w", s.o.Task, run.item.URL, err))
				}
			})
		}
	}
	if err := s.commitTxLocked(ctx, run, status); err != nil {
		return err
	}
	s.complete(run)
	return nil
}

// txDeadLetter sends an undecodable work item to the dead letter topic in
// a transaction of its own.
func (s *BackfillSource) txDeadLetter(ctx context.Context, r *kgo.Record, stage, class string, cause error) error {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if err := s.beginTxLocked(); err != nil {
		return err
	}
	errc := make(chan error, 1)
	s.o.DeadLetter(ctx, r, stage, class, cause, func(err error) { errc <- err })
	if err := s.txp.Flush(ctx); err != nil {
		return err
	}
	if err := <-errc; err != nil {
		s.txp.EndTransaction(context.WithoutCancel(ctx), kgo.TryAbort)
		s.txOpen = false
		return fmt.Errorf("task %d: dead letter of %s/%d offset %d: %w", s.o.Task, r.Topic, r.Partition, r.Offset, err)
	}
	if err := s.txp.EndTransaction(context.WithoutCancel(ctx), kgo.TryCommit); err != nil {
		s.txOpen = false
		return fmt.Errorf("task %d: committing a dead letter: %w", s.o.Task, err)
	}
	s.txOpen = false
	inc(s.o.Counters.Commits, 1)
	return nil
}

// stopTx ends a stopped item's open transaction with a final checkpoint at
// what its acknowledged batches reached (within ctx; else it aborts, and
// the next owner redoes the chunk).
func (s *BackfillSource) stopTx(ctx context.Context, run *backfillRun) {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if !s.txOpen {
		return
	}
	if err := s.commitTxLocked(ctx, run, StateRunning); err != nil {
		s.log.Warn("backfill item stopped; its open transaction is aborted", "url", run.item.URL, "err", err)
		return
	}
	s.log.Info("backfill item stopped at a committed checkpoint", "url", run.item.URL, "offset", run.durable.offset, "elems", run.durable.elems)
}
