package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/ingest/bmptcp"
)

// Collector is a BMP collector publishing to Kafka: routers connect to it
// over TCP (package bmptcp frames and wraps their messages), and it
// produces each message, OpenBMP v1.7 header first, to the collect topic
// (openbmp.bmp_raw) keyed by router hash, so that a router's messages stay
// on one partition, in order. The producer uses acks=all and idempotent
// writes; its buffer is bounded by collect.buffer.bytes, and when it is full
// Produce blocks, which stops the reads of the router's socket.
type Collector struct {
	cfg     *Config
	log     *slog.Logger
	listen  string
	brokers []string
	metrics string
	topic   string

	srv     *bmptcp.Server
	cl      *kgo.Client
	cluster *kfake.Cluster

	addr  atomic.Pointer[net.TCPAddr]
	ready chan struct{}

	// Stats are the collector's produce counters.
	Stats CollectStats
}

// CollectStats count what the collector produced.
type CollectStats struct {
	// Produced are messages acknowledged by the broker; Failed are
	// messages whose produce failed (the router's session is then closed,
	// so that the router reconnects and sends its state again); TooLarge
	// are messages above the producer's record limit, skipped.
	Produced, Failed, TooLarge atomic.Uint64
}

// CollectOption adjusts a Collector built by NewCollector.
type CollectOption func(*Collector)

// CollectListen overrides collect.listen.
func CollectListen(addr string) CollectOption { return func(c *Collector) { c.listen = addr } }

// CollectBrokers overrides bootstrap.servers (the connector's embedded
// broker, under run --collect).
func CollectBrokers(addrs ...string) CollectOption {
	return func(c *Collector) { c.brokers = addrs }
}

// CollectMetrics serves the per-router counters in the Prometheus text
// format on addr (/metrics).
func CollectMetrics(addr string) CollectOption { return func(c *Collector) { c.metrics = addr } }

// maxCollectRecord is the largest value the collector produces: the
// producer's default batch limit (franz-go and Kafka's 1 MB message.max.bytes
// default). BMP messages carry one BGP message each (at most 64 KiB), so
// only Route Mirroring or a broken router comes near it.
const maxCollectRecord = 1000012 - 512

// maxCollectBuffered bounds the records the producer buffers, beside
// collect.buffer.bytes: each record costs a few hundred bytes beyond its
// value, as much again as a typical BMP message.
const maxCollectBuffered = 32768

// NewCollector checks the collector's configuration and returns a
// Collector. It connects to nothing yet.
func NewCollector(cfg *Config, log *slog.Logger, opts ...CollectOption) (*Collector, error) {
	if log == nil {
		log = slog.Default()
	}
	c := &Collector{cfg: cfg, log: log, listen: cfg.CollectListen, ready: make(chan struct{})}
	for _, o := range opts {
		o(c)
	}
	c.topic = cfg.CollectTopic
	if c.topic == "" && len(cfg.Topics) > 0 {
		c.topic = cfg.Topics[0]
	}
	var probs []Problem
	if c.topic == "" {
		probs = append(probs, Problem{Key: "collect.topic", Origin: cfg.Origin("collect.topic"), Msg: "no topic to publish to: set collect.topic (topics.regex names none)"})
	}
	if _, err := netip.ParseAddrPort(c.listen); err != nil {
		if _, _, err2 := net.SplitHostPort(c.listen); err2 != nil {
			probs = append(probs, Problem{Key: "collect.listen", Origin: cfg.Origin("collect.listen"), Msg: fmt.Sprintf("%q is not host:port", c.listen)})
		}
	}
	admin := cfg.CollectAdminID
	if admin == "hostname" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		admin = h
	}
	hash := bmptcp.RouterHash
	if cfg.CollectRouterHash == "openbmp" {
		hash = bmptcp.OpenBMPRouterHash
	}
	if len(probs) > 0 {
		return nil, &ConfigError{Problems: probs}
	}
	var err error
	c.srv, err = bmptcp.NewServer(bmptcp.Config{
		AdminID: admin, RouterGroup: cfg.CollectRouterGroup, RouterHash: hash,
		Produce: c.produce, Flush: c.flush, Log: log,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Addr returns the address the collector listens on, once Ready.
func (c *Collector) Addr() *net.TCPAddr { return c.addr.Load() }

// Ready is closed once the collector accepts routers.
func (c *Collector) Ready() <-chan struct{} { return c.ready }

// Brokers returns the brokers in use (the embedded broker's address once
// Run started it).
func (c *Collector) Brokers() []string { return c.brokers }

// Topic returns the topic the collector publishes to.
func (c *Collector) Topic() string { return c.topic }

// Routers returns every router's counters.
func (c *Collector) Routers() []bmptcp.RouterStats { return c.srv.Routers() }

// Collect runs a collector listening on listen ("" = collect.listen) until
// ctx ends; see Collector.Run.
func Collect(ctx context.Context, cfg *Config, listen string, log *slog.Logger, opts ...CollectOption) error {
	if listen != "" {
		opts = append(opts, CollectListen(listen))
	}
	c, err := NewCollector(cfg, log, opts...)
	if err != nil {
		return err
	}
	return c.Run(ctx)
}

// Run connects to Kafka (starting the embedded broker under
// bootstrap.servers=embedded, unless CollectBrokers gave one), listens, and
// collects until ctx ends. Then it stops accepting, stops reading the
// routers' sockets, produces the messages already read, flushes the
// producer, and closes the sockets: a router sees its session close only
// after everything it sent before the stop is acknowledged (or the 30 s
// drain timeout passed).
func (c *Collector) Run(ctx context.Context) error {
	cfg := c.cfg
	if cfg.Embedded && len(c.brokers) == 0 {
		cl, addr, err := StartEmbedded(cfg.EmbeddedPort, cfg.EmbeddedPartitions, c.topic)
		if err != nil {
			return err
		}
		c.cluster = cl
		defer cl.Close()
		c.brokers = []string{addr}
		c.log.Info("embedded Kafka broker listening", "addr", addr, "try", "kcat -b "+addr+" -C -t "+c.topic)
	}
	if len(c.brokers) == 0 {
		if err := cfg.NeedBrokers(); err != nil {
			return err // no default: an in-memory broker is asked for by name
		}
		c.brokers = cfg.BootstrapServers
	}
	base, err := ClientOpts(cfg, c.brokers, c.log)
	if err != nil {
		return err
	}
	opts := append(base, emit.ProducerOpts(cfg.Compression, cfg.Linger)...)
	opts = append(opts,
		kgo.DefaultProduceTopic(c.topic),
		// Later options win: bound the buffer so that Produce blocks.
		kgo.MaxBufferedBytes(cfg.CollectBufferBytes),
		kgo.MaxBufferedRecords(maxCollectBuffered),
	)
	if c.cl, err = kgo.NewClient(opts...); err != nil {
		return fmt.Errorf("collector producer: %w", err)
	}
	defer c.cl.Close()
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = c.cl.Ping(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("cannot reach Kafka at %v: %w", c.brokers, err)
	}
	if err := c.ensureTopic(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("collect.listen %s: %w", c.listen, err)
	}
	c.addr.Store(ln.Addr().(*net.TCPAddr))
	if c.metrics != "" {
		srv, err := c.serveMetrics(c.metrics)
		if err != nil {
			ln.Close()
			return err
		}
		defer srv.Close()
	}
	close(c.ready)
	c.log.Info("BMP collector listening", "addr", ln.Addr().String(), "topic", c.topic, "brokers", c.brokers,
		"admin_id", cfg.CollectAdminID, "collector_hash", fmt.Sprintf("%x", c.srv.CollectorHash()))
	err = c.srv.Serve(ctx, ln)
	c.log.Info("BMP collector stopped", "produced", c.Stats.Produced.Load(), "failed", c.Stats.Failed.Load(), "too_large", c.Stats.TooLarge.Load())
	return err
}

// produce hands one message to the Kafka producer. It blocks while the
// producer's buffer is full.
func (c *Collector) produce(ctx context.Context, m bmptcp.Message) error {
	if len(m.Value)+len(m.Key) > maxCollectRecord {
		c.Stats.TooLarge.Add(1)
		return fmt.Errorf("%d-byte message is above the %d-byte record limit: %w", len(m.Value), maxCollectRecord, bmptcp.ErrSkip)
	}
	r := &kgo.Record{Key: m.Key, Value: m.Value}
	router, off, abort := m.Router, m.Offset, m.Abort
	c.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
		if err == nil {
			c.Stats.Produced.Add(1)
			return
		}
		c.Stats.Failed.Add(1)
		if ctx.Err() != nil {
			// The stop's drain timeout: the session is ending anyway.
			return
		}
		c.log.Error("producing a BMP message failed; closing the router's session so that it sends its state again",
			"router", router.String(), "stream_offset", off, "topic", r.Topic, "partition", r.Partition, "err", err)
		abort(fmt.Errorf("producing to %s: %w", r.Topic, err))
	})
	return nil
}

// flush waits until every produced message is acknowledged.
func (c *Collector) flush(ctx context.Context) error { return c.cl.Flush(ctx) }

// ensureTopic creates the collect topic when it is missing.
func (c *Collector) ensureTopic(ctx context.Context) error {
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(c.cl).CreateTopics(tctx, int32(c.cfg.TopicPartitions), int16(c.cfg.TopicReplicationFactor), nil, c.topic)
	if err != nil {
		return fmt.Errorf("creating topic %q on %v: %w", c.topic, c.brokers, err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %q: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// serveMetrics serves the per-router counters on addr.
func (c *Collector) serveMetrics(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		c.WriteMetrics(w)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	c.log.Info("metrics endpoint", "url", "http://"+ln.Addr().String()+"/metrics")
	return srv, nil
}

// WriteMetrics writes the collector's counters in the Prometheus text
// format: per router (label router="ADDR") and the produce totals.
func (c *Collector) WriteMetrics(w io.Writer) {
	routers := c.srv.Routers()
	type metric struct {
		name, help, typ string
		v               func(*bmptcp.RouterStats) float64
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	for _, m := range []metric{
		{"messages_total", "BMP messages received and handed to the producer.", "counter", func(r *bmptcp.RouterStats) float64 { return float64(r.Messages) }},
		{"bytes_total", "Bytes of those BMP messages.", "counter", func(r *bmptcp.RouterStats) float64 { return float64(r.Bytes) }},
		{"read_bytes_total", "Bytes read from the router's sockets.", "counter", func(r *bmptcp.RouterStats) float64 { return float64(r.Read) }},
		{"damaged_total", "Framing errors in the router's stream.", "counter", func(r *bmptcp.RouterStats) float64 { return float64(r.Damaged) }},
		{"skipped_bytes_total", "Damaged bytes skipped to resynchronise.", "counter", func(r *bmptcp.RouterStats) float64 { return float64(r.Skipped) }},
		{"cut_bytes_total", "Bytes of messages cut short by a session's end.", "counter", func(r *bmptcp.RouterStats) float64 { return float64(r.Cut) }},
		{"dropped_total", "Messages not published (above the record limit).", "counter", func(r *bmptcp.RouterStats) float64 { return float64(r.Dropped) }},
		{"sessions_total", "BMP sessions accepted from the router.", "counter", func(r *bmptcp.RouterStats) float64 { return float64(r.Sessions) }},
		{"connected", "1 while a session from the router is open.", "gauge", func(r *bmptcp.RouterStats) float64 { return b2f(r.Connected) }},
		{"last_seen_seconds", "Unix time of the router's last message.", "gauge", func(r *bmptcp.RouterStats) float64 {
			if r.LastSeen.IsZero() {
				return 0
			}
			return float64(r.LastSeen.UnixMilli()) / 1e3
		}},
	} {
		fmt.Fprintf(w, "# HELP bgp_connector_collect_router_%s %s\n# TYPE bgp_connector_collect_router_%s %s\n", m.name, m.help, m.name, m.typ)
		for i := range routers {
			fmt.Fprintf(w, "bgp_connector_collect_router_%s{router=%q} %g\n", m.name, routers[i].Router.String(), m.v(&routers[i]))
		}
	}
	for _, m := range []struct {
		name, help string
		v          uint64
	}{
		{"produced_total", "BMP messages acknowledged by Kafka.", c.Stats.Produced.Load()},
		{"failed_total", "BMP messages whose produce failed.", c.Stats.Failed.Load()},
	} {
		fmt.Fprintf(w, "# HELP bgp_connector_collect_%s %s\n# TYPE bgp_connector_collect_%s counter\nbgp_connector_collect_%s %d\n", m.name, m.help, m.name, m.name, m.v)
	}
}

// RunWithCollector runs the connector and, beside it, a BMP collector
// listening on listen that publishes to the connector's first input topic
// on the same brokers (the embedded broker when bootstrap.servers=embedded),
// so that routers → elems needs nothing else. When ctx ends the collector
// stops first (its messages flushed); with the embedded broker, whose data
// dies with the process, the connector then gets up to 10 s to decode
// what the collector published before it stops too.
func RunWithCollector(ctx context.Context, c *Connector, listen string) error {
	connCtx, stopConn := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConn()
	errc := make(chan error, 1)
	go func() { errc <- c.Run(connCtx) }()
	select {
	case <-c.Ready():
	case err := <-errc:
		return err
	case <-ctx.Done():
		stopConn()
		return <-errc
	}
	col, err := NewCollector(c.cfg, c.log, CollectListen(listen), CollectBrokers(c.Brokers()...))
	if err != nil {
		stopConn()
		return errors.Join(err, <-errc)
	}
	colCtx, stopCol := context.WithCancel(ctx)
	defer stopCol()
	colErr := make(chan error, 1)
	go func() { colErr <- col.Run(colCtx) }()
	var cerr error
	select {
	case cerr = <-colErr:
	case err := <-errc:
		// The connector failed: stop collecting too.
		stopCol()
		return errors.Join(err, <-colErr)
	}
	if c.cfg.Embedded && cerr == nil {
		deadline := time.Now().Add(10 * time.Second)
		for !c.Drained(col.Stats.Produced.Load()) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	stopConn()
	return errors.Join(cerr, <-errc)
}
