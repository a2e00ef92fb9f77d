package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bgp-connector/bgp-connector/connector"
)

// demoData is the bundled OpenBMP recording of a real gobgpd's BMP stream.
const demoData = "testdata/gobgp/gobgp-bmp.obmp"

func init() {
	var (
		data    string
		samples int
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the connector on an embedded broker with the bundled OpenBMP data and show the output",
		Long: `demo starts an embedded Kafka broker, loads the bundled OpenBMP messages
(recorded from a real gobgpd BMP stream) into openbmp.bmp_raw, runs the
connector with the default configuration until the input is drained, and
prints the number of records on each output topic with a few decoded elems.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := findData(data)
			if err != nil {
				return err
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return connector.Demo(ctx, connector.DemoOptions{Data: path, Out: cmd.OutOrStdout(), Log: log, Samples: samples})
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "OpenBMP file to load (default: the bundled "+demoData+")")
	cmd.Flags().IntVar(&samples, "samples", 2, "decoded sample elems to print per output topic")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the connector's log")
	rootCmd.AddCommand(cmd)
}

// findData returns the data file: the flag's, else the bundled file found
// from the working directory or next to the executable's source tree.
func findData(flag string) (string, error) {
	if flag != "" {
		if _, err := os.Stat(flag); err != nil {
			return "", usageError{err}
		}
		return flag, nil
	}
	var tried []string
	dirs := []string{"."}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe), filepath.Join(filepath.Dir(exe), ".."))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, d)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, demoData)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("bundled demo data %s not found (run from the repository checkout, or pass --data FILE.obmp); looked in %d places", demoData, len(tried))
}
