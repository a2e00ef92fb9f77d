package connector

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bgp-connector/bgp-connector/archive"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/internal/demodata"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// The demo's archive backfill: the two bundled dumps (derived from the
// gobgpd and FRR recordings, see internal/demodata), laid out as a
// mirror of the archives, listed by the archive index, queued on
// backfill.topic and read by two backfill tasks.

// demoWindow is the backfill window of the bundled dumps.
var demoWindow = archive.Window{Start: time.Date(2015, 4, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2015, 4, 1, 0, 15, 0, 0, time.UTC)}

// demoMirror writes the bundled dumps under dir as the archives lay them
// out.
func demoMirror(dir string) error {
	for _, f := range []struct {
		path string
		data []byte
	}{
		{"rrc06/2015.04/updates.20150401.0000.gz", demodata.RIS},
		{"route-views.jinx/bgpdata/2015.04/UPDATES/updates.20150401.0000.bz2", demodata.RouteViews},
	} {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// demoBackfill runs the backfill part of the demo on the broker at addr.
func demoBackfill(ctx context.Context, o DemoOptions, addr string) error {
	dir, err := os.MkdirTemp("", "bgp-connector-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := demoMirror(dir); err != nil {
		return err
	}
	idx, err := archive.NewArchiveIndex(archive.ArchiveOptions{Base: dir})
	if err != nil {
		return err
	}
	dumps, err := idx.Find(ctx, archive.Query{Collectors: []string{"rrc06", "route-views.jinx"}, Windows: []archive.Window{demoWindow}})
	if err != nil {
		return err
	}
	var items []ingest.WorkItem
	var names []string
	for _, d := range dumps {
		items = append(items, ingest.WorkItem{Dump: d, Windows: []archive.Window{demoWindow}})
		names = append(names, d.Project+" "+d.Collector)
	}
	cfg, err := NewConfig([]Setting{{Key: "bootstrap.servers", Value: addr, Origin: "demo"},
		{Key: "input.format", Value: "archive", Origin: "demo"}, {Key: "tasks.max", Value: "2", Origin: "demo"}})
	if err != nil {
		return err
	}
	topics := [schema.NumTypes]string{}
	for _, t := range schema.Types() {
		topics[t] = cfg.TopicFor(t.Suffix())
	}
	before, _, err := kafkatest.ReadOutputs(ctx, []string{addr}, topics, 0)
	if err != nil {
		return err
	}
	plan, err := QueueBackfill(ctx, cfg, items, BackfillQueueOptions{Brokers: []string{addr}, Log: o.Log})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "\narchive backfill: %d dumps of %s (%s; bundled updates dumps derived from the gobgpd and FRR recordings) listed by the archive index, %d work items queued to %s\n",
		len(dumps), demoWindow, strings.Join(names, ", "), len(plan.Queue), cfg.BackfillTopic)
	c, err := New(cfg, o.Log, WithBrokers(addr))
	if err != nil {
		return err
	}
	start := time.Now()
	if err := c.RunUntilDrained(ctx, uint64(len(plan.Queue)), 2*time.Minute); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%d backfill tasks drained %s in %v (group %s, progress in %s)\n\n", cfg.TasksMax, cfg.BackfillTopic,
		time.Since(start).Round(time.Millisecond), cfg.BackfillGroup(), cfg.BackfillStateTopic)
	rep, err := BackfillStatus(ctx, cfg, BackfillStatusOptions{Brokers: []string{addr}, Log: o.Log})
	if err != nil {
		return err
	}
	printBackfillReport(o.Out, rep)
	after, _, err := kafkatest.ReadOutputs(ctx, []string{addr}, topics, 0)
	if err != nil {
		return err
	}
	var parts []string
	for _, t := range schema.Types() {
		if n := after[t] - before[t]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s +%d", topics[t], n))
		}
	}
	fmt.Fprintf(o.Out, "\nelems from the archive dumps: %s\n", strings.Join(parts, ", "))
	return nil
}

// printBackfillReport prints the per-collector progress table.
func printBackfillReport(w io.Writer, rep BackfillReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "project\tcollector\tdumps\tdone\tfailed\telems\t")
	for _, p := range append(rep.Collectors, rep.Total) {
		proj := p.Project
		if proj == "" && p.Collector == "" {
			proj = "total"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t\n", proj, p.Collector, p.Items, p.Done, p.Failed, p.Elems)
	}
	tw.Flush()
}
