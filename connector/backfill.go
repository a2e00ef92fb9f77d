package connector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/archive"
	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// Archive backfill through Kafka.
//
// Work items. `bgp-connector backfill` resolves a window, projects,
// collectors and record types through package archive (the read command's
// -d/-o/-p/-c/-t/-w) and publishes one work item per dump to backfill.topic:
// Avro (schema/backfill.avsc, single-object encoding) with the dump's URL,
// labels, nominal start and duration, expected size and the windows to
// apply, keyed by URL (so copies of an item share a partition, and so a
// task).
//
// Processing. Backfill tasks (input.format=archive: all tasks.max tasks;
// else backfill.tasks tasks beside the input tasks) join the consumer group
// <group.id>-backfill on backfill.topic, round-robin, each an
// ingest.BackfillSource: per item it fetches the dump (archive.Fetcher,
// cached in backfill.cache.dir when set), decodes it with ingest.FileSource,
// applies the item's windows and the connector's filter (pushed down into
// the MRT decoder), and hands the batches to the same emit.KafkaSink as the
// input tasks: the same per-type topics, the same Avro schemas, the item's
// project and collector labels. An output's source_topic is the dump's URL,
// source_partition -1 and source_offset the record's uncompressed byte
// offset in the dump, so that every elem can be traced to its MRT record.
// The item's offset is committed once every elem of the dump is
// acknowledged and the dump's completion is recorded.
//
// Dedup of completed items. backfill.state.topic (compacted, JSON keyed by
// URL) holds the last state of each dump: running (a checkpoint), done or
// failed. A task consults it before it starts an item and skips a dump done
// or failed; the backfill command consults it (and backfill.topic itself)
// before it queues, so that re-running a backfill queues only what was
// never queued, and publishes nothing new. `backfill --retry-failed` writes
// a tombstone for a failed dump and queues it again.
//
// Checkpoints, crashes and exactly-once: see ingest.BackfillSource.

// backfillShared is what the backfill tasks of a process share: the
// fetcher (one download per file for all of them) and the state view.
type backfillShared struct {
	fetch  *archive.Fetcher
	states *ingest.StateView
}

// startBackfill creates the fetcher and the state view of the backfill
// tasks.
func (c *Connector) startBackfill(base []kgo.Opt) error {
	f, err := archive.NewFetcher(archive.FetchOptions{CacheDir: c.cfg.BackfillCacheDir})
	if err != nil {
		return fmt.Errorf("backfill.cache.dir: %w", err)
	}
	v, err := ingest.NewStateView(base, c.cfg.BackfillStateTopic, c.log)
	if err != nil {
		f.Close()
		return err
	}
	c.bf = &backfillShared{fetch: f, states: v}
	return nil
}

func (c *Connector) stopBackfill() {
	if c.bf != nil {
		c.bf.states.Close()
		c.bf.fetch.Close()
	}
}

// newBackfillTask makes backfill task id: a BackfillSource on
// backfill.topic, the connector's sink.
func (c *Connector) newBackfillTask(id int, base []kgo.Opt) (*task, error) {
	cfg := c.cfg
	t := &task{c: c, id: id, log: c.log.With("task", id)} // no matcher: the source filters
	all := cfg.ErrorsTolerance == "all"
	host, _ := os.Hostname()
	gopt := cfg.groupOptions()
	gopt.Group, gopt.Topics, gopt.TopicsRegex = cfg.BackfillGroup(), []string{cfg.BackfillTopic}, ""
	o := ingest.BackfillOptions{
		Group: gopt, Task: id, TaskName: host + "/" + strconv.Itoa(id),
		Decode: DecodeWorkItem, Fetch: c.bf.fetch, States: c.bf.states, StateTopic: cfg.BackfillStateTopic,
		Producer: c.prod, Filter: c.filter,
		CheckpointElems: int64(cfg.BackfillCheckpointElems), CheckpointInterval: cfg.BackfillCheckpointInterval,
		SkipErrors: all && cfg.DLQTopic == "", LogErrors: cfg.ErrorsLogEnable,
		Counters: ingest.KafkaCounters{Records: &c.Stats.Records, Errors: &c.Stats.Errors,
			DeadLetters: &c.Stats.DeadLetters, Skipped: &c.Stats.Skipped, Commits: &c.Stats.Commits},
		Filtered: &c.Stats.Filtered,
		Log:      c.log,
		Hooks:    ingest.Hooks{Assigned: func(map[string][]int32) { c.taskJoined(id) }},
	}
	if all && cfg.DLQTopic != "" {
		o.DeadLetter = func(ctx context.Context, r *kgo.Record, stage, class string, cause error, done func(error)) {
			w := t.sink.Writer()
			var in emit.Input
			w.Begin(&in, emit.Source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}, doneCompletion(done))
			if !w.DeadLetter(ctx, &in, r, id, stage, class, cause) {
				done(nil)
			}
		}
	}
	if cfg.ExactlyOnce {
		o.TransactionalID = cfg.TransactionalIDPrefix + "-backfill-" + strconv.Itoa(id)
		o.ProducerOpts = emit.ProducerOpts(cfg.Compression, cfg.Linger)
		o.ProducerBase = withOpts(c.base, c.kafkaMetrics("task-"+strconv.Itoa(id)+"-producer")...)
	}
	src, err := ingest.NewBackfillSource(base, o)
	if err != nil {
		return nil, err
	}
	t.src, t.bf = src, src
	t.sink = emit.NewKafkaSink(src.Producer(), emit.Options{
		Topics: c.topics, Framing: c.framing, Key: c.key,
		DLQTopic: cfg.DLQTopic, DLQContextHeaders: cfg.DLQContextHeaders, Connector: cfg.Name,
	}, &c.Stats.Elems)
	return t, nil
}

// doneCompletion completes one produced record by calling the function.
type doneCompletion func(error)

func (d doneCompletion) Add(int32)                        {}
func (d doneCompletion) Promise(_ *kgo.Record, err error) { d(err) }

// BackfillStats returns the counters of each backfill task, by task id.
func (c *Connector) BackfillStats() map[int]ingest.BackfillStats {
	c.tasksMu.Lock()
	defer c.tasksMu.Unlock()
	out := map[int]ingest.BackfillStats{}
	for _, t := range c.tasks {
		if t != nil && t.bf != nil {
			out[t.id] = t.bf.Stats()
		}
	}
	return out
}

// backfillTotals sums the connector's backfill task counters.
func backfillTotals(c *Connector) ingest.BackfillStats {
	var t ingest.BackfillStats
	for _, s := range c.BackfillStats() {
		t.ItemsDone += s.ItemsDone
		t.ItemsFailed += s.ItemsFailed
		t.ItemsSkipped += s.ItemsSkipped
		t.Resumes += s.Resumes
		t.Elems += s.Elems
		t.Republished += s.Republished
		t.Checkpoints += s.Checkpoints
		t.CheckpointLag = max(t.CheckpointLag, s.CheckpointLag)
		t.Gaps += s.Gaps
		t.BytesSkipped += s.BytesSkipped
	}
	return t
}

// ensureBackfillTopics creates backfill.topic and the compacted
// backfill.state.topic when they are missing.
func ensureBackfillTopics(ctx context.Context, adm *kadm.Client, cfg *Config) error {
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	compact := "compact"
	for _, tc := range []struct {
		topic   string
		configs map[string]*string
	}{
		{cfg.BackfillTopic, nil},
		{cfg.BackfillStateTopic, map[string]*string{"cleanup.policy": &compact}},
	} {
		resp, err := adm.CreateTopics(tctx, int32(cfg.BackfillPartitions), int16(cfg.TopicReplicationFactor), tc.configs, tc.topic)
		if err != nil {
			return fmt.Errorf("creating backfill topic %q: %w", tc.topic, err)
		}
		for _, r := range resp.Sorted() {
			if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
				return fmt.Errorf("creating backfill topic %q: %w", r.Topic, r.Err)
			}
		}
	}
	return nil
}

// EncodeWorkItem returns the backfill topic value of a work item: Avro
// single-object encoding in schema/backfill.avsc.
func EncodeWorkItem(it ingest.WorkItem) ([]byte, error) {
	c, err := schema.BackfillCodec()
	if err != nil {
		return nil, err
	}
	var size any
	if it.Size > 0 {
		size = map[string]any{"long": it.Size}
	}
	format := it.Format
	if format == "" {
		format = "mrt"
	}
	ws := make([]any, 0, len(it.Windows))
	for _, w := range it.Windows {
		var end any
		if !w.End.IsZero() {
			end = map[string]any{"long.timestamp-micros": w.End.UTC()}
		}
		ws = append(ws, map[string]any{"start_us": w.Start.UTC(), "end_us": end})
	}
	return c.SingleFromNative(nil, map[string]any{
		"url": it.URL, "project": it.Project, "collector": it.Collector, "record_type": it.Type,
		"initial_time": it.Start.Unix(), "duration": int64(it.Duration / time.Second),
		"expected_size": size, "format": format, "windows": ws,
	})
}

// DecodeWorkItem parses a backfill topic value (see EncodeWorkItem).
func DecodeWorkItem(b []byte) (ingest.WorkItem, error) {
	var it ingest.WorkItem
	c, err := schema.BackfillCodec()
	if err != nil {
		return it, err
	}
	native, _, err := c.NativeFromSingle(b)
	if err != nil {
		return it, fmt.Errorf("work item: %w", err)
	}
	m, ok := native.(map[string]any)
	if !ok {
		return it, errors.New("work item: not a record")
	}
	it.URL, _ = m["url"].(string)
	it.Project, _ = m["project"].(string)
	it.Collector, _ = m["collector"].(string)
	it.Type, _ = m["record_type"].(string)
	it.Format, _ = m["format"].(string)
	if t, ok := m["initial_time"].(int64); ok {
		it.Start = time.Unix(t, 0).UTC()
	}
	if d, ok := m["duration"].(int64); ok {
		it.Duration = time.Duration(d) * time.Second
	}
	if u, ok := m["expected_size"].(map[string]any); ok {
		it.Size, _ = u["long"].(int64)
	}
	ws, _ := m["windows"].([]any)
	for _, x := range ws {
		wm, _ := x.(map[string]any)
		var w archive.Window
		w.Start, _ = wm["start_us"].(time.Time)
		if u, ok := wm["end_us"].(map[string]any); ok {
			for _, v := range u {
				w.End, _ = v.(time.Time)
			}
		}
		it.Windows = append(it.Windows, w)
	}
	switch {
	case it.URL == "":
		return it, errors.New("work item: no url")
	case it.Type != archive.TypeRIBs && it.Type != archive.TypeUpdates:
		return it, fmt.Errorf("work item %s: record_type %q: want ribs or updates", it.URL, it.Type)
	}
	it.Transport = "http"
	return it, nil
}

// Backfill metrics, per backfill task.
var (
	descBFItems       = newDesc("backfill_items_total", "Backfill work items completed, by result: done, failed (dead-lettered or skipped), skipped (done or failed already).", "task", "result")
	descBFInFlight    = newDesc("backfill_items_in_flight", "Backfill work items being read or awaiting their last acknowledgements.", "task")
	descBFResumes     = newDesc("backfill_resumes_total", "Backfill work items taken up from a checkpoint.", "task")
	descBFFetched     = newDesc("backfill_fetched_bytes_total", "Dump bytes read as stored (compressed), from the archive or the cache.", "task")
	descBFRecords     = newDesc("backfill_records_total", "MRT records read from dumps (those before a resumed checkpoint not counted).", "task")
	descBFElems       = newDesc("backfill_elems_total", "Elems of dumps published and acknowledged.", "task")
	descBFRepublished = newDesc("backfill_republished_elems_total", "Elems published again after resuming a dump from a checkpoint, up to the furthest point the previous reader may have reached (an upper bound on duplicates; at most backfill.checkpoint.elems per resume; 0 with exactly.once.support=required).", "task")
	descBFCheckpoints = newDesc("backfill_checkpoints_total", "Backfill state records written (checkpoints and completions).", "task")
	descBFLag         = newDesc("backfill_checkpoint_lag_elems", "Elems published past the last durable checkpoint of the items in flight: what a crash now would republish at most.", "task")
	descBFGaps        = newDesc("backfill_gaps_total", "Damaged regions skipped in dumps.", "task")
	descBFSkipped     = newDesc("backfill_skipped_bytes_total", "Bytes of damaged regions skipped in dumps.", "task")
)

func describeBackfill(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBFItems, descBFInFlight, descBFResumes, descBFFetched, descBFRecords, descBFElems,
		descBFRepublished, descBFCheckpoints, descBFLag, descBFGaps, descBFSkipped} {
		ch <- d
	}
}

// collectBackfill exports the backfill tasks' counters.
func (c *Connector) collectBackfill(ch chan<- prometheus.Metric) {
	for id, st := range c.BackfillStats() {
		task := strconv.Itoa(id)
		counter := func(d *prometheus.Desc, v int64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{task}, labels...)...)
		}
		gauge := func(d *prometheus.Desc, v int64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), task)
		}
		counter(descBFItems, st.ItemsDone, "done")
		counter(descBFItems, st.ItemsFailed, "failed")
		counter(descBFItems, st.ItemsSkipped, "skipped")
		gauge(descBFInFlight, st.InFlight)
		counter(descBFResumes, st.Resumes)
		counter(descBFFetched, st.BytesFetched)
		counter(descBFRecords, st.Records)
		counter(descBFElems, st.Elems)
		counter(descBFRepublished, st.Republished)
		counter(descBFCheckpoints, st.Checkpoints)
		gauge(descBFLag, st.CheckpointLag)
		counter(descBFGaps, st.Gaps)
		counter(descBFSkipped, st.BytesSkipped)
	}
}
