package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/ingest"
)

// The backfill command's side: queueing work items and reporting progress.

// BackfillQueueOptions configure QueueBackfill.
type BackfillQueueOptions struct {
	// DryRun classifies the items without publishing anything.
	DryRun bool
	// RetryFailed queues again the dumps whose state is failed (their state
	// is cleared with a tombstone first).
	RetryFailed bool
	// Brokers override bootstrap.servers.
	Brokers []string
	// Log receives notices (nil: slog.Default()).
	Log *slog.Logger
}

// BackfillPlan is what QueueBackfill did (or, dry, would do) with each item.
type BackfillPlan struct {
	// Queue are the items published now (with DryRun: to publish).
	Queue []ingest.WorkItem
	// Done and Failed are skipped: their dumps are done, or failed (see
	// BackfillQueueOptions.RetryFailed); Pending are skipped because they
	// are queued already and not finished (waiting, or being read).
	Done, Failed, Pending []ingest.WorkItem
}

// QueueBackfill publishes the work items that are neither done, failed nor
// queued already to backfill.topic (creating it and backfill.state.topic
// when missing), keyed by URL, and waits for every acknowledgement. Running
// it twice with the same items publishes nothing the second time.
func QueueBackfill(ctx context.Context, cfg *Config, items []ingest.WorkItem, o BackfillQueueOptions) (BackfillPlan, error) {
	var plan BackfillPlan
	cl, states, closeAll, err := backfillClients(ctx, cfg, o.Brokers, o.Log, !o.DryRun)
	if err != nil {
		return plan, err
	}
	defer closeAll()
	queued := map[string]bool{}
	if err := readTopic(ctx, cl, cfg.BackfillTopic, func(r *kgo.Record) { queued[string(r.Key)] = true }); err != nil {
		return plan, err
	}
	seen := map[string]bool{}
	var retry []string
	for _, it := range items {
		if seen[it.URL] {
			continue
		}
		seen[it.URL] = true
		st, ok := states[it.URL]
		switch {
		case ok && st.Status == ingest.StateDone:
			plan.Done = append(plan.Done, it)
		case ok && st.Status == ingest.StateFailed && !o.RetryFailed:
			plan.Failed = append(plan.Failed, it)
		case ok && st.Status == ingest.StateFailed:
			retry = append(retry, it.URL)
			plan.Queue = append(plan.Queue, it)
		case queued[it.URL]:
			plan.Pending = append(plan.Pending, it)
		default:
			plan.Queue = append(plan.Queue, it)
		}
	}
	if o.DryRun || len(plan.Queue) == 0 {
		return plan, nil
	}
	var recs []*kgo.Record
	for _, u := range retry {
		recs = append(recs, &kgo.Record{Topic: cfg.BackfillStateTopic, Key: []byte(u)}) // tombstone
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return plan, fmt.Errorf("clearing failed states in %s: %w", cfg.BackfillStateTopic, err)
	}
	recs = recs[:0]
	for _, it := range plan.Queue {
		v, err := EncodeWorkItem(it)
		if err != nil {
			return plan, err
		}
		recs = append(recs, &kgo.Record{Topic: cfg.BackfillTopic, Key: []byte(it.URL), Value: v})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return plan, fmt.Errorf("publishing work items to %s: %w", cfg.BackfillTopic, err)
	}
	return plan, nil
}

// backfillClients connects to the brokers (creating the backfill topics
// when create is set) and reads the state topic.
func backfillClients(ctx context.Context, cfg *Config, brokers []string, log *slog.Logger, create bool) (*kgo.Client, map[string]ingest.BackfillState, func(), error) {
	if log == nil {
		log = slog.Default()
	}
	if len(brokers) == 0 {
		if cfg.Embedded {
			return nil, nil, nil, &ConfigError{Problems: []Problem{{Key: "bootstrap.servers", Origin: cfg.Origin("bootstrap.servers"),
				Msg: "\"embedded\": backfill publishes to a broker that outlives it and that the connector reads (`bgp-connector broker` runs one)"}}}
		}
		if err := cfg.NeedBrokers(); err != nil {
			return nil, nil, nil, err
		}
		brokers = cfg.BootstrapServers
	}
	if err := checkKafka(ctx, cfg, brokers); err != nil {
		return nil, nil, nil, err
	}
	base, err := ClientOpts(cfg, brokers, log)
	if err != nil {
		return nil, nil, nil, err
	}
	cl, err := kgo.NewClient(withOpts(base, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(5*time.Millisecond))...)
	if err != nil {
		return nil, nil, nil, err
	}
	if create {
		if err := ensureBackfillTopics(ctx, kadm.NewClient(cl), cfg); err != nil {
			cl.Close()
			return nil, nil, nil, err
		}
	}
	v, err := ingest.NewStateView(base, cfg.BackfillStateTopic, log)
	if err != nil {
		cl.Close()
		return nil, nil, nil, err
	}
	defer v.Close()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := v.Sync(sctx); err != nil {
		cl.Close()
		return nil, nil, nil, err
	}
	return cl, v.States(), cl.Close, nil
}

// readTopic calls fn with every record of topic, from its start to the end
// offsets it had when called. A topic that does not exist is empty.
func readTopic(ctx context.Context, base *kgo.Client, topic string, fn func(*kgo.Record)) error {
	adm := kadm.NewClient(base)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("%s: end offsets: %w", topic, err)
	}
	want := map[int32]kgo.Offset{}
	left := map[int32]int64{}
	var lerr error
	ends.Each(func(o kadm.ListedOffset) {
		switch {
		case errors.Is(o.Err, kerr.UnknownTopicOrPartition):
		case o.Err != nil:
			lerr = o.Err
		case o.Offset > 0:
			want[o.Partition] = kgo.NewOffset().AtStart()
			left[o.Partition] = o.Offset
		}
	})
	if lerr != nil {
		return fmt.Errorf("%s: end offsets: %w", topic, lerr)
	}
	if len(want) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append(base.Opts(), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: want}))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading %s: %w", topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			fn(r)
			if r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	return nil
}

// BackfillStatusOptions configure BackfillStatus.
type BackfillStatusOptions struct {
	// Match, when set, selects the items reported (the backfill command's
	// -p -c -t -w).
	Match func(ingest.WorkItem) bool
	// Brokers override bootstrap.servers.
	Brokers []string
	// Log receives notices.
	Log *slog.Logger
}

// BackfillProgress is the progress of the dumps of one collector (or of
// all of them).
type BackfillProgress struct {
	Project, Collector string
	// Items counts the distinct dumps queued; Done, Failed and Running
	// those with such a state; Waiting those not started yet.
	Items, Done, Failed, Running, Waiting int
	// Elems counts the elems published (done dumps, and the checkpoints of
	// running ones).
	Elems int64
	// Errors are the failed dumps' URLs and causes (at most 10).
	Errors []string
}

// BackfillReport is how far the backfill has come.
type BackfillReport struct {
	// Collectors are per collector, by project then collector.
	Collectors []BackfillProgress
	// Total sums them.
	Total BackfillProgress
	// Lag counts the work items the group <group.id>-backfill has not
	// committed yet (-1 when unknown).
	Lag int64
}

// BackfillStatus reads backfill.topic and backfill.state.topic and reports
// the items per collector: total, done, failed, running, waiting.
func BackfillStatus(ctx context.Context, cfg *Config, o BackfillStatusOptions) (BackfillReport, error) {
	var rep BackfillReport
	cl, states, closeAll, err := backfillClients(ctx, cfg, o.Brokers, o.Log, false)
	if err != nil {
		return rep, err
	}
	defer closeAll()
	items := map[string]ingest.WorkItem{}
	var bad int
	if err := readTopic(ctx, cl, cfg.BackfillTopic, func(r *kgo.Record) {
		it, err := DecodeWorkItem(r.Value)
		if err != nil {
			bad++
			return
		}
		items[it.URL] = it
	}); err != nil {
		return rep, err
	}
	if bad > 0 && o.Log != nil {
		o.Log.Warn("undecodable work items not counted", "topic", cfg.BackfillTopic, "count", bad)
	}
	by := map[[2]string]*BackfillProgress{}
	add := func(p *BackfillProgress, st ingest.BackfillState, has bool) {
		p.Items++
		switch {
		case !has:
			p.Waiting++
		case st.Status == ingest.StateDone:
			p.Done++
			p.Elems += st.Elems
		case st.Status == ingest.StateFailed:
			p.Failed++
			p.Elems += st.Elems
			if len(p.Errors) < 10 {
				p.Errors = append(p.Errors, st.URL+": "+st.Error)
			}
		default:
			p.Running++
			p.Elems += st.Elems
		}
	}
	for u, it := range items {
		if o.Match != nil && !o.Match(it) {
			continue
		}
		k := [2]string{it.Project, it.Collector}
		if by[k] == nil {
			by[k] = &BackfillProgress{Project: it.Project, Collector: it.Collector}
		}
		st, has := states[u]
		add(by[k], st, has)
		add(&rep.Total, st, has)
	}
	for _, p := range by {
		rep.Collectors = append(rep.Collectors, *p)
	}
	sort.Slice(rep.Collectors, func(i, j int) bool {
		a, b := rep.Collectors[i], rep.Collectors[j]
		if a.Project != b.Project {
			return a.Project < b.Project
		}
		return a.Collector < b.Collector
	})
	rep.Lag = backfillLag(ctx, kadm.NewClient(cl), cfg)
	return rep, nil
}

// backfillLag counts the work items of backfill.topic past the commits of
// the group <group.id>-backfill (-1 when Kafka does not say).
func backfillLag(ctx context.Context, adm *kadm.Client, cfg *Config) int64 {
	starts, err1 := adm.ListStartOffsets(ctx, cfg.BackfillTopic)
	ends, err2 := adm.ListEndOffsets(ctx, cfg.BackfillTopic)
	offs, err3 := adm.FetchOffsets(ctx, cfg.BackfillGroup())
	if err := errors.Join(err1, err2, err3, offs.Error()); err != nil {
		return -1
	}
	var lag int64
	ends.Each(func(e kadm.ListedOffset) {
		if e.Err != nil {
			return
		}
		from := int64(0)
		if s, ok := starts.Lookup(e.Topic, e.Partition); ok {
			from = s.Offset
		}
		if c, ok := offs.Lookup(e.Topic, e.Partition); ok && c.At > from {
			from = c.At
		}
		lag += max(e.Offset-from, 0)
	})
	return lag
}
