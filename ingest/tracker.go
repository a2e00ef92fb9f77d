package ingest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TopicPartition names one input partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Tracker follows, per input partition, which records still have outputs in
// flight, so that a commit never passes an offset whose outputs are not all
// acknowledged. A record is begun in offset order by the task that processes
// its partition; its outputs complete in any order (produce promises); the
// committable offset of a partition is one past the last record of the
// contiguous completed run from the front.
//
// Begin is called by one goroutine per partition; Pending methods may be
// called from any goroutine; the rest is safe for concurrent use.
type Tracker struct {
	mu    sync.Mutex
	parts map[TopicPartition]*partState
	gen   atomic.Uint64 // incremented by every Revoke
	// revokedAt is the generation at which each partition was last
	// revoked.
	revokedAt map[TopicPartition]uint64
}

type partState struct {
	mu      sync.Mutex
	queue   []*Pending // begun records not yet popped, in offset order
	next    int64      // committable offset: one past the last completed run
	epoch   int32
	has     bool // a record completed: next is worth committing
	revoked bool
	failed  *Pending // first failed record; nothing at or after it commits
}

// Pending is the completion counter of one input record: one hold for the
// processing itself plus one per output record produced.
type Pending struct {
	st     *partState
	offset int64
	epoch  int32
	n      atomic.Int32
	failed atomic.Bool
	err    atomic.Pointer[error]
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{parts: map[TopicPartition]*partState{}, revokedAt: map[TopicPartition]uint64{}}
}

// Generation returns the revocation count; take it before polling and pass
// it to Begin.
func (t *Tracker) Generation() uint64 { return t.gen.Load() }

// Begin registers an input record and returns its Pending holding one count
// (release it with Done once every output is produced), or nil when the
// partition was revoked, or revoked since gen was taken (the record was
// polled before a rebalance that took the partition away, even if it was
// assigned again): the record must then be skipped, since its owner reads it
// again from the last commit.
func (t *Tracker) Begin(r *kgo.Record, gen uint64) *Pending {
	tp := TopicPartition{r.Topic, r.Partition}
	t.mu.Lock()
	if t.revokedAt[tp] > gen {
		t.mu.Unlock()
		return nil
	}
	st := t.parts[tp]
	if st == nil {
		st = &partState{next: r.Offset, epoch: -1}
		t.parts[tp] = st
	}
	t.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.revoked {
		return nil
	}
	p := &Pending{st: st, offset: r.Offset, epoch: r.LeaderEpoch}
	p.n.Store(1)
	st.queue = append(st.queue, p)
	return p
}

// Offset returns the input record's offset.
func (p *Pending) Offset() int64 { return p.offset }

// Add counts n more outputs in flight.
func (p *Pending) Add(n int32) { p.n.Add(n) }

// Done completes one output (or the processing hold); a non-nil err marks
// the record failed, so that no commit passes it.
func (p *Pending) Done(err error) {
	if err != nil {
		p.fail(err)
	}
	p.n.Add(-1)
}

// fail records the first cause; kept out of Done so that Done does not
// allocate on the common nil path.
//
//go:noinline
func (p *Pending) fail(err error) {
	e := err
	p.err.CompareAndSwap(nil, &e)
	p.failed.Store(true)
}

// Promise is Done with the signature of a franz-go produce promise.
func (p *Pending) Promise(_ *kgo.Record, err error) { p.Done(err) }

// Fail marks the record failed and releases the processing hold.
func (p *Pending) Fail() { p.Done(errFailed) }

var errFailed = &failedError{}

type failedError struct{}

func (*failedError) Error() string { return "record failed" }

// advance pops completed records from the front. st.mu must be held.
func (st *partState) advance() {
	i := 0
	for ; i < len(st.queue); i++ {
		p := st.queue[i]
		if p.failed.Load() {
			if st.failed == nil {
				st.failed = p
			}
			break
		}
		if p.n.Load() != 0 {
			break
		}
		st.next, st.epoch, st.has = p.offset+1, p.epoch, true
	}
	if i > 0 {
		n := copy(st.queue, st.queue[i:])
		clear(st.queue[n:])
		st.queue = st.queue[:n]
	}
}

// Committable returns, for every partition where a record completed, the
// offset to commit: one past the last record of the completed run.
func (t *Tracker) Committable() map[string]map[int32]kgo.EpochOffset {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out map[string]map[int32]kgo.EpochOffset
	for tp, st := range t.parts {
		st.mu.Lock()
		st.advance()
		if st.has && !st.revoked {
			if out == nil {
				out = map[string]map[int32]kgo.EpochOffset{}
			}
			if out[tp.Topic] == nil {
				out[tp.Topic] = map[int32]kgo.EpochOffset{}
			}
			out[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: st.epoch, Offset: st.next}
		}
		st.mu.Unlock()
	}
	return out
}

// InFlight returns the number of begun records not yet completed.
func (t *Tracker) InFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, st := range t.parts {
		st.mu.Lock()
		st.advance()
		for _, p := range st.queue {
			if !p.failed.Load() {
				n++
			}
		}
		st.mu.Unlock()
	}
	return n
}

// Revoke stops tracking the partitions: Begin returns nil for them until
// they are assigned again. It waits, until ctx ends, for their begun records to complete, and
// returns the offsets to commit for them.
func (t *Tracker) Revoke(ctx context.Context, revoked map[string][]int32) map[string]map[int32]kgo.EpochOffset {
	var sts []*partState
	var tps []TopicPartition
	t.mu.Lock()
	g := t.gen.Add(1)
	for topic, ps := range revoked {
		for _, p := range ps {
			tp := TopicPartition{topic, p}
			t.revokedAt[tp] = g
			if st := t.parts[tp]; st != nil {
				st.mu.Lock()
				st.revoked = true
				st.mu.Unlock()
				sts = append(sts, st)
				tps = append(tps, tp)
			}
		}
	}
	t.mu.Unlock()
	for _, st := range sts {
		for {
			st.mu.Lock()
			st.advance()
			busy := false
			for _, p := range st.queue {
				if !p.failed.Load() && p.n.Load() != 0 {
					busy = true
				}
			}
			st.mu.Unlock()
			if !busy || ctx.Err() != nil {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	out := map[string]map[int32]kgo.EpochOffset{}
	t.mu.Lock()
	for i, st := range sts {
		tp := tps[i]
		st.mu.Lock()
		if st.has {
			if out[tp.Topic] == nil {
				out[tp.Topic] = map[int32]kgo.EpochOffset{}
			}
			out[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: st.epoch, Offset: st.next}
		}
		st.queue = nil
		st.mu.Unlock()
	}
	t.mu.Unlock()
	return out
}

// Assign starts tracking partitions afresh (after an assignment): a
// partition revoked earlier accepts records again.
func (t *Tracker) Assign(assigned map[string][]int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for topic, ps := range assigned {
		for _, p := range ps {
			tp := TopicPartition{topic, p}
			if st := t.parts[tp]; st != nil && st.revoked {
				delete(t.parts, tp)
			}
		}
	}
}

// Failed returns the first failed record's partition, offset and cause, if
// any.
func (t *Tracker) Failed() (TopicPartition, int64, error, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for tp, st := range t.parts {
		st.mu.Lock()
		st.advance()
		f := st.failed
		st.mu.Unlock()
		if f != nil {
			var err error = errFailed
			if e := f.err.Load(); e != nil {
				err = *e
			}
			return tp, f.offset, err, true
		}
	}
	return TopicPartition{}, 0, nil, false
}
