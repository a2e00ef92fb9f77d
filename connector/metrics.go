package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/schema"
)

// What the metrics endpoint (metrics.listen) serves, all read-only (GET;
// any other method is 405):
//
//	/metrics                  Prometheus metrics (below)
//	/healthz                  liveness: 200 while the process serves
//	/readyz                   readiness: 200 once every task is in the
//	                          group with its assignment and Kafka answers
//	/connectors/<name>/status the Kafka Connect status document
//
// Metrics: bgp_connector_* counters of the data path (input records, output
// records by type and topic, filtered elems, dead letters by topic, skipped
// records, decode errors by kind, commits), per-task assigned partitions,
// consumer lag per partition this process holds, produce latency and
// errors; bgp_connector_backfill_* per backfill task (items done, failed,
// skipped and in flight, resumes, bytes fetched, records, elems published,
// re-published elems, checkpoints, checkpoint lag, gaps and bytes skipped); bgp_connector_kafka_* from franz-go's kprom per client (connects
// and errors per broker, bytes and records produced and fetched, buffered
// records, request latencies); go_* and process_* runtime metrics.

// metricsNamespace prefixes every metric the connector defines.
const metricsNamespace = "bgp_connector"

// lagTimeout bounds the Kafka requests behind the lag series of one scrape,
// and pingTimeout the broker check of /readyz.
const (
	lagTimeout  = 3 * time.Second
	pingTimeout = 2 * time.Second
)

// Decode error kinds, the label values of bgp_connector_decode_errors_total.
var errorKinds = [...]string{"truncated", "malformed", "unsupported", "other"}

// observer holds what the metrics and readiness need beyond Stats: decode
// errors by kind, which tasks joined their group, and (when metrics.listen
// is set) the Prometheus registry.
type observer struct {
	decodeErrors [len(errorKinds)]atomic.Uint64
	joined       []atomic.Bool // per task: an assignment arrived
	stateTopic   string        // the BMP state changelog: not an output (bmpstate.go)

	reg            *prometheus.Registry // nil: metrics off
	produceLatency prometheus.Histogram
	produceErrors  *prometheus.CounterVec
	lagErrors      prometheus.Counter
}

func newObserver(cfg *Config) *observer {
	return &observer{joined: make([]atomic.Bool, cfg.Tasks()), stateTopic: cfg.StateTopic()}
}

// decodeError counts an undecodable input record by the kind of its error
// (the decode sentinels matched with errors.Is).
func (c *Connector) decodeError(err error) {
	k := len(errorKinds) - 1
	switch {
	case errors.Is(err, decode.ErrTruncated):
		k = 0
	case errors.Is(err, decode.ErrMalformed):
		k = 1
	case errors.Is(err, decode.ErrUnsupported):
		k = 2
	}
	c.obs.decodeErrors[k].Add(1)
}

// taskJoined records that task received its (possibly empty) assignment.
func (c *Connector) taskJoined(task int) {
	if task >= 0 && task < len(c.obs.joined) {
		c.obs.joined[task].Store(true)
	}
}

// client returns the task's Kafka consumer client.
func (t *task) client() *kgo.Client {
	if t.src != nil {
		return t.src.Client()
	}
	return nil
}

// setupMetrics creates the registry with the connector's collectors and the
// Go runtime and process collectors. It is a no-op when metrics.listen is
// empty: no registry, no client hooks, nothing on the hot path.
func (c *Connector) setupMetrics() {
	if c.cfg.MetricsListen == "" || c.obs.reg != nil {
		return
	}
	o := c.obs
	o.reg = prometheus.NewRegistry()
	o.produceLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metricsNamespace, Name: "produce_latency_seconds",
		Help:    "Time from handing an output record to the Kafka client to its acknowledgement (or failure).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	o.produceErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Name: "produce_errors_total",
		Help: "Output records whose produce failed, by topic.",
	}, []string{"topic"})
	o.lagErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metricsNamespace, Name: "consumer_lag_errors_total",
		Help: "Scrapes whose consumer lag could not be read from Kafka (the lag series are then absent).",
	})
	o.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		o.produceLatency, o.produceErrors, o.lagErrors,
		connectorCollector{c}, stateCollector{c},
	)
}

// kafkaMetrics returns the client options that instrument one Kafka client
// of the connector: kprom's metrics, labelled client=<name>, and the produce
// latency hook. nil when metrics are off.
func (c *Connector) kafkaMetrics(name string) []kgo.Opt {
	if c.obs.reg == nil {
		return nil
	}
	m := kprom.NewMetrics(metricsNamespace, kprom.Registry(c.obs.reg), kprom.Subsystem("kafka"),
		kprom.WithStaticLabel(prometheus.Labels{"client": name}),
		kprom.FetchAndProduceDetail(kprom.ByNode, kprom.ByTopic, kprom.Batches, kprom.Records, kprom.UncompressedBytes, kprom.CompressedBytes))
	return []kgo.Opt{kgo.WithHooks(m, produceHook{c.obs})}
}

// withOpts returns base followed by more, never sharing base's array.
func withOpts(base []kgo.Opt, more ...kgo.Opt) []kgo.Opt {
	return append(append(make([]kgo.Opt, 0, len(base)+len(more)), base...), more...)
}

// produceHook observes every output record once it is acknowledged or
// failed (kgo.HookProduceRecordUnbuffered). The client stamps a record's
// Timestamp when it is produced; the connector leaves it zero.
type produceHook struct{ o *observer }

// OnProduceRecordUnbuffered is kgo.HookProduceRecordUnbuffered.
func (h produceHook) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	if r.Topic == h.o.stateTopic && r.Topic != "" {
		return // a changelog record, counted by bgp_connector_bmp_state_*
	}
	h.o.produceLatency.Observe(time.Since(r.Timestamp).Seconds())
	if err != nil {
		h.o.produceErrors.WithLabelValues(r.Topic).Inc()
	}
}

// connectorCollector exports Stats and the task state at scrape time.
type connectorCollector struct{ c *Connector }

var (
	descInput       = newDesc("input_records_total", "Input records processed.")
	descOutput      = newDesc("output_records_total", "Output records produced, per output type and topic.", "type", "topic")
	descFiltered    = newDesc("filtered_elems_total", "Elems dropped by the filter.")
	descDeadLetters = newDesc("dead_letters_total", "Undecodable input records sent to the dead letter topic.", "topic")
	descSkipped     = newDesc("skipped_records_total", "Undecodable input records skipped (errors.tolerance=all without a dead letter topic).")
	descDecodeErrs  = newDesc("decode_errors_total", "Undecodable input records, by kind: truncated, malformed, unsupported, other.", "kind")
	descCommits     = newDesc("commits_total", "Offset commits (mode=offsets) or committed transactions (mode=transactions).", "mode")
	descTasks       = newDesc("tasks", "Tasks by Kafka Connect state (RUNNING, FAILED, UNASSIGNED).", "state")
	descAssigned    = newDesc("assigned_partitions", "Input partitions a task holds.", "task")
	descLag         = newDesc("consumer_lag", "Records of an input partition this process holds past the group's committed offset (end offset minus commit).", "topic", "partition", "task")
)

func newDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(metricsNamespace, "", name), help, labels, nil)
}

// Describe is prometheus.Collector's.
func (cc connectorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInput, descOutput, descFiltered, descDeadLetters, descSkipped, descDecodeErrs, descCommits, descTasks, descAssigned, descLag} {
		ch <- d
	}
	describeBackfill(ch) // backfill.go
}

// Collect is prometheus.Collector's.
func (cc connectorCollector) Collect(ch chan<- prometheus.Metric) {
	c := cc.c
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descInput, c.Stats.Records.Load())
	for _, t := range schema.Types() {
		counter(descOutput, c.Stats.Elems[t].Load(), t.Suffix(), c.topics[t])
	}
	counter(descFiltered, c.Stats.Filtered.Load())
	if c.cfg.DLQTopic != "" {
		counter(descDeadLetters, c.Stats.DeadLetters.Load(), c.cfg.DLQTopic)
	}
	counter(descSkipped, c.Stats.Skipped.Load())
	for k, name := range errorKinds {
		counter(descDecodeErrs, c.obs.decodeErrors[k].Load(), name)
	}
	mode := "offsets"
	if c.cfg.ExactlyOnce {
		mode = "transactions"
	}
	counter(descCommits, c.Stats.Commits.Load(), mode)

	states := map[string]int{"RUNNING": 0, "FAILED": 0, "UNASSIGNED": 0}
	for _, ts := range c.Status().Tasks {
		states[ts.State]++
	}
	for s, n := range states {
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(n), s)
	}
	for i, n := range c.Holding() {
		ch <- prometheus.MustNewConstMetric(descAssigned, prometheus.GaugeValue, float64(n), strconv.Itoa(i))
	}
	c.collectBackfill(ch) // backfill.go
	c.collectLag(ch)
}

// collectLag reads the group's lag from Kafka (describe, committed offsets,
// end offsets) and exports the partitions assigned to this process's tasks,
// so that the replicas of a deployment never export one partition twice.
func (c *Connector) collectLag(ch chan<- prometheus.Metric) {
	members := map[string]string{} // member id -> task
	c.tasksMu.Lock()
	for i, t := range c.tasks {
		if t == nil {
			continue
		}
		if cl := t.client(); cl != nil {
			if id, _ := cl.GroupMetadata(); id != "" {
				members[id] = strconv.Itoa(i)
			}
		}
	}
	c.tasksMu.Unlock()
	if len(members) == 0 || c.prod == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), lagTimeout)
	defer cancel()
	var groups []string
	if c.cfg.InputTasks() > 0 {
		groups = append(groups, c.cfg.GroupID)
	}
	if c.cfg.BackfillTaskCount() > 0 {
		groups = append(groups, c.cfg.BackfillGroup()) // work items waiting
	}
	lags, err := kadm.NewClient(c.prod).Lag(ctx, groups...)
	for _, g := range groups {
		var gl kadm.DescribedGroupLag
		if err == nil {
			gl = lags[g]
		}
		gerr := err
		if gerr == nil {
			gerr = gl.Error()
		}
		if gerr != nil {
			c.obs.lagErrors.Inc()
			c.log.Debug("consumer lag unavailable", "group", g, "err", gerr)
			continue
		}
		for _, l := range gl.Lag.Sorted() {
			if l.Member == nil || l.Err != nil || l.Lag < 0 {
				continue
			}
			if task, ok := members[l.Member.MemberID]; ok {
				ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(l.Lag), l.Topic, strconv.Itoa(int(l.Partition)), task)
			}
		}
	}
}

// serveMetrics serves metrics, health, readiness and status on addr
// (read-only: every route is GET).
func (c *Connector) serveMetrics(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(c.obs.reg, promhttp.HandlerFor(c.obs.reg, promhttp.HandlerOpts{Registry: c.obs.reg})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", c.serveReady)
	mux.HandleFunc("GET /connectors/{name}/status", c.serveStatus)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	a := ln.Addr().String()
	c.metricsAddr.Store(&a)
	c.log.Info("metrics endpoint", "url", "http://"+a+"/metrics", "readiness", "http://"+a+"/readyz")
	return srv, nil
}

// Readiness is the /readyz document.
type Readiness struct {
	// Ready is true when every task runs, is in the consumer group with
	// its assignment (possibly empty: a standby member when there are more
	// tasks than partitions), and a Kafka broker answered just now.
	Ready bool `json:"ready"`
	// Reason says why not.
	Reason string `json:"reason,omitempty"`
	// Kafka is "ok" or the broker check's error.
	Kafka string          `json:"kafka"`
	Tasks []TaskReadiness `json:"tasks"`
}

// TaskReadiness is one task's entry of [Readiness].
type TaskReadiness struct {
	ID         int    `json:"id"`
	State      string `json:"state"`
	Joined     bool   `json:"joined"`
	Partitions int    `json:"partitions"`
}

// Readiness checks whether the connector is ready (see [Readiness.Ready]);
// it pings a broker, for at most two seconds.
func (c *Connector) Readiness(ctx context.Context) Readiness {
	r := Readiness{Kafka: "not connected"}
	select {
	case <-c.ready:
	default:
		r.Reason = "starting: tasks not started yet"
		return r
	}
	held := c.Holding()
	for _, ts := range c.Status().Tasks {
		tr := TaskReadiness{ID: ts.ID, State: ts.State, Joined: ts.ID < len(c.obs.joined) && c.obs.joined[ts.ID].Load()}
		if ts.ID < len(held) {
			tr.Partitions = held[ts.ID]
		}
		r.Tasks = append(r.Tasks, tr)
		switch {
		case r.Reason != "":
		case tr.State != "RUNNING":
			r.Reason = fmt.Sprintf("task %d is %s", tr.ID, tr.State)
		case !tr.Joined:
			r.Reason = fmt.Sprintf("task %d has no assignment from group %s yet", tr.ID, c.cfg.GroupID)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := c.prod.Ping(pctx); err != nil {
		r.Kafka = err.Error()
		if r.Reason == "" {
			r.Reason = "no Kafka broker answered: " + err.Error()
		}
	} else {
		r.Kafka = "ok"
	}
	r.Ready = r.Reason == ""
	return r
}

func (c *Connector) serveReady(w http.ResponseWriter, r *http.Request) {
	rd := c.Readiness(r.Context())
	w.Header().Set("Content-Type", "application/json")
	if !rd.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(rd)
}

// TaskStatus is one task's entry of the Kafka Connect status document.
type TaskStatus struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// Status is the Kafka Connect REST status document of the connector
// (GET /connectors/<name>/status), served beside /metrics.
type Status struct {
	Name      string `json:"name"`
	Connector struct {
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
	} `json:"connector"`
	Tasks []TaskStatus `json:"tasks"`
	Type  string       `json:"type"`
}

// Status returns the connector's status: RUNNING tasks, FAILED ones with
// their error as the trace, UNASSIGNED before they start.
func (c *Connector) Status() Status {
	var st Status
	st.Name, st.Type = c.cfg.Name, "source"
	host, _ := os.Hostname()
	st.Connector.WorkerID = host
	st.Connector.State = "UNASSIGNED"
	c.tasksMu.Lock()
	defer c.tasksMu.Unlock()
	failed := false
	for i := 0; i < c.cfg.Tasks(); i++ {
		ts := TaskStatus{ID: i, State: "UNASSIGNED", WorkerID: host}
		if i < len(c.tasks) && c.tasks[i] != nil {
			ts.State, ts.Trace = c.tasks[i].status()
			failed = failed || ts.State == "FAILED"
		}
		st.Tasks = append(st.Tasks, ts)
	}
	if len(c.tasks) > 0 {
		st.Connector.State = "RUNNING"
		if failed {
			st.Connector.State = "FAILED"
		}
	}
	return st
}

func (c *Connector) serveStatus(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("name") != c.cfg.Name {
		// Kafka Connect's error document.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(struct {
			ErrorCode int    `json:"error_code"`
			Message   string `json:"message"`
		}{http.StatusNotFound, "Connector " + r.PathValue("name") + " not found"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(c.Status())
}
