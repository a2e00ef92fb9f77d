package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
)

// TestMain runs the command itself when the test binary is started by
// runCLI (BGPC_RUN_MAIN=1), so that CLI tests exercise flag parsing, exit
// codes and signals in a process of their own without a go build.
func TestMain(m *testing.M) {
	if os.Getenv("BGPC_RUN_MAIN") == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}

// cliCommand returns the command running bgp-connector with args (through
// this test binary; see TestMain).
func cliCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BGPC_RUN_MAIN=1")
	return cmd
}

// runCLI runs bgp-connector with args and returns its stdout, stderr and
// exit code.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := cliCommand(t.Context(), args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("bgp-connector %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}
