package bgpstream

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/ingest"
)

// merger runs the stream: it asks the data interfaces for resources, keeps
// them in bgpreader's queue (merge.go), and hands out the records in
// order. Records come out in runs from one input; a run that is a whole
// batch of that input is handed out as it is (no copy), other runs are
// copied into an output batch.
type merger struct {
	s     *Stream
	ctx   context.Context
	yield func(*decode.Batch, error) bool
	q     queue

	out     decode.Batch
	errs    []error // input errors to hand out at the next yield
	stopped bool

	// The current run: records [runFrom, runTo) of runRd's batch runB.
	runRd   *reader
	runB    *decode.Batch
	runFrom int
	runTo   int

	// RIB period: the last RIB time taken per project.collector.
	ribLast map[string]int64
}

func (m *merger) run() {
	s := m.s
	m.q.open = func(e *mres) error {
		e.rd = s.startReader(m.ctx, e.r, s.manyInputs())
		s.openCount.Add(1)
		return nil
	}
	m.q.wait = func(e *mres) error {
		e.rd.fetch(m.fail)
		if e.rd.eos && e.rd.cur == nil {
			m.emptyResource(e)
		}
		return nil
	}
	defer m.cleanup()
	pending := make([]bool, len(s.dis)) // data interfaces not done
	for i := range pending {
		pending[i] = true
	}
	for {
		if s.closed.Load() || m.stopped {
			return
		}
		if m.q.cnt == 0 {
			if !m.pollAll(pending) {
				break
			}
			continue
		}
		e, err := m.q.ready(m.ctx)
		if err != nil {
			m.emitErr(err)
			return
		}
		if e == nil {
			break
		}
		m.pop(e)
	}
	m.flushRun()
	m.flushOut()
	m.flushErrs()
}

// pollAll asks every data interface that is not done for new resources and
// queues them; it reports false when nothing more will ever come.
func (m *merger) pollAll(pending []bool) bool {
	any := false
	for i, d := range m.s.dis {
		if !pending[i] {
			continue
		}
		// Hand out what is ready before a live poll blocks.
		m.flushRun()
		m.flushOut()
		m.flushErrs()
		if m.s.idle != nil && !m.stopped {
			m.s.idle()
		}
		res, done, err := d.poll(m.ctx)
		if err != nil {
			if m.ctx.Err() != nil {
				return false
			}
			m.errs = append(m.errs, err)
			done = true
		}
		if done {
			pending[i] = false
		}
		m.s.nres.Add(int64(len(res)))
		for _, r := range res {
			if m.wantRIB(r) {
				m.q.insert(&mres{r: r})
			}
		}
		any = any || pending[i] || len(res) > 0
	}
	return any || m.q.cnt > 0
}

// wantRIB applies the RIB period (bgpreader -P): at most one RIB dump per
// collector per period.
func (m *merger) wantRIB(r *resource) bool {
	p := int64(m.s.cfg.ribPeriod / time.Second)
	if r.Type != decode.RecordRIB || p == 0 {
		return true
	}
	if m.ribLast == nil {
		m.ribLast = map[string]int64{}
	}
	k := r.Project + "." + r.Collector
	last, seen := m.ribLast[k]
	if seen && r.InitialTime < last+p {
		return false
	}
	m.ribLast[k] = r.InitialTime
	return true
}

// pop takes the next record from e's input.
func (m *merger) pop(e *mres) {
	rd := e.rd
	prev := e.nextTime()
	if rd.cur == nil { // an input that ended without a record
		m.q.advanced(e, prev, true)
		m.closeReader(rd)
		return
	}
	if m.runRd != rd || m.runB != rd.cur || m.runTo != rd.ri {
		m.flushRun()
		m.runRd, m.runB, m.runFrom, m.runTo = rd, rd.cur, rd.ri, rd.ri
	}
	m.runTo++
	rd.ri++
	if rd.ri == len(rd.cur.Records) {
		// The batch is used up: its run is complete. Read the input's
		// next batch to know its next time.
		m.flushRun()
		rd.fetch(m.fail)
	} else {
		rd.setTime()
	}
	eos := rd.cur == nil && rd.eos
	m.q.advanced(e, prev, eos)
	if eos {
		m.closeReader(rd)
	}
}

// flushRun hands out the current run: a whole batch as it is, else copied
// into the output batch.
func (m *merger) flushRun() {
	rd, b := m.runRd, m.runB
	if rd == nil {
		return
	}
	from, to := m.runFrom, m.runTo
	m.runRd, m.runB = nil, nil
	whole := from == 0 && to == len(b.Records)
	if whole {
		m.flushOut()
		m.emit(b)
		rd.recycle(b)
		return
	}
	if from == 0 {
		rd.eHint, rd.sHint = 0, 0
	}
	for i := from; i < to; i++ {
		for g := range b.Gaps {
			if int(b.Gaps[g].Before) == i {
				gg := b.Gaps[g]
				m.out.AddGap(gg.Start, gg.End, gg.Err)
			}
		}
		_, rd.eHint, rd.sHint = m.out.CopyRecord(b, int32(i), rd.eHint, rd.sHint)
	}
	if to == len(b.Records) {
		for g := range b.Gaps {
			if int(b.Gaps[g].Before) == to {
				gg := b.Gaps[g]
				m.out.AddGap(gg.Start, gg.End, gg.Err)
			}
		}
		rd.recycle(b)
	}
	if len(m.out.Records) >= ingest.BatchRecords || len(m.out.Elems) >= ingest.BatchElems {
		m.flushOut()
	}
}

func (m *merger) flushOut() {
	if len(m.out.Records) == 0 && len(m.out.Gaps) == 0 {
		return
	}
	m.emit(&m.out)
	m.out.Reset()
}

// emit hands a batch to the consumer (with the input errors before it).
func (m *merger) emit(b *decode.Batch) {
	if m.stopped {
		return
	}
	m.flushErrs()
	if m.stopped {
		return
	}
	m.s.stats.records.Add(int64(len(b.Records)))
	m.s.stats.elems.Add(int64(len(b.Elems)))
	if !m.yield(b, nil) {
		m.stopped = true
		m.s.closed.Store(true)
	}
}

func (m *merger) flushErrs() {
	for len(m.errs) > 0 && !m.stopped {
		err := m.errs[0]
		m.errs = m.errs[1:]
		if !m.yield(nil, err) {
			m.stopped = true
			m.s.closed.Store(true)
		}
	}
}

func (m *merger) emitErr(err error) {
	if errors.Is(err, context.Canceled) && m.s.closed.Load() {
		return
	}
	m.errs = append(m.errs, err)
	m.flushErrs()
}

// fail records an input's error: it is handed out as a *ResourceError.
func (m *merger) fail(rd *reader, err error) {
	if m.ctx.Err() != nil {
		return
	}
	m.s.stats.failed.Add(1)
	m.errs = append(m.errs, &ResourceError{Name: rd.r.Name, Err: err})
}

// emptyResource marks an input that ended (or failed) before its first
// record with a record of status empty-source or corrupted-source, as
// bgpreader does.
func (m *merger) emptyResource(e *mres) {
	rd := e.rd
	st := decode.StatusEmptySource
	if rd.failed {
		st = decode.StatusCorruptedSource
	}
	b := <-rd.free
	b.Reset()
	b.Source, b.Partition = rd.r.Name, -1
	b.AddRecord(&decode.Record{Type: rd.r.Type, Status: st, DumpPos: decode.DumpStart, Time: rd.r.InitialTime * 1e6,
		DumpTime: rd.r.DumpTime, Project: rd.r.Project, Collector: rd.r.Collector})
	b.Gaps = append(b.Gaps, rd.carry...)
	rd.carry = nil
	rd.cur, rd.ri = b, 0
	rd.nextTime = rd.r.InitialTime
}

func (m *merger) closeReader(rd *reader) {
	if len(rd.carry) > 0 {
		// Gaps after the input's last record.
		for _, g := range rd.carry {
			m.out.AddGap(g.Start, g.End, g.Err)
		}
		rd.carry = nil
	}
	rd.stop()
	m.s.openCount.Add(-1)
	m.s.stats.done.Add(1)
}

// cleanup stops every input still open and waits for their goroutines,
// then closes the data interfaces that hold resources (downloads).
func (m *merger) cleanup() {
	defer func() {
		for _, d := range m.s.dis {
			if c, ok := d.(io.Closer); ok {
				c.Close()
			}
		}
	}()
	m.s.mu.Lock()
	open := m.s.open
	m.s.mu.Unlock()
	for _, rd := range open {
		rd.stop()
	}
	for _, rd := range open {
		for range rd.items { // unblock a pending send
		}
		<-rd.done
	}
}
