package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/linkedin/goavro/v2"

	"github.com/bgp-connector/bgp-connector/schema"
)

// runRoot runs the command line args in-process and returns its stdout and
// stderr.
func runRoot(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	rootCmd.SetArgs(args)
	defer func() {
		rootCmd.SetOut(nil)
		rootCmd.SetErr(nil)
		rootCmd.SetArgs(nil)
	}()
	err := rootCmd.Execute()
	return out.String(), errOut.String(), err
}

// TestSchemaPrintsAvsc: "schema TYPE > TYPE.avsc" writes a valid .avsc
// (JSON that goavro accepts, identical to the embedded file); the topic and
// fingerprint go to stderr. Without a type, stdout is a stream of the five
// schemas, each a JSON document.
func TestSchemaPrintsAvsc(t *testing.T) {
	for _, canonical := range []string{"--canonical=false", "--canonical"} {
		out, errOut, err := runRoot(t, "schema", canonical, "announcements")
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s: stdout is not JSON: %v\n%s", canonical, err, out)
		}
		c, err := goavro.NewCodec(out)
		if err != nil {
			t.Fatalf("%s: goavro: %v", canonical, err)
		}
		// (goavro's canonical form keeps {"type":"long"} for a logical type,
		// linkedin/goavro#174, so only the .avsc text keeps the fingerprint.)
		want, _ := schema.Announcements.Codec()
		if canonical == "--canonical=false" && (out != schema.Announcements.Text() || c.Rabin != want.Rabin) {
			t.Errorf("stdout differs from announcements.avsc (fingerprint %016x, want %016x)", c.Rabin, want.Rabin)
		}
		if !strings.Contains(errOut, "announcements") || !strings.Contains(errOut, "fingerprint") {
			t.Errorf("%s: stderr %q does not give the topic and fingerprint", canonical, errOut)
		}
	}

	out, _, err := runRoot(t, "schema", "--canonical=false")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	n := 0
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("schema %d: %v", n, err)
		}
		if _, err := goavro.NewCodec(string(raw)); err != nil {
			t.Fatalf("schema %d: goavro: %v", n, err)
		}
		n++
	}
	if n != schema.NumTypes {
		t.Errorf("%d schemas, want %d", n, schema.NumTypes)
	}
}

// TestSchemaBackfill: "schema backfill" prints the work item schema, bare,
// with its fingerprint on stderr, and nothing else.
func TestSchemaBackfill(t *testing.T) {
	out, errOut, err := runRoot(t, "schema", "backfill")
	if err != nil {
		t.Fatal(err)
	}
	c, err := goavro.NewCodec(out)
	if err != nil {
		t.Fatalf("goavro: %v\n%s", err, out)
	}
	want, _ := schema.BackfillCodec()
	if out != schema.BackfillText() || c.Rabin != want.Rabin {
		t.Errorf("stdout is not backfill.avsc")
	}
	if !strings.Contains(errOut, "backfill.topic") || strings.Contains(errOut, "announcements") {
		t.Errorf("stderr %q", errOut)
	}
}
