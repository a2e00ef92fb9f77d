package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bgp-connector/bgp-connector/bgpstream"
	"github.com/bgp-connector/bgp-connector/emit/text"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/mrt"
)

const readExamples = `  # Every elem of a RouteViews RIB, as bgpreader prints them
  bgp-connector read rib.20140523.0600.bz2

  # Several files, merged into one stream in record-time order (as bgpreader merges dumps)
  bgp-connector read rrc06.updates.20150401.0000.gz route-views.jinx.updates.20150401.0000.bz2

  # bgpreader's data interfaces: one file, or the dumps a CSV index lists
  bgp-connector read -d singlefile -o upd-file=updates.20160811.1600.gz
  bgp-connector read -d csvfile -o csv-file=dumps.csv -c rrc06 -w 2015-04-01,2015-04-01T00:15
  bgp-connector read -d csvfile -o '?'           # a data interface's options

  # The same in bgpdump -m lines (diff-able against bgpdump's own output)
  bgp-connector read -m updates.20160811.1600.gz

  # JSON lines, with large/extended communities and ADD-PATH ids
  bgp-connector read --format json updates.et-header.2015.gz | jq .prefix

  # Record lines (bgpreader -r), e.g. to find corrupted records (status R)
  bgp-connector read -r bview.20000111.0032.gz | grep '|R|'

  # From stdin, with a summary on stderr
  curl -s https://data.ris.ripe.net/rrc00/latest-update.gz | bgp-connector read -v -

  # Only what you need: bgpreader's filter flags and -n
  bgp-connector read -k 193.0.0.0/21 -j 3333 -n 100 rib.bz2`

type readFlags struct {
	format    string
	records   bool
	elems     bool
	bgpdump   bool
	headers   bool
	project   string
	collector string
	typ       string
	verbose   bool
	progress  bool
	di        string
	diOpts    []string
	ribPeriod int
	live      bool
}

// readFilter holds the values of bgpreader's filter flags.
var readFilter *filter.Flags

var readOpts readFlags

var readCmd = &cobra.Command{
	Use:   "read [FILE... | -]",
	Short: "Print the elems of MRT files, BMP streams or bgpreader's data interfaces, like bgpreader or bgpdump",
	Long: `read decodes MRT archives (TABLE_DUMP, TABLE_DUMP_V2 incl. ADD-PATH, BGP4MP,
BGP4MP_ET, the 1999-2000 BGP type and BGP4MP_ENTRY), BMP and OpenBMP streams,
gzip, bzip2, xz, zstd or uncompressed (detected by magic bytes for every input
type), and prints one line per elem on stdout. Several inputs are merged into
one stream ordered by record time, exactly as bgpreader merges its dumps; each
input is decoded on its own goroutine.

Inputs: FILE arguments ("-" is stdin), or bgpreader's data interfaces with -d
and -o: singlefile (-o rib-file=F, -o upd-file=F, -o rib-type=mrt|bmp,
-o upd-type=mrt|bmp), csvfile (-o csv-file=F: libbgpstream's 7-column CSV
path,project,type,collector,filetime,timespan,timestamp). "-o ?" lists the
options of the data interface chosen with -d. Records of FILE arguments and
singlefile are labelled project and collector "singlefile" unless --project
and --collector say otherwise; csvfile rows carry their own labels.

Formats (--format, or bgpreader's -e, -m, -r):
  bgpreader  bgpreader's 16 columns: rec-type|elem-type|time|project|collector|
             router|router-ip|peer-asn|peer-ip|prefix|next-hop|as-path|
             origin-as|communities|old-state|new-state, with R|B and R|E lines
             where a RIB dump begins and ends (the default; -e)
  bgpdump    exactly what 'bgpdump -m' prints (-m)
  json       one object per elem with every field: large and extended
             communities, ADD-PATH path id, originator, cluster list, OTC,
             unknown attributes, RFC 7606 errors, BMP context
  -r prints one line per record instead (bgpreader -r), -i the format first.

Selection: -p project, -c collector, -t ribs|updates select dumps (csvfile) and
records; -w start[,end] (repeatable: windows OR together; unix seconds or
'Y-m-d [H:M[:S]]' UTC) reads records in the window and stops reading a dump at
the first record past its end; -P N keeps at most one RIB per collector every
N seconds; -f and the other filter flags select elems.

Damaged input: a corrupted record or a damaged region is a warning (stderr;
at most 10 per input, then a count) and reading goes on from the next
plausible record. Exit status: 0 when every input was read (warnings
allowed); 1 when an input could not be opened, ended inside a record, held
no record at all, or was mostly skipped as damaged; 2 for bad flags, a bad
filter or a bad data interface option.`,
	Example: readExamples,
	RunE:    runRead,
}

func init() {
	fs := readCmd.Flags()
	fs.StringVar(&readOpts.format, "format", "bgpreader", "output format: bgpreader, bgpdump or json")
	fs.BoolVarP(&readOpts.records, "records", "r", false, "print one line per record (bgpreader -r) instead of one per elem")
	fs.BoolVarP(&readOpts.elems, "output-elems", "e", false, "print one line per elem (the default; bgpreader -e)")
	fs.BoolVarP(&readOpts.bgpdump, "output-bgpdump", "m", false, "print bgpdump -m lines (same as --format bgpdump; bgpreader -m)")
	fs.BoolVarP(&readOpts.headers, "output-headers", "i", false, "print the format of the lines before the output (bgpreader -i)")
	fs.StringVar(&readOpts.project, "project", "", `project label of the records of FILE arguments and singlefile (default "singlefile")`)
	fs.StringVar(&readOpts.collector, "collector", "", `collector label of the records of FILE arguments and singlefile (default "singlefile")`)
	fs.StringVar(&readOpts.typ, "type", "auto", "input type of FILE arguments: mrt, bmp, openbmp or auto (by magic bytes)")
	fs.StringVarP(&readOpts.di, "data-interface", "d", "", "data interface: singlefile, csvfile or files (the default with FILE arguments); see -o '?'")
	fs.StringArrayVarP(&readOpts.diOpts, "data-interface-option", "o", nil, "data interface option key=value (repeatable); '?' lists the options of -d")
	fs.IntVarP(&readOpts.ribPeriod, "rib-period", "P", 0, "read at most one RIB dump per collector every N seconds (0 = all)")
	fs.BoolVarP(&readOpts.live, "live", "l", false, "live mode: follow new data after what exists, until interrupted")
	fs.BoolVarP(&readOpts.verbose, "verbose", "v", false, "print a summary on stderr: records, elems, corrupted records, gaps, speed (bgpreader's -v is --version here)")
	fs.BoolVar(&readOpts.progress, "progress", false, "print progress on stderr every second (default when stderr is a terminal)")
	// bgpreader's filter flags. The read command's own --project,
	// --collector (labels) and --type (input type) take precedence over the
	// filter flags of the same long names; -p, -c and -t are bgpreader's.
	ff := pflag.NewFlagSet("filter", pflag.ContinueOnError)
	readFilter = addFilterFlags(ff)
	ff.VisitAll(func(f *pflag.Flag) {
		if fs.Lookup(f.Name) != nil {
			return
		}
		if f.Shorthand != "" && fs.ShorthandLookup(f.Shorthand) != nil {
			f.Shorthand = ""
		}
		fs.AddFlag(f)
	})
	rootCmd.AddCommand(readCmd)
}

func runRead(cmd *cobra.Command, args []string) error {
	format := readOpts.format
	if readOpts.bgpdump {
		if cmd.Flags().Changed("format") && format != "bgpdump" {
			return usageError{fmt.Errorf("-m (bgpdump lines) and --format %s contradict each other", format)}
		}
		format = "bgpdump"
	}
	f, err := text.ParseFormat(format)
	if err != nil {
		return usageError{err}
	}
	switch readOpts.typ {
	case "auto", "mrt", "bmp", "openbmp":
	default:
		return usageError{fmt.Errorf("--type %q: want mrt, bmp, openbmp or auto", readOpts.typ)}
	}
	for _, o := range readOpts.diOpts {
		if strings.TrimSpace(o) == "?" {
			return listDIOptions(cmd.OutOrStdout(), readOpts.di)
		}
	}
	streamOpts, err := readStreamOptions(args)
	if err != nil {
		return usageError{err}
	}
	cfg := readConfig{
		Options:   text.Options{Format: f, Records: readOpts.records, Limit: int64(readFilter.Count)},
		Project:   readOpts.project,
		Collector: readOpts.collector,
		Type:      readOpts.typ,
		Stream:    streamOpts,
		Verbose:   readOpts.verbose,
	}
	if err := cfg.Options.Validate(); err != nil {
		return usageError{err}
	}
	if readOpts.progress || isTerminal(os.Stderr) {
		cfg.Progress = os.Stderr
	}
	if readOpts.headers {
		printHeaders(cmd.OutOrStdout(), cfg.Options)
	}
	start := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	sum, err := readInputs(ctx, &cfg, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
	if readOpts.verbose {
		sum.print(cmd.ErrOrStderr(), time.Since(start))
	}
	if ctx.Err() != nil {
		return interrupted{} // what was read is printed; a live read ends here
	}
	return err
}

// interrupted is the error of a command stopped by SIGINT or SIGTERM after
// a clean stop (exit status 130, no message).
type interrupted struct{}

func (interrupted) Error() string { return "interrupted" }

// readStreamOptions turns the data interface and selection flags into
// stream options.
func readStreamOptions(args []string) ([]bgpstream.Option, error) {
	var opts []bgpstream.Option
	if readOpts.di != "" {
		if _, ok := bgpstream.LookupDataInterface(readOpts.di); !ok {
			return nil, fmt.Errorf("-d %q: unknown data interface (have %s)", readOpts.di, diNames())
		}
		opts = append(opts, bgpstream.DataInterface(readOpts.di))
	}
	for _, o := range readOpts.diOpts {
		k, v, ok := strings.Cut(o, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("-o %q: want key=value (-o '?' lists the options)", o)
		}
		di := readOpts.di
		if di == "" {
			di = "files"
		}
		opts = append(opts, bgpstream.DataInterfaceOption(di, strings.TrimSpace(k), v))
	}
	if len(args) == 0 && readOpts.di == "" {
		return nil, errors.New("read needs FILE arguments (or - for stdin), or a data interface: -d singlefile -o upd-file=FILE, -d csvfile -o csv-file=FILE")
	}
	// -p, -c, -t and -w select dumps as well as records: they go to the
	// stream as such; the other filter flags make its filter.
	fl := *readFilter
	opts = append(opts, bgpstream.Projects(fl.Projects...), bgpstream.Collectors(fl.Collectors...), bgpstream.RecordTypes(fl.Types...))
	for _, w := range fl.Windows {
		win, err := filter.ParseWindow(w)
		if err != nil {
			return nil, &filter.FlagError{Flag: "-w", Value: w, Msg: err.Error()}
		}
		opts = append(opts, bgpstream.Interval(win.Start, win.End))
	}
	fl.Projects, fl.Collectors, fl.Types, fl.Windows = nil, nil, nil, nil
	flt, err := fl.Build(time.Now())
	if err != nil {
		return nil, err
	}
	if s := flt.String(); s != "" {
		opts = append(opts, bgpstream.Filter(s))
	}
	if readOpts.ribPeriod < 0 {
		return nil, fmt.Errorf("-P %d: the RIB period is a number of seconds", readOpts.ribPeriod)
	}
	opts = append(opts, bgpstream.RIBPeriod(time.Duration(readOpts.ribPeriod)*time.Second))
	if readOpts.live {
		opts = append(opts, bgpstream.Live())
	}
	return opts, nil
}

func diNames() string {
	var n []string
	for _, d := range bgpstream.DataInterfaces() {
		n = append(n, d.Name)
	}
	return strings.Join(n, ", ")
}

// listDIOptions prints a data interface's options (bgpreader -o '?').
func listDIOptions(w io.Writer, di string) error {
	if di == "" {
		fmt.Fprintln(w, "Data interfaces (-d):")
		for _, d := range bgpstream.DataInterfaces() {
			fmt.Fprintf(w, "   %-15s%s\n", d.Name, d.Description)
		}
		fmt.Fprintln(w, "\nChoose one with -d NAME; then -o '?' lists its options.")
		return nil
	}
	info, ok := bgpstream.LookupDataInterface(di)
	if !ok {
		return usageError{fmt.Errorf("-d %q: unknown data interface (have %s)", di, diNames())}
	}
	fmt.Fprintf(w, "Data interface options for '%s':\n", info.Name)
	for _, o := range info.Options {
		rep := ""
		if o.Repeatable {
			rep = " (repeatable)"
		}
		fmt.Fprintf(w, "   %-15s%s%s\n", o.Name, o.Description, rep)
	}
	return nil
}

// printHeaders prints bgpreader -i's format description.
func printHeaders(w io.Writer, o text.Options) {
	if o.Format != text.FormatBGPReader {
		return
	}
	if o.Records {
		fmt.Fprint(w, "# Record format:\n# <type>|<dump-pos>|<rec-ts-sec>.<rec-ts-usec>|<project>|<collector>|<router>|<router-ip>|<status>|<dump-time>\n#\n"+
			"# <type>: R RIB, U Update\n# <dump-pos>:  B begin, M middle, E end\n# <status>:    V valid, E empty, F filtered, O outside interval,\n#              R corrupted record, S corrupted source\n#\n")
		return
	}
	fmt.Fprint(w, "# Elem format:\n# <rec-type>|<elem-type>|<rec-ts-sec>.<rec-ts-usec>|<project>|<collector>|<router>|<router-ip>|<peer-ASN>|<peer-IP>|<prefix>|<next-hop-IP>|<AS-path>|<origin-AS>|<communities>|<old-state>|<new-state>\n#\n"+
		"# <rec-type>: R RIB, U Update\n# <elem-type>: R RIB, A announcement, W withdrawal, S state message\n#\n")
}

// readConfig is everything the read pipeline needs.
type readConfig struct {
	text.Options
	// Project and Collector label the records of FILE arguments.
	Project, Collector string
	// Type is mrt, bmp, openbmp or auto (FILE arguments).
	Type string
	// Stream are the data interface, selection and filter options.
	Stream []bgpstream.Option
	// Progress, when set, receives a progress line every second.
	Progress io.Writer
	// ReaderOpts are extra options for the MRT reader (tests use small
	// buffers).
	ReaderOpts []mrt.ReaderOpt
	// Now, when set, replaces the clock that dates dumps (tests).
	Now func() time.Time
	// Verbose prints a line per input as it ends (-v).
	Verbose bool
}

// readSummary counts what a read saw.
type readSummary struct {
	Files                  int
	Records, Elems, Lines  int64
	Corrupted, Unsupported int64
	Gaps, BytesSkipped     int64
	LengthRepairs          int64 // MRT records whose short declared length was repaired
	Bytes, CompressedBytes int64
	Compressed             bool
	FailedFiles            int
}

func (s *readSummary) print(w io.Writer, d time.Duration) {
	rate := float64(s.Elems) / max(d.Seconds(), 1e-9)
	fmt.Fprintf(w, "read: %d inputs, %d records (%d corrupted, %d unsupported), %d elems, %d lines printed\n",
		s.Files, s.Records, s.Corrupted, s.Unsupported, s.Elems, s.Lines)
	comp := "uncompressed"
	if s.Compressed {
		comp = fmt.Sprintf("%d compressed", s.CompressedBytes)
	}
	fmt.Fprintf(w, "read: %d gaps, %d bytes skipped, %d short record lengths repaired, %d bytes decoded (%s), %.2fs, %.0f elems/s\n",
		s.Gaps, s.BytesSkipped, s.LengthRepairs, s.Bytes, comp, d.Seconds(), rate)
}

// maxWarnings is how many warnings are printed per input; the rest are
// counted.
const maxWarnings = 10

// warner prints damage warnings, at most maxWarnings per input.
type warner struct {
	mu    sync.Mutex
	w     io.Writer
	count map[string]int
	order []string
}

func (wr *warner) damage(d *bgpstream.Damage) {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	n := wr.count[d.Source]
	if n == 0 {
		wr.order = append(wr.order, d.Source)
	}
	wr.count[d.Source] = n + 1
	if n < maxWarnings {
		fmt.Fprintf(wr.w, "warning: %v\n", d)
	}
}

func (wr *warner) finish() {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	for _, src := range wr.order {
		if n := wr.count[src]; n > maxWarnings {
			fmt.Fprintf(wr.w, "warning: %s: %d more warnings not shown\n", src, n-maxWarnings)
		}
	}
}

// readInputs prints the stream of the inputs (file names, "-" for stdin,
// and the data interface of cfg.Stream) to out, warnings to errOut, and
// returns the summary and an error when an input could not be read
// completely or the output failed.
func readInputs(ctx context.Context, cfg *readConfig, names []string, stdin io.Reader, out, errOut io.Writer) (readSummary, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	var sum readSummary
	wr := &warner{w: errOut, count: map[string]int{}}
	var failMu sync.Mutex
	failed := 0
	opts := []bgpstream.Option{
		bgpstream.Labels(cfg.Project, cfg.Collector),
		bgpstream.InputFormat(cfg.Type),
		bgpstream.OnDamage(wr.damage),
		bgpstream.OnResourceError(func(err error) {
			failMu.Lock()
			failed++
			failMu.Unlock()
			fmt.Fprintf(errOut, "bgp-connector: %v\n", err)
		}),
		bgpstream.Warnings(func(msg string) { fmt.Fprintf(errOut, "warning: %s\n", msg) }),
		bgpstream.ReaderOptions(cfg.ReaderOpts...),
	}
	if cfg.Verbose {
		var mu sync.Mutex
		opts = append(opts, bgpstream.OnInputDone(func(in bgpstream.InputSummary) {
			mu.Lock()
			defer mu.Unlock()
			st := in.Stats
			status := "read"
			if in.Err != nil {
				status = "FAILED"
			}
			fmt.Fprintf(errOut, "read: %s %s (%s %s): %d records (%d corrupted), %d gaps, %d bytes skipped, %d bytes (%s)\n",
				status, in.Name, in.Project, in.Collector, st.Records, st.Corrupted, st.Gaps, st.BytesSkipped, st.CompressedBytes, st.Compression)
		}))
	}
	if len(names) > 0 {
		opts = append(opts, bgpstream.Files(names...))
	}
	if stdin != nil {
		opts = append(opts, bgpstream.Stdin(stdin))
	}
	if cfg.Now != nil {
		opts = append(opts, bgpstream.Clock(cfg.Now))
	}
	opts = append(opts, cfg.Stream...)
	s, err := bgpstream.New(opts...)
	if err != nil {
		return sum, usageError{err}
	}
	defer s.Close()
	w := text.NewWriter(out, cfg.Options)
	var prog *progress
	if cfg.Progress != nil {
		prog = startProgress(cfg.Progress, s)
	}
	err = s.Run(ctx, w)
	if prog != nil {
		prog.stop()
	}
	wr.finish()
	st := s.Stats()
	sum = readSummary{Files: int(st.Resources), Records: st.Records, Elems: st.Elems, Lines: w.Stats().Lines,
		Corrupted: st.Corrupted, Unsupported: st.Unsupported, Gaps: st.Gaps, BytesSkipped: st.BytesSkipped,
		LengthRepairs: st.LengthRepairs, Bytes: st.Bytes, CompressedBytes: st.CompressedBytes, Compressed: st.Compressed,
		FailedFiles: failed}
	if err != nil && !errors.Is(err, text.ErrLimit) {
		if errors.Is(err, context.Canceled) {
			return sum, err
		}
		return sum, fmt.Errorf("writing output: %w", err)
	}
	if failed > 0 {
		return sum, fmt.Errorf("%d of %d inputs could not be read completely", failed, sum.Files)
	}
	return sum, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress prints the stream's counters to a terminal every second.
type progress struct {
	done     chan struct{}
	finished chan struct{}
}

func startProgress(w io.Writer, s *bgpstream.Stream) *progress {
	p := &progress{done: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(p.finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-p.done:
				fmt.Fprint(w, "\r\033[K")
				return
			case now := <-t.C:
				fmt.Fprint(w, "\r\033[K"+progressLine(s.Stats(), now.Sub(start)))
			}
		}
	}()
	return p
}

// progressLine is the one-line progress of a read: inputs done of those
// known, bytes read, elems and their rate, and for several inputs an ETA
// from the inputs left.
func progressLine(st bgpstream.Stats, elapsed time.Duration) string {
	line := fmt.Sprintf("%d/%d inputs, %.1f MB, %d elems, %.0f elems/s", st.Done, st.Queued,
		float64(st.CompressedBytes)/1e6, st.Elems, float64(st.Elems)/max(elapsed.Seconds(), 1e-3))
	if st.Queued > 1 && st.Done > 0 && st.Done < st.Queued {
		eta := time.Duration(float64(elapsed) * float64(st.Queued-st.Done) / float64(st.Done))
		line += fmt.Sprintf(", ETA %s", eta.Round(time.Second))
	}
	return line
}

func (p *progress) stop() {
	close(p.done)
	<-p.finished
}
