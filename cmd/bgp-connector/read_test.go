package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/bgp-connector/bgp-connector/emit/text"
)

func corpusFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(corpusDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("corpus file: %v", err)
	}
	return p
}

func runReadInputs(t *testing.T, o text.Options, names ...string) (string, string, readSummary, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cfg := readConfig{Options: o, Project: "singlefile", Collector: "singlefile", Type: "auto"}
	sum, err := readInputs(context.Background(), &cfg, names, nil, &out, &errOut)
	return out.String(), errOut.String(), sum, err
}

// TestReadBMPStreams checks BMP input end to end: one record per BMP
// message, as many as MANIFEST.md counts for each stream, and a truncated
// final message reported as an error after the 66 complete ones.
func TestReadBMPStreams(t *testing.T) {
	for _, tc := range []struct {
		name     string
		messages int
		failed   bool
	}{
		{"netgauze/streams/example.bmp", 192, false},
		{"pmacct/streams/204-BMP-CISCO-peer_down.traffic-00.bmp", 343, false},
		{"pmacct/streams/208-mem-leak-test_router-203.0.113.81.bmp", 4368, false},
		{"pmacct/streams/202-BMP-CISCO-HUAWEI-multiple-sources.traffic-02.bmp", 66, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, sum, err := runReadInputs(t, text.Options{Records: true}, corpusFile(t, tc.name))
			if (err != nil) != tc.failed {
				t.Errorf("error %v, want failure %v", err, tc.failed)
			}
			if n := strings.Count(out, "\n"); n != tc.messages || sum.Records != int64(tc.messages) {
				t.Errorf("%d record lines, %d records, want %d (MANIFEST)", n, sum.Records, tc.messages)
			}
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if !strings.HasPrefix(l, "U|M|") {
					t.Fatalf("BMP record line %q is not an update record in the middle of a stream", l)
				}
			}
		})
	}
}

// TestReadDamagedBMPMessage breaks the version byte of the 101st message of
// a real Cisco BMP stream: read must warn, skip that message and decode the
// 335 others, and exit cleanly.
func TestReadDamagedBMPMessage(t *testing.T) {
	b, err := os.ReadFile(corpusFile(t, "pmacct/streams/201-BMP-CISCO-rd_instance.traffic-00.bmp"))
	if err != nil {
		t.Fatal(err)
	}
	// Walk the length chain independently to find message 100 (0-based).
	off := 0
	for i := 0; i < 100; i++ {
		off += int(b[off+1])<<24 | int(b[off+2])<<16 | int(b[off+3])<<8 | int(b[off+4])
	}
	b[off] = 9
	p := filepath.Join(t.TempDir(), "damaged.bmp")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, sum, err := runReadInputs(t, text.Options{Records: true}, p)
	if err != nil {
		t.Fatalf("one damaged message made read fail: %v", err)
	}
	if n := strings.Count(out, "\n"); n != 335 || sum.Gaps != 1 || sum.BytesSkipped == 0 {
		t.Errorf("%d records, %d gaps, %d bytes skipped; want 335 of 336 (MANIFEST), 1 gap", n, sum.Gaps, sum.BytesSkipped)
	}
	if !strings.Contains(errOut, "offset "+strconv.Itoa(off)) || !strings.Contains(errOut, "skipping") {
		t.Errorf("warning does not name offset %d: %q", off, errOut)
	}
}

// TestReadDamagedRecords checks --records on a damaged 2000 RIS file: every
// corrupted record is printed with status R, every gap is a warning (a gap
// is data, not a record look-alike), and reading goes on.
func TestReadDamagedRecords(t *testing.T) {
	out, errOut, sum, err := runReadInputs(t, text.Options{Records: true}, corpusFile(t, "bgpkit/rrc00_2000.03_updates.20000325.0345.gz"))
	if err != nil {
		t.Fatalf("damaged records made read fail: %v", err)
	}
	bad := int64(strings.Count(out, "|R|"))
	if bad != sum.Corrupted {
		t.Errorf("%d R lines, summary says %d corrupted", bad, sum.Corrupted)
	}
	if skips := int64(strings.Count(errOut, "skipped")); sum.Gaps == 0 || skips != sum.Gaps {
		t.Errorf("%d gap warnings, summary says %d gaps", skips, sum.Gaps)
	}
	if !strings.Contains(errOut, "warning: ") {
		t.Errorf("no warning on stderr: %q", errOut)
	}
	if sum.Records <= 5 {
		t.Errorf("only %d records: reading stopped at the damage", sum.Records)
	}
	// The 2000 bview declares every record 4 bytes short: all 2,490 are
	// repaired, none is lost.
	_, _, sum, err = runReadInputs(t, text.Options{Records: true}, corpusFile(t, "bgpkit/rrc00_2000.01_bview.20000111.0032.gz"))
	if err != nil || sum.LengthRepairs != 2490 || sum.Gaps != 0 || sum.Records != 2490 {
		t.Errorf("bview 2000: err %v, %d repairs, %d gaps, %d records; want 2490 repaired records", err, sum.LengthRepairs, sum.Gaps, sum.Records)
	}
}

// TestReadMissingFileAndLimit checks that an unreadable input fails the
// run but not the other inputs, and that the limit spans inputs.
func TestReadMissingFileAndLimit(t *testing.T) {
	f := corpusFile(t, "mrtparse/quagga_rib")
	out, errOut, _, err := runReadInputs(t, text.Options{}, filepath.Join(t.TempDir(), "missing.mrt"), f)
	if err == nil || !strings.Contains(errOut, "missing.mrt") {
		t.Errorf("missing file: err %v, stderr %q", err, errOut)
	}
	// quagga_rib: 9 entries (MANIFEST) plus the R|B and R|E lines.
	if n := strings.Count(out, "\n"); n != 11 {
		t.Errorf("%d lines after a missing file, want 11:\n%s", n, out)
	}
	// The limit counts records (bgpreader -n) across inputs: quagga_rib
	// has 6 RIB records (3 IPv4 with 1 entry, 3 IPv6 with 2); 8 records
	// are all of the first input (9 elems) and 2 IPv4 records of the
	// second.
	out, _, _, err = runReadInputs(t, text.Options{Limit: 8}, f, f)
	if err != nil {
		t.Fatal(err)
	}
	elems := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "R|R|") {
			elems++
		}
	}
	if elems != 11 {
		t.Errorf("limit 8 records printed %d elems, want 11:\n%s", elems, out)
	}
}

// resetReadFlags puts the read command's flags back to their defaults, so
// that tests executing the command do not leak flag values.
func resetReadFlags(t *testing.T) {
	t.Helper()
	readCmd.Flags().VisitAll(func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			if err := sv.Replace(nil); err != nil {
				t.Error(err)
			}
		} else if err := f.Value.Set(f.DefValue); err != nil {
			t.Errorf("reset --%s: %v", f.Name, err)
		}
		f.Changed = false
	})
}

// TestReadCommand runs the cobra command: filter flags select elems, and a
// bad --format is a usage error (exit status 2).
func TestReadCommand(t *testing.T) {
	f := corpusFile(t, "ripe-bgpdump/updates.20160811.1600.gz")
	var out, errOut bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	defer rootCmd.SetOut(nil)
	defer rootCmd.SetErr(nil)
	defer resetReadFlags(t)
	rootCmd.SetArgs([]string{"read", "--format", "bgpdump", "-j", "59689", "-k", "2804:14d::/32", f})
	if err := rootCmd.Execute(); err != nil {
		t.Fatalf("read: %v (%s)", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("filter kept nothing")
	}
	for _, l := range lines {
		c := strings.Split(l, "|")
		if c[4] != "59689" || !strings.HasPrefix(c[5], "2804:14d") {
			t.Errorf("line %q passed -j 59689 -k 2804:14d::/32", l)
		}
	}
	// The first line of the file (MANIFEST reference) is among them.
	if lines[0] != "BGP4MP|1470931200|A|2001:7f8:54::188|59689|2804:14d::/40|59689 6939 3356 4230 28573|IGP|2001:7f8:54::10|0|0|59689:200 59689:240|NAG||" {
		t.Errorf("first line %q", lines[0])
	}
	resetReadFlags(t)
	rootCmd.SetArgs([]string{"read", "--format", "nope", f})
	err := rootCmd.Execute()
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("bad format: %v, want a usage error", err)
	}
}

// TestReadDumpLines checks bgpreader's dump lines on a TABLE_DUMP_V2 RIB:
// R|B before the first RIB entry (not at the PEER_INDEX_TABLE, which is not
// printed), R|E after the last, both dated by when the input was opened.
func TestReadDumpLines(t *testing.T) {
	f := corpusFile(t, "mrtparse/quagga_rib")
	var out, errOut bytes.Buffer
	cfg := readConfig{Project: "singlefile", Collector: "singlefile", Type: "auto",
		Now: func() time.Time { return time.Unix(1659827072, 0) }}
	if _, err := readInputs(context.Background(), &cfg, []string{f}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// MANIFEST: PEER_INDEX_TABLE + 6 RIB records, 9 entries, at 1486802400.
	if len(lines) != 11 {
		t.Fatalf("%d lines, want 9 entries + 2 dump lines:\n%s", len(lines), out.String())
	}
	if want := "R|B|1486802400.000000|singlefile|singlefile|||V|1659827072"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if want := "R|E|1486802400.000000|singlefile|singlefile|||V|1659827072"; lines[10] != want {
		t.Errorf("last line %q, want %q", lines[10], want)
	}
	for _, l := range lines[1:10] {
		if !strings.HasPrefix(l, "R|R|1486802400.000000|singlefile|singlefile|||65000|") {
			t.Errorf("entry line %q", l)
		}
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestReadWriteError checks that a failing output stops the read with one
// error naming the output, not one per input.
func TestReadWriteError(t *testing.T) {
	f := corpusFile(t, "ripe-bgpdump/updates.20160811.1600.gz")
	var errOut bytes.Buffer
	cfg := readConfig{Project: "singlefile", Collector: "singlefile", Type: "auto"}
	_, err := readInputs(context.Background(), &cfg, []string{f, f, f}, nil, failWriter{}, &errOut)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("error %v, want the write error", err)
	}
	if strings.Contains(errOut.String(), "disk full") {
		t.Errorf("write error reported per input: %q", errOut.String())
	}
}
