package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bgp-connector/bgp-connector/connector"
)

func init() {
	var (
		config   string
		sets     []string
		example  bool
		logLevel string
		collect  string
	)
	cmd := &cobra.Command{
		Use:   "run [--config connector.properties] [--set key=value]...",
		Short: "Run the Kafka connector: OpenBMP topics in, Avro elems out on per-type topics",
		Long: `run joins a consumer group (round-robin), reads raw OpenBMP (or BMP, MRT)
records, decodes and filters them, and publishes Avro elems on
<output.topic.prefix>.{ribs,announcements,withdrawals,peerstates,stats}.
An input offset is committed only after every elem derived from it is
acknowledged.

bootstrap.servers has no default: without it run exits with status 2 and
says so. bootstrap.servers=embedded starts an in-process broker on loopback
and logs its address; it keeps everything in memory and loses it on exit
(bgp-connector broker runs one on its own, so connectors can restart
against it).

Configuration: a Kafka Connect style .properties file, then BGP_CONNECTOR_*
environment variables (BGP_CONNECTOR_GROUP_ID sets group.id), then --set.
SIGTERM or SIGINT stops fetching, finishes the elems in flight, commits and
exits 0.

--collect ADDR also runs a BMP collector on ADDR (see "collect --help") that
publishes to collect.topic (default: the first input topic) on the same
brokers: with the embedded broker, routers -> elems in one process.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if example {
				return connector.WriteExample(cmd.OutOrStdout())
			}
			log, err := newLogger(logLevel)
			if err != nil {
				return usageError{err}
			}
			cfg, err := connector.LoadConfig(config, os.Environ(), sets)
			if err != nil {
				return usageError{err}
			}
			c, err := connector.New(cfg, log)
			if err != nil {
				var ce *connector.ConfigError
				if errors.As(err, &ce) {
					return usageError{err}
				}
				return err
			}
			// Checked after the other problems, so that it is the one
			// message when it is the only one.
			if err := cfg.NeedBrokers(); err != nil {
				return usageError{err}
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			if collect != "" {
				return connector.RunWithCollector(ctx, c, collect)
			}
			return c.Run(ctx)
		},
	}
	cmd.Flags().StringVarP(&config, "config", "c", "", "connector .properties file (default: built-in defaults)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override one key: --set key=value (repeatable)")
	cmd.Flags().BoolVar(&example, "print-config", false, "print every configuration key with its default and exit")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().StringVar(&collect, "collect", "", "also run a BMP collector on this host:port (e.g. 0.0.0.0:5000)")
	rootCmd.AddCommand(cmd)
}

// newLogger returns a text slog logger on stderr at the given level.
func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, errors.New("--log-level: use debug, info, warn or error")
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
