package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bgp-connector/bgp-connector/connector"
)

func init() {
	var (
		data    string
		samples int
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the connector on an embedded broker with the bundled OpenBMP data and archive dumps, and show the output",
		Long: `demo starts an embedded Kafka broker, loads the bundled OpenBMP messages
(recorded from a real gobgpd BMP stream) into openbmp.bmp_raw, runs the
connector with the default configuration until the input is drained, and
prints the number of records on each output topic with a few decoded elems.

Then it backfills two bundled archive dumps (MRT updates dumps derived from
the gobgpd and FRR BMP recordings, placed as RIS rrc06's and RouteViews
route-views.jinx's updates of 2015-04-01 00:00): it lays them out as an
archive mirror, lists them with the archive index,
queues one work item per dump on bgp.backfill (as "backfill" does), runs two
backfill tasks (input.format=archive) until the items are done, and prints
the progress per collector (as "backfill --status" does) and the elems the
dumps added to each output topic.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkData(data); err != nil {
				return err
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return connector.Demo(ctx, connector.DemoOptions{Data: data, Out: cmd.OutOrStdout(), Log: log, Samples: samples})
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "OpenBMP file to load (default: "+connector.BundledData+", built in)")
	cmd.Flags().IntVar(&samples, "samples", 2, "decoded sample elems to print per output topic")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the connector's log")
	rootCmd.AddCommand(cmd)
}

// checkData checks a --data file ("" is the bundled recording, always
// there): a missing file is the caller's mistake.
func checkData(path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		return usageError{err}
	}
	return nil
}
