// Command bgp-connector reads BGP data from MRT archives, BMP and OpenBMP
// streams and Kafka topics, and publishes it as Avro elems on Kafka. It only
// wires packages together: every subcommand lives in its own file and
// registers itself on rootCmd in init.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes. They are part of the command-line contract.
const (
	exitOK    = 0 // success
	exitError = 1 // the input could not be read or the job failed
	exitUsage = 2 // bad flags, bad filter, bad configuration
	// exitInterrupted: stopped cleanly by SIGINT or SIGTERM (128+SIGINT).
	exitInterrupted = 130
)

// usageError marks an error as the caller's mistake (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

var rootCmd = &cobra.Command{
	Use:   "bgp-connector",
	Short: "Decode BGP data (MRT, BMP, OpenBMP) into elems, on the terminal or as a Kafka connector",
	Long: `bgp-connector turns BGP data into a stream of elems (RIB entries, announcements,
withdrawals, peer state changes), like CAIDA's bgpreader, and runs as a Kafka
connector that publishes them as Avro on per-type topics.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	err := rootCmd.Execute()
	if err == nil {
		os.Exit(exitOK)
	}
	if errors.As(err, new(interrupted)) {
		os.Exit(exitInterrupted)
	}
	fmt.Fprintln(os.Stderr, "bgp-connector:", err)
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(exitUsage)
	}
	os.Exit(exitError)
}
