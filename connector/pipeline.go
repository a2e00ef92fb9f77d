// Package connector is the Kafka connector's wiring: its configuration (a
// Kafka Connect style .properties file, see [Config]), the embedded broker,
// topic creation, the tasks of the consumer group (each one source → filter
// → sink), offset commits, metrics, the status endpoint and graceful
// shutdown, the archive backfill (backfill tasks beside or instead of the
// input tasks, QueueBackfill and BackfillStatus for the backfill command;
// see backfill.go), plus the demo and the end-to-end benchmark. BMP
// session state (router names, Peer Up sessions) is kept in a compacted
// changelog topic so that it survives restarts and rebalances
// (bmpstate.go, bmp.state.enable).
//
// It holds no format logic of its own: decoding lives in mrt and openbmp,
// the consumer side in ingest, filtering in filter and encoding in emit.
// cmd/bgp-connector calls [New] and [Connector.Run].
package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// Connector is a configured connector, ready to Run.
type Connector struct {
	cfg     *Config
	log     *slog.Logger
	inputs  ingest.ValueFormat
	filter  *filter.Filter
	key     emit.KeyField
	brokers []string

	cluster *kfake.Cluster
	prod    *kgo.Client
	base    []kgo.Opt // the clients' options, uninstrumented (Run sets it)
	framing *emit.Framing
	topics  [schema.NumTypes]string

	// Stats are the connector's running counters.
	Stats Stats

	ready     chan struct{}
	readyOnce sync.Once

	tasksMu sync.Mutex
	tasks   []*task

	metricsAddr atomic.Pointer[string]
	obs         *observer       // metrics.go
	bf          *backfillShared // backfill.go: nil without backfill tasks
}

// MetricsAddr returns the address the metrics endpoint listens on, once
// Run started it ("" before, or when metrics.listen is empty).
func (c *Connector) MetricsAddr() string {
	if p := c.metricsAddr.Load(); p != nil {
		return *p
	}
	return ""
}

// Stats are counters of a running connector, safe to read at any time.
type Stats struct {
	// Records are input records processed; Elems are elems produced (after
	// the filter), per output type; Filtered are elems the filter dropped.
	Records     atomic.Uint64
	Elems       [schema.NumTypes]atomic.Uint64
	Filtered    atomic.Uint64
	DeadLetters atomic.Uint64
	Skipped     atomic.Uint64
	Errors      atomic.Uint64
	Commits     atomic.Uint64
	// BMPState counts the BMP session state changelog's work.
	BMPState StateStats
}

// Option adjusts a Connector built by New.
type Option func(*Connector)

// WithBrokers overrides bootstrap.servers (used by tests and demo with a
// broker they started themselves).
func WithBrokers(addrs ...string) Option {
	return func(c *Connector) { c.brokers = addrs }
}

// New validates what the configuration alone cannot (the filter
// expression) and returns a Connector. It connects to nothing yet.
func New(cfg *Config, log *slog.Logger, opts ...Option) (*Connector, error) {
	if log == nil {
		log = slog.Default()
	}
	c := &Connector{cfg: cfg, log: log, ready: make(chan struct{}), obs: newObserver(cfg)}
	for _, o := range opts {
		o(c)
	}
	var err error
	if cfg.Filter != "" {
		if c.filter, err = filter.Parse(cfg.Filter); err != nil {
			return nil, &ConfigError{Problems: []Problem{{Key: "filter", Origin: cfg.Origin("filter"), Msg: err.Error()}}}
		}
	}
	if c.inputs, err = newValueFormat(cfg, c.filter); err != nil {
		return nil, &ConfigError{Problems: []Problem{{Key: "input.format", Origin: cfg.Origin("input.format"), Msg: err.Error()}}}
	}
	if c.key, err = emit.ParseKeyField(cfg.KeyField); err != nil {
		return nil, err
	}
	for _, t := range schema.Types() {
		c.topics[t] = cfg.TopicFor(t.Suffix())
	}
	c.setupMetrics()
	return c, nil
}

// Topics returns the output topic of each type.
func (c *Connector) Topics() [schema.NumTypes]string { return c.topics }

// Brokers returns the brokers in use (the embedded broker's address once
// Run started it).
func (c *Connector) Brokers() []string { return c.brokers }

// Ready is closed once the connector has started its tasks.
func (c *Connector) Ready() <-chan struct{} { return c.ready }

// StartEmbedded starts the in-process kfake broker on 127.0.0.1:port
// (0 = any free port) with the input topics created with the given
// partition count, and returns it with its address.
func StartEmbedded(port, partitions int, topics ...string) (*kfake.Cluster, string, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(partitions)}
	if port != 0 {
		opts = append(opts, kfake.Ports(port))
	}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(partitions), topics...))
	}
	cl, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, "", fmt.Errorf("embedded broker on 127.0.0.1:%d: %w", port, err)
	}
	return cl, cl.ListenAddrs()[0], nil
}

// Run runs the connector until ctx ends (then it shuts down gracefully:
// stops fetching, waits for elems in flight, commits and returns nil) or a
// task fails (errors.tolerance=none and an undecodable record, or a produce
// failure: the error names topic/partition/offset and the cause).
func (c *Connector) Run(ctx context.Context) error {
	cfg := c.cfg
	if len(c.brokers) == 0 {
		if err := cfg.NeedBrokers(); err != nil {
			return err
		}
	}
	if cfg.Embedded && len(c.brokers) == 0 {
		cl, addr, err := StartEmbedded(cfg.EmbeddedPort, cfg.EmbeddedPartitions, cfg.Topics...)
		if err != nil {
			return err
		}
		c.cluster = cl
		defer cl.Close()
		c.brokers = []string{addr}
		c.log.Info("embedded Kafka broker listening", "addr", addr, "try", "kcat -b "+addr+" -L")
	}
	if len(c.brokers) == 0 {
		c.brokers = cfg.BootstrapServers
	}
	if err := checkKafka(ctx, cfg, c.brokers); err != nil {
		return err
	}
	base, err := ClientOpts(cfg, c.brokers, c.log)
	if err != nil {
		return err
	}
	c.base = base
	c.prod, err = kgo.NewClient(withOpts(base, append(c.producerOpts(), c.kafkaMetrics("producer")...)...)...)
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer c.prod.Close()
	if cfg.MetricsListen != "" {
		srv, err := c.serveMetrics(cfg.MetricsListen)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	if err := c.ensureTopics(ctx); err != nil {
		return err
	}
	if err := c.ensureStateTopic(ctx); err != nil { // bmpstate.go
		return err
	}
	if err := c.setupFraming(ctx); err != nil {
		return err
	}
	if cfg.InputTasks() > 0 {
		go c.watchInputTopics(ctx, base)
	}
	if cfg.BackfillTaskCount() > 0 {
		if err := c.startBackfill(base); err != nil {
			return err
		}
		defer c.stopBackfill()
	}

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var wg sync.WaitGroup
	tasks := make([]*task, cfg.Tasks())
	errs := make([]error, len(tasks))
	for i := range tasks {
		opts := withOpts(base, c.kafkaMetrics("task-"+strconv.Itoa(i))...)
		var t *task
		var err error
		if i < cfg.InputTasks() {
			t, err = c.newTask(i, opts)
		} else {
			t, err = c.newBackfillTask(i, opts)
		}
		if err != nil {
			stop(err)
			break
		}
		tasks[i] = t
	}
	for i, t := range tasks {
		if t == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := t.run(runCtx)
			if err != nil {
				errs[i] = err
				stop(err)
			}
			t.finish(err)
		}()
	}
	c.tasksMu.Lock()
	c.tasks = tasks
	c.tasksMu.Unlock()
	c.readyOnce.Do(func() { close(c.ready) })
	c.log.Info("connector running", "name", cfg.Name, "group", cfg.GroupID, "tasks", cfg.InputTasks(),
		"input", inputDesc(cfg), "format", cfg.InputFormat, "outputs", cfg.OutputTopicPrefix+".{ribs,announcements,withdrawals,peerstates,stats}",
		"value.format", c.framing.String())
	if n := cfg.BackfillTaskCount(); n > 0 {
		c.log.Info("backfill tasks running", "tasks", n, "group", cfg.BackfillGroup(), "topic", cfg.BackfillTopic,
			"state", cfg.BackfillStateTopic, "cache", cfg.BackfillCacheDir)
	}
	wg.Wait()

	// Shutdown: every task stopped fetching; finish what is in flight and
	// commit it, all within one bound (an unreachable broker must not
	// stretch it), and fail when a final commit fails.
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := c.prod.Flush(shutCtx); err != nil {
		c.log.Warn("flushing producer", "err", err)
	}
	for _, t := range tasks {
		if t == nil {
			continue
		}
		if err := t.src.Shutdown(shutCtx); err != nil {
			c.log.Error("final commit failed", "task", t.id, "err", err)
			errs = append(errs, fmt.Errorf("task %d: final commit: %w", t.id, err))
		}
		if t.released != nil {
			close(t.released)
		}
	}
	if cfg.BackfillTaskCount() > 0 {
		sum := backfillTotals(c)
		c.log.Info("backfill tasks stopped", "items_done", sum.ItemsDone, "items_failed", sum.ItemsFailed,
			"items_skipped", sum.ItemsSkipped, "resumes", sum.Resumes, "elems", sum.Elems, "republished", sum.Republished)
	}
	c.log.Info("connector stopped", "records", c.Stats.Records.Load(), "elems", c.elemTotal(), "dead_letters", c.Stats.DeadLetters.Load())
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if cause := context.Cause(runCtx); cause != nil && !errors.Is(cause, context.Canceled) && ctx.Err() == nil {
		return cause
	}
	return nil
}

func (c *Connector) elemTotal() uint64 {
	var n uint64
	for i := range c.Stats.Elems {
		n += c.Stats.Elems[i].Load()
	}
	return n
}

func inputDesc(cfg *Config) string {
	if cfg.InputTasks() == 0 {
		return "none (input.format=archive: backfill tasks only)"
	}
	if cfg.InputFormat == "ris-live" {
		return cfg.RISLiveURL
	}
	if cfg.TopicsRegex != "" {
		return "regex " + cfg.TopicsRegex
	}
	return fmt.Sprint(cfg.Topics)
}

// ensureTopics creates missing output (and dead letter) topics.
func (c *Connector) ensureTopics(ctx context.Context) error {
	adm := kadm.NewClient(c.prod)
	want := []string{}
	for _, t := range c.topics {
		want = append(want, t)
	}
	if c.cfg.DLQTopic != "" {
		want = append(want, c.cfg.DLQTopic)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopics(tctx, int32(c.cfg.TopicPartitions), int16(c.cfg.TopicReplicationFactor), nil, want...)
	if err != nil {
		return fmt.Errorf("creating output topics %v on %v: %w", want, c.brokers, err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("creating output topic %q: %w", r.Topic, r.Err)
		}
	}
	if c.cfg.BackfillTaskCount() > 0 {
		return ensureBackfillTopics(ctx, adm, c.cfg)
	}
	return nil
}

func (c *Connector) setupFraming(ctx context.Context) error {
	var err error
	if c.cfg.ValueFormat == "avro-confluent" {
		var reg *sr.Client
		reg, err = sr.NewClient(sr.URLs(c.cfg.SchemaRegistryURL))
		if err == nil {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			c.framing, err = emit.Confluent(rctx, reg, func(t schema.Type) string { return c.topics[t] })
		}
		if err != nil {
			return fmt.Errorf("schema registry %s: %w", c.cfg.SchemaRegistryURL, err)
		}
		for _, t := range schema.Types() {
			c.log.Info("schema registered", "subject", c.topics[t]+"-value", "id", c.framing.SchemaID(t))
		}
		return nil
	}
	c.framing, err = emit.SingleObject()
	return err
}

// watchInputTopics reports input topics that do not exist, every 30 s until
// they do: the group waits for them rather than failing, and says so
// (BGPStream blocks silently in this case).
func (c *Connector) watchInputTopics(ctx context.Context, base []kgo.Opt) {
	if (c.cfg.TopicsRegex == "" && len(c.cfg.Topics) == 0) || c.cfg.InputFormat == "ris-live" {
		return
	}
	var re *regexp.Regexp
	if c.cfg.TopicsRegex != "" {
		// Anchored as franz-go anchors ConsumeRegex patterns.
		re = regexp.MustCompile("^(?:" + c.cfg.TopicsRegex + ")$")
	}
	cl, err := kgo.NewClient(base...)
	if err != nil {
		return
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var td kadm.TopicDetails
		if re != nil {
			td, err = adm.ListTopics(tctx)
		} else {
			td, err = adm.ListTopics(tctx, c.cfg.Topics...)
		}
		cancel()
		switch {
		case err != nil:
			if ctx.Err() == nil {
				c.log.Warn("cannot list input topics", "brokers", c.brokers, "err", err)
			}
		case re != nil:
			found := false
			for t := range td {
				found = found || re.MatchString(t)
			}
			if found {
				return
			}
			c.log.Warn("no topic matches topics.regex yet; waiting (matching topics are consumed as soon as they exist)", "regex", c.cfg.TopicsRegex, "brokers", c.brokers)
		default:
			var missing []string
			for _, t := range c.cfg.Topics {
				if d, ok := td[t]; !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
					missing = append(missing, t)
				}
			}
			if len(missing) == 0 {
				return
			}
			c.log.Warn("input topic does not exist; waiting for it to be created (records are consumed as soon as it is)", "topics", missing, "brokers", c.brokers)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(30 * time.Second):
		}
	}
}
