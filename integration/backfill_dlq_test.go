package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/internal/archivetest"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

// TestBackfillDeadLetters: a work item whose URL answers 404 and one whose
// dump is truncated (the first MiB of the real route-views2 RIB's bzip2
// stream) land on the dead letter topic as the work items, with the
// __connect.errors.* headers naming the backfill topic position, the stage,
// the failing component and the cause; their states are failed, --status
// lists them with their causes, the truncated dump's elems before the cut
// are published, and --retry-failed queues them again.
func TestBackfillDeadLetters(t *testing.T) {
	connSkipShort(t)
	corpus.Need(t)
	srv := archivetest.New(t, archivetest.Options{Truncated: true})
	const missing = "/ris/rrc06/2015.04/updates.20150401.0000.gz"
	srv.SetFault(missing, archivetest.Fault{Status: http.StatusNotFound})
	addr := backfillBroker(t)
	props := writeProps(t, "bootstrap.servers="+addr, "input.format=archive", "backfill.partitions=2", "offset.flush.interval.ms=50",
		"errors.tolerance=all", "errors.deadletterqueue.topic.name=bgp.dlq")
	index := []string{"-d", "archive", "-o", "ris-base=" + srv.RISBase(), "-o", "routeviews-base=" + srv.RouteViewsBase()}
	runs := [][]string{{"-c", "route-views2", "-w", "2014-05-23 06:00,2014-05-23 06:01"}, {"-c", "rrc06", "-w", "2015-04-01 00:00,2015-04-01 00:04"}}
	for _, r := range runs {
		if n := queuedCount(t, backfillCLI(t, props, append(index, r...)...)); n != 1 {
			t.Fatalf("%v: %d items queued", r, n)
		}
	}
	startRun(t, props)
	waitItemsDone(t, addr, time.Minute)

	codec := avscCodecs(t)["backfill"]
	var dlq []*kgo.Record
	eachRecord(t, addr, false, func(r *kgo.Record) { dlq = append(dlq, r) }, "bgp.dlq")
	if len(dlq) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dlq))
	}
	want := map[string]struct{ class, cause string }{
		srv.URL() + missing: {"archive.Fetcher", "404"},
		srv.URL() + "/routeviews/bgpdata/2014.05/RIBS/rib.20140523.0600.bz2": {"mrt.Reader", "truncated"},
	}
	for _, r := range dlq {
		native, _, err := codec.NativeFromSingle(r.Value)
		if err != nil {
			t.Fatalf("dead letter value is not the work item: %v", err)
		}
		url := native.(map[string]any)["url"].(string)
		w, ok := want[url]
		if !ok || string(r.Key) != url {
			t.Errorf("dead letter of %q (key %q)", url, r.Key)
			continue
		}
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		if h["__connect.errors.topic"] != "bgp.backfill" || h["__connect.errors.partition"] == "" || h["__connect.errors.offset"] == "" ||
			h["__connect.errors.stage"] != "TASK_POLL" || h["__connect.errors.class.name"] != w.class ||
			!strings.Contains(h["__connect.errors.exception.message"], url) || !strings.Contains(h["__connect.errors.exception.message"], w.cause) ||
			h["__connect.errors.exception.class.name"] == "" || h["__connect.errors.connector.name"] != "bgp-connector" {
			t.Errorf("dead letter of %s: headers %v", url, h)
		}
		delete(want, url)
	}
	var ribElems int64
	for _, s := range backfillStates(t, addr, "bgp.backfill.state") {
		if s.Status != "failed" || s.Error == "" {
			t.Errorf("state %+v", s)
		}
		if strings.HasSuffix(s.URL, ".bz2") {
			ribElems = s.Elems
		}
	}
	// Every complete record before the cut is published (the slice's
	// 270,005 entries: the corpus's recordcut file is this one cut there).
	if n := sumOffsets(endOffsets(t, addr, "bgp.elems.ribs")); n != 270005 || ribElems != n {
		t.Errorf("%d RIB elems published from the truncated dump, %d in its failed state; want 270005", n, ribElems)
	}
	st := backfillCLI(t, props, "--status")
	if !strings.Contains(st, "failed: "+srv.URL()+missing) || !strings.Contains(st, "truncated") || !strings.Contains(st, "100.0% of 2 dumps finished") {
		t.Errorf("status:\n%s", st)
	}
	again := backfillCLI(t, props, append(index, runs[1]...)...)
	if n := queuedCount(t, again); n != 0 || !strings.Contains(again, "1 failed") {
		t.Errorf("the failed dump was queued again without --retry-failed:\n%s", again)
	}
	if n := queuedCount(t, backfillCLI(t, props, append(append(index, "--retry-failed"), runs[1]...)...)); n != 1 {
		t.Errorf("--retry-failed queued %d items, want 1", n)
	}
	waitFor(t, "the retried item dead-lettered again", time.Minute, func() bool { return sumOffsets(endOffsets(t, addr, "bgp.dlq")) == 3 })
}
