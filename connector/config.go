package connector

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/internal/suggest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// Config is the connector's configuration, decoded once from a Kafka
// Connect style .properties file, environment overrides and --set pairs.
// Every field's key, default and allowed values are in [Keys].
type Config struct {
	// Name is the connector name (key "name"); it names the task in dead
	// letter headers and is the default group id.
	Name string
	// ConnectorClass is accepted for Connect compatibility and ignored.
	ConnectorClass string
	// Embedded is true when bootstrap.servers is "embedded": the connector
	// starts an in-process broker on EmbeddedPort (0 = any free port).
	Embedded     bool
	EmbeddedPort int
	// EmbeddedPartitions is the partition count of topics the embedded
	// broker creates.
	EmbeddedPartitions int
	// BootstrapServers are the seed brokers (host:port).
	BootstrapServers []string
	// GroupID is the consumer group.
	GroupID string
	// Topics are the input topics, or TopicsRegex a regular expression
	// matching them; exactly one is set.
	Topics      []string
	TopicsRegex string
	// InputFormat is "openbmp", "bmp", "mrt" or "ris-live".
	InputFormat string
	// RISLiveURL and RISLiveClient configure input.format=ris-live.
	RISLiveURL, RISLiveClient string
	// TasksMax is the number of consumers the process runs in the group.
	TasksMax int
	// Filter is a BGPStream filter expression ("" keeps every elem).
	Filter string
	// OutputTopicPrefix gives the output topics <prefix>.ribs, ....
	OutputTopicPrefix string
	// ValueFormat is "avro-single-object" or "avro-confluent".
	ValueFormat string
	// SchemaRegistryURL is the registry for avro-confluent.
	SchemaRegistryURL string
	// KeyField is what goes in the output record key: "prefix", "peer",
	// "router" or "none".
	KeyField string
	// ErrorsTolerance is "none" (stop on the first undecodable record) or
	// "all" (dead-letter it and go on).
	ErrorsTolerance string
	// DLQTopic is the dead letter topic ("" = none: records are counted,
	// logged and skipped under errors.tolerance=all).
	DLQTopic string
	// DLQContextHeaders adds the __connect.errors.* headers to dead letters.
	DLQContextHeaders bool
	// ErrorsLogEnable logs every tolerated error.
	ErrorsLogEnable bool
	// AutoOffsetReset is where a new group starts: "earliest" or "latest".
	AutoOffsetReset string
	// Compression is the producer compression codec.
	Compression string
	// Linger is how long the producer waits to fill a batch.
	Linger time.Duration
	// OffsetFlushInterval is the time between offset commits.
	OffsetFlushInterval time.Duration
	// ShutdownTimeout bounds a graceful stop: elems in flight, the final
	// commits, leaving the group.
	ShutdownTimeout time.Duration
	// FetchMaxWait is the longest a fetch waits for data.
	FetchMaxWait time.Duration
	// SessionTimeout is how long the group waits for a silent member
	// before handing its partitions to others.
	SessionTimeout time.Duration
	// TopicPartitions and TopicReplicationFactor are used when the connector
	// creates missing output topics (-1 = broker default).
	TopicPartitions        int
	TopicReplicationFactor int
	// SecurityProtocol is PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
	SecurityProtocol string
	// SASLMechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, with
	// SASLUsername and SASLPassword.
	SASLMechanism, SASLUsername, SASLPassword string
	// SSLCALocation, SSLCertLocation and SSLKeyLocation are PEM files.
	SSLCALocation, SSLCertLocation, SSLKeyLocation string
	// MetricsListen is the address of the read-only HTTP endpoint with
	// /metrics, /healthz, /readyz and the status document ("" = off).
	MetricsListen string
	// PeerUpState is the state a BMP Peer Up elem gets: "established" or
	// "active" (bgpreader's choice).
	PeerUpState string
	// BMPState keeps the BMP session state in a compacted changelog topic
	// (BMPStateTopic, "" = <prefix>.bmp.state) restored on assignment, each
	// partition's restore bounded by BMPStateRestoreTimeout (see
	// bmpstate.go). Only for input.format=openbmp|bmp: see StateTopic.
	BMPState               bool
	BMPStateTopic          string
	BMPStateRestoreTimeout time.Duration
	// ExactlyOnce runs each task as a transactional session (KIP-618 style,
	// one transaction per poll): outputs and input offsets commit together.
	ExactlyOnce bool
	// TransactionalIDPrefix names this process's transactional producers:
	// <prefix>-<task>. Default <name>-<hostname>: a restarted process keeps
	// its ids and fences its killed predecessor; two processes of one group
	// must differ.
	TransactionalIDPrefix string

	// The BMP collector (bgp-connector collect, run --collect): the address
	// it listens on, the topic it publishes to ("" = the first of Topics),
	// the admin id and router group of its OpenBMP headers ("hostname" =
	// the host's name), the router hash ("address" or "openbmp") and the
	// producer's buffer bound in bytes.
	CollectListen      string
	CollectTopic       string
	CollectAdminID     string
	CollectRouterGroup string
	CollectRouterHash  string
	CollectBufferBytes int

	// Archive backfill: the work item topic and the state topic, their
	// partition count when created, the backfill tasks beside the input
	// tasks, where dumps are cached, and the checkpoint interval (elems
	// and time). See backfill.go.
	BackfillTopic              string
	BackfillStateTopic         string
	BackfillPartitions         int
	BackfillTasks              int
	BackfillCacheDir           string
	BackfillCheckpointElems    int
	BackfillCheckpointInterval time.Duration

	origins map[string]string
}

// Key describes one configuration key: its default, its documentation and
// the values it accepts. The table drives parsing, defaults, validation and
// the documentation of the example file.
type Key struct {
	// Name is the property name, e.g. "bootstrap.servers".
	Name string
	// Default is the value used when the key is not set.
	Default string
	// Doc says what the key does.
	Doc string
	// Allowed lists the accepted values of an enumeration key.
	Allowed []string
	// NoDefault marks a key that stays unset unless it is given (Default
	// is then ""): bootstrap.servers, so that a forgotten broker list is an
	// error rather than a silent in-memory broker.
	NoDefault bool
	set       func(c *Config, v string) error
}

func str(f func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *f(c) = v; return nil }
}

func enum(f func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *f(c) = v; return nil }
}

func integer(lo, hi int, f func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		if n < lo || n > hi {
			return fmt.Errorf("%d is out of range [%d, %d]", n, lo, hi)
		}
		*f(c) = n
		return nil
	}
}

func millis(lo, hi int, f func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not an integer number of milliseconds", v)
		}
		if n < lo || n > hi {
			return fmt.Errorf("%d ms is out of range [%d, %d]", n, lo, hi)
		}
		*f(c) = time.Duration(n) * time.Millisecond
		return nil
	}
}

func boolean(f func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "true":
			*f(c) = true
		case "false":
			*f(c) = false
		default:
			return fmt.Errorf("%q is not true or false", v)
		}
		return nil
	}
}

func list(f func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*f(c) = out
		return nil
	}
}

// Keys lists every configuration key, in the order of the example file.
var Keys = []Key{
	{Name: "name", Default: "bgp-connector", Doc: "Connector name; the default group id and the task name in dead letter headers.",
		set: func(c *Config, v string) error {
			if v == "" {
				return errors.New("must not be empty")
			}
			if len(v) > maxClientID {
				return fmt.Errorf("%d bytes long; the name is the Kafka client id, which the Kafka client (franz-go) limits to %d bytes (it also prefixes the default group id and transactional ids)", len(v), maxClientID)
			}
			c.Name = v
			return nil
		}},
	{Name: "connector.class", Default: "bgp-connector", Doc: "Accepted for Kafka Connect compatibility; ignored.", set: str(func(c *Config) *string { return &c.ConnectorClass })},
	{Name: "bootstrap.servers", NoDefault: true, Doc: "Comma list of host:port seed brokers (no default: run refuses to start without it), or \"embedded\" to start an in-process broker on loopback that keeps everything in memory and loses it on exit.",
		set: func(c *Config, v string) error {
			var hosts []string
			list(func(c *Config) *[]string { return &hosts })(c, v)
			if len(hosts) == 0 {
				return errors.New("must list at least one host:port, or be \"embedded\"")
			}
			if len(hosts) == 1 && hosts[0] == "embedded" {
				c.Embedded, c.BootstrapServers = true, nil
				return nil
			}
			for _, h := range hosts {
				host, port, ok := strings.Cut(h, ":")
				if h == "embedded" {
					return errors.New("\"embedded\" cannot be combined with other brokers")
				}
				if !ok || host == "" {
					return fmt.Errorf("%q is not host:port", h)
				}
				if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
					return fmt.Errorf("%q has no valid port (1-65535)", h)
				}
			}
			c.Embedded, c.BootstrapServers = false, hosts
			return nil
		}},
	{Name: "embedded.port", Default: "0", Doc: "Port of the embedded broker on 127.0.0.1 (0 = any free port; the log says which).", set: integer(0, 65535, func(c *Config) *int { return &c.EmbeddedPort })},
	{Name: "embedded.partitions", Default: "6", Doc: "Partitions of each topic the embedded broker creates.", set: integer(1, 1000, func(c *Config) *int { return &c.EmbeddedPartitions })},
	{Name: "group.id", Default: "", Doc: "Consumer group id (default: connect-<name>, as Kafka Connect names sink groups).", set: str(func(c *Config) *string { return &c.GroupID })},
	{Name: "topics", Default: "openbmp.bmp_raw", Doc: "Comma list of input topics carrying raw OpenBMP (or BMP, MRT) records.", set: list(func(c *Config) *[]string { return &c.Topics })},
	{Name: "topics.regex", Default: "", Doc: "Regular expression of input topics, instead of topics.",
		set: func(c *Config, v string) error {
			if v != "" {
				if _, err := regexp.Compile(v); err != nil {
					return fmt.Errorf("bad regular expression: %v", err)
				}
			}
			c.TopicsRegex = v
			return nil
		}},
	{Name: "input.format", Default: "openbmp", Allowed: []string{"openbmp", "bmp", "mrt", "ris-live", "archive"}, Doc: "What an input record value holds: an OpenBMP v1.7 message, one raw BMP message, or one or more MRT records; ris-live reads RIPE RIS Live (ris-live.url) instead of input topics: it has no offsets, so a restart loses what RIS Live sent while the connector was down (and repeats nothing); archive: the tasks.max tasks are backfill tasks reading work items from backfill.topic instead of topics.", set: enum(func(c *Config) *string { return &c.InputFormat })},
	{Name: "ris-live.url", Default: "wss://ris-live.ripe.net/v1/ws/", Doc: "input.format=ris-live: ws:// or wss:// for RIS Live's websocket API, http:// or https:// for its firehose. The filter's collectors, peers, prefixes and elem types become the subscription; the whole filter still applies locally.", set: str(func(c *Config) *string { return &c.RISLiveURL })},
	{Name: "ris-live.client", Default: "bgp-connector", Doc: "input.format=ris-live: the client name sent to RIS Live (?client=).", set: str(func(c *Config) *string { return &c.RISLiveClient })},
	{Name: "tasks.max", Default: "1", Doc: "Consumers this process runs in the group (each one a Kafka Connect task).", set: integer(1, 256, func(c *Config) *int { return &c.TasksMax })},
	{Name: "filter", Default: "", Doc: "BGPStream filter expression; only matching elems are published (stats are never filtered).", set: str(func(c *Config) *string { return &c.Filter })},
	{Name: "output.topic.prefix", Default: "bgp.elems", Doc: "Output topics are <prefix>.ribs, .announcements, .withdrawals, .peerstates and .stats.",
		set: func(c *Config, v string) error {
			if v == "" || v == "." || v == ".." || !topicChars(v) {
				return fmt.Errorf("%q is not a valid topic name prefix (letters, digits, '.', '_', '-')", v)
			}
			c.OutputTopicPrefix = v
			return nil
		}},
	{Name: "value.format", Default: "avro-single-object", Allowed: []string{"avro-single-object", "avro-confluent"}, Doc: "Avro framing: single-object encoding (schema fingerprint), or the Confluent wire format with schema.registry.url.", set: enum(func(c *Config) *string { return &c.ValueFormat })},
	{Name: "schema.registry.url", Default: "", Doc: "Schema registry base URL, required by value.format=avro-confluent; subjects are <topic>-value.",
		set: func(c *Config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fmt.Errorf("%q is not an http(s) URL", v)
				}
			}
			c.SchemaRegistryURL = v
			return nil
		}},
	{Name: "key.field", Default: "prefix", Allowed: []string{"prefix", "peer", "router", "none"}, Doc: "Output record key: the prefix (a prefix's history stays on one partition), the peer address, the router address, or none.", set: enum(func(c *Config) *string { return &c.KeyField })},
	{Name: "errors.tolerance", Default: "none", Allowed: []string{"none", "all"}, Doc: "none: an undecodable record stops the task, committing nothing past it; all: it goes to the dead letter topic and processing continues.", set: enum(func(c *Config) *string { return &c.ErrorsTolerance })},
	{Name: "errors.deadletterqueue.topic.name", Default: "", Doc: "Dead letter topic for undecodable records under errors.tolerance=all (empty: count, log and skip).",
		set: func(c *Config, v string) error {
			if v != "" {
				if msg := topicProblem(v); msg != "" {
					return errors.New(msg)
				}
			}
			c.DLQTopic = v
			return nil
		}},
	{Name: "errors.deadletterqueue.context.headers.enable", Default: "true", Doc: "Add __connect.errors.* headers (topic, partition, offset, cause) to dead letters.", set: boolean(func(c *Config) *bool { return &c.DLQContextHeaders })},
	{Name: "errors.log.enable", Default: "true", Doc: "Log each tolerated error with its topic/partition/offset.", set: boolean(func(c *Config) *bool { return &c.ErrorsLogEnable })},
	{Name: "consumer.auto.offset.reset", Default: "earliest", Allowed: []string{"earliest", "latest"}, Doc: "Where a group without committed offsets starts.", set: enum(func(c *Config) *string { return &c.AutoOffsetReset })},
	{Name: "compression.type", Default: "none", Allowed: []string{"none", "gzip", "snappy", "lz4", "zstd"}, Doc: "Producer compression.", set: enum(func(c *Config) *string { return &c.Compression })},
	{Name: "linger.ms", Default: "5", Doc: "How long the producer waits to fill a batch.", set: millis(0, 60000, func(c *Config) *time.Duration { return &c.Linger })},
	{Name: "task.shutdown.graceful.timeout.ms", Default: "30000", Doc: "How long a stop (SIGTERM) waits, in all, for the elems in flight, the final commits and leaving the group; a final commit that fails or does not finish in time makes run exit non-zero.", set: millis(100, 600000, func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{Name: "offset.flush.interval.ms", Default: "1000", Doc: "Interval between commits of offsets whose elems are all acknowledged.", set: millis(10, 3600000, func(c *Config) *time.Duration { return &c.OffsetFlushInterval })},
	{Name: "consumer.fetch.max.wait.ms", Default: "50", Doc: "Longest a fetch waits for data (BGPStream uses 50 ms).", set: millis(1, 60000, func(c *Config) *time.Duration { return &c.FetchMaxWait })},
	{Name: "session.timeout.ms", Default: "45000", Doc: "How long the group waits for a member that stopped heartbeating (e.g. killed) before reassigning its partitions.", set: millis(1000, 3600000, func(c *Config) *time.Duration { return &c.SessionTimeout })},
	{Name: "topic.creation.default.partitions", Default: "-1", Doc: "Partitions of output and dead letter topics the connector creates when missing (-1: broker default).",
		set: func(c *Config, v string) error {
			return integer(-1, 100000, func(c *Config) *int { return &c.TopicPartitions })(c, v)
		}},
	{Name: "topic.creation.default.replication.factor", Default: "-1", Doc: "Replication factor of topics the connector creates (-1: broker default).", set: integer(-1, 100, func(c *Config) *int { return &c.TopicReplicationFactor })},
	{Name: "security.protocol", Default: "PLAINTEXT", Allowed: []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}, Doc: "Broker connection security.", set: enum(func(c *Config) *string { return &c.SecurityProtocol })},
	{Name: "sasl.mechanism", Default: "PLAIN", Allowed: []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}, Doc: "SASL mechanism for SASL_* protocols.", set: enum(func(c *Config) *string { return &c.SASLMechanism })},
	{Name: "sasl.username", Default: "", Doc: "SASL user.", set: str(func(c *Config) *string { return &c.SASLUsername })},
	{Name: "sasl.password", Default: "", Doc: "SASL password (prefer the BGP_CONNECTOR_SASL_PASSWORD environment variable).", set: str(func(c *Config) *string { return &c.SASLPassword })},
	{Name: "ssl.ca.location", Default: "", Doc: "PEM file of CA certificates to trust (default: the system pool).", set: str(func(c *Config) *string { return &c.SSLCALocation })},
	{Name: "ssl.certificate.location", Default: "", Doc: "PEM client certificate for mutual TLS.", set: str(func(c *Config) *string { return &c.SSLCertLocation })},
	{Name: "ssl.key.location", Default: "", Doc: "PEM private key of ssl.certificate.location.", set: str(func(c *Config) *string { return &c.SSLKeyLocation })},
	{Name: "metrics.listen", Default: "", Doc: "host:port of the read-only HTTP endpoint (empty: off): GET /metrics (Prometheus: data-path counters, consumer lag per partition, produce latency, franz-go client metrics, Go runtime), /healthz (liveness), /readyz (every task in the group with its assignment and Kafka answering), /connectors/<name>/status (Kafka Connect status). Nothing there accepts writes.",
		set: func(c *Config, v string) error {
			if v != "" {
				if _, p, ok := strings.Cut(v, ":"); !ok {
					return fmt.Errorf("%q is not host:port", v)
				} else if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
					return fmt.Errorf("%q has no valid port", v)
				}
			}
			c.MetricsListen = v
			return nil
		}},
	{Name: "exactly.once.support", Default: "disabled", Allowed: []string{"disabled", "required"}, Doc: "required: each poll's outputs and input offsets commit in one Kafka transaction (transactional ids <transactional.id.prefix>-<task>), so readers with isolation.level=read_committed see every elem exactly once; disabled: at-least-once with commits after acknowledgement.",
		set: func(c *Config, v string) error { c.ExactlyOnce = v == "required"; return nil }},
	{Name: "transactional.id.prefix", Default: "", Doc: "With exactly.once.support=required, transactional ids are <prefix>-<task>; default <name>-<hostname>. Keep it stable across restarts of one instance (to fence a killed predecessor) and distinct between instances.", set: str(func(c *Config) *string { return &c.TransactionalIDPrefix })},
	{Name: "bmp.peer.up.state", Default: "established", Allowed: []string{"established", "active"}, Doc: "New state of the S elem of a BMP Peer Up (bgpreader uses active).", set: enum(func(c *Config) *string { return &c.PeerUpState })},
	{Name: "bmp.state.enable", Default: "true", Doc: "Keep each router's BMP session state (Initiation sysName, Peer Up sessions: 4-byte ASNs, ADD-PATH) in a compacted changelog topic and restore it when a partition is assigned, so that after a restart or a rebalance elems keep their router name and decode with the session's AS widths (input.format=openbmp and bmp; ignored for mrt).", set: boolean(func(c *Config) *bool { return &c.BMPState })},
	{Name: "bmp.state.topic", Default: "", Doc: "Changelog topic of the BMP session state (empty: <output.topic.prefix>.bmp.state). Created when missing, compacted, with the input topic's partition count: input partition p keeps its state in changelog partition p (p modulo its partition count if they differ).",
		set: func(c *Config, v string) error {
			if v != "" {
				if msg := topicProblem(v); msg != "" {
					return errors.New(msg)
				}
			}
			c.BMPStateTopic = v
			return nil
		}},
	{Name: "bmp.state.restore.timeout.ms", Default: "30000", Doc: "Longest the restore of one input partition's BMP session state from the changelog may take; past it the task stops (nothing past the partition's next record is committed).", set: millis(100, 3600000, func(c *Config) *time.Duration { return &c.BMPStateRestoreTimeout })},
	{Name: "collect.listen", Default: "0.0.0.0:5000", Doc: "BMP collector (collect, run --collect): host:port it accepts router sessions on (OpenBMP's port is 5000).", set: str(func(c *Config) *string { return &c.CollectListen })},
	{Name: "collect.topic", Default: "", Doc: "BMP collector: topic it publishes OpenBMP raw messages to (empty: the first of topics, i.e. openbmp.bmp_raw).", set: str(func(c *Config) *string { return &c.CollectTopic })},
	{Name: "collect.admin.id", Default: "hostname", Doc: "BMP collector: admin id in each OpenBMP header (bgpreader's collector name); \"hostname\" uses the host's name.", set: str(func(c *Config) *string { return &c.CollectAdminID })},
	{Name: "collect.router.group", Default: "", Doc: "BMP collector: router group in each OpenBMP header (bgpreader's router name; empty: none, the router's BMP sysName is used).", set: str(func(c *Config) *string { return &c.CollectRouterGroup })},
	{Name: "collect.router.hash", Default: "address", Allowed: []string{"address", "openbmp"}, Doc: "BMP collector: router hash (the Kafka key): MD5 of the router address, or OpenBMP's exact MD5, which stops at the address's first zero byte (10.0.0.1 and 10.0.0.2 then share a hash); they agree for addresses without a zero byte.", set: enum(func(c *Config) *string { return &c.CollectRouterHash })},
	{Name: "collect.buffer.bytes", Default: "33554432", Doc: "BMP collector: bytes the producer buffers (and at most 32768 messages) before it stops reading the routers' sockets (TCP then holds the routers back).", set: integer(1<<20, 1<<30, func(c *Config) *int { return &c.CollectBufferBytes })},
	{Name: "backfill.topic", Default: "bgp.backfill", Doc: "Archive backfill: topic of the work items (Avro, one archive dump each, keyed by URL; `bgp-connector backfill` publishes them, `schema backfill` prints their schema). Backfill tasks consume it in the consumer group <group.id>-backfill and publish the dumps' elems to the output topics.", set: topicName(func(c *Config) *string { return &c.BackfillTopic })},
	{Name: "backfill.state.topic", Default: "bgp.backfill.state", Doc: "Archive backfill: compacted topic of each dump's progress (JSON keyed by URL: checkpoints, done, failed). Tasks resume a dump from its checkpoint; done and failed dumps are never read again, and `backfill` does not queue them again.", set: topicName(func(c *Config) *string { return &c.BackfillStateTopic })},
	{Name: "backfill.partitions", Default: "12", Doc: "Archive backfill: partitions of backfill.topic and backfill.state.topic when `backfill` or the connector creates them: the most backfill tasks that work at once.", set: integer(1, 10000, func(c *Config) *int { return &c.BackfillPartitions })},
	{Name: "backfill.tasks", Default: "0", Doc: "Archive backfill: backfill tasks this process runs beside its tasks.max input tasks (OpenBMP and backfill topics in one process). With input.format=archive every task is a backfill task and this stays 0.", set: integer(0, 256, func(c *Config) *int { return &c.BackfillTasks })},
	{Name: "backfill.cache.dir", Default: "", Doc: "Archive backfill: directory keeping every dump the backfill tasks download, shared safely by the processes of a host (empty: dumps stream from the archive and nothing is kept).", set: str(func(c *Config) *string { return &c.BackfillCacheDir })},
	{Name: "backfill.checkpoint.elems", Default: "200000", Doc: "Archive backfill: a task records its progress in a dump (byte offset and elems published) in backfill.state.topic every half of this many elems, and publishes at most this many past its last durable checkpoint: what a crash republishes at most. With exactly.once.support=required, the most elems per transaction.", set: integer(10000, 100000000, func(c *Config) *int { return &c.BackfillCheckpointElems })},
	{Name: "backfill.checkpoint.interval.ms", Default: "10000", Doc: "Archive backfill: checkpoints are also written (exactly once: transactions committed) at least this often while a dump progresses.", set: millis(100, 3600000, func(c *Config) *time.Duration { return &c.BackfillCheckpointInterval })},
}

// topicName sets a topic key, refusing a name Kafka would refuse.
func topicName(f func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if msg := topicProblem(v); msg != "" || v == "" {
			if v == "" {
				msg = "must not be empty"
			}
			return errors.New(msg)
		}
		*f(c) = v
		return nil
	}
}

var keyIndex = func() map[string]*Key {
	m := make(map[string]*Key, len(Keys))
	for i := range Keys {
		m[Keys[i].Name] = &Keys[i]
	}
	return m
}()

// EnvPrefix is the prefix of environment overrides: BGP_CONNECTOR_GROUP_ID
// sets group.id (upper case, '.' and '-' become '_').
const EnvPrefix = "BGP_CONNECTOR_"

// Problem is one configuration error: the key, where it was set, and what
// is wrong.
type Problem struct {
	// Key is the property name ("" for a line that is not key=value).
	Key string
	// Origin is "file:line", "env NAME", "--set" or "default".
	Origin string
	// Msg says what is wrong and what is allowed.
	Msg string
}

// String returns "origin: key: message", with every control character
// (and invalid UTF-8) escaped and a key that is not plain quoted, so that a
// file or its name cannot send escape sequences to a terminal.
func (p Problem) String() string {
	origin, key, msg := graphic(p.Origin), quoteKey(p.Key), graphic(p.Msg)
	switch {
	case p.Key == "":
		return fmt.Sprintf("%s: %s", origin, msg)
	case p.Origin == "":
		return fmt.Sprintf("%s: %s", key, msg)
	}
	return fmt.Sprintf("%s: %s: %s", origin, key, msg)
}

// graphic returns s with each rune that is not graphic (control characters
// such as ESC or BEL, invalid UTF-8) written as a Go escape (\x1b, \a).
func graphic(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsGraphic(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unicode.IsGraphic(r):
			q := strconv.QuoteRuneToGraphic(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// quoteKey returns a key as it is when it is made of letters, digits and
// ".-_" (every real key), else quoted with its control characters escaped.
func quoteKey(k string) string {
	if k != "" && topicChars(k) {
		return k
	}
	return strconv.QuoteToGraphic(k)
}

// ConfigError lists every problem found in a configuration.
type ConfigError struct {
	Problems []Problem
}

// Error returns one problem, or a count and every problem, one per line.
func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return "configuration: " + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "configuration: %d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Setting is one key=value with where it came from.
type Setting struct {
	Key, Value, Origin string
}

// ParseProperties reads a Java .properties file: "key=value", "key: value"
// or "key value" lines, '#' and '!' comments, '\' line continuations and the
// escapes \t \n \r \f \\ \uXXXX. name is used in origins ("name:line").
func ParseProperties(r io.Reader, name string) ([]Setting, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var out []Setting
	lineNo := 0
	name = graphic(name)
	for sc.Scan() {
		lineNo++
		start := lineNo
		text := sc.Text()
		if lineNo == 1 {
			// A UTF-8 byte order mark, as some Windows editors write it.
			text = strings.TrimPrefix(text, "\ufeff")
		}
		line := strings.TrimLeft(text, " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		for continues(line) && sc.Scan() {
			lineNo++
			line = line[:len(line)-1] + strings.TrimLeft(sc.Text(), " \t\f")
		}
		if continues(line) {
			line = line[:len(line)-1]
		}
		key, value := splitProperty(line)
		k, err1 := unescape(key)
		v, err2 := unescape(value)
		if err := cmp.Or(err1, err2); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, start, err)
		}
		out = append(out, Setting{Key: k, Value: v, Origin: fmt.Sprintf("%s:%d", name, start)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// continues reports whether a line ends with an odd number of backslashes.
func continues(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func splitProperty(line string) (string, string) {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '=', ':':
			return strings.TrimRight(line[:i], " \t\f"), strings.TrimLeft(line[i+1:], " \t\f")
		case ' ', '\t', '\f':
			rest := strings.TrimLeft(line[i:], " \t\f")
			if rest != "" && (rest[0] == '=' || rest[0] == ':') {
				rest = strings.TrimLeft(rest[1:], " \t\f")
			}
			return line[:i], rest
		}
	}
	return line, ""
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("bad \\u escape in %q", s)
			}
			n, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("bad \\u escape in %q", s)
			}
			b.WriteRune(rune(n))
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// EnvSettings returns the overrides found in environ (os.Environ's format):
// each BGP_CONNECTOR_* variable, its name lower-cased with '_' read as '.'.
// A variable that maps to no key is still returned, so that validation
// reports it.
func EnvSettings(environ []string) []Setting {
	var out []Setting
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		key := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, EnvPrefix), "_", "."))
		if _, ok := keyIndex[key]; !ok {
			// Keys with '-' (none today) or typos: try the dashed spelling.
			if alt := strings.ReplaceAll(key, ".", "-"); keyIndex[alt] != nil {
				key = alt
			}
		}
		out = append(out, Setting{Key: key, Value: value, Origin: "env " + name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Origin < out[j].Origin })
	return out
}

// SetSettings parses --set key=value pairs.
func SetSettings(pairs []string) ([]Setting, error) {
	var out []Setting
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, &ConfigError{Problems: []Problem{{Origin: "--set", Msg: fmt.Sprintf("%q is not key=value", p)}}}
		}
		out = append(out, Setting{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), Origin: "--set"})
	}
	return out, nil
}

// NewConfig builds a Config from settings applied in order (later wins:
// file, then environment, then --set), fills defaults and validates the
// whole. The error, a *ConfigError, lists every problem with its key and
// origin.
func NewConfig(settings ...[]Setting) (*Config, error) {
	c := &Config{origins: map[string]string{}}
	var probs []Problem
	for i := range Keys {
		k := &Keys[i]
		if k.NoDefault {
			continue
		}
		if err := k.set(c, k.Default); err != nil {
			probs = append(probs, Problem{Key: k.Name, Origin: "default", Msg: err.Error()})
		}
	}
	last := map[string]Setting{}
	var order []string
	for _, ss := range settings {
		for _, s := range ss {
			if _, ok := keyIndex[s.Key]; !ok {
				probs = append(probs, Problem{Key: s.Key, Origin: s.Origin, Msg: unknownKeyMsg(s.Key)})
				continue
			}
			if _, seen := last[s.Key]; !seen {
				order = append(order, s.Key)
			}
			last[s.Key] = s
		}
	}
	for _, name := range order {
		s := last[name]
		k := keyIndex[name]
		c.origins[name] = s.Origin
		if len(k.Allowed) > 0 && !contains(k.Allowed, s.Value) {
			probs = append(probs, Problem{Key: name, Origin: s.Origin,
				Msg: fmt.Sprintf("%q is not allowed; use one of %s", s.Value, strings.Join(k.Allowed, ", "))})
			continue
		}
		if err := k.set(c, s.Value); err != nil {
			probs = append(probs, Problem{Key: name, Origin: s.Origin, Msg: err.Error()})
		}
	}
	probs = append(probs, c.check()...)
	if len(probs) > 0 {
		return nil, &ConfigError{Problems: probs}
	}
	return c, nil
}

// LoadConfig reads a .properties file (path "" means none), then applies
// environ's BGP_CONNECTOR_* overrides and the --set pairs.
func LoadConfig(path string, environ []string, sets []string) (*Config, error) {
	var file []Setting
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, &ConfigError{Problems: []Problem{{Origin: path, Msg: err.Error()}}}
		}
		defer f.Close()
		file, err = ParseProperties(f, path)
		if err != nil {
			return nil, &ConfigError{Problems: []Problem{{Origin: path, Msg: err.Error()}}}
		}
	}
	set, err := SetSettings(sets)
	if err != nil {
		return nil, err
	}
	return NewConfig(file, EnvSettings(environ), set)
}

// check validates combinations of keys.
func (c *Config) check() []Problem {
	var p []Problem
	add := func(key, msg string) {
		p = append(p, Problem{Key: key, Origin: c.origins[key], Msg: msg})
	}
	_, topicsSet := c.origins["topics"]
	if c.TopicsRegex != "" && topicsSet && len(c.Topics) > 0 {
		add("topics.regex", "set together with topics; set only one of them")
	}
	if c.TopicsRegex != "" && !topicsSet {
		c.Topics = nil
	}
	if c.TopicsRegex == "" && len(c.Topics) == 0 && c.InputFormat != "ris-live" {
		add("topics", "no input topic: set topics or topics.regex")
	}
	if c.InputFormat == "ris-live" && c.TasksMax > 1 {
		add("tasks.max", "more than 1 with input.format=ris-live: each task would read the whole feed and publish it again")
	}
	if c.InputFormat == "ris-live" && c.ExactlyOnce {
		add("exactly.once.support", "required with input.format=ris-live: RIS Live has no offsets to commit in a transaction; use disabled")
	}
	if c.ValueFormat == "avro-confluent" && c.SchemaRegistryURL == "" {
		add("schema.registry.url", "required by value.format=avro-confluent")
	}
	if c.DLQTopic != "" && c.ErrorsTolerance != "all" {
		add("errors.deadletterqueue.topic.name", "set while errors.tolerance=none; dead letters need errors.tolerance=all")
	}
	for _, t := range c.Topics {
		if msg := topicProblem(t); msg != "" {
			add("topics", msg)
		}
	}
	longest := ""
	for _, t := range schema.Types() {
		if s := c.TopicFor(t.Suffix()); len(s) > len(longest) {
			longest = s
		}
	}
	if len(longest) > maxTopicLen {
		add("output.topic.prefix", fmt.Sprintf("%d characters long: output topic %s would have %d; Kafka topic names have at most %d, so the prefix at most %d",
			len(c.OutputTopicPrefix), longest, len(longest), maxTopicLen, maxTopicLen-(len(longest)-len(c.OutputTopicPrefix))))
	}
	if n := len(c.TransactionalIDPrefix); n+1+3 > maxTransactionalID {
		add("transactional.id.prefix", fmt.Sprintf("%d bytes long; transactional ids (<prefix>-<task>) are limited to %d bytes by the Kafka client (franz-go)", n, maxTransactionalID))
	} else if n+len("-backfill-")+3 > maxTransactionalID && c.BackfillTaskCount() > 0 {
		add("transactional.id.prefix", fmt.Sprintf("%d bytes long; the backfill tasks' transactional ids (<prefix>-backfill-<task>) are limited to %d bytes by the Kafka client (franz-go)", n, maxTransactionalID))
	}
	if c.InputFormat == "archive" && c.BackfillTasks > 0 {
		add("backfill.tasks", fmt.Sprintf("set to %d with input.format=archive, where every one of the tasks.max tasks is a backfill task; set tasks.max instead", c.BackfillTasks))
	}
	if c.BackfillTopic == c.BackfillStateTopic {
		add("backfill.state.topic", fmt.Sprintf("%q is also backfill.topic; the work items and their states need a topic each", c.BackfillTopic))
	}
	if c.BackfillTaskCount() > 0 {
		for _, t := range c.Topics {
			if t == c.BackfillTopic || t == c.BackfillStateTopic {
				add("topics", fmt.Sprintf("%q is a backfill topic; backfill tasks read it (input.format=archive or backfill.tasks), not the input tasks", t))
			}
		}
	}
	prefix := c.OutputTopicPrefix + "."
	for _, t := range append(append([]string(nil), c.Topics...), c.DLQTopic) {
		if t != "" && strings.HasPrefix(t, prefix) {
			add("topics", fmt.Sprintf("input or dead letter topic %q is under output.topic.prefix %q: the connector would read its own output", t, c.OutputTopicPrefix))
		}
	}
	if st := c.StateTopic(); st != "" {
		if slices.Contains(c.Topics, st) || slices.Contains(outputTopics(c), st) || st == c.DLQTopic || st == c.BackfillTopic || st == c.BackfillStateTopic {
			add("bmp.state.topic", fmt.Sprintf("%q is also an input, output, dead letter or backfill topic; the changelog needs a topic of its own", st))
		} else if c.TopicsRegex != "" {
			if re, err := regexp.Compile("^(?:" + c.TopicsRegex + ")$"); err == nil && re.MatchString(st) {
				add("bmp.state.topic", fmt.Sprintf("%q is matched by topics.regex: the connector would read its own changelog", st))
			}
		}
		if len(st) > maxTopicLen {
			add("bmp.state.topic", fmt.Sprintf("changelog topic %s has %d characters; Kafka topic names have at most %d", st, len(st), maxTopicLen))
		}
	}
	for key, t := range map[string]string{"backfill.topic": c.BackfillTopic, "backfill.state.topic": c.BackfillStateTopic} {
		if strings.HasPrefix(t, prefix) {
			add(key, fmt.Sprintf("%q is under output.topic.prefix %q: it would be taken for an output topic", t, c.OutputTopicPrefix))
		}
	}
	sasl := strings.HasPrefix(c.SecurityProtocol, "SASL_")
	if sasl && (c.SASLUsername == "" || c.SASLPassword == "") {
		add("sasl.username", "security.protocol="+c.SecurityProtocol+" needs sasl.username and sasl.password")
	}
	if !sasl && (c.SASLUsername != "" || c.SASLPassword != "") {
		add("sasl.username", "SASL credentials set but security.protocol="+c.SecurityProtocol+"; use SASL_PLAINTEXT or SASL_SSL")
	}
	tls := strings.HasSuffix(c.SecurityProtocol, "SSL")
	if !tls && (c.SSLCALocation != "" || c.SSLCertLocation != "" || c.SSLKeyLocation != "") {
		add("security.protocol", "ssl.* files set but security.protocol="+c.SecurityProtocol+"; use SSL or SASL_SSL")
	}
	if (c.SSLCertLocation == "") != (c.SSLKeyLocation == "") {
		add("ssl.certificate.location", "ssl.certificate.location and ssl.key.location go together")
	}
	if c.Embedded && c.SecurityProtocol != "PLAINTEXT" {
		add("security.protocol", "the embedded broker speaks PLAINTEXT only")
	}
	if c.GroupID == "" {
		c.GroupID = "connect-" + c.Name
	}
	if c.TransactionalIDPrefix == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		c.TransactionalIDPrefix = c.Name + "-" + host
	}
	return p
}

// NoBrokersMsg says what to do when bootstrap.servers is not set.
const NoBrokersMsg = "not set: name the Kafka brokers (bootstrap.servers=kafka-1:9092,kafka-2:9092 in the file, " +
	EnvPrefix + "BOOTSTRAP_SERVERS, or --set bootstrap.servers=HOST:PORT), or set bootstrap.servers=embedded " +
	"for an in-process broker that keeps everything in memory and loses it on exit (`bgp-connector broker` runs one that outlives connector restarts)"

// NeedBrokers returns a *ConfigError naming bootstrap.servers when it is
// not set (it has no default), nil when it lists brokers or is "embedded".
func (c *Config) NeedBrokers() error {
	if c.Embedded || len(c.BootstrapServers) > 0 {
		return nil
	}
	return &ConfigError{Problems: []Problem{{Key: "bootstrap.servers", Msg: NoBrokersMsg}}}
}

// Origin returns where key was set ("file:line", "env NAME", "--set"), or
// "" for a default.
func (c *Config) Origin(key string) string { return c.origins[key] }

// TopicFor returns the output topic of a type suffix: <prefix>.<suffix>.
func (c *Config) TopicFor(suffix string) string { return c.OutputTopicPrefix + "." + suffix }

// StateTopic returns the BMP session state changelog topic, or "" when the
// state is not kept (bmp.state.enable=false, or input.format=mrt).
func (c *Config) StateTopic() string {
	if !c.BMPState || (c.InputFormat != "openbmp" && c.InputFormat != "bmp") {
		return ""
	}
	if c.BMPStateTopic != "" {
		return c.BMPStateTopic
	}
	return c.TopicFor("bmp.state")
}

// outputTopics returns the output topics.
func outputTopics(c *Config) []string {
	var out []string
	for _, t := range schema.Types() {
		out = append(out, c.TopicFor(t.Suffix()))
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func unknownKeyMsg(key string) string {
	best, bestD := "", 4
	for _, k := range Keys {
		if d := suggest.Distance(key, k.Name); d < bestD {
			best, bestD = k.Name, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key; did you mean %q?", best)
	}
	return "unknown key (bgp-connector run --print-config lists every key)"
}

// Limits of the Kafka client and broker that a configuration must respect.
const (
	// maxClientID is franz-go's limit on the client id (the name).
	maxClientID = 256
	// maxTransactionalID is franz-go's limit on a transactional id.
	maxTransactionalID = 16382
	// maxTopicLen is Kafka's limit on topic names (a partition's directory,
	// <topic>-<partition>, must fit a 255-byte file name).
	maxTopicLen = 249
)

// topicChars reports whether s holds only the characters Kafka allows in
// topic names: ASCII letters, digits, '.', '_' and '-'.
func topicChars(s string) bool {
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == ""
}

// topicProblem says why t is not a topic name Kafka accepts, or "".
func topicProblem(t string) string {
	switch {
	case t == "." || t == "..":
		return fmt.Sprintf("%q is not a valid Kafka topic name (\".\" and \"..\" are reserved)", t)
	case !topicChars(t):
		return fmt.Sprintf("%q is not a valid Kafka topic name (letters, digits, '.', '_', '-')", t)
	case len(t) > maxTopicLen:
		return fmt.Sprintf("%d characters long; Kafka topic names have at most %d", len(t), maxTopicLen)
	}
	return ""
}

// WriteExample writes a .properties file documenting every key with its
// default.
func WriteExample(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# bgp-connector configuration (Kafka Connect style). Every key, with its default.")
	fmt.Fprintf(bw, "# Environment overrides: %sKEY_NAME (e.g. %sBOOTSTRAP_SERVERS); then --set key=value.\n", EnvPrefix, EnvPrefix)
	for _, k := range Keys {
		fmt.Fprintln(bw)
		fmt.Fprintf(bw, "# %s", k.Doc)
		if len(k.Allowed) > 0 {
			fmt.Fprintf(bw, " One of: %s.", strings.Join(k.Allowed, ", "))
		}
		fmt.Fprintln(bw)
		v := k.Default
		if v == "" {
			fmt.Fprintf(bw, "#%s=\n", k.Name)
			continue
		}
		fmt.Fprintf(bw, "%s=%s\n", k.Name, v)
	}
	return bw.Flush()
}

// InputTasks is the number of tasks reading the input topics (0 with
// input.format=archive).
func (c *Config) InputTasks() int {
	if c.InputFormat == "archive" {
		return 0
	}
	return c.TasksMax
}

// BackfillTaskCount is the number of backfill tasks: tasks.max with
// input.format=archive, else backfill.tasks.
func (c *Config) BackfillTaskCount() int {
	if c.InputFormat == "archive" {
		return c.TasksMax
	}
	return c.BackfillTasks
}

// Tasks is the number of tasks the process runs: input tasks (ids 0 up)
// and backfill tasks (ids after them).
func (c *Config) Tasks() int { return c.InputTasks() + c.BackfillTaskCount() }

// BackfillGroup is the consumer group of the backfill tasks:
// <group.id>-backfill, whether they run beside input tasks or alone
// (input.format=archive), so that every process of a deployment shares the
// work items.
func (c *Config) BackfillGroup() string { return c.GroupID + "-backfill" }

// groupOptions returns the consumer-group settings of the Kafka source.
func (c *Config) groupOptions() ingest.GroupOptions {
	return ingest.GroupOptions{
		Group: c.GroupID, Topics: c.Topics, TopicsRegex: c.TopicsRegex,
		ResetLatest:  c.AutoOffsetReset == "latest",
		FetchMaxWait: c.FetchMaxWait, SessionTimeout: c.SessionTimeout,
	}
}
