package integration

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/internal/archivetest"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/internal/demodata"
)

// bfWindows are the end-to-end windows: RIS rrc03 and rrc15 on 2010-02-27
// from 16:00 to 16:20 (three dumps), RIS rrc06 and RouteViews
// route-views.jinx on 2015-04-01 (two dumps, gzip and bzip2).
var bfWindows = []archiveWindow{win2010, win2015}

// TestBackfillEndToEnd queues two windows over four collectors with the
// backfill command (-d archive over the emulator serving the real dumps),
// runs the connector (input.format=archive, two tasks) as a process until
// the backfill topic is committed, and checks that every output topic,
// decoded with goavro from the .avsc files, holds exactly the elems read
// prints for the same windows, type by type with their project and
// collector labels. Then --status reports every dump done, --dry-run marks
// them, and running the same backfill again queues and publishes nothing.
func TestBackfillEndToEnd(t *testing.T) {
	connSkipShort(t)
	corpus.Need(t)
	srv := archivetest.New(t, archivetest.Options{})
	addr := backfillBroker(t)
	props := writeProps(t, "bootstrap.servers="+addr, "input.format=archive", "tasks.max=2", "backfill.partitions=4",
		"offset.flush.interval.ms=50", "session.timeout.ms=6000", "backfill.cache.dir="+t.TempDir())
	index := []string{"-d", "archive", "-o", "ris-base=" + srv.RISBase(), "-o", "routeviews-base=" + srv.RouteViewsBase()}
	queued := 0
	for _, w := range bfWindows {
		queued += queuedCount(t, backfillCLI(t, props, append(index, "-c", colls(w), "-w", w.flag)...))
	}
	if want := len(win2010.entries()) + len(win2015.entries()); queued != want {
		t.Fatalf("%d work items queued, want %d (one per dump)", queued, want)
	}
	p := startRun(t, props)
	waitItemsDone(t, addr, 2*time.Minute)

	codecs := avscCodecs(t)
	got := avroLines(t, addr, codecs)
	var readOut strings.Builder
	for _, w := range bfWindows {
		r := runRead(t, append(index, "-c", colls(w), "-w", w.flag)...)
		if r.code != 0 {
			t.Fatalf("read: exit %d: %s", r.code, r.errOut)
		}
		readOut.WriteString(r.out)
	}
	want := readLines(t, readOut.String())
	if len(want["announcements"]) < 1000 || len(want["withdrawals"]) == 0 || len(want["peerstates"]) == 0 {
		t.Fatalf("read printed too little to compare: %d announcements", len(want["announcements"]))
	}
	compareLines(t, got, want)
	t.Logf("compared %d announcements, %d withdrawals, %d peerstates", len(want["announcements"]), len(want["withdrawals"]), len(want["peerstates"]))
	for _, c := range []string{"|ris|rrc03|", "|ris|rrc15|", "|ris|rrc06|", "|routeviews|route-views.jinx|"} {
		if !containsSub(got["announcements"], c) {
			t.Errorf("no announcement labelled %s", c)
		}
	}

	// --status: every dump done, per collector.
	st := backfillCLI(t, props, "--status")
	total := regexp.MustCompile(`(?m)^\s*total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$`).FindStringSubmatch(st)
	var elems int
	for _, l := range want {
		elems += len(l)
	}
	if total == nil || total[1] != strconv.Itoa(queued) || total[2] != strconv.Itoa(queued) || total[3] != "0" || total[6] != strconv.Itoa(elems) {
		t.Errorf("status (want %d dumps done, %d elems):\n%s", queued, elems, st)
	}
	if !strings.Contains(st, "route-views.jinx") || !strings.Contains(st, "0 work items not yet committed") {
		t.Errorf("status:\n%s", st)
	}

	// Again: nothing queued (--dry-run says why), nothing published.
	ends := sumOffsets(endOffsets(t, addr, outputTopics()...))
	for _, w := range bfWindows {
		dry := backfillCLI(t, props, append(index, "--dry-run", "-c", colls(w), "-w", w.flag)...)
		if !strings.Contains(dry, "0 to queue, 0 queued already, "+strconv.Itoa(len(w.entries()))+" done") {
			t.Errorf("dry run:\n%s", dry)
		}
		if n := queuedCount(t, backfillCLI(t, props, append(index, "-c", colls(w), "-w", w.flag)...)); n != 0 {
			t.Errorf("the same backfill queued %d items again", n)
		}
	}
	time.Sleep(500 * time.Millisecond) // time for a connector to publish, were there anything
	if after := sumOffsets(endOffsets(t, addr, outputTopics()...)); after != ends {
		t.Errorf("the output topics grew from %d to %d records after the backfill was run again", ends, after)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("connector exit after SIGTERM: %v", err)
	}
}

func containsSub(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// TestDemoBackfill runs "bgp-connector demo" as an installed binary would
// (from an empty directory): its backfill part reports both bundled dumps
// done, each with the elems a direct decode of the embedded file finds, and
// the elems they added to the output topics.
func TestDemoBackfill(t *testing.T) {
	connSkipShort(t)
	cmd := exec.Command(connBinary(t), "demo")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	total := 0
	for _, f := range []struct{ project, collector, file string }{
		{"ris", "rrc06", demodata.RISFile}, {"routeviews", "route-views.jinx", demodata.RouteViewsFile},
	} {
		fs, err := ingest.OpenFile(filepath.Join("..", "internal", "demodata", f.file), ingest.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		b := new(decode.Batch)
		for {
			b.Reset()
			err := fs.Next(context.Background(), b)
			n += len(b.Elems)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		fs.Close()
		total += n
		row := regexp.MustCompile(`(?m)^\s*` + f.project + `\s+` + regexp.QuoteMeta(f.collector) + `\s+1\s+1\s+0\s+` + strconv.Itoa(n) + `\s*$`)
		if !row.Match(out) {
			t.Errorf("demo has no row %s %s 1 dump done with %d elems:\n%s", f.project, f.collector, n, out)
		}
	}
	if !regexp.MustCompile(`(?m)^\s*total\s+2\s+2\s+0\s+`+strconv.Itoa(total)+`\s*$`).Match(out) ||
		!strings.Contains(string(out), "elems from the archive dumps: bgp.elems.announcements +") {
		t.Errorf("demo backfill summary:\n%s", out)
	}
}

// TestBackfillCLIErrors: the backfill command's mistakes are exit status 2
// with one line saying what to do; -o '?' lists the index's options.
func TestBackfillCLIErrors(t *testing.T) {
	connSkipShort(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-d", "archive", "-o", "base=/x"}, "backfill needs a time window: -w START,END"},
		{[]string{"-d", "archive", "-w", "2015-04-01"}, "a backfill window needs an end"},
		{[]string{"-d", "singlefile", "-w", "2015-04-01,2015-04-02"}, `-d "singlefile": backfill lists dumps with broker, bgpkit or archive`},
		{[]string{"-d", "archive", "-o", "nope=1", "-w", "2015-04-01,2015-04-02"}, "-o nope: archive has no such option"},
		{[]string{"-d", "archive", "-o", "base=/x", "-t", "rib", "-w", "2015-04-01,2015-04-02"}, `-t "rib": want ribs or updates`},
		{[]string{"-d", "archive", "-o", "base=/x", "-p", "caida", "-w", "2015-04-01,2015-04-02"}, `-p "caida": not an archive project`},
		{[]string{"--status", "--dry-run"}, "--status reports only"},
		{[]string{"--status"}, "bootstrap.servers: not set"},
		{[]string{"--status", "--set", "bootstrap.servers=embedded"}, "bootstrap.servers=embedded: backfill publishes to a broker that outlives it"},
		{[]string{"--set", "backfill.tasks=x", "--status"}, `backfill.tasks: "x" is not an integer`},
	} {
		r := runCLI(t, append([]string{"backfill"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.errOut, tc.want) || strings.Count(strings.TrimSpace(r.errOut), "\n") > 1 {
			t.Errorf("backfill %v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.errOut, tc.want)
		}
	}
	r := runCLI(t, "backfill", "-d", "archive", "-o", "?")
	if r.code != 0 || !strings.Contains(r.errOut, "ris-base") || !strings.Contains(r.errOut, "collectors-file") {
		t.Errorf("-o '?': exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	// A dry run without a broker lists what the index finds.
	mirror := t.TempDir()
	archivetest.WriteMirror(t, mirror, win2015.entries())
	r = runCLI(t, "backfill", "--dry-run", "-d", "archive", "-o", "base="+mirror, "-w", win2015.flag)
	if r.code != 0 || !strings.Contains(r.out, "2 to queue") || !strings.Contains(r.out, "rrc06") || !strings.Contains(r.out, "not marked") {
		t.Errorf("dry run without a broker: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
}
