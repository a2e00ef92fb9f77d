package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bgp-connector/bgp-connector/connector"
)

func init() {
	var (
		port, partitions int
		topics           []string
	)
	cmd := &cobra.Command{
		Use:   "broker [--port 9092] [--partitions 6]",
		Short: "Host the embedded Kafka broker alone (in memory: everything is lost on exit)",
		Long: `broker runs the embedded Kafka broker (franz-go's kfake) on its own, on
127.0.0.1:PORT, until SIGINT or SIGTERM, so that connectors can stop and
restart against it (bootstrap.servers=127.0.0.1:9092) and keep their topics
and committed offsets.

It is for trying things out and for tests, not for data you care about: ` + connector.InMemoryNote + `.
It listens on loopback only and speaks PLAINTEXT.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port < 0 || port > 65535 {
				return usageError{fmt.Errorf("--port %d: use 0-65535", port)}
			}
			if partitions < 1 || partitions > 1000 {
				return usageError{fmt.Errorf("--partitions %d: use 1-1000", partitions)}
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return connector.ServeBroker(ctx, connector.BrokerOptions{Port: port, Partitions: partitions, Topics: topics, Log: log})
		},
	}
	cmd.Flags().IntVar(&port, "port", 9092, "port on 127.0.0.1 (0: any free port, logged)")
	cmd.Flags().IntVar(&partitions, "partitions", 6, "partitions of each topic the broker creates")
	cmd.Flags().StringSliceVar(&topics, "topics", []string{"openbmp.bmp_raw"}, "topics to create at start (producers create others on first use)")
	rootCmd.AddCommand(cmd)
}
