package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/archivetest"
)

// rib10xElems is the entry count of the 10× RouteViews RIB that
// scripts/bench-read.sh builds.
const rib10xElems = 2700050

// rib10xMirror builds the 10× RIB into a temporary directory, as
// scripts/bench-read.sh builds rib10x.mrt (the PEER_INDEX_TABLE of
// pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2 once, its 9,072 RIB
// records ten times, uncompressed), and lays it out as a mirror of the
// archives: route-views2's RIB of 2014-05-23 06:00.
func rib10xMirror(t *testing.T) string {
	t.Helper()
	data := archivetest.RepeatRIB(t, "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2", 10)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rib10x.mrt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	e, ok := archivetest.Find("bgpdata/2014.05/RIBS/rib.20140523.0600.bz2")
	if !ok {
		t.Fatal("no route-views2 RIB in the catalogue")
	}
	e.Data = data
	archivetest.WriteMirror(t, filepath.Join(dir, "mirror"), []archivetest.Entry{e})
	return filepath.Join(dir, "mirror")
}

// TestBackfillCrash kills a connector process with SIGKILL in the middle of
// the 10× RouteViews RIB (one dump of 2.7 M elems, from a file mirror) and
// starts another: no elem is missing, the elems published twice are at
// most one checkpoint interval (backfill.checkpoint.elems), and the second
// process counts them (bgp_connector_backfill_republished_elems_total is an
// upper bound on them). With exactly.once.support=required a read_committed
// reader sees every elem exactly once.
func TestBackfillCrash(t *testing.T) {
	connSkipShort(t)
	mirror := rib10xMirror(t)
	for _, eos := range []bool{false, true} {
		name := "at-least-once"
		if eos {
			name = "exactly-once"
		}
		t.Run(name, func(t *testing.T) { backfillCrash(t, mirror, eos) })
	}
}

func backfillCrash(t *testing.T, mirror string, eos bool) {
	const ckpt = 100000
	addr := backfillBroker(t)
	lines := []string{"bootstrap.servers=" + addr, "input.format=archive", "tasks.max=1", "backfill.partitions=1",
		"backfill.checkpoint.elems=" + strconv.Itoa(ckpt), "session.timeout.ms=6000", "offset.flush.interval.ms=50",
		"topic.creation.default.partitions=3"}
	if eos {
		// The same transactional ids for both processes, as a restarted
		// instance has: the second fences the first's open transaction.
		lines = append(lines, "exactly.once.support=required", "transactional.id.prefix=crash-test")
	}
	props := writeProps(t, lines...)
	if n := queuedCount(t, backfillCLI(t, props, "-d", "archive", "-o", "base="+mirror, "-c", "route-views2",
		"-w", "2014-05-23 06:00,2014-05-23 06:01")); n != 1 {
		t.Fatalf("%d items queued, want the one RIB", n)
	}
	mA := metricsPort(t)
	a := startRun(t, props, "metrics.listen="+mA)
	deadline := time.Now().Add(90 * time.Second)
	for {
		n, _ := scrapeMetric(t, mA, "bgp_connector_backfill_elems_total")
		if n >= 1_000_000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("first connector published %v elems in 90 s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
	a.done <- nil
	states := backfillStates(t, addr, "bgp.backfill.state")
	var atKill int64
	for _, s := range states {
		atKill = s.Elems
		if s.Status != "running" || s.Elems <= 0 || s.Elems >= rib10xElems {
			t.Fatalf("state at the kill: %+v", s)
		}
	}

	mB := metricsPort(t)
	b := startRun(t, props, "metrics.listen="+mB)
	waitItemsDone(t, addr, 2*time.Minute)
	rss := peakRSS(b.cmd.Process.Pid)
	republished, _ := scrapeMetric(t, mB, "bgp_connector_backfill_republished_elems_total")
	resumes, _ := scrapeMetric(t, mB, "bgp_connector_backfill_resumes_total")

	n, vals := valueCounts(t, addr, eos)
	dups := n - len(vals)
	t.Logf("%d output records, %d distinct; checkpoint at the kill %d elems; republished %v (counted), %d duplicates; second process peak RSS %.1f MiB",
		n, len(vals), atKill, republished, dups, float64(rss)/(1<<20))
	if len(vals) != rib10xElems {
		t.Errorf("%d distinct elems on the output topics, want %d: elems are missing", len(vals), rib10xElems)
	}
	if dups > ckpt {
		t.Errorf("%d elems published twice, more than the checkpoint interval %d", dups, ckpt)
	}
	if resumes != 1 || float64(dups) > republished || republished > ckpt {
		t.Errorf("second process: %v resumes, %v elems counted as republished; %d duplicates (bound %d)", resumes, republished, dups, ckpt)
	}
	if eos && (dups != 0 || republished != 0) {
		t.Errorf("exactly once: %d duplicates, %v counted", dups, republished)
	}
	for _, s := range backfillStates(t, addr, "bgp.backfill.state") {
		if s.Status != "done" || s.Elems != rib10xElems || s.Resumes != 1 {
			t.Errorf("final state %+v", s)
		}
	}
	if err := b.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("second connector: %v", err)
	}
}
