package connector

// BMP session state that survives restarts and rebalances.
//
// A BMP router's Route Monitoring only decodes right with what its earlier
// messages taught: the Initiation's sysName names the router (when no
// OpenBMP router group does), each Peer Up's OPENs say whether AS_PATHs
// carry 4-byte ASNs and which families carry ADD-PATH path ids. A task
// learns that in memory (one openbmp.Decoder per input partition), so a
// restarted or reassigned task used to decode the rest of a session
// without it: empty router names, bmp_no_peer_up, and possibly the wrong
// AS widths. With bmp.state.enable (the default for input.format=openbmp
// and bmp) each change to that state is also written to a compacted
// changelog topic (bmp.state.topic, default <output.topic.prefix>.bmp.state)
// and a task restores a partition's state from it before decoding the
// partition's first record; see ingest.StateLog for the record layout, the
// ordering guarantees and the restore.
//
//   - The changelog is created at start (and by a restore, for an input
//     topic that appears later) with the input topic's partition count,
//     cleanup.policy=compact and min.compaction.lag.ms=3600000. Input
//     partition p keeps its state in changelog partition p; when the counts
//     differ (an existing changelog, several input topics) it is p modulo
//     the changelog's count, which works but reads other partitions' state
//     on a restore, and a warning says so. Do not add partitions to an
//     existing changelog: the state of the partitions that move is lost
//     once (decoded as without it).
//   - At-least-once, a change is produced (through the outputs' producer)
//     before the outputs of the record that made it, and the record's
//     offset is committed only once the change is acknowledged;
//     exactly-once, it is part of the poll's transaction. A record decoded
//     again writes the same change again: the last write wins per key.
//   - A restore reads the changelog partition from its start to its last
//     stable offset, at most bmp.state.restore.timeout.ms; past that the
//     task stops with an error naming both partitions.
//   - Routers whose state a partition holds are bounded as in memory
//     (100000 sessions); the changelog holds at most that per partition,
//     a few dozen bytes per session.

import (
	"context"
	"fmt"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/ingest"
)

// StateStats count the work of the BMP session state changelog.
type StateStats struct {
	// Writes are changelog records produced; Restores partition restores;
	// Entries the entries (router Initiations and peer sessions) restored;
	// Ignored the changelog records a restore skipped (made by input
	// records after the resume point, or undecodable).
	Writes, Restores, Entries, Ignored atomic.Uint64
}

// producerOpts returns the options of the outputs' producer (and of the
// exactly-once sessions): emit's, with the changelog partitioned by input
// partition when the state is kept.
func (c *Connector) producerOpts() []kgo.Opt {
	opts := emit.ProducerOpts(c.cfg.Compression, c.cfg.Linger)
	if st := c.cfg.StateTopic(); st != "" {
		opts = append(opts, kgo.RecordPartitioner(ingest.StatePartitioner(st, kgo.StickyKeyPartitioner(nil))))
	}
	return opts
}

// stateLog returns task id's BMP session state changelog (nil when the
// state is not kept). Its restores read with short-lived clients of the
// connector's options (without the metrics hooks: kprom's collectors
// belong to one client each).
func (c *Connector) stateLog(id int) *ingest.StateLog {
	st := c.cfg.StateTopic()
	if st == "" {
		return nil
	}
	s := &c.Stats.BMPState
	return &ingest.StateLog{
		Topic: st, Producer: c.prod, Client: c.base, Timeout: c.cfg.BMPStateRestoreTimeout,
		ReplicationFactor: int16(c.cfg.TopicReplicationFactor),
		Counters:          ingest.StateCounters{Writes: &s.Writes, Restores: &s.Restores, Entries: &s.Entries, Ignored: &s.Ignored},
		Log:               c.log.With("task", id),
	}
}

// ensureStateTopic creates the changelog topic when the state is kept and
// the topic is missing, with the largest partition count of the input
// topics that exist (none yet: a restore creates it later), and warns
// when an existing one is not co-partitioned with the input or not
// compacted.
func (c *Connector) ensureStateTopic(ctx context.Context) error {
	st := c.cfg.StateTopic()
	if st == "" {
		return nil
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(c.prod)
	td, err := adm.ListTopics(tctx)
	if err != nil {
		return fmt.Errorf("listing topics on %v for the BMP state changelog: %w", c.brokers, err)
	}
	var re *regexp.Regexp
	if c.cfg.TopicsRegex != "" {
		re = regexp.MustCompile("^(?:" + c.cfg.TopicsRegex + ")$")
	}
	inputs := map[string]int32{}
	for name, d := range td {
		if d.Err == nil && name != st && (re != nil && re.MatchString(name) || re == nil && contains(c.cfg.Topics, name)) {
			inputs[name] = int32(len(d.Partitions))
		}
	}
	want := int32(0)
	for _, n := range inputs {
		want = max(want, n)
	}
	d, exists := td[st]
	if !exists || d.Err != nil {
		if want == 0 {
			c.log.Info("no input topic yet: the BMP state changelog is created with the first restore", "topic", st)
			return nil
		}
		n, err := ingest.EnsureStateTopic(tctx, adm, st, want, int16(c.cfg.TopicReplicationFactor))
		if err != nil {
			return err
		}
		c.log.Info("BMP state changelog created", "topic", st, "partitions", n, "cleanup.policy", "compact")
		return nil
	}
	have := int32(len(d.Partitions))
	for name, n := range inputs {
		if n != have {
			c.log.Warn("the BMP state changelog is not co-partitioned with an input topic: input partition p keeps its state in changelog partition p modulo the changelog's count",
				"changelog", st, "changelog_partitions", have, "input", name, "input_partitions", n)
		}
	}
	rc, err := adm.DescribeTopicConfigs(tctx, st)
	if err == nil {
		if r, err := rc.On(st, nil); err == nil {
			for _, cf := range r.Configs {
				if cf.Key == "cleanup.policy" && cf.Value != nil && *cf.Value != "compact" {
					c.log.Warn("the BMP state changelog is not compacted: it grows without bound", "topic", st, "cleanup.policy", *cf.Value)
				}
			}
		}
	}
	return nil
}

var (
	descStateWrites   = prometheus.NewDesc(metricsNamespace+"_bmp_state_writes_total", "BMP session state changes written to the changelog topic.", []string{"topic"}, nil)
	descStateRestores = prometheus.NewDesc(metricsNamespace+"_bmp_state_restores_total", "Input partitions whose BMP session state was restored from the changelog.", []string{"topic"}, nil)
	descStateEntries  = prometheus.NewDesc(metricsNamespace+"_bmp_state_restored_entries_total", "Router Initiations and peer sessions restored from the changelog.", []string{"topic"}, nil)
	descStateIgnored  = prometheus.NewDesc(metricsNamespace+"_bmp_state_ignored_total", "Changelog records a restore skipped: made by input records after the resume point (they are decoded again), or undecodable (logged).", []string{"topic"}, nil)
)

// stateCollector exports StateStats when the state is kept.
type stateCollector struct{ c *Connector }

// Describe is prometheus.Collector's.
func (sc stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStateWrites, descStateRestores, descStateEntries, descStateIgnored} {
		ch <- d
	}
}

// Collect is prometheus.Collector's.
func (sc stateCollector) Collect(ch chan<- prometheus.Metric) {
	st := sc.c.cfg.StateTopic()
	if st == "" {
		return
	}
	s := &sc.c.Stats.BMPState
	for d, v := range map[*prometheus.Desc]uint64{descStateWrites: s.Writes.Load(), descStateRestores: s.Restores.Load(),
		descStateEntries: s.Entries.Load(), descStateIgnored: s.Ignored.Load()} {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), st)
	}
}
