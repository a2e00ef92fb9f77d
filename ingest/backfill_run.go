package ingest

// A backfill run: one work item being read, its batches handed out and
// acknowledged, its decoder goroutine.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// backfillProgress is a position in a dump: the offset up to which records
// are covered, and the elems and records before it.
type backfillProgress struct {
	offset, elems, records int64
}

// backfillMark is one batch handed out, in order.
type backfillMark struct {
	end  backfillProgress // cumulative progress at the batch's end
	done bool
}

// backfillRun is one work item being read, or finishing (its last batches
// awaiting acknowledgement, its final state being written).
type backfillRun struct {
	s    *BackfillSource
	item WorkItem
	rec  *kgo.Record
	pend *Pending

	ctx    context.Context // governs the fetch; cancelled to stop
	cancel context.CancelFunc
	rc     io.ReadCloser
	fs     *FileSource
	match  *filter.Matcher
	endUS  int64 // clip: the end of the last window (0: none)
	prev   BackfillState
	resume bool
	fetchN int64 // compressed bytes counted so far

	mu          sync.Mutex
	marks       []backfillMark
	produced    backfillProgress // at the end of the last batch handed out
	acked       backfillProgress // at the end of the acknowledged prefix
	durable     backfillProgress // of the last checkpoint Kafka acknowledged
	issued      int64            // elems of the last checkpoint written
	issuedAt    time.Time
	writing     bool // a checkpoint is in flight
	waiting     bool // Next waits for a checkpoint (the publish bound)
	outstanding int
	ended       bool  // the stream is read to its end (or clipped, or failed)
	final       error // the dump failed: dead-lettered, state failed
	stopped     bool  // revoked or shut down: no more batches, no completion
	completed   bool
	released    bool // the item's Pending is released (Done or Fail), once
	finishing   bool // the final state is being written
	gaps        int64
	skipped     int64
	changed     chan struct{} // closed and replaced on progress
	dlqPending  bool          // the dead letter is not acknowledged yet
	after       error         // how the stream ended with the last batch handed out (io.EOF, or the failure)

	// The decoder goroutine (read) fills batches ahead of Next.
	full     chan backfillFill
	free     chan *decode.Batch
	readDone chan struct{}
}

// backfillFill is one batch the decoder goroutine read, with how the read
// ended (nil: more to come), the filter's count and the dump bytes read so
// far (as stored).
type backfillFill struct {
	b        *decode.Batch
	err      error
	filtered int
	fetched  int64
}

// readAhead is how many batches the decoder goroutine fills ahead of Next.
const readAhead = 2

// read is the decoder goroutine of a run: it fills batches from the dump
// (decompression has goroutines of its own), clips them at the windows'
// end and filters their elems, ahead of Next, until the dump ends, fails,
// or the run is stopped.
func (r *backfillRun) read() {
	defer close(r.readDone)
	for {
		var b *decode.Batch
		select {
		case b = <-r.free:
		case <-r.ctx.Done():
			return
		}
		b.Reset()
		err := r.fs.Next(r.ctx, b)
		f := backfillFill{b: b, err: err}
		if len(b.Records) > 0 {
			if r.clip(b) && err == nil {
				f.err = io.EOF
			}
			f.filtered = r.match.Apply(b)
		}
		f.fetched = r.fs.Stats().CompressedBytes
		select {
		case r.full <- f:
		case <-r.ctx.Done():
			return
		}
		if f.err != nil {
			return
		}
	}
}

// fill reads the next batch of the current item into b; it reports whether
// b is to be handed on. When the dump ends (or fails, or the item is
// stopped) the item moves to its completion and s.cur is cleared.
func (s *BackfillSource) fill(ctx context.Context, b *decode.Batch) (bool, error) {
	run := s.cur
	if err := run.after; err != nil {
		// The last batch is handed on: the dump ends (completing it in
		// exactly-once mode needs that batch produced first).
		run.after = nil
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return false, s.end(ctx, run, err)
	}
	for {
		if run.isStopped() {
			s.drop(run)
			return false, nil
		}
		var f backfillFill
		select {
		case f = <-run.full:
		case <-run.readDone:
			select {
			case f = <-run.full:
			default:
				// The decoder stopped without a last batch: the run was
				// stopped (or ctx ended).
				if ctx.Err() != nil {
					return false, ctx.Err()
				}
				s.drop(run)
				return false, nil
			}
		case <-ctx.Done():
			return false, ctx.Err()
		}
		// The batch changes hands: b takes the filled storage, the
		// decoder gets b's back.
		*b, *f.b = *f.b, *b
		run.free <- f.b
		err := f.err
		if len(b.Records) > 0 || len(b.Gaps) > 0 {
			run.account(b, f)
			if len(b.Elems) > 0 || len(b.Stats) > 0 {
				ok, herr := s.handOut(ctx, run, b)
				if herr != nil {
					return false, herr
				}
				if !ok {
					s.drop(run) // stopped meanwhile
					return false, nil
				}
				run.after = err
				return true, nil
			}
			run.register(b, true) // nothing to publish: progress only
		}
		if err == nil {
			continue
		}
		if run.isStopped() {
			s.drop(run)
			return false, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return false, s.end(ctx, run, err)
	}
}

// clip ends the dump at the first record past the end of the item's last
// window (decode.Batch.ClipAfter): the rest is not read.
func (r *backfillRun) clip(b *decode.Batch) bool { return b.ClipAfter(r.endUS) }

// account counts what a batch holds: records, gaps, fetched bytes, elems
// filtered.
func (r *backfillRun) account(b *decode.Batch, f backfillFill) {
	s := r.s
	if f.filtered > 0 {
		inc(s.o.Filtered, uint64(f.filtered))
	}
	var recs int64
	for i := range b.Records {
		if !r.resume || b.Records[i].Offset >= r.prev.Offset {
			recs++
		}
	}
	s.stats.records.Add(recs)
	for i := range b.Gaps {
		g := &b.Gaps[i]
		r.mu.Lock()
		r.gaps++
		r.skipped += g.Len()
		n := r.gaps
		r.mu.Unlock()
		s.stats.gaps.Add(1)
		s.stats.skippedBytes.Add(g.Len())
		if n <= 10 {
			s.log.Warn("backfill: damaged region of a dump skipped", "url", r.item.URL, "start", g.Start, "end", g.End, "err", g.Err)
		} else if n == 11 {
			s.log.Warn("backfill: more damaged regions skipped in this dump (counted, not logged)", "url", r.item.URL)
		}
	}
	if f.fetched > r.fetchN {
		s.stats.fetched.Add(f.fetched - r.fetchN)
		r.fetchN = f.fetched
	}
}

// register records a batch handed out (or, with done, one that needs no
// output) and returns the progress at its end, which names it.
func (r *backfillRun) register(b *decode.Batch, done bool) backfillProgress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.produced
	if n := len(b.Records); n > 0 {
		p.offset = max(p.offset, b.Records[n-1].Offset+1)
	}
	for i := range b.Records {
		if !r.resume || b.Records[i].Offset >= r.prev.Offset {
			p.records++
		}
	}
	elems := int64(len(b.Elems))
	if r.resume && r.prev.Reach > p.elems {
		r.s.stats.republished.Add(min(elems, r.prev.Reach-p.elems))
	}
	p.elems += elems
	r.produced = p
	r.marks = append(r.marks, backfillMark{end: p, done: done})
	if done {
		r.advanceLocked()
	} else {
		r.outstanding++
	}
	return p
}

// advanceLocked moves the acknowledged prefix over the done marks.
func (r *backfillRun) advanceLocked() {
	i := 0
	for ; i < len(r.marks) && r.marks[i].done; i++ {
		r.acked = r.marks[i].end
	}
	if i > 0 {
		r.marks = append(r.marks[:0], r.marks[i:]...)
	}
}

// batchDone completes the batch whose progress ends at end.
func (r *backfillRun) batchDone(end backfillProgress, elems int64, err error) {
	s := r.s
	r.mu.Lock()
	for i := range r.marks {
		if r.marks[i].end == end && !r.marks[i].done {
			r.marks[i].done = true
			break
		}
	}
	r.outstanding--
	if err == nil {
		r.advanceLocked()
	}
	r.signalLocked()
	r.mu.Unlock()
	if err != nil {
		s.fail(fmt.Errorf("task %d: producing the elems of %s: %w", s.o.Task, r.item.URL, err))
		return
	}
	if s.txp == nil {
		s.stats.elems.Add(elems) // exactly once: counted when committed
	}
	s.poke()
}

// waitLocked waits, with r.mu held (released while waiting), until done
// holds or ctx ends, calling poke before each wait when set; it reports
// whether done holds.
func (r *backfillRun) waitLocked(ctx context.Context, done func() bool, poke func()) bool {
	for !done() {
		if ctx.Err() != nil {
			return false
		}
		ch := r.changed
		r.mu.Unlock()
		if poke != nil {
			poke()
		}
		select {
		case <-ch:
		case <-ctx.Done():
		}
		r.mu.Lock()
	}
	return true
}

func (r *backfillRun) signalLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *backfillRun) isStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// handOut sets b's Done and hands it on, once the publish bound allows it
// (at-least-once: no more than CheckpointElems past the last durable
// checkpoint; exactly-once: within the chunk's transaction). It reports
// false when the item was stopped meanwhile (b is then dropped).
func (s *BackfillSource) handOut(ctx context.Context, run *backfillRun, b *decode.Batch) (bool, error) {
	n := int64(len(b.Elems))
	if s.txp != nil {
		return s.handOutTx(ctx, run, b)
	}
	for {
		run.mu.Lock()
		if run.stopped {
			run.mu.Unlock()
			return false, nil
		}
		over := run.produced.elems+n > run.durable.elems+s.o.CheckpointElems && run.produced.elems > run.durable.elems
		if !over {
			run.waiting = false
			run.mu.Unlock()
			break
		}
		run.waiting = true
		ch := run.changed
		run.mu.Unlock()
		s.poke()
		select {
		case <-ch:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if err := s.failed(); err != nil {
			return false, err
		}
	}
	end := run.register(b, false)
	b.Done = func(err error) { run.batchDone(end, n, err) }
	return true, nil
}

// end finishes reading an item's dump: cause nil is a complete read, else
// the dump failed. The item completes once its batches are acknowledged.
func (s *BackfillSource) end(ctx context.Context, run *backfillRun, cause error) error {
	s.cur = nil
	run.closeInput()
	if cause == nil {
		if s.txp != nil {
			return s.completeTx(ctx, run, "")
		}
		run.mu.Lock()
		run.ended = true
		run.mu.Unlock()
		s.poke()
		return nil
	}
	class := "mrt.Reader"
	if !errors.As(cause, new(*mrt.TruncatedError)) {
		class = "ingest.FileSource"
	}
	return s.failRun(ctx, run, class, cause)
}

// drop forgets a stopped item's reader (its completion belongs to its next
// owner).
func (s *BackfillSource) drop(run *backfillRun) {
	if s.cur == run {
		s.cur = nil
	}
	run.closeInput()
}

func (r *backfillRun) closeInput() {
	r.cancel()
	if r.readDone != nil {
		<-r.readDone // the decoder goroutine owns fs until it ends
	}
	if r.fs != nil {
		r.fs.Close()
		r.fs = nil
	}
	if r.rc != nil {
		r.rc.Close()
		r.rc = nil
	}
	r.cancel()
}

// failRun handles a dump that cannot be read: under errors.tolerance=all it
// is recorded as failed (and its work item dead-lettered) once the batches
// already handed out are acknowledged; under none the source stops with
// the URL and the cause, the item not committed.
func (s *BackfillSource) failRun(ctx context.Context, run *backfillRun, class string, cause error) error {
	if s.cur == run {
		s.cur = nil
	}
	run.closeInput()
	r := run.rec
	if ctx.Err() != nil || run.isStopped() {
		s.stopRun(context.Background(), run, false)
		return ctx.Err()
	}
	inc(s.o.Counters.Errors, 1)
	if s.o.DeadLetter == nil && !s.o.SkipErrors {
		s.stopRun(context.Background(), run, false)
		return fmt.Errorf("task %d: backfill item %s (%s/%d offset %d): %w (errors.tolerance=none: the item is not committed)",
			s.o.Task, run.item.URL, r.Topic, r.Partition, r.Offset, cause)
	}
	if s.o.LogErrors {
		s.log.Warn("backfill item failed", "url", run.item.URL, "topic", r.Topic, "partition", r.Partition, "offset", r.Offset,
			"err", cause, "dead_letter", s.o.DeadLetter != nil)
	}
	run.mu.Lock()
	run.ended, run.final = true, cause
	run.mu.Unlock()
	if s.o.DeadLetter != nil {
		inc(s.o.Counters.DeadLetters, 1)
	} else {
		inc(s.o.Counters.Skipped, 1)
	}
	if s.txp != nil {
		return s.completeTx(ctx, run, class)
	}
	if s.o.DeadLetter != nil {
		run.mu.Lock()
		run.dlqPending = true
		run.mu.Unlock()
		s.o.DeadLetter(ctx, r, "TASK_POLL", class, cause, func(err error) {
			run.mu.Lock()
			run.dlqPending = false
			run.signalLocked()
			run.mu.Unlock()
			if err != nil {
				s.fail(fmt.Errorf("task %d: dead letter of %s: %w", s.o.Task, run.item.URL, err))
			}
			s.poke()
		})
	}
	s.poke()
	return nil
}
