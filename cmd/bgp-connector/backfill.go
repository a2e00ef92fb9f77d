package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bgp-connector/bgp-connector/archive"
	"github.com/bgp-connector/bgp-connector/bgpstream"
	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/ingest"
)

const backfillExamples = `  # Queue the RIS and RouteViews dumps of a day (CAIDA broker), then let the connector's backfill tasks read them
  bgp-connector backfill --config connector.properties -w 2024-01-01,2024-01-02
  bgp-connector run --config connector.properties --set backfill.tasks=2

  # Two RIS collectors' updates, from the archive's own listings (no broker)
  bgp-connector backfill --config connector.properties -d archive -c rrc00,rrc03 -t updates -w 2010-02-27T16:00:00Z,2010-02-27T16:20:00Z

  # From a local mirror laid out like the archives
  bgp-connector backfill --config connector.properties -d archive -o base=/srv/mirror -p ris -w 1427846400,1427847300

  # What would be queued, without publishing (done and queued dumps are marked)
  bgp-connector backfill --config connector.properties --dry-run -c rrc06 -w 2015-04-01,2015-04-02

  # How far it has come: items total, done, failed, running, waiting per collector
  bgp-connector backfill --config connector.properties --status`

// backfillFlags are the backfill command's own flags.
type backfillFlags struct {
	config      string
	sets        []string
	logLevel    string
	di          string
	diOpts      []string
	ribPeriod   int
	dryRun      bool
	status      bool
	retryFailed bool
}

func init() {
	var bo backfillFlags
	var sel *filter.Flags
	cmd := &cobra.Command{
		Use:   "backfill --config connector.properties [-d broker|bgpkit|archive] [-o key=value]... [-p P] [-c C] [-t T] -w START,END... [--dry-run | --status]",
		Short: "Queue archive dumps (RIS, RouteViews) on backfill.topic for the connector's backfill tasks, or report their progress",
		Long: `backfill fills the connector's output topics with archived BGP data: it lists
the RIS and RouteViews dumps of the windows (-w), projects (-p), collectors
(-c) and record types (-t) through an archive index, as read does (-d broker,
the CAIDA broker, by default; -d bgpkit; -d archive, the archives' own
listings or a mirror: -o base=, ris-base=, routeviews-base=, collectors-file=;
"-o ?" lists the options), and publishes one work item per dump to
backfill.topic (default bgp.backfill; created with backfill.partitions
partitions when missing): Avro (bgp-connector schema backfill) holding the
dump's URL, project, collector, type, start, duration, expected size and the
windows, keyed by URL. It then exits; the work is done by the connector's
backfill tasks (run with input.format=archive, or backfill.tasks beside the
OpenBMP tasks), which fetch each dump (cached in backfill.cache.dir), decode
it, apply the windows and the connector's filter, and publish its elems to
the output topics with the dump's labels, as read would print them.

Nothing is done twice: each dump's progress is kept in backfill.state.topic
(compacted; checkpoints, done, failed). backfill skips the dumps done, failed
(--retry-failed queues them again) or queued already, so re-running the same
backfill queues nothing new; a task that takes a dump over resumes at its
checkpoint.

--dry-run lists the dumps and what would happen to each, publishing nothing.
--status reports, per collector, the dumps queued, done, failed, being read
and waiting, the elems published, and the work items the connector has not
committed yet (only those matching -p -c -t -w, when given).

The configuration is the connector's (bootstrap.servers, SASL/TLS, backfill.*),
with BGP_CONNECTOR_* and --set overrides. Exit status: 0 done; 1 the index or
Kafka failed; 2 bad flags or configuration.`,
		Example: backfillExamples,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBackfill(cmd, &bo, sel)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&bo.config, "config", "", "connector .properties file (default: built-in defaults)")
	fs.StringArrayVar(&bo.sets, "set", nil, "override one key: --set key=value (repeatable)")
	fs.StringVar(&bo.logLevel, "log-level", "warn", "debug, info, warn or error")
	fs.StringVarP(&bo.di, "data-interface", "d", "broker", "archive index: broker (CAIDA), bgpkit or archive (the archives' listings, or a mirror); see -o '?'")
	fs.StringArrayVarP(&bo.diOpts, "data-interface-option", "o", nil, "data interface option key=value (repeatable), as read takes them; '?' lists the options of -d")
	fs.IntVarP(&bo.ribPeriod, "rib-period", "P", 0, "queue at most one RIB dump per collector every N seconds (0 = all)")
	fs.BoolVar(&bo.dryRun, "dry-run", false, "list the dumps and what would happen to each; publish nothing")
	fs.BoolVar(&bo.status, "status", false, "report the progress of the backfill per collector and exit")
	fs.BoolVar(&bo.retryFailed, "retry-failed", false, "queue again the dumps that failed (their failed state is cleared)")
	// read's selection flags: -p, -c, -t and -w.
	ff := pflag.NewFlagSet("filter", pflag.ContinueOnError)
	sel = addFilterFlags(ff)
	for _, name := range []string{"filter-project", "filter-collector", "record-type", "time-window"} {
		fs.AddFlag(ff.Lookup(name))
	}
	rootCmd.AddCommand(cmd)
}

func runBackfill(cmd *cobra.Command, bo *backfillFlags, sel *filter.Flags) error {
	out := cmd.OutOrStdout()
	for _, o := range bo.diOpts {
		if strings.TrimSpace(o) == "?" {
			return listDIOptions(cmd.ErrOrStderr(), bo.di)
		}
	}
	log, err := newLogger(bo.logLevel)
	if err != nil {
		return usageError{err}
	}
	cfg, err := connector.LoadConfig(bo.config, os.Environ(), bo.sets)
	if err != nil {
		return usageError{err}
	}
	if bo.status && (bo.dryRun || bo.retryFailed) {
		return usageError{errors.New("--status reports only; it takes no --dry-run or --retry-failed")}
	}
	q, err := backfillQuery(bo, sel)
	if err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if bo.status {
		if err := kafkaConfigured(cfg); err != nil {
			return err
		}
		rep, err := connector.BackfillStatus(ctx, cfg, connector.BackfillStatusOptions{Match: queryMatch(q, len(sel.Windows) > 0), Log: log})
		if err != nil {
			return err
		}
		printBackfillStatus(out, cfg, rep)
		return nil
	}
	if len(q.Windows) == 0 {
		return usageError{errors.New("backfill needs a time window: -w START,END (repeatable), e.g. -w 2015-04-01,2015-04-02")}
	}
	idx, err := backfillIndex(bo)
	if err != nil {
		return usageError{err}
	}
	start := time.Now()
	dumps, err := idx.Find(ctx, q)
	if err != nil {
		return fmt.Errorf("listing the dumps (-d %s): %w", bo.di, err)
	}
	var items []ingest.WorkItem
	streams := 0
	for _, d := range dumps {
		if d.IsStream() {
			streams++
			continue
		}
		items = append(items, ingest.WorkItem{Dump: d, Windows: q.Windows})
	}
	if streams > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %d stream resources listed by the index are not archive dumps; skipped\n", streams)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%d dumps listed by -d %s in %v\n", len(items), bo.di, time.Since(start).Round(time.Millisecond))
	if len(items) == 0 {
		return nil
	}
	if bo.dryRun && (cfg.NeedBrokers() != nil || cfg.Embedded) {
		// No broker to ask: list everything as to be queued.
		printBackfillPlan(out, connector.BackfillPlan{Queue: items}, true)
		return nil
	}
	if err := kafkaConfigured(cfg); err != nil {
		return err
	}
	plan, err := connector.QueueBackfill(ctx, cfg, items, connector.BackfillQueueOptions{DryRun: bo.dryRun, RetryFailed: bo.retryFailed, Log: log})
	if err != nil {
		return err
	}
	if bo.dryRun {
		printBackfillPlan(out, plan, false)
		return nil
	}
	fmt.Fprintf(out, "%d work items queued to %s; skipped: %d done, %d failed, %d queued already\n",
		len(plan.Queue), cfg.BackfillTopic, len(plan.Done), len(plan.Failed), len(plan.Pending))
	if len(plan.Failed) > 0 && !bo.retryFailed {
		fmt.Fprintln(out, "(--retry-failed queues the failed dumps again; backfill --status shows why they failed)")
	}
	return nil
}

// kafkaConfigured checks bootstrap.servers for a command that talks to
// Kafka (a usage error when it is missing).
func kafkaConfigured(cfg *connector.Config) error {
	if err := cfg.NeedBrokers(); err != nil {
		return usageError{err}
	}
	if cfg.Embedded {
		return usageError{errors.New("bootstrap.servers=embedded: backfill publishes to a broker that outlives it and that the connector reads; name it (bgp-connector broker runs one)")}
	}
	return nil
}

// backfillQuery turns -p -c -t -w -P into an archive query.
func backfillQuery(bo *backfillFlags, sel *filter.Flags) (archive.Query, error) {
	q := archive.Query{Projects: filter.SplitList(sel.Projects), Collectors: filter.SplitList(sel.Collectors), Types: filter.SplitList(sel.Types)}
	for i, p := range q.Projects {
		name, ok := archive.ProjectName(p)
		if !ok {
			return q, fmt.Errorf("-p %q: not an archive project (ris, routeviews)", p)
		}
		q.Projects[i] = name
	}
	for _, t := range q.Types {
		if t != archive.TypeRIBs && t != archive.TypeUpdates {
			return q, fmt.Errorf("-t %q: want ribs or updates", t)
		}
	}
	for _, w := range sel.Windows {
		win, err := filter.ParseWindow(w)
		if err != nil {
			return q, &filter.FlagError{Flag: "-w", Value: w, Msg: err.Error()}
		}
		if win.End.IsZero() {
			return q, &filter.FlagError{Flag: "-w", Value: w, Msg: "a backfill window needs an end (the connector's input tasks follow live data)"}
		}
		q.Windows = append(q.Windows, archive.Window{Start: win.Start, End: win.End})
	}
	if bo.ribPeriod < 0 {
		return q, fmt.Errorf("-P %d: the RIB period is a number of seconds", bo.ribPeriod)
	}
	q.RIBPeriod = time.Duration(bo.ribPeriod) * time.Second
	return q, nil
}

// queryMatch selects the work items of q for --status (nil: all).
func queryMatch(q archive.Query, windows bool) func(ingest.WorkItem) bool {
	if len(q.Projects) == 0 && len(q.Collectors) == 0 && len(q.Types) == 0 && !windows {
		return nil
	}
	return func(it ingest.WorkItem) bool {
		if (len(q.Projects) > 0 && !slices.Contains(q.Projects, it.Project)) ||
			(len(q.Collectors) > 0 && !slices.Contains(q.Collectors, it.Collector)) ||
			(len(q.Types) > 0 && !slices.Contains(q.Types, it.Type)) {
			return false
		}
		if len(q.Windows) == 0 {
			return true
		}
		for _, w := range q.Windows {
			if it.Overlaps(w) {
				return true
			}
		}
		return false
	}
}

// backfillIndex builds the archive index of -d and -o, as read builds it.
func backfillIndex(bo *backfillFlags) (archive.Index, error) {
	info, ok := bgpstream.LookupDataInterface(bo.di)
	if !ok || !slices.Contains([]string{"broker", "bgpkit", "archive"}, bo.di) {
		return nil, fmt.Errorf("-d %q: backfill lists dumps with broker, bgpkit or archive", bo.di)
	}
	opts := map[string][]string{}
	for _, o := range bo.diOpts {
		k, v, ok := strings.Cut(o, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("-o %q: want key=value (-o '?' lists the options)", o)
		}
		known := false
		for _, oi := range info.Options {
			known = known || oi.Name == k
		}
		if !known {
			return nil, fmt.Errorf("-o %s: %s has no such option (-o '?' lists them)", k, bo.di)
		}
		opts[k] = append(opts[k], v)
	}
	if len(opts["cache-only"]) > 0 && opts["cache-only"][len(opts["cache-only"])-1] == "true" {
		dirs := opts["cache-dir"]
		if len(dirs) == 0 {
			return nil, errors.New("-o cache-only=true needs -o cache-dir=DIR")
		}
		return archive.NewCacheIndex(dirs[len(dirs)-1]) // the dumps a cache holds
	}
	return bgpstream.ArchiveIndex(bo.di, opts)
}

// printBackfillPlan lists the dumps and what happens to each.
func printBackfillPlan(w io.Writer, plan connector.BackfillPlan, unknown bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "action\tproject\tcollector\ttype\tstart\tduration\tsize\turl")
	row := func(action string, it ingest.WorkItem) {
		size := "?"
		if it.Size > 0 {
			size = fmt.Sprint(it.Size)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", action, it.Project, it.Collector, it.Type,
			it.Start.UTC().Format(time.RFC3339), it.Duration, size, it.URL)
	}
	for _, it := range plan.Queue {
		row("queue", it)
	}
	for _, it := range plan.Pending {
		row("queued", it)
	}
	for _, it := range plan.Done {
		row("done", it)
	}
	for _, it := range plan.Failed {
		row("failed", it)
	}
	tw.Flush()
	if unknown {
		fmt.Fprintln(w, "(bootstrap.servers not set: dumps already done or queued are not marked)")
	}
	fmt.Fprintf(w, "%d to queue, %d queued already, %d done, %d failed\n", len(plan.Queue), len(plan.Pending), len(plan.Done), len(plan.Failed))
}

// printBackfillStatus prints the progress table.
func printBackfillStatus(w io.Writer, cfg *connector.Config, rep connector.BackfillReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "project\tcollector\titems\tdone\tfailed\trunning\twaiting\telems\t")
	for _, p := range append(rep.Collectors, rep.Total) {
		proj, coll := p.Project, p.Collector
		if proj == "" && coll == "" {
			proj = "total"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", proj, coll, p.Items, p.Done, p.Failed, p.Running, p.Waiting, p.Elems)
	}
	tw.Flush()
	t := rep.Total
	pct := 0.0
	if t.Items > 0 {
		pct = 100 * float64(t.Done+t.Failed) / float64(t.Items)
	}
	fmt.Fprintf(w, "%.1f%% of %d dumps finished (%s)", pct, t.Items, cfg.BackfillTopic)
	if rep.Lag >= 0 {
		fmt.Fprintf(w, "; %d work items not yet committed by group %s", rep.Lag, cfg.BackfillGroup())
	}
	fmt.Fprintln(w)
	for _, p := range rep.Collectors {
		for _, e := range p.Errors {
			fmt.Fprintf(w, "failed: %s\n", e)
		}
	}
}
