package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bgp-connector/bgp-connector/connector"
)

func init() {
	var (
		config   string
		listen   string
		sets     []string
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "collect [--config connector.properties] [--listen ADDR] [--set key=value]...",
		Short: "Run a BMP collector: routers connect over TCP, messages go to openbmp.bmp_raw",
		Long: `collect is a BMP monitoring station (RFC 7854) that publishes what routers
send, as OpenBMP's collector does, so that "run" (or any OpenBMP consumer,
bgpreader included) can read it.

It listens on TCP (--listen, or collect.listen; default 0.0.0.0:5000, OpenBMP's
port) and accepts any number of routers at once. Each session's byte stream is
split into BMP messages; damaged bytes are skipped and counted, the session
goes on. Every message is wrapped in an OpenBMP v1.7 binary header (collector
admin id collect.admin.id and its MD5 hash, the router's address and hash,
router group collect.router.group, the collection time) and produced to
collect.topic (default: the first of topics, openbmp.bmp_raw) with the router
hash in hex as key, so a router's messages stay on one partition, in order;
acks=all, idempotent producer. The collector hash is the MD5 of the admin id
and the router hash the MD5 of the router's address, as OpenBMP computes them
(collect.router.hash=openbmp copies OpenBMP's hash exactly, which stops at the
address's first zero byte, so that 10.0.0.1 and 10.0.0.2 share one).

Point a router at it:
  gobgpd (TOML):  [[bmp-servers]]
                    [bmp-servers.config]
                      address = "COLLECTOR-IP"
                      port = 5000
                      route-monitoring-policy = "all"
  FRR (bgpd -M bmp):  router bgp ASN
                        bmp targets collector
                          bmp monitor ipv4 unicast pre-policy
                          bmp monitor ipv6 unicast post-policy
                          bmp connect COLLECTOR-IP port 5000 min-retry 1000 max-retry 10000
  Cisco IOS XR:   bmp server 1 host COLLECTOR-IP port 5000
  Junos:          routing-options bmp station collector station-address COLLECTOR-IP station-port 5000

Backpressure: the producer buffers at most collect.buffer.bytes. When Kafka
falls behind, the collector stops reading the routers' sockets and TCP holds the
routers back; memory stays flat. A router that reconnects starts a new session
(a new Initiation and Peer Ups follow); when it reconnects while its old
session is still open, the old one is read to its end first (or closed after a
second of silence, a half-open connection), so sessions never interleave.

With bootstrap.servers=embedded (the default) it starts an in-process broker
and logs its address; "run --collect ADDR" runs the collector beside the
connector on one embedded broker. With metrics.listen set, per-router counters
(messages, bytes, damaged bytes skipped, last seen, connected) are served on
/metrics.

SIGTERM or SIGINT stops accepting, finishes the messages already read, flushes
the producer, then closes the routers' sessions, and exits 0. Exit status 1
when it cannot listen or reach Kafka, 2 for a bad flag or configuration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return usageError{err}
			}
			cfg, err := connector.LoadConfig(config, os.Environ(), sets)
			if err != nil {
				return usageError{err}
			}
			opts := []connector.CollectOption{connector.CollectMetrics(cfg.MetricsListen)}
			if listen != "" {
				opts = append(opts, connector.CollectListen(listen))
			}
			col, err := connector.NewCollector(cfg, log, opts...)
			if err != nil {
				var ce *connector.ConfigError
				if errors.As(err, &ce) {
					return usageError{err}
				}
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return col.Run(ctx)
		},
	}
	cmd.Flags().StringVarP(&config, "config", "c", "", "connector .properties file (default: built-in defaults)")
	cmd.Flags().StringVarP(&listen, "listen", "l", "", "host:port to accept BMP sessions on (default collect.listen, 0.0.0.0:5000)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override one key: --set key=value (repeatable)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	rootCmd.AddCommand(cmd)
}
