package connector

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// task is one consumer-group member running the data path: the Kafka
// source (decoding with one decoder per input partition, so that BMP
// session state follows the partition that carries the router), the
// filter stage, and the Kafka sink. Offsets are committed only once the
// sink has delivered every output of the records before them.
type task struct {
	c     *Connector
	id    int
	src   taskSource
	bf    *ingest.BackfillSource // src of a backfill task (backfill.go), else nil
	sink  *emit.KafkaSink
	bmp   *ingest.StateLog // BMP session state changelog (nil: not kept)
	match *filter.Matcher
	log   *slog.Logger

	mu    sync.Mutex
	state string // "", "STOPPED" or "FAILED"
	trace string

	// released is closed by Run once the outputs are flushed and the final
	// commit is done.
	released chan struct{}
}

// taskSource is what a task reads: the Kafka source (ingest.KafkaSource)
// of input topics, RIS Live's feed (input.format=ris-live), or the work
// items of a backfill task (ingest.BackfillSource).
type taskSource interface {
	ingest.Source
	// Client is the source's Kafka client (nil for RIS Live): in
	// exactly-once mode outputs are produced through it.
	Client() *kgo.Client
	// Group is the at-least-once consumer-group member, or nil.
	Group() *ingest.Group
	// Commit commits what is delivered (a no-op without offsets).
	Commit(ctx context.Context) error
	// InFlight counts input records whose outputs are not all delivered.
	InFlight() int
	// Held counts the input partitions held.
	Held() int
	// Shutdown stops gracefully, committing what was delivered.
	Shutdown(ctx context.Context) error
}

// newValueFormat returns the decoders of the configured input format.
func newValueFormat(cfg *Config, f *filter.Filter) (ingest.ValueFormat, error) {
	switch cfg.InputFormat {
	case "openbmp", "bmp":
		return ingest.BMPValues{Raw: cfg.InputFormat == "bmp",
			Opts: []openbmp.DecoderOpt{openbmp.WithBGPStreamPeerState(cfg.PeerUpState == "active")}}, nil
	case "mrt":
		v := ingest.MRTValues{}
		if f != nil && f.String() != "" {
			v.Prefilter = f // push-down into the MRT decoder
		}
		return v, nil
	case "ris-live":
		return nil, nil // no input topics
	case "archive":
		return nil, nil // backfill tasks only (backfill.go)
	}
	return nil, errors.New(strconv.Quote(cfg.InputFormat) + " is not one of openbmp, bmp, mrt, ris-live, archive")
}

func (c *Connector) newTask(id int, base []kgo.Opt) (*task, error) {
	t := &task{c: c, id: id, log: c.log.With("task", id), match: c.filter.NewMatcher()}
	cfg := c.cfg
	sinkOpts := emit.Options{
		Topics: c.topics, Framing: c.framing, Key: c.key,
		DLQTopic: cfg.DLQTopic, DLQContextHeaders: cfg.DLQContextHeaders, Connector: cfg.Name,
	}
	if cfg.InputFormat == "ris-live" {
		src, err := newRISLiveSource(cfg, c.filter, c)
		if err != nil {
			return nil, err
		}
		t.src = src
		t.sink = emit.NewKafkaSink(c.prod, sinkOpts, &c.Stats.Elems)
		c.taskJoined(id)
		return t, nil
	}
	all := cfg.ErrorsTolerance == "all"
	o := ingest.KafkaOptions{
		Group: cfg.groupOptions(), Task: id, Format: c.inputs,
		SkipErrors: all && cfg.DLQTopic == "", LogErrors: cfg.ErrorsLogEnable,
		Counters: ingest.KafkaCounters{Records: &c.Stats.Records, Errors: &c.Stats.Errors,
			DeadLetters: &c.Stats.DeadLetters, Skipped: &c.Stats.Skipped, Commits: &c.Stats.Commits},
		Log:           c.log,
		OnDecodeError: c.decodeError,                                                         // metrics.go
		Hooks:         ingest.Hooks{Assigned: func(map[string][]int32) { c.taskJoined(id) }}, // metrics.go: readiness
	}
	if all && cfg.DLQTopic != "" {
		o.DeadLetter = func(ctx context.Context, r *kgo.Record, cause error, done func(error)) {
			t.sink.DeadLetter(id, c.inputs.Name())(ctx, r, cause, done)
		}
	}
	if cfg.ExactlyOnce {
		o.TransactionalID = cfg.TransactionalIDPrefix + "-" + strconv.Itoa(id)
		o.Producer = c.producerOpts()
	}
	t.bmp = c.stateLog(id) // bmpstate.go
	o.State = t.bmp
	src, err := ingest.NewKafkaSource(base, o)
	if err != nil {
		return nil, err
	}
	t.src = src
	cl := c.prod
	if cfg.ExactlyOnce {
		cl = src.Client() // outputs belong to the source's transactions
	}
	t.sink = emit.NewKafkaSink(cl, sinkOpts, &c.Stats.Elems)
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

// producerContext returns the context outputs are produced with: it
// outlives ctx so that a shutdown lets in-flight elems complete, but not
// forever: a produce blocked on an unreachable broker gives up
// task.shutdown.graceful.timeout.ms after the shutdown began (nothing past
// it is committed).
func (t *task) producerContext(ctx context.Context) context.Context {
	pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
	t.released = make(chan struct{})
	go func() {
		<-ctx.Done()
		select {
		case <-t.released: // Run flushed and committed: nothing blocked
		case <-time.After(t.c.cfg.ShutdownTimeout):
		}
		pcancel()
	}()
	return pctx
}

// run runs source → filter → sink until ctx ends (nil) or a record fails
// under errors.tolerance=none or a produce fails (the error, naming the
// topic, partition and offset).
func (t *task) run(ctx context.Context) error {
	pctx := t.producerContext(ctx)
	if t.bmp != nil {
		t.bmp.Context = pctx // changelog writes live as long as the outputs'
	}
	done := make(chan struct{})
	defer close(done)
	if t.src.Group() != nil {
		go t.commitLoop(ctx, done)
	}
	b := new(decode.Batch)
	for {
		b.Reset()
		if err := t.src.Next(ctx, b); err != nil {
			if ctx.Err() != nil || errors.Is(err, kgo.ErrClientClosed) || errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		t.c.Stats.Filtered.Add(uint64(t.match.Apply(b)))
		if err := t.sink.Write(pctx, b); err != nil {
			return err
		}
	}
}

// commitLoop commits the completed offsets every offset.flush.interval.ms
// (at-least-once mode).
func (t *task) commitLoop(ctx context.Context, done <-chan struct{}) {
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
}
