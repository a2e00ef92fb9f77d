package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/emit/text"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/mrt"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

const readExamples = `  # Every elem of a RouteViews RIB, as bgpreader prints them
  bgp-connector read rib.20140523.0600.bz2

  # The same in bgpdump -m lines (diff-able against bgpdump's own output)
  bgp-connector read --format bgpdump updates.20160811.1600.gz

  # JSON lines, with large/extended communities and ADD-PATH ids
  bgp-connector read --format json updates.et-header.2015.gz | jq .prefix

  # Record lines (bgpreader -r), e.g. to find corrupted records (status R)
  bgp-connector read --records bview.20000111.0032.gz | grep '|R|'

  # From stdin, with a summary on stderr
  curl -s https://data.ris.ripe.net/rrc00/latest-update.gz | bgp-connector read -v -

  # Only what you need: bgpreader's filter flags and -n
  bgp-connector read -k 193.0.0.0/21 -j 3333 -n 100 rib.bz2`

type readFlags struct {
	format    string
	records   bool
	project   string
	collector string
	typ       string
	verbose   bool
	progress  bool
}

// readFilter holds the values of bgpreader's filter flags.
var readFilter *filter.Flags

var readOpts readFlags

var readCmd = &cobra.Command{
	Use:   "read FILE... | -",
	Short: "Print the elems of MRT files (or BMP streams) like bgpreader or bgpdump",
	Long: `read decodes MRT archives (TABLE_DUMP, TABLE_DUMP_V2 incl. ADD-PATH, BGP4MP,
BGP4MP_ET, the 1999-2000 BGP type and BGP4MP_ENTRY), gzip, bzip2, xz, zstd or
uncompressed, and prints one line per elem on stdout.

Formats (--format):
  bgpreader  bgpreader's 16 columns: rec-type|elem-type|time|project|collector|
             router|router-ip|peer-asn|peer-ip|prefix|next-hop|as-path|
             origin-as|communities|old-state|new-state, with R|B and R|E lines
             where a RIB dump begins and ends (the default)
  bgpdump    exactly what 'bgpdump -m' prints
  json       one object per elem with every field: large and extended
             communities, ADD-PATH path id, originator, cluster list, OTC,
             unknown attributes, RFC 7606 errors, BMP context

Damaged input: a corrupted record is a warning (stderr) and reading goes on
from the next plausible record; the exit status is 0. A file that cannot be
opened, or that ends inside a record, prints everything before the damage and
makes the exit status 1.`,
	Example: readExamples,
	Args: func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError{errors.New("read needs at least one FILE (or - for stdin)")}
		}
		return nil
	},
	RunE: runRead,
}

func init() {
	fs := readCmd.Flags()
	fs.StringVar(&readOpts.format, "format", "bgpreader", "output format: bgpreader, bgpdump or json")
	fs.BoolVar(&readOpts.records, "records", false, "print one line per record (bgpreader -r) instead of one per elem")
	fs.StringVar(&readOpts.project, "project", "singlefile", "project label of the records")
	fs.StringVar(&readOpts.collector, "collector", "singlefile", "collector label of the records")
	fs.StringVar(&readOpts.typ, "type", "auto", "input type: mrt, bmp, openbmp or auto (by magic bytes)")
	fs.BoolVarP(&readOpts.verbose, "verbose", "v", false, "print a summary on stderr: records, elems, corrupted records, gaps, speed")
	fs.BoolVar(&readOpts.progress, "progress", false, "print progress on stderr every second (default when stderr is a terminal)")
	// bgpreader's filter flags. The read command's own --project,
	// --collector (labels) and --type (input type) take precedence over the
	// filter flags of the same names; their filters remain available with
	// -f ("project ris", "collector rrc00", "type ribs").
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
	f, err := text.ParseFormat(readOpts.format)
	if err != nil {
		return usageError{err}
	}
	switch readOpts.typ {
	case "auto", "mrt", "bmp", "openbmp":
	default:
		return usageError{fmt.Errorf("--type %q: want mrt, bmp, openbmp or auto", readOpts.typ)}
	}
	cfg := readConfig{
		Options:   text.Options{Format: f, Records: readOpts.records, Limit: int64(readFilter.Count)},
		Project:   readOpts.project,
		Collector: readOpts.collector,
		Type:      readOpts.typ,
	}
	if err := cfg.Options.Validate(); err != nil {
		return usageError{err}
	}
	flt, err := readFilter.Build(time.Now())
	if err != nil {
		return usageError{err}
	}
	if flt != nil && flt.String() != "" {
		m := flt.NewMatcher() // used by the Writer's one goroutine only
		cfg.Keep = m.Match
		cfg.Prefilter = flt
	}
	if readOpts.progress || isTerminal(os.Stderr) {
		cfg.Progress = os.Stderr
	}
	start := time.Now()
	sum, err := readInputs(cmd.Context(), &cfg, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
	if readOpts.verbose {
		sum.print(cmd.ErrOrStderr(), time.Since(start))
	}
	return err
}

// readConfig is everything the read pipeline needs.
type readConfig struct {
	text.Options
	// Project and Collector label the records.
	Project, Collector string
	// Type is mrt, bmp, openbmp or auto.
	Type string
	// Prefilter lets the decoder skip elems the filter would drop.
	Prefilter mrt.Prefilter
	// Progress, when set, receives a progress line every second.
	Progress io.Writer
	// ReaderOpts are extra options for the MRT reader (tests use small
	// buffers).
	ReaderOpts []mrt.ReaderOpt
	// Now, when set, replaces the clock that dates dumps (tests).
	Now func() time.Time
}

func (c *readConfig) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// readSummary counts what a read saw.
type readSummary struct {
	Files                  int
	Records, Elems, Lines  int64
	Corrupted, Unsupported int64
	Gaps, BytesSkipped     int64
	LengthRepairs          int64 // MRT records whose short declared length was repaired
	Bytes, CompressedBytes int64
	FailedFiles            int
}

func (s *readSummary) print(w io.Writer, d time.Duration) {
	rate := float64(s.Elems) / max(d.Seconds(), 1e-9)
	fmt.Fprintf(w, "read: %d files, %d records (%d corrupted, %d unsupported), %d elems, %d lines printed\n",
		s.Files, s.Records, s.Corrupted, s.Unsupported, s.Elems, s.Lines)
	fmt.Fprintf(w, "read: %d gaps, %d bytes skipped, %d short record lengths repaired, %d bytes decoded (%d compressed), %.2fs, %.0f elems/s\n",
		s.Gaps, s.BytesSkipped, s.LengthRepairs, s.Bytes, s.CompressedBytes, d.Seconds(), rate)
}

// Batch thresholds: a batch is handed to the writer when it holds this many
// records or elems (whichever first), keeping memory small and both cores
// busy.
const (
	batchRecords = 512
	batchElems   = 2048
	maxWarnings  = 10 // per file; the rest are counted
)

// readInputs prints the elems of every input (a file name or "-" for stdin)
// to out, warnings to errOut, and returns the summary and an error naming
// each input that could not be read completely.
func readInputs(ctx context.Context, cfg *readConfig, names []string, stdin io.Reader, out, errOut io.Writer) (readSummary, error) {
	var sum readSummary
	w := text.NewWriter(out, cfg.Options)
	var prog *progress
	if cfg.Progress != nil {
		prog = startProgress(cfg.Progress)
	}
	var errs []error
	for _, name := range names {
		if (ctx != nil && ctx.Err() != nil) || errors.Is(w.Err(), text.ErrLimit) {
			break
		}
		sum.Files++
		err := readInput(ctx, cfg, name, stdin, w, errOut, &sum, prog)
		if errors.Is(err, text.ErrLimit) {
			break
		}
		if werr := w.Err(); werr != nil && !errors.Is(werr, text.ErrLimit) {
			break // writing failed: Close reports it once
		}
		if err != nil {
			sum.FailedFiles++
			fmt.Fprintf(errOut, "bgp-connector: %v\n", err)
			errs = append(errs, err)
		}
	}
	st, werr := w.Close()
	if prog != nil {
		prog.stop()
	}
	sum.Lines = st.Lines
	if werr != nil {
		return sum, fmt.Errorf("writing output: %w", werr)
	}
	if len(errs) > 0 {
		return sum, fmt.Errorf("%d of %d inputs could not be read completely", len(errs), sum.Files)
	}
	return sum, nil
}

// readInput reads one input through w.
func readInput(ctx context.Context, cfg *readConfig, name string, stdin io.Reader, w *text.Writer, errOut io.Writer, sum *readSummary, prog *progress) error {
	var r io.Reader
	// bgpreader's singlefile interface dates the dump of a file by when it
	// queued the file for reading (the dump-time column of record lines).
	dumpTime := cfg.now().Unix()
	if name == "-" {
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	br := bufio.NewReaderSize(r, 64<<10)
	typ := cfg.Type
	if typ == "auto" {
		typ = detectType(br)
	}
	if typ == "bmp" || typ == "openbmp" {
		return readBMP(ctx, cfg, name, br, typ, dumpTime, w, errOut, sum, prog)
	}
	el := mrt.NewElementor()
	el.Project, el.Collector = cfg.Project, cfg.Collector
	if cfg.Prefilter != nil {
		el.Prefilter = cfg.Prefilter
	}
	sc, err := mrt.NewScanner(br, el, append([]mrt.ReaderOpt{mrt.WithName(name)}, cfg.ReaderOpts...)...)
	if err != nil {
		return err
	}
	defer sc.Reader().Close()

	warnings := 0
	warn := func(format string, args ...any) {
		warnings++
		if warnings <= maxWarnings {
			fmt.Fprintf(errOut, "warning: "+format+"\n", args...)
		}
	}
	startPending := false // the dump started with a PEER_INDEX_TABLE
	records := 0          // records found (not gaps)
	var ferr error
	for {
		if ctx != nil && ctx.Err() != nil {
			ferr = ctx.Err()
			break
		}
		b := w.Batch()
		err := sc.Fill(b, batchElems, batchRecords)
		for i := range b.Records {
			rec := &b.Records[i]
			rec.DumpTime = dumpTime
			// bgpreader's dump starts at the first RIB record: a
			// PEER_INDEX_TABLE is internal to the dump and not printed.
			if rec.Format == decode.FormatTableDumpV2 && rec.MRTSubtype == 1 {
				if rec.DumpPos == decode.DumpStart {
					rec.DumpPos, startPending = decode.DumpMiddle, true
				}
			} else if startPending {
				if rec.DumpPos == decode.DumpMiddle {
					rec.DumpPos = decode.DumpStart
				}
				startPending = false
			}
			var gap *mrt.GapError
			if rec.Status != decode.StatusCorruptedRecord || !errors.As(rec.Err, &gap) {
				records++
			}
			switch rec.Status {
			case decode.StatusCorruptedRecord:
				if gap != nil {
					warn("%v", rec.Err)
				} else {
					sum.Corrupted++
					warn("%s: corrupted record: %v", name, rec.Err)
				}
			case decode.StatusUnsupported:
				sum.Unsupported++
			}
		}
		if serr := send(w, b, sum, prog); serr != nil {
			return serr
		}
		if err != nil {
			if err != io.EOF {
				ferr = err
			}
			break
		}
	}
	st := sc.Reader().Stats()
	sum.Gaps += st.Gaps
	sum.BytesSkipped += st.BytesSkipped
	sum.LengthRepairs += st.LengthRepairs
	sum.Bytes += st.Bytes
	sum.CompressedBytes += st.CompressedBytes
	if warnings > maxWarnings {
		fmt.Fprintf(errOut, "warning: %s: %d more warnings not shown\n", name, warnings-maxWarnings)
	}
	if ferr == nil && records == 0 && st.BytesSkipped > 0 {
		ferr = fmt.Errorf("%s: no MRT record found (%d bytes skipped): not an MRT file?", name, st.BytesSkipped)
	}
	return ferr
}

// readBMP reads a raw BMP stream or a sequence of OpenBMP messages through
// w. BMP has no dumps: every record is an update record.
func readBMP(ctx context.Context, cfg *readConfig, name string, r io.Reader, typ string, dumpTime int64, w *text.Writer, errOut io.Writer, sum *readSummary, prog *progress) error {
	kind := openbmp.KindUnknown // detect (also length-prefixed and text headers)
	if cfg.Type == "bmp" {
		kind = openbmp.KindBMP
	} else if cfg.Type == "openbmp" {
		kind = openbmp.KindOpenBMP
	}
	sr := openbmp.NewStreamReader(r, kind)
	dec := openbmp.NewDecoder(openbmp.WithProject(cfg.Project), openbmp.WithCollector(cfg.Collector))
	var res openbmp.Result
	var lastErr error
	frames := 0
	warnings := 0
	b := w.Batch()
	var ferr error
	for {
		if ctx != nil && ctx.Err() != nil {
			ferr = ctx.Err()
			break
		}
		frame, err := sr.Next()
		if err != nil {
			if err == io.EOF {
				break
			}
			// A damaged frame in the middle of the stream is a warning: the
			// next call resynchronises on the next valid frame. A cut at the
			// end, an I/O error, or a stream that is not BMP at all (the
			// same error again, or a version error before any frame) is
			// fatal.
			fatal := err == lastErr || errors.Is(err, openbmp.ErrTruncated) ||
				(frames == 0 && errors.Is(err, openbmp.ErrVersion))
			if fatal {
				ferr = fmt.Errorf("%s: %w", name, err)
				break
			}
			lastErr = err
			sum.Gaps++
			if warnings++; warnings <= maxWarnings {
				fmt.Fprintf(errOut, "warning: %s: %v; skipping to the next valid message\n", name, err)
			}
			continue
		}
		frames++
		if derr := dec.Decode(frame, &res); derr != nil {
			if res.Record.Status == decode.StatusCorruptedRecord {
				sum.Corrupted++
				if warnings++; warnings <= maxWarnings {
					fmt.Fprintf(errOut, "warning: %s: message at offset %d: %v\n", name, sr.Offset(), derr)
				}
			} else {
				sum.Unsupported++
			}
		}
		res.Record.Offset = sr.Offset()
		res.Record.DumpTime = dumpTime
		ri := b.AddRecord(&res.Record)
		var src, own *decode.Attrs // elems of one UPDATE share their Attrs
		for i := range res.Elems {
			e := res.Elems[i]
			if e.Attrs != nil {
				if e.Attrs != src {
					src, own = e.Attrs, b.NewAttrs()
					own.CopyFrom(src)
					b.Own(own)
				}
				e.Attrs = own
			}
			b.AddElem(ri, &e)
		}
		if len(b.Records) >= batchRecords || len(b.Elems) >= batchElems {
			if err := send(w, b, sum, prog); err != nil {
				return err
			}
			b = w.Batch()
		}
	}
	sum.BytesSkipped += sr.Skipped()
	if warnings > maxWarnings {
		fmt.Fprintf(errOut, "warning: %s: %d more warnings not shown\n", name, warnings-maxWarnings)
	}
	if err := send(w, b, sum, prog); err != nil {
		return err
	}
	return ferr
}

// send counts b and hands it to w.
func send(w *text.Writer, b *decode.Batch, sum *readSummary, prog *progress) error {
	sum.Records += int64(len(b.Records))
	sum.Elems += int64(len(b.Elems))
	if prog != nil {
		prog.records.Store(sum.Records)
		prog.elems.Store(sum.Elems)
	}
	return w.Write(b)
}

// detectType guesses the input type from its first bytes: compressed data
// and anything not BMP is MRT (the MRT reader detects the compression).
func detectType(br *bufio.Reader) string {
	p, _ := br.Peek(8)
	switch {
	case len(p) >= 2 && p[0] == 0x1f && p[1] == 0x8b, // gzip
		len(p) >= 3 && string(p[:3]) == "BZh",              // bzip2
		len(p) >= 4 && string(p[:4]) == "\x28\xb5\x2f\xfd", // zstd
		len(p) >= 6 && string(p[:6]) == "\xfd7zXZ\x00":     // xz
		return "mrt"
	}
	switch openbmp.Detect(p) {
	case openbmp.KindOpenBMP, openbmp.KindOpenBMPText:
		return "openbmp"
	case openbmp.KindBMP, openbmp.KindLengthPrefixed:
		return "bmp"
	}
	return "mrt"
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress prints counters to a terminal every second.
type progress struct {
	records, elems atomic.Int64
	done           chan struct{}
	finished       chan struct{}
}

func startProgress(w io.Writer) *progress {
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
				e := p.elems.Load()
				fmt.Fprintf(w, "\r\033[K%d records, %d elems, %.0f elems/s", p.records.Load(), e, float64(e)/now.Sub(start).Seconds())
			}
		}
	}()
	return p
}

func (p *progress) stop() {
	close(p.done)
	<-p.finished
}
