package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// pollMax bounds the records one poll hands to a task.
const pollMax = 2048

// shutdownGrace bounds how long a shutdown waits for blocked produces.
const shutdownGrace = 30 * time.Second

// task is one consumer-group member: it decodes its partitions' records with
// one decoder per partition (BMP session state follows the partition that
// carries the router), filters, and produces through its Writer.
type task struct {
	c      *Connector
	id     int
	src    *ingest.Group            // at-least-once mode
	sess   *kgo.GroupTransactSession // exactly-once mode
	txOpen atomic.Bool               // a transaction is open (exactly-once)
	w      *emit.Writer
	match  elemMatcher
	log    *slog.Logger

	mu    sync.Mutex
	decs  map[ingest.TopicPartition]inputDecoder
	state string // "", "STOPPED" or "FAILED"
	trace string
	held  atomic.Int32 // partitions assigned

	// released is closed by Run once the outputs are flushed and the final
	// commit is done.
	released chan struct{}

	// Per-record state used by yield.
	ctx   context.Context
	in    emit.Input
	yield yieldFunc
}

func (c *Connector) newTask(id int, base []kgo.Opt) (*task, error) {
	t := &task{c: c, id: id, log: c.log.With("task", id), decs: map[ingest.TopicPartition]inputDecoder{}}
	t.match = c.filter.matcher()
	t.yield = t.emit
	t.w = emit.NewWriter(c.prod, emit.Options{
		Topics: c.topics, Framing: c.framing, Key: c.key,
		DLQTopic: c.cfg.DLQTopic, DLQContextHeaders: c.cfg.DLQContextHeaders, Connector: c.cfg.Name,
	})
	hooks := ingest.Hooks{Assigned: t.assigned, Revoked: t.dropDecoders}
	if c.cfg.ExactlyOnce {
		sess, err := ingest.NewTxSession(c.cfg.groupOptions(), c.cfg.TransactionalIDPrefix+"-"+strconv.Itoa(id), id, base, emit.ProducerOpts(c.cfg.Compression, c.cfg.Linger), c.log, hooks)
		if err != nil {
			return nil, err
		}
		t.sess = sess
		t.w = emit.NewWriter(sess.Client(), t.w.Options())
		return t, nil
	}
	src, err := ingest.NewGroup(c.cfg.groupOptions(), id, base, c.log, hooks)
	if err != nil {
		return nil, err
	}
	t.src = src
	return t, nil
}

// finish records how run ended.
func (t *task) finish(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.state = "STOPPED"
	if err != nil {
		t.state, t.trace = "FAILED", err.Error()
	}
}

// status returns the Connect state of the task and its failure trace.
func (t *task) status() (string, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch t.state {
	case "FAILED":
		return "FAILED", t.trace
	case "STOPPED":
		return "UNASSIGNED", ""
	}
	return "RUNNING", ""
}

// assigned counts the task's partitions.
func (t *task) assigned(m map[string][]int32) {
	t.c.taskJoined(t.id) // metrics.go: readiness
	for _, ps := range m {
		t.held.Add(int32(len(ps)))
	}
}

// dropDecoders forgets the per-partition decoders (and so the BMP sessions
// of the routers those partitions carry) of revoked partitions.
func (t *task) dropDecoders(m map[string][]int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for topic, ps := range m {
		t.held.Add(-int32(len(ps)))
		for _, p := range ps {
			delete(t.decs, ingest.TopicPartition{Topic: topic, Partition: p})
		}
	}
}

func (t *task) decoder(topic string, partition int32) inputDecoder {
	tp := ingest.TopicPartition{Topic: topic, Partition: partition}
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.decs[tp]
	if d == nil {
		d = t.c.inputs.newDecoder()
		t.decs[tp] = d
	}
	return d
}

// run polls and processes until ctx ends (nil) or a record fails under
// errors.tolerance=none or a produce fails (the error).
func (t *task) run(ctx context.Context) error {
	if t.sess != nil {
		return t.runTx(ctx)
	}
	return t.runAtLeastOnce(ctx)
}

// producerContext returns the context outputs are produced with: it
// outlives ctx so that a shutdown lets in-flight elems complete, but not
// forever: a produce blocked on an unreachable broker gives up 30 s after
// the shutdown began (nothing past it is committed).
func (t *task) producerContext(ctx context.Context) context.Context {
	pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
	t.released = make(chan struct{})
	go func() {
		<-ctx.Done()
		select {
		case <-t.released: // Run flushed and committed: nothing blocked
		case <-time.After(shutdownGrace):
		}
		pcancel()
	}()
	return pctx
}

func (t *task) runAtLeastOnce(ctx context.Context) error {
	t.ctx = t.producerContext(ctx)
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(t.c.cfg.OffsetFlushInterval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if err := t.src.Commit(ctx); err != nil && ctx.Err() == nil {
					t.log.Warn("commit failed", "err", err)
				} else {
					t.c.Stats.Commits.Add(1)
				}
			}
		}
	}()
	for {
		b, err := t.src.Poll(ctx, pollMax)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kgo.ErrClientClosed) {
				return nil
			}
			return err
		}
		for _, p := range b.Partitions {
			dec := t.decoder(p.Topic, p.Partition)
			for _, r := range p.Records {
				if ctx.Err() != nil {
					return nil
				}
				pend := t.src.Begin(&b, r)
				if pend == nil {
					continue // polled before a rebalance: read again from the commit
				}
				if err := t.process(dec, r, pend); err != nil {
					return err
				}
			}
		}
		if tp, off, err, failed := t.src.Tracker().Failed(); failed {
			return fmt.Errorf("task %d: producing the outputs of %s/%d offset %d: %w", t.id, tp.Topic, tp.Partition, off, err)
		}
	}
}

// RecordError is an input record that could not be decoded, with its
// position.
type RecordError struct {
	Topic     string
	Partition int32
	Offset    int64
	Err       error
}

// Error returns "topic/partition offset N: cause".
func (e *RecordError) Error() string {
	return fmt.Sprintf("%s/%d offset %d: %v", e.Topic, e.Partition, e.Offset, e.Err)
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// completion tracks the outputs of one input record: an ingest.Pending in
// at-least-once mode, a txCompletion in exactly-once mode.
type completion interface {
	emit.Completion
	Done(err error)
	Fail()
}

func (t *task) process(dec inputDecoder, r *kgo.Record, pend completion) error {
	t.w.Begin(&t.in, emit.Source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}, pend)
	err := dec.decode(r.Value, r.Offset, r.Timestamp, t.yield)
	t.c.Stats.Records.Add(1)
	if err == nil {
		pend.Done(nil)
		return nil
	}
	t.c.Stats.Errors.Add(1)
	t.c.decodeError(err) // metrics.go
	rerr := &RecordError{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Err: err}
	if t.c.cfg.ErrorsTolerance != "all" {
		pend.Fail()
		return fmt.Errorf("task %d: undecodable record (errors.tolerance=none; nothing past it is committed): %w", t.id, rerr)
	}
	if t.c.cfg.ErrorsLogEnable {
		t.log.Warn("undecodable record", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
	}
	if t.w.DeadLetter(t.ctx, &t.in, r, t.id, "VALUE_CONVERTER", t.c.inputs.name(), err) {
		t.c.Stats.DeadLetters.Add(1)
	} else {
		t.c.Stats.Skipped.Add(1)
	}
	pend.Done(nil)
	return nil
}

// emit publishes the elems and stats of one decoded record.
func (t *task) emit(rec *decode.Record, elems []decode.Elem, stats []decode.Stat) {
	for i := range elems {
		el := &elems[i]
		if t.match != nil && !t.match.Match(rec, el) {
			t.c.Stats.Filtered.Add(1)
			continue
		}
		t.w.Elem(t.ctx, &t.in, rec, el)
		t.c.Stats.Elems[emit.TypeOf(el.Type)].Add(1)
	}
	for i := range stats {
		t.w.Stat(t.ctx, &t.in, rec, &stats[i])
		t.c.Stats.Elems[schema.Stats].Add(1)
	}
}
