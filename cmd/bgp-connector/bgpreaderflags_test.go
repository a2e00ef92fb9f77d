package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The gobgpd-made dumps of testdata (corpus-free).
var (
	gobgpUpdates = filepath.Join("..", "..", "testdata", "gobgp-mrt", "updates.mrt")
	gobgpRIB     = filepath.Join("..", "..", "testdata", "gobgp-mrt", "rib.mrt")
)

// mrtRecords counts the records of an uncompressed MRT file by walking its
// common headers (independently of the project's reader).
func mrtRecords(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for len(b) >= 12 {
		l := 12 + int(binary.BigEndian.Uint32(b[8:]))
		if l > len(b) {
			t.Fatalf("%s: record %d cut", path, n)
		}
		b = b[l:]
		n++
	}
	return n
}

// elemLines drops the "#" header lines -i prints.
func elemLines(out string) (headers, rest []string) {
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(l, "#") {
			headers = append(headers, l)
		} else if l != "" {
			rest = append(rest, l)
		}
	}
	return headers, rest
}

// sansDumpTime blanks the dump-time column of the record lines (R|B, R|E
// and -r's lines, the 9-column ones): the singlefile interface dates a dump
// by when it queued it, as bgpreader does, so two runs a second apart differ
// there and nowhere else.
func sansDumpTime(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Count(l, "|") == 8 {
			lines[i] = l[:strings.LastIndexByte(l, '|')+1] + "<dump-time>"
		}
	}
	return strings.Join(lines, "\n")
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("read %v: exit %d: %s", args, code, errOut)
	}
	return out
}

// TestReadBGPReaderOutputFlags: bgpreader's -e, -m, -r and -i as the CLI
// parses them: -e is the default, -m is --format bgpdump (and bgpdump -m
// itself where installed), -r prints one line per record (as many as the
// file has MRT records, 9 columns each), -i puts the format description
// before the same lines.
func TestReadBGPReaderOutputFlags(t *testing.T) {
	plain := sansDumpTime(mustRun(t, "read", gobgpUpdates, gobgpRIB))
	_, plainLines := elemLines(plain)
	if !strings.Contains(plain, "R|B|") {
		t.Fatalf("no R|B line in %q", plain)
	}
	if len(plainLines) < 10 {
		t.Fatalf("%d elem lines", len(plainLines))
	}
	if got := sansDumpTime(mustRun(t, "read", "-e", gobgpUpdates, gobgpRIB)); got != plain {
		t.Errorf("-e differs from the default output")
	}

	m := mustRun(t, "read", "-m", gobgpUpdates)
	if got := mustRun(t, "read", "--format", "bgpdump", gobgpUpdates); got != m || m == "" {
		t.Errorf("-m differs from --format bgpdump")
	}
	if bin, err := exec.LookPath("bgpdump"); err == nil {
		want, err := exec.Command(bin, "-m", gobgpUpdates).Output()
		if err != nil {
			t.Fatal(err)
		}
		if m != string(want) {
			t.Errorf("-m:\n%s\nbgpdump -m:\n%s", m, want)
		}
	} else {
		t.Log("bgpdump not installed: -m compared with --format bgpdump only")
	}

	r := mustRun(t, "read", "-r", gobgpUpdates)
	_, recLines := elemLines(r)
	if want := mrtRecords(t, gobgpUpdates); len(recLines) != want {
		t.Errorf("-r: %d lines, the file has %d records", len(recLines), want)
	}
	for _, l := range recLines {
		if n := strings.Count(l, "|"); n != 8 || !strings.HasPrefix(l, "U|") {
			t.Fatalf("-r line %q: %d separators", l, n)
		}
	}

	headers, rest := elemLines(sansDumpTime(mustRun(t, "read", "-i", gobgpUpdates, gobgpRIB)))
	if len(headers) == 0 || headers[0] != "# Elem format:" || strings.Join(rest, "\n") != strings.Join(plainLines, "\n") {
		t.Errorf("-i: headers %q, %d lines (want %d)", headers, len(rest), len(plainLines))
	}
	headers, rest = elemLines(mustRun(t, "read", "-i", "-r", gobgpUpdates))
	if len(headers) == 0 || headers[0] != "# Record format:" || len(rest) != len(recLines) {
		t.Errorf("-i -r: headers %q, %d lines", headers, len(rest))
	}
}

// TestReadDataInterfaceOptionsList: -o '?' lists the options of the data
// interface -d names, and exits 0; an unknown option is a usage error
// naming the right one.
func TestReadDataInterfaceOptionsList(t *testing.T) {
	for di, want := range map[string][]string{
		"singlefile": {"rib-file", "upd-file", "rib-type", "upd-type"},
		"csvfile":    {"csv-file", "poll-interval"},
		"broker":     {"url", "cache-dir"},
	} {
		out, errOut, code := runCLI(t, "read", "-d", di, "-o", "?")
		if code != 0 {
			t.Fatalf("-d %s -o '?': exit %d: %s", di, code, errOut)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("-d %s -o '?' does not list %s:\n%s", di, w, out)
			}
		}
	}
	_, errOut, code := runCLI(t, "read", "-d", "singlefile", "-o", "ribfile="+gobgpRIB)
	if code != exitUsage || !strings.Contains(errOut, "rib-file") {
		t.Errorf("unknown option: exit %d, %q", code, errOut)
	}
}

// TestReadRIBPeriod: -P keeps at most one RIB dump per collector per
// period (csvfile rows of the same collector 10 minutes apart), and 0
// keeps all.
func TestReadRIBPeriod(t *testing.T) {
	ribs, _ := os.ReadFile(gobgpRIB)
	if len(ribs) == 0 {
		t.Fatal("no rib.mrt")
	}
	dir := t.TempDir()
	csv := filepath.Join(dir, "dumps.csv")
	const t0 = 1700000000
	var rows strings.Builder
	for i := range 3 {
		fmt.Fprintf(&rows, "%s,test,ribs,c1,%d,600,%d\n", gobgpRIB, t0+600*i, t0+600*i+1)
	}
	fmt.Fprintf(&rows, "%s,test,ribs,c2,%d,600,%d\n", gobgpRIB, t0+600, t0+601)
	os.WriteFile(csv, []byte(rows.String()), 0o644)
	dumps := func(args ...string) map[string]int {
		out := mustRun(t, append([]string{"read", "-d", "csvfile", "-o", "csv-file=" + csv}, args...)...)
		n := map[string]int{}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Split(l, "|"); len(f) > 4 && f[0] == "R" && f[1] == "B" {
				n[f[4]]++
			}
		}
		return n
	}
	all := dumps()
	if all["c1"] == 0 || all["c1"] != 3*all["c2"] {
		t.Fatalf("without -P: R|B lines per collector %v, want c1 three times c2", all)
	}
	if got := dumps("-P", "3600"); got["c1"] != all["c2"] || got["c2"] != all["c2"] {
		t.Errorf("-P 3600: R|B lines per collector %v, want one dump each (%d lines)", got, all["c2"])
	}
	if got := dumps("-P", "600"); got["c1"] != all["c1"] {
		t.Errorf("-P 600: %v, want all three c1 dumps", got)
	}
}

// TestReadLive: -l follows the csvfile: a row appended while read runs is
// read, and SIGTERM ends the read cleanly with exit 130 after everything
// read was printed.
func TestReadLive(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "live.csv")
	now := time.Now().Unix()
	os.WriteFile(csv, []byte(fmt.Sprintf("%s,test,updates,c1,%d,900,%d\n", gobgpUpdates, now-900, now-60)), 0o644)
	cmd := cliCommand(t.Context(), "read", "-l", "-d", "csvfile", "-o", "csv-file="+csv, "-o", "poll-interval=100ms")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(what string, match func(string) bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("output ended before %s: %s", what, errOut.String())
				}
				if match(l) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s after 20 s: %s", what, errOut.String())
			}
		}
	}
	waitLine("update line", func(l string) bool { return strings.HasPrefix(l, "U|A|") })
	f, _ := os.OpenFile(csv, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "%s,test,ribs,c1,%d,600,%d\n", gobgpRIB, now-600, time.Now().Unix())
	f.Close()
	waitLine("the appended RIB's end", func(l string) bool { return strings.HasPrefix(l, "R|E|") })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("after SIGTERM: %v (want exit %d): %s", err, exitInterrupted, errOut.String())
	}
}
