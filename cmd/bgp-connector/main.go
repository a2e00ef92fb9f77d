// Command bgp-connector reads BGP data from MRT archives, BMP and OpenBMP
// streams and Kafka topics, and publishes it as Avro elems on Kafka. It only
// wires packages together: every subcommand lives in its own file and
// registers itself on rootCmd in init.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

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
	Version:       versionString(),
}

// Build information, set by the linker: -ldflags "-X main.version=v1.2.3
// -X main.commit=<sha> -X main.buildDate=<RFC 3339>" (the Dockerfile does).
var version, commit, buildDate string

// versionString returns "VERSION (commit C, built D, GOVERSION OS/ARCH)"
// from the linker's values, falling back to what the Go toolchain recorded
// (the module version, vcs.revision and vcs.time) when they are not set.
func versionString() string {
	v, c, d := version, commit, buildDate
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			case s.Key == "vcs.modified" && s.Value == "true" && version == "":
				c += "-dirty"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	out := v + " ("
	if c != "" {
		out += "commit " + c + ", "
	}
	if d != "" {
		out += "built " + d + ", "
	}
	return out + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
}

func init() {
	rootCmd.SetVersionTemplate("bgp-connector {{.Version}}\n")
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
