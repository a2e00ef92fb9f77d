package integration

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/archivetest"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

// The scale-out backfill: twelve dumps of the emulator's catalogue (ten
// updates files of RIS rrc00, rrc01, rrc03, rrc15, rrc06 and RouteViews
// route-views.jinx, and the route-views2 and route-views6 RIB slices), in two
// backfill runs.
var scaleRuns = [][]string{
	{"-t", "updates", "-w", "1999-09-01,2000-12-01", "-w", "2010-02-27 16:00,2010-02-27 16:20", "-w", "2015-04-01 00:00,2015-04-01 00:14"},
	{"-c", "route-views2,route-views6", "-w", "2014-05-23 06:00,2014-05-23 06:01", "-w", "2015-11-01 06:00,2015-11-01 06:01"},
}

// bfStopped matches a connector's last backfill log line.
var bfStopped = regexp.MustCompile(`msg="backfill tasks stopped" items_done=(\d+)`)

// TestBackfillScaleOut runs two connector processes in one group over a
// 12-item backfill whose dumps the emulator serves slowly: both take items;
// one is stopped (SIGTERM) while the backfill is under way, and the other
// takes its partitions over and finishes everything. The output topics then
// hold exactly what read prints for the same selections: nothing missing,
// nothing twice.
func TestBackfillScaleOut(t *testing.T) {
	connSkipShort(t)
	corpus.Need(t)
	srv := archivetest.New(t, archivetest.Options{})
	for _, e := range archivetest.Catalogue() {
		if e.Transport == "" {
			srv.SetFault(e.URLPath(), archivetest.Fault{ChunkDelay: 40 * time.Millisecond})
		}
	}
	addr := backfillBroker(t)
	props := writeProps(t, "bootstrap.servers="+addr, "input.format=archive", "tasks.max=1", "backfill.partitions=12",
		"offset.flush.interval.ms=50", "session.timeout.ms=6000", "backfill.checkpoint.elems=20000")
	index := []string{"-d", "archive", "-o", "ris-base=" + srv.RISBase(), "-o", "routeviews-base=" + srv.RouteViewsBase()}
	mA, mB := metricsPort(t), metricsPort(t)
	a := startRun(t, props, "metrics.listen="+mA)
	bproc := startRun(t, props, "metrics.listen="+mB)
	defer func() {
		if t.Failed() {
			bproc.cmd.Process.Signal(syscall.SIGQUIT)
			time.Sleep(time.Second)
		}
	}()
	for _, m := range []string{mA, mB} {
		waitFor(t, "connector ready", 60*time.Second, func() bool {
			resp, err := http.Get("http://" + m + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	queued := 0
	for _, run := range scaleRuns {
		queued += queuedCount(t, backfillCLI(t, props, append(index, run...)...))
	}
	if queued != 12 {
		t.Fatalf("%d items queued, want 12", queued)
	}
	done := func(m string) float64 {
		n, _ := scrapeMetric(t, m, "bgp_connector_backfill_items_total", "result=done")
		return n
	}
	waitFor(t, "both connectors done with an item", 90*time.Second, func() bool { return done(mA) >= 1 && done(mB) >= 1 })
	if err := a.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("first connector: %v", err)
	}
	// The first connector completes, while it stops, the items in flight
	// whose dumps it had read to the end; its last log line counts them
	// all (a scrape before the signal would miss items it took meanwhile).
	m := bfStopped.FindStringSubmatch(a.out.String())
	if m == nil {
		t.Fatalf("first connector: no %q line in its log", "backfill tasks stopped")
	}
	doneA, _ := strconv.ParseFloat(m[1], 64)
	t.Logf("first connector stopped after %v items", doneA)
	if doneA >= 12 {
		t.Fatal("the first connector did everything: the test proves nothing")
	}
	waitItemsDone(t, addr, 2*time.Minute)
	// Each item is done once, by one of the two: one the first left
	// half-read is resumed by the second from its checkpoint, one the
	// first finished is skipped by the second.
	if n := done(mB); n+doneA != 12 {
		t.Errorf("items done: %v by the first connector + %v by the second, want 12", doneA, n)
	}

	var readOut strings.Builder
	for _, run := range scaleRuns {
		r := runRead(t, append(index, run...)...)
		if r.code != 0 {
			t.Fatalf("read %v: exit %d: %s", run, r.code, r.errOut)
		}
		readOut.WriteString(r.out)
	}
	compareLines(t, avroLines(t, addr, avscCodecs(t)), readLines(t, readOut.String()))
	st := backfillCLI(t, props, "--status")
	if !strings.Contains(st, "100.0% of 12 dumps finished") {
		t.Errorf("status:\n%s", st)
	}
}
