package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/archive"
	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// WorkItem is one archive dump to backfill, as the backfill topic carries it
// (Avro, schema/backfill.avsc): the dump with its labels, and the time
// windows applied to its records.
type WorkItem struct {
	archive.Dump
	// Windows are the windows (bgpreader -w) a record must fall in to be
	// published; the dump is read only up to the first record past the
	// end of the last one. Empty: every record.
	Windows []archive.Window
}

// Defaults of BackfillOptions.
const (
	DefaultCheckpointElems    = 200_000
	DefaultCheckpointInterval = 10 * time.Second
)

// BackfillDeadLetterFunc sends a work item that failed to the dead letter
// topic, with the stage and class the __connect.errors.* headers name, and
// calls done once it is acknowledged (or failed).
type BackfillDeadLetterFunc func(ctx context.Context, r *kgo.Record, stage, class string, cause error, done func(error))

// BackfillOptions configure a BackfillSource.
type BackfillOptions struct {
	// Group are the consumer-group settings (Topics: the backfill topic).
	Group GroupOptions
	// Task numbers the group member; TaskName names it in state records
	// (default "task <Task>").
	Task     int
	TaskName string
	// Decode turns a backfill topic value into a work item.
	Decode func(value []byte) (WorkItem, error)
	// Fetch opens dumps (with its cache, when it has one).
	Fetch *archive.Fetcher
	// States is the view of StateTopic, shared by the tasks of a process.
	States     *StateView
	StateTopic string
	// Producer writes state records at-least-once (the client the sink
	// produces elems with). In exactly-once mode (TransactionalID set) the
	// source makes its own transactional producer from the base options
	// and ProducerOpts instead; Producer() returns it, and the sink must
	// produce through it.
	Producer        *kgo.Client
	TransactionalID string
	ProducerOpts    []kgo.Opt
	// ProducerBase, when set, replaces the base options for the
	// transactional producer (its own metrics hooks, say).
	ProducerBase []kgo.Opt
	// Filter is the connector's filter: pushed down into the MRT decoder
	// (with each item's windows) and applied to elems (nil: every elem).
	Filter *filter.Filter
	// CheckpointElems is the checkpoint interval in published elems, and
	// the bound on what a crash republishes: a task never publishes more
	// than this many elems past its last durable checkpoint. Default
	// DefaultCheckpointElems.
	CheckpointElems int64
	// CheckpointInterval writes a checkpoint at least this often while a
	// dump makes progress. Default DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// DeadLetter receives failed work items (errors.tolerance=all with a
	// dead letter topic). When nil, a failed item stops the source unless
	// SkipErrors.
	DeadLetter BackfillDeadLetterFunc
	// SkipErrors records a failed item as failed and goes on, without a
	// dead letter topic (errors.tolerance=all).
	SkipErrors bool
	// LogErrors logs each tolerated failure.
	LogErrors bool
	// ReaderOpts are extra MRT reader options.
	ReaderOpts []mrt.ReaderOpt
	// PollMax bounds the work items one poll takes (default 8): items wait
	// in the topic, not in a task, so that a new member gets its share.
	PollMax int
	// Hooks are called on assignment and revocation.
	Hooks Hooks
	// Counters: Records counts work items read, Errors failed items
	// (undecodable or unreadable), DeadLetters and Skipped how they were
	// tolerated, Commits committed transactions (exactly-once).
	Counters KafkaCounters
	// Filtered counts elems the filter dropped.
	Filtered *atomic.Uint64
	// Log receives the source's notices.
	Log *slog.Logger
}

// BackfillStats are a backfill task's counters (Stats).
type BackfillStats struct {
	// ItemsDone, ItemsFailed and ItemsSkipped count work items completed,
	// failed, and skipped because the state topic has them done or failed
	// already; InFlight the items being read or awaiting their last
	// acknowledgements.
	ItemsDone, ItemsFailed, ItemsSkipped, InFlight int64
	// Resumes counts items taken up from a checkpoint.
	Resumes int64
	// BytesFetched counts dump bytes read as stored (compressed).
	BytesFetched int64
	// Records counts records read; Elems the elems published and
	// acknowledged (exactly once: committed).
	Records, Elems int64
	// Republished counts elems published again after resuming from a
	// checkpoint: those below the checkpoint's Reach, which the previous
	// reader may have published already (an upper bound on duplicates;
	// zero in exactly-once mode, where nothing uncommitted is visible).
	Republished int64
	// Checkpoints counts state records written; CheckpointLag is the
	// number of elems published past the last durable checkpoint of the
	// items in flight (what a crash now would republish at most).
	Checkpoints, CheckpointLag int64
	// Gaps and BytesSkipped count damaged regions skipped in dumps.
	Gaps, BytesSkipped int64
}

// BackfillSource is the Source of the connector's backfill tasks: a
// consumer-group member of the backfill topic whose records are work items
// (one archive dump each). Next streams the current item's dump as many
// batches (fetched with the Fetcher and its cache, decoded by a FileSource,
// the item's windows and the filter applied), each with its Done; an item's
// offset becomes committable only once every batch of its dump is
// acknowledged and its completion is recorded in the state topic. The task
// loop (source → filter → sink) is the OpenBMP tasks' own.
//
// Checkpoints. While a dump is read the source records its progress in the
// state topic (BackfillState: the offset up to which every record is
// acknowledged, and the elems published) every CheckpointElems elems or
// CheckpointInterval, and publishes no elem more than CheckpointElems past
// the last durable checkpoint (it waits for the checkpoint first). A task
// that takes an item over (after a crash, a rebalance, a restart) resumes
// at the checkpoint: it decompresses the dump from its start, as it must,
// but publishes only the records at or after the checkpoint's offset. A
// clean stop (SIGTERM, a revocation) writes a final checkpoint once the
// elems in flight are acknowledged, so nothing is republished; after a
// crash at most CheckpointElems elems are, and they are counted
// (BackfillStats.Republished).
//
// Exactly once (TransactionalID set): the source's transactional producer
// carries the elems, and each transaction holds at most CheckpointElems
// elems (or CheckpointInterval of them) with the checkpoint that records
// them; the last transaction of a dump holds its last elems with the
// dump's completion (or, for a failed dump, the dead letter and the failed
// state). A read_committed consumer thus sees a dump's elems once, chunk by
// chunk, and its completion with its last chunk: a crash aborts at most one
// open chunk, which the next owner redoes from the checkpoint committed
// with the previous chunk. One transaction per dump would make a whole
// 10 M-elem RIB one transaction: longer than the transaction timeout, all
// redone after a crash, and holding back every read_committed consumer of
// the output partitions (the last stable offset) until its end.
//
// Rebalances: the group balances round-robin and eagerly, so a rebalance
// (a member joining or leaving) revokes every partition first: each item in
// flight stops at a final checkpoint, and whoever is assigned its partition
// resumes it there, republishing nothing but decompressing the dump again up
// to the checkpoint.
//
// Failures are data: a dump that cannot be fetched (after the Fetcher's
// retries) or is damaged beyond resync (a fatal *mrt.TruncatedError, a dump
// mostly skipped) is recorded as failed in the state topic and its work item
// goes to the dead letter topic with __connect.errors.* headers
// (errors.tolerance=all), or stops the source with the URL and the cause
// (errors.tolerance=none; the item is then not committed). Damaged regions
// read past are counted, logged and recorded with the dump's state.
//
// Next must be called from one goroutine; the membership hooks run on the
// group's goroutine.
type BackfillSource struct {
	o   BackfillOptions
	g   *Group
	txp *kgo.Client // exactly-once producer (nil: at-least-once)
	log *slog.Logger

	poll   Polled
	pi, ri int
	cur    *backfillRun

	windows map[string]*filter.Filter // window filters by their text

	mu   sync.Mutex
	runs []*backfillRun // items in flight: the current one and those finishing
	err  error          // first output or state failure: the source stops
	held atomic.Int32

	// exactly-once: serializes transaction boundaries between Next and
	// the revocation hook.
	txMu      sync.Mutex
	txOpen    bool
	txElems   int64
	txStarted time.Time

	wake    chan struct{} // at-least-once: the checkpoint writer has work
	stopW   chan struct{}
	writerW sync.WaitGroup

	stats struct {
		done, failed, skipped, resumes, fetched, records, elems, republished, checkpoints, gaps, skippedBytes atomic.Int64
	}
}

// NewBackfillSource joins the backfill topic's consumer group as one task.
// base are the shared client options (seed brokers, TLS, SASL).
func NewBackfillSource(base []kgo.Opt, o BackfillOptions) (*BackfillSource, error) {
	switch {
	case o.Decode == nil:
		return nil, errors.New("backfill source: no work item decoder")
	case o.Fetch == nil:
		return nil, errors.New("backfill source: no fetcher")
	case o.States == nil || o.StateTopic == "":
		return nil, errors.New("backfill source: no state topic")
	case o.Producer == nil && o.TransactionalID == "":
		return nil, errors.New("backfill source: no producer")
	}
	if o.CheckpointElems <= 0 {
		o.CheckpointElems = DefaultCheckpointElems
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = DefaultCheckpointInterval
	}
	if o.PollMax <= 0 {
		o.PollMax = 8
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.TaskName == "" {
		o.TaskName = "task " + strconv.Itoa(o.Task)
	}
	s := &BackfillSource{o: o, log: o.Log.With("task", o.Task), windows: map[string]*filter.Filter{},
		wake: make(chan struct{}, 1), stopW: make(chan struct{})}
	if o.TransactionalID != "" {
		pb := base
		if o.ProducerBase != nil {
			pb = o.ProducerBase
		}
		opts := append(append(append([]kgo.Opt(nil), pb...), o.ProducerOpts...), kgo.TransactionalID(o.TransactionalID))
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return nil, fmt.Errorf("task %d: transactional producer: %w", o.Task, err)
		}
		s.txp = cl
	}
	hooks := Hooks{Assigned: s.assigned, Revoking: s.revoking, Revoked: s.revoked}
	g, err := NewGroup(o.Group, o.Task, base, o.Log, hooks)
	if err != nil {
		if s.txp != nil {
			s.txp.Close()
		}
		return nil, err
	}
	s.g = g
	if s.txp == nil {
		s.writerW.Add(1)
		go s.writer()
	}
	return s, nil
}

// Client returns the consumer client (group membership, lag).
func (s *BackfillSource) Client() *kgo.Client { return s.g.Client() }

// Producer returns the client outputs must be produced through: the
// source's transactional producer in exactly-once mode, else
// BackfillOptions.Producer.
func (s *BackfillSource) Producer() *kgo.Client {
	if s.txp != nil {
		return s.txp
	}
	return s.o.Producer
}

// Group returns the consumer-group member.
func (s *BackfillSource) Group() *Group { return s.g }

// Held returns the number of backfill partitions assigned.
func (s *BackfillSource) Held() int { return int(s.held.Load()) }

// InFlight returns the work items begun and not completed.
func (s *BackfillSource) InFlight() int { return s.g.Tracker().InFlight() }

// Stats returns the task's counters.
func (s *BackfillSource) Stats() BackfillStats {
	st := BackfillStats{
		ItemsDone: s.stats.done.Load(), ItemsFailed: s.stats.failed.Load(), ItemsSkipped: s.stats.skipped.Load(),
		Resumes: s.stats.resumes.Load(), BytesFetched: s.stats.fetched.Load(), Records: s.stats.records.Load(),
		Elems: s.stats.elems.Load(), Republished: s.stats.republished.Load(), Checkpoints: s.stats.checkpoints.Load(),
		Gaps: s.stats.gaps.Load(), BytesSkipped: s.stats.skippedBytes.Load(),
	}
	s.mu.Lock()
	st.InFlight = int64(len(s.runs))
	for _, r := range s.runs {
		r.mu.Lock()
		st.CheckpointLag += r.produced.elems - r.durable.elems
		r.mu.Unlock()
	}
	s.mu.Unlock()
	return st
}

func (s *BackfillSource) assigned(m map[string][]int32) {
	for _, ps := range m {
		s.held.Add(int32(len(ps)))
	}
	if s.o.Hooks.Assigned != nil {
		s.o.Hooks.Assigned(m)
	}
}

// runsOf returns the runs whose work items are on partitions of m.
func (s *BackfillSource) runsOf(m map[string][]int32) []*backfillRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*backfillRun
	for _, r := range s.runs {
		for _, p := range m[r.rec.Topic] {
			if p == r.rec.Partition {
				out = append(out, r)
			}
		}
	}
	return out
}

// revoking stops the items of revoked partitions cleanly before the group
// hands them over: no more batches, the ones in flight acknowledged, a
// final checkpoint written, the item left uncompleted for the next owner
// (who resumes at the checkpoint, republishing nothing). An item whose dump
// is read to its end completes instead.
func (s *BackfillSource) revoking(ctx context.Context, m map[string][]int32) {
	for _, r := range s.runsOf(m) {
		s.stopRun(ctx, r, true)
	}
}

// revoked stops, without a checkpoint, any item still held on partitions
// lost (the session ended: another member may own them already), and
// counts the partitions.
func (s *BackfillSource) revoked(m map[string][]int32) {
	for _, r := range s.runsOf(m) {
		s.stopRun(context.Background(), r, false)
	}
	for _, ps := range m {
		s.held.Add(-int32(len(ps)))
	}
	if s.o.Hooks.Revoked != nil {
		s.o.Hooks.Revoked(m)
	}
}

// fail records the first failure that stops the source.
func (s *BackfillSource) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

func (s *BackfillSource) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Next fills b with the next batch of the current item's dump, starting
// items as they come. It blocks until a batch is ready; it returns
// ctx.Err() or kgo.ErrClientClosed when the source stops, and an error when
// an item fails under errors.tolerance=none or an earlier batch's outputs
// (or a checkpoint) failed.
func (s *BackfillSource) Next(ctx context.Context, b *decode.Batch) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.failed(); err != nil {
			return err
		}
		if s.cur == nil {
			if err := s.start(ctx); err != nil {
				return err
			}
			continue
		}
		ok, err := s.fill(ctx, b)
		if err != nil || ok {
			return err
		}
	}
}

// start takes the next work item and opens its dump (s.cur), completing on
// the way the items to skip and those that fail at once.
func (s *BackfillSource) start(ctx context.Context) error {
	for s.cur == nil {
		if s.pi >= len(s.poll.Partitions) {
			pb, err := s.g.Poll(ctx, s.o.PollMax)
			if err != nil {
				return err
			}
			s.poll, s.pi, s.ri = pb, 0, 0
			continue
		}
		p := &s.poll.Partitions[s.pi]
		if s.ri >= len(p.Records) {
			s.pi, s.ri = s.pi+1, 0
			continue
		}
		r := p.Records[s.ri]
		s.ri++
		pend := s.g.Begin(&s.poll, r)
		if pend == nil {
			continue // polled before a rebalance: its owner reads it again
		}
		inc(s.o.Counters.Records, 1)
		item, err := s.o.Decode(r.Value)
		if err != nil {
			if err := s.reject(ctx, r, pend, "VALUE_CONVERTER", "ingest.WorkItem", err); err != nil {
				return err
			}
			continue
		}
		if err := s.begin(ctx, r, pend, item); err != nil {
			return err
		}
	}
	return nil
}

// reject tolerates (dead letter or skip) or refuses an undecodable work
// item.
func (s *BackfillSource) reject(ctx context.Context, r *kgo.Record, pend *Pending, stage, class string, cause error) error {
	inc(s.o.Counters.Errors, 1)
	rerr := &RecordError{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Err: cause}
	switch {
	case s.o.DeadLetter != nil:
		if s.o.LogErrors {
			s.log.Warn("undecodable work item sent to the dead letter topic", "err", rerr)
		}
		inc(s.o.Counters.DeadLetters, 1)
		if s.txp != nil {
			if err := s.txDeadLetter(ctx, r, stage, class, cause); err != nil {
				pend.Fail()
				return err
			}
			pend.Done(nil)
			return nil
		}
		pend.Add(1)
		s.o.DeadLetter(ctx, r, stage, class, cause, pend.Done)
		pend.Done(nil)
	case s.o.SkipErrors:
		if s.o.LogErrors {
			s.log.Warn("undecodable work item skipped (errors.tolerance=all, no dead letter topic)", "err", rerr)
		}
		pend.Done(nil)
		inc(s.o.Counters.Skipped, 1)
	default:
		pend.Fail()
		return fmt.Errorf("task %d: undecodable work item (errors.tolerance=none; nothing past it is committed): %w", s.o.Task, rerr)
	}
	return nil
}

// begin starts a decoded work item: it is skipped when the state topic has
// it done or failed, waits for an earlier copy of it finishing in this
// task, and opens its dump, resuming from its checkpoint.
func (s *BackfillSource) begin(ctx context.Context, r *kgo.Record, pend *Pending, item WorkItem) error {
	if err := s.waitSameURL(ctx, item.URL); err != nil {
		pend.Fail()
		return err
	}
	if err := s.syncStates(ctx); err != nil {
		pend.Fail()
		return err
	}
	prev, ok := s.o.States.Get(item.URL)
	if ok && (prev.Status == StateDone || prev.Status == StateFailed) {
		s.stats.skipped.Add(1)
		s.log.Debug("backfill item already "+prev.Status+"; skipped", "url", item.URL)
		pend.Done(nil)
		return nil
	}
	run := &backfillRun{s: s, item: item, rec: r, pend: pend, changed: make(chan struct{})}
	run.ctx, run.cancel = context.WithCancel(ctx)
	if ok && prev.Status == StateRunning {
		run.prev, run.resume = prev, true
		p := backfillProgress{offset: prev.Offset, elems: prev.Elems, records: prev.Records}
		run.produced, run.acked, run.durable = p, p, p
		run.issued = p.elems
		run.gaps, run.skipped = prev.Gaps, prev.BytesSkipped
		s.stats.resumes.Add(1)
		s.log.Info("resuming backfill item from its checkpoint", "url", item.URL, "offset", prev.Offset, "elems", prev.Elems,
			"may_republish", max(prev.Reach-prev.Elems, 0), "previous", prev.Task)
	}
	run.issuedAt = time.Now()
	s.mu.Lock()
	s.runs = append(s.runs, run)
	s.mu.Unlock()
	flt, err := s.itemFilter(item)
	if err != nil {
		return s.failRun(ctx, run, "ingest.WorkItem", err)
	}
	run.endUS = windowsEnd(item.Windows)
	var pre mrt.Prefilter
	if flt != nil && flt.String() != "" {
		pre = flt
	}
	if run.resume && run.prev.Offset > 0 {
		pre = resumePrefilter{inner: pre, from: run.prev.Offset}
	}
	rc, err := s.o.Fetch.Open(run.ctx, item.Dump)
	if err != nil {
		return s.failRun(ctx, run, "archive.Fetcher", err)
	}
	run.rc = rc
	fs, err := NewFileSource(rc, FileOptions{Name: item.URL, Format: item.Format, Project: item.Project, Collector: item.Collector,
		DumpTime: item.Start.Unix(), Prefilter: pre, ReaderOpts: s.o.ReaderOpts})
	if err != nil {
		return s.failRun(ctx, run, "ingest.FileSource", err)
	}
	run.fs = fs
	// The windows are record-level clauses: in an MRT dump the decoder
	// skips every record outside them (push-down), so only the connector's
	// filter is left to apply to elems. Other formats get the whole filter.
	run.match = s.o.Filter.NewMatcher()
	if fs.Stats().Format != FormatMRT {
		run.match = flt.NewMatcher()
	}
	run.full, run.free, run.readDone = make(chan backfillFill, readAhead), make(chan *decode.Batch, readAhead+1), make(chan struct{})
	for range readAhead + 1 {
		run.free <- new(decode.Batch)
	}
	go run.read()
	s.cur = run
	return nil
}

// waitSameURL waits until no earlier copy of url is in flight in this task
// (the same URL is the same key: the same partition, the same task).
func (s *BackfillSource) waitSameURL(ctx context.Context, url string) error {
	for {
		var ch chan struct{}
		s.mu.Lock()
		for _, r := range s.runs {
			if r.item.URL == url {
				r.mu.Lock()
				ch = r.changed
				r.mu.Unlock()
			}
		}
		s.mu.Unlock()
		if ch == nil {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// syncStates brings the state view up to date, retrying while Kafka does
// not answer.
func (s *BackfillSource) syncStates(ctx context.Context) error {
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = s.o.States.Sync(sctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			break
		}
		s.log.Warn("reading the backfill state topic", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt+1) * time.Second):
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("task %d: %w", s.o.Task, err)
	}
	return nil
}

// itemFilter returns the filter of an item: the connector's filter and the
// item's windows.
func (s *BackfillSource) itemFilter(item WorkItem) (*filter.Filter, error) {
	if len(item.Windows) == 0 {
		return s.o.Filter, nil
	}
	var key string
	fl := filter.Flags{}
	for _, w := range item.Windows {
		t := windowText(w)
		fl.Windows = append(fl.Windows, t)
		key += t + ";"
	}
	wf, ok := s.windows[key]
	if !ok {
		var err error
		if wf, err = fl.Build(time.Now()); err != nil {
			return nil, fmt.Errorf("windows of %s: %w", item.URL, err)
		}
		if len(s.windows) > 64 {
			clear(s.windows)
		}
		s.windows[key] = wf
	}
	return filter.And(s.o.Filter, wf), nil
}

// windowText is a window as bgpreader's -w takes it (unix seconds, with a
// fraction when needed).
func windowText(w archive.Window) string {
	t := strconv.FormatInt(w.Start.Unix(), 10)
	if us := w.Start.UnixMicro() % 1e6; us != 0 {
		t = fmt.Sprintf("%d.%06d", w.Start.Unix(), us)
	}
	if !w.End.IsZero() {
		t += "," + strconv.FormatInt(w.End.Unix(), 10)
	}
	return t
}

// windowsEnd returns the end of the last window in µs (where a dump stops
// being read, as bgpreader stops), or 0 when a window is open or there is
// none.
func windowsEnd(ws []archive.Window) int64 {
	var end int64
	for _, w := range ws {
		if w.End.IsZero() {
			return 0
		}
		end = max(end, w.End.UnixMicro())
	}
	return end
}

// resumePrefilter skips the records before a checkpoint's offset without
// decoding their attributes (the PEER_INDEX_TABLE is never skipped: the
// Elementor needs it).
type resumePrefilter struct {
	inner mrt.Prefilter
	from  int64
}

func (p resumePrefilter) MatchRecord(r *decode.Record) bool {
	return r.Offset >= p.from && (p.inner == nil || p.inner.MatchRecord(r))
}

func (p resumePrefilter) MatchPeer(ip netip.Addr, asn uint32) bool {
	return p.inner == nil || p.inner.MatchPeer(ip, asn)
}

func (p resumePrefilter) WantsElemType(t decode.ElemType) bool {
	return p.inner == nil || p.inner.WantsElemType(t)
}

func (p resumePrefilter) WantsFamily(ipv6 bool) bool {
	return p.inner == nil || p.inner.WantsFamily(ipv6)
}

// Commit commits the offsets of the completed work items.
func (s *BackfillSource) Commit(ctx context.Context) error { return s.g.Commit(ctx) }

// Shutdown stops the source: the item being read stops at a final
// checkpoint once its batches in flight are acknowledged (items read to
// their end complete), the completed items are committed and the task
// leaves the group.
func (s *BackfillSource) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	runs := append([]*backfillRun(nil), s.runs...)
	s.mu.Unlock()
	for _, r := range runs {
		s.stopRun(ctx, r, true)
	}
	if s.cur != nil {
		s.drop(s.cur)
	}
	s.stopWriter()
	err := s.g.Close(ctx)
	if s.txp != nil {
		s.txMu.Lock()
		if s.txOpen {
			s.txp.EndTransaction(ctx, kgo.TryAbort)
			s.txOpen = false
		}
		s.txMu.Unlock()
		s.txp.Close()
	}
	return err
}

// Close leaves the group without waiting (Shutdown is the graceful stop).
func (s *BackfillSource) Close() error {
	s.stopWriter()
	s.g.Client().Close()
	if s.txp != nil {
		s.txp.Close()
	}
	return nil
}
