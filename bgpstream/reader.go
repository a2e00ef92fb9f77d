package bgpstream

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/ingest"
)

// sizedSource is a source that takes the batch size (ingest.FileSource).
type sizedSource interface {
	NextN(ctx context.Context, b *decode.Batch, maxElems, maxRecords int) error
}

// statsSource is a source that counts what it read (ingest.FileSource).
type statsSource interface{ Stats() ingest.FileStats }

// readerBatches is how many batches one input holds: the one being merged,
// the next (read ahead), and one being decoded.
const readerBatches = 3

// item is what a reader's goroutine hands the merge: a batch, or the
// input's error after its last batch.
type item struct {
	b   *decode.Batch
	err error
}

// reader decodes one input on its own goroutine, a bounded amount ahead of
// the merge: the stage source → filter runs there, so inputs decode in
// parallel.
type reader struct {
	s      *Stream
	r      *resource
	items  chan item
	free   chan *decode.Batch
	cancel context.CancelFunc
	done   chan struct{}

	// Merge side.
	cur *decode.Batch
	ri  int // next record of cur
	// eHint and sHint are where cur's elems and stats of record ri start
	// (copies of a batch's records go forward through it).
	eHint, sHint int
	nextTime     int64
	eos          bool
	carry        []decode.Gap // gaps read before any record of the next batch
	failed       bool
}

// start opens the input on a new goroutine.
func (s *Stream) startReader(ctx context.Context, r *resource, small bool) *reader {
	ctx, cancel := context.WithCancel(ctx)
	rd := &reader{s: s, r: r, items: make(chan item, 1), free: make(chan *decode.Batch, readerBatches), cancel: cancel, done: make(chan struct{})}
	for i := 0; i < readerBatches; i++ {
		rd.free <- new(decode.Batch)
	}
	s.mu.Lock()
	s.open = append(s.open, rd)
	s.mu.Unlock()
	s.stats.resources.Add(1)
	go rd.run(ctx, small)
	return rd
}

// stop ends the reader's goroutine.
func (rd *reader) stop() { rd.cancel() }

// batchSize returns the batch limits for a merge of n open inputs: small
// batches when many are open, so that memory stays flat.
func batchSize(n int) (elems, records int) {
	n = max(n, 1)
	return min(max(16384/n, 64), ingest.BatchElems), min(max(4096/n, 16), ingest.BatchRecords)
}

func (rd *reader) run(ctx context.Context, small bool) {
	defer close(rd.done)
	defer close(rd.items)
	src, err := rd.r.open(ctx, small)
	if err != nil {
		if fn := rd.s.cfg.inputDone; fn != nil && ctx.Err() == nil {
			fn(InputSummary{Name: rd.r.Name, Project: rd.r.Project, Collector: rd.r.Collector, Err: err})
		}
		rd.send(ctx, item{err: err})
		return
	}
	defer src.Close()
	var m *filter.Matcher
	if f := rd.s.filter; f != nil && f.String() != "" {
		m = f.NewMatcher()
	}
	fs, sized := src.(sizedSource)
	for {
		var b *decode.Batch
		select {
		case b = <-rd.free:
		case <-ctx.Done():
			return
		}
		b.Reset()
		if sized {
			me, mr := batchSize(int(rd.s.openCount.Load()))
			err = fs.NextN(ctx, b, me, mr)
		} else {
			err = src.Next(ctx, b)
		}
		end := rd.clip(b)
		rd.report(b)
		m.Apply(b)
		if len(b.Records) > 0 || len(b.Gaps) > 0 {
			if !rd.send(ctx, item{b: b}) {
				return
			}
		}
		if end && err == nil {
			err = io.EOF
		}
		if err != nil {
			var st ingest.FileStats
			if ss, ok := src.(statsSource); ok {
				st = ss.Stats()
				rd.s.addFileStats(st)
			}
			if fn := rd.s.cfg.inputDone; fn != nil && ctx.Err() == nil {
				sum := InputSummary{Name: rd.r.Name, Project: rd.r.Project, Collector: rd.r.Collector, Stats: st}
				if !errors.Is(err, io.EOF) {
					sum.Err = err
				}
				fn(sum)
			}
			if !errors.Is(err, io.EOF) {
				rd.send(ctx, item{err: err})
			}
			return
		}
	}
}

func (rd *reader) send(ctx context.Context, it item) bool {
	select {
	case rd.items <- it:
		return true
	case <-ctx.Done():
		return false
	}
}

// clip ends the input at the first record past the end of the stream's
// last window (decode.Batch.ClipAfter): the rest of the input is not read.
func (rd *reader) clip(b *decode.Batch) bool { return b.ClipAfter(rd.s.endUS) }

// report hands the batch's damage to OnDamage.
func (rd *reader) report(b *decode.Batch) {
	fn := rd.s.cfg.damage
	if fn == nil {
		return
	}
	for i := range b.Gaps {
		fn(&Damage{Source: b.Source, Gap: &b.Gaps[i]})
	}
	for i := range b.Records {
		if r := &b.Records[i]; r.Status == decode.StatusCorruptedRecord && r.Err != nil {
			fn(&Damage{Source: b.Source, Record: r})
		}
	}
}

// recordTime is a record's time for the merge, in whole seconds; ok is
// false for a corrupted or unsupported record, which does not move its
// input (bgpreader keeps the reader's time for them).
func recordTime(r *decode.Record) (int64, bool) {
	if r.Status == decode.StatusCorruptedRecord || r.Status == decode.StatusUnsupported {
		return 0, false
	}
	t := r.Time / 1e6
	if r.Time < 0 && r.Time%1e6 != 0 {
		t--
	}
	return t, true
}

// fetch makes cur the input's next batch (nil at its end) and sets the
// next-record time. An input's error is handed to the merge's fail.
func (rd *reader) fetch(fail func(*reader, error)) {
	rd.cur, rd.ri = nil, 0
	for {
		it, ok := rd.receive()
		if !ok {
			rd.eos = true
			return
		}
		if it.err != nil {
			rd.failed = true
			fail(rd, it.err)
			continue
		}
		b := it.b
		if len(b.Records) == 0 {
			rd.carry = append(rd.carry, b.Gaps...)
			rd.recycle(b)
			continue
		}
		if len(rd.carry) > 0 {
			for i := range rd.carry {
				rd.carry[i].Before = 0
			}
			b.Gaps = append(rd.carry, b.Gaps...)
			rd.carry = nil
		}
		rd.cur = b
		rd.setTime()
		return
	}
}

// setTime updates nextTime from the next record of cur.
func (rd *reader) setTime() {
	if t, ok := recordTime(&rd.cur.Records[rd.ri]); ok {
		rd.nextTime = t
	} else if rd.nextTime == 0 {
		rd.nextTime = rd.cur.Records[rd.ri].Time / 1e6
	}
}

// recycle gives a batch back to the reader's goroutine.
func (rd *reader) recycle(b *decode.Batch) {
	b.Finish(nil)
	select {
	case rd.free <- b:
	default:
	}
}

// receive takes the next item from the reader's goroutine. When none is
// ready within 50 ms (a live input waiting for data), the stream's idle hook
// runs first, so that what was read reaches its sink (Run flushes it).
func (rd *reader) receive() (item, bool) {
	select {
	case it, ok := <-rd.items:
		return it, ok
	default:
	}
	idle := rd.s.idle
	if idle == nil {
		it, ok := <-rd.items
		return it, ok
	}
	t := time.NewTimer(50 * time.Millisecond)
	defer t.Stop()
	select {
	case it, ok := <-rd.items:
		return it, ok
	case <-t.C:
		idle()
	}
	it, ok := <-rd.items
	return it, ok
}
