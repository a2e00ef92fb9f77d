package ingest

// Checkpoints and completions of backfill runs in the state topic
// (at-least-once; exactly-once transactions are in backfill_tx.go), and
// the stopping of runs.

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// poke wakes the checkpoint writer.
func (s *BackfillSource) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// state returns the state record of run at progress p.
func (r *backfillRun) state(status string, p backfillProgress, reach int64) *BackfillState {
	st := &BackfillState{URL: r.item.URL, Project: r.item.Project, Collector: r.item.Collector, Type: r.item.Type,
		Status: status, Offset: p.offset, Elems: p.elems, Reach: reach, Records: p.records,
		Gaps: r.gaps, BytesSkipped: r.skipped, Task: r.s.o.TaskName, Time: time.Now().UTC()}
	if r.resume {
		st.Resumes = r.prev.Resumes + 1
	}
	if r.final != nil {
		st.Error = r.final.Error()
	}
	return st
}

func (s *BackfillSource) stateRecord(st *BackfillState) *kgo.Record {
	return &kgo.Record{Topic: s.o.StateTopic, Key: []byte(st.URL), Value: EncodeState(st)}
}

// writer is the at-least-once checkpoint writer: it writes each item's
// checkpoints (every CheckpointElems/2 elems acknowledged, every
// CheckpointInterval, or at once when Next waits for one) and its final
// state once its last batch is acknowledged, then completes the item.
func (s *BackfillSource) writer() {
	defer s.writerW.Done()
	tick := time.NewTicker(min(s.o.CheckpointInterval, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-s.stopW:
			return
		case <-s.wake:
		case <-tick.C:
		}
		s.mu.Lock()
		runs := append([]*backfillRun(nil), s.runs...)
		s.mu.Unlock()
		for _, r := range runs {
			s.step(r)
		}
	}
}

// step writes what run needs now: its final state, or a checkpoint.
func (s *BackfillSource) step(run *backfillRun) {
	run.mu.Lock()
	defer run.mu.Unlock()
	if run.stopped || run.completed || run.writing || run.finishing {
		return
	}
	if run.ended && run.outstanding == 0 && !run.dlqPending {
		run.finishing = true
		status, reach := StateDone, run.acked.elems
		if run.final != nil {
			status = StateFailed
		}
		st := run.state(status, run.acked, reach)
		s.o.Producer.Produce(context.Background(), s.stateRecord(st), func(_ *kgo.Record, err error) {
			s.stats.checkpoints.Add(1)
			if err != nil {
				s.fail(fmt.Errorf("task %d: recording %s %s in %s: %w", s.o.Task, run.item.URL, status, s.o.StateTopic, err))
				return
			}
			s.complete(run)
		})
		return
	}
	lag := run.acked.elems - run.issued
	due := lag >= s.o.CheckpointElems/2 || (run.waiting && lag > 0) ||
		(time.Since(run.issuedAt) >= s.o.CheckpointInterval && run.acked.offset > run.durable.offset)
	if !due {
		return
	}
	p := run.acked
	run.writing, run.issued, run.issuedAt = true, p.elems, time.Now()
	st := run.state(StateRunning, p, p.elems+s.o.CheckpointElems)
	s.o.Producer.Produce(context.Background(), s.stateRecord(st), func(_ *kgo.Record, err error) {
		s.stats.checkpoints.Add(1)
		run.mu.Lock()
		run.writing = false
		if err == nil && p.elems >= run.durable.elems {
			run.durable = p
		}
		run.signalLocked()
		run.mu.Unlock()
		if err != nil {
			s.fail(fmt.Errorf("task %d: checkpoint of %s in %s: %w", s.o.Task, run.item.URL, s.o.StateTopic, err))
			return
		}
		s.poke()
	})
}

// complete ends an item whose final state is durable: its offset becomes
// committable.
func (s *BackfillSource) complete(run *backfillRun) {
	run.mu.Lock()
	if run.released { // stopped meanwhile: the next owner completes it
		run.mu.Unlock()
		return
	}
	run.completed, run.released = true, true
	run.durable = run.acked
	failed := run.final != nil
	run.signalLocked()
	run.mu.Unlock()
	s.remove(run)
	if failed {
		s.stats.failed.Add(1)
	} else {
		s.stats.done.Add(1)
	}
	run.pend.Done(nil)
}

func (s *BackfillSource) remove(run *backfillRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.runs {
		if r == run {
			s.runs = append(s.runs[:i], s.runs[i+1:]...)
			return
		}
	}
}

// stopRun stops an item before its end (revocation, shutdown, a failure
// under errors.tolerance=none). With checkpoint, it waits (within ctx) for
// the batches in flight and writes a final checkpoint, so that the next
// owner republishes nothing. The item is left uncompleted (not committed).
// An item whose dump was read to its end is let complete instead.
func (s *BackfillSource) stopRun(ctx context.Context, run *backfillRun, checkpoint bool) {
	run.mu.Lock()
	if run.completed || run.stopped {
		run.mu.Unlock()
		return
	}
	if run.ended && checkpoint && s.txp == nil {
		// Read to its end: let it complete.
		if run.waitLocked(ctx, func() bool { return run.completed }, s.poke) {
			run.mu.Unlock()
			return
		}
	}
	run.stopped = true
	run.signalLocked()
	run.mu.Unlock()
	run.cancel()
	if checkpoint {
		if s.txp != nil {
			s.stopTx(ctx, run)
		} else {
			s.finalCheckpoint(ctx, run)
		}
	}
	run.mu.Lock()
	released := run.released
	run.completed, run.released = true, true
	run.signalLocked()
	run.mu.Unlock()
	if released {
		return // it completed meanwhile
	}
	s.remove(run)
	run.pend.Fail() // not committed: the next owner resumes it
}

// finalCheckpoint waits for run's batches in flight and writes its
// checkpoint at what they reached, with Reach equal to it.
func (s *BackfillSource) finalCheckpoint(ctx context.Context, run *backfillRun) {
	run.mu.Lock()
	wrote := run.waitLocked(ctx, func() bool { return run.outstanding == 0 && !run.writing }, nil)
	p := run.acked
	st := run.state(StateRunning, p, p.elems)
	run.mu.Unlock()
	// Written even when no elem was acknowledged since the last
	// checkpoint: that one's Reach allows for elems past it, this one says
	// there are none.
	if !wrote || p.offset == 0 {
		return
	}
	res := s.o.Producer.ProduceSync(ctx, s.stateRecord(st))
	s.stats.checkpoints.Add(1)
	if err := res.FirstErr(); err != nil {
		s.log.Warn("final checkpoint not written; the next owner resumes from the previous one", "url", run.item.URL, "err", err)
		return
	}
	s.log.Info("backfill item stopped at a checkpoint", "url", run.item.URL, "offset", p.offset, "elems", p.elems)
}

func (s *BackfillSource) stopWriter() {
	select {
	case <-s.stopW:
	default:
		close(s.stopW)
	}
	s.writerW.Wait()
}
