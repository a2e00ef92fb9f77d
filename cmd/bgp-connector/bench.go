package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bgp-connector/bgp-connector/connector"
)

func init() {
	var o connector.BenchOptions
	var data string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the connector end to end on the embedded broker (elems/s, peak RSS)",
		Long: `bench loads --repeat copies of an OpenBMP file into an embedded broker, runs the
connector in process until every output is acknowledged, and prints elems/s
and the peak resident set size.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkData(data); err != nil {
				return err
			}
			o.Data = data
			o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			res, err := connector.Bench(ctx, o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "OpenBMP file (default: "+connector.BundledData+", built in)")
	cmd.Flags().IntVar(&o.Repeat, "repeat", 2000, "copies of the file's messages to load")
	cmd.Flags().IntVar(&o.Partitions, "partitions", 6, "input topic partitions")
	cmd.Flags().IntVar(&o.Tasks, "tasks", 1, "tasks.max")
	cmd.Flags().StringArrayVar(&o.Sets, "set", nil, "extra configuration key=value")
	rootCmd.AddCommand(cmd)
}
