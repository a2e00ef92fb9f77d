package bgpstream

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// Option configures a Stream (see New). Options are applied in order; New
// validates them all at once and reports every problem.
type Option func(*config)

// config is what the options set.
type config struct {
	di        string                // data interface name ("" = default)
	diOpts    []diOption            // DataInterfaceOption values, in order
	filters   []string              // Filter expressions, ANDed
	windows   []filter.Window       // Interval values, ORed
	projects  []string              // Projects
	colls     []string              // Collectors
	types     []string              // RecordTypes
	files     []string              // Files
	project   string                // Labels: project of plain files
	collector string                // Labels: collector of plain files
	format    string                // InputFormat of plain files
	ribPeriod time.Duration         // RIBPeriod
	live      bool                  // Live
	now       func() time.Time      // clock (tests)
	log       *slog.Logger          // Logger
	warn      func(string)          // Warnings
	damage    func(*Damage)         // OnDamage
	failed    func(error)           // OnResourceError
	readerOpt []mrt.ReaderOpt       // ReaderOptions
	stdin     io.Reader             // Stdin
	inputDone func(InputSummary)    // OnInputDone
	problems  []string              // option errors found while applying
	extra     []func(*Stream) error // hooks run by New (tests)
}

type diOption struct{ di, key, value string }

func (c *config) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// DataInterface selects the data interface, as bgpreader's -d: "singlefile"
// (a RIB file and/or an updates file given with DataInterfaceOption), "csvfile"
// (a CSV index of dump files, libbgpstream's 7 columns), or "files" (the
// paths given with Files; the default when Files is used). DataInterfaces
// lists them with their options.
func DataInterface(name string) Option { return func(c *config) { c.di = name } }

// DataInterfaceOption sets an option of a data interface, exactly as
// bgpreader's "-o key=value" (e.g. DataInterfaceOption("singlefile",
// "upd-file", "updates.gz")). An option may repeat where the interface
// says so. DataInterfaceOptions lists each interface's options.
func DataInterfaceOption(di, key, value string) Option {
	return func(c *config) { c.diOpts = append(c.diOpts, diOption{di, key, value}) }
}

// Filter adds a filter in BGPStream's filter language (e.g. "collector
// rrc00 and type updates and prefix more 10.0.0.0/8"; see package filter).
// Several filters AND together.
func Filter(expr string) Option { return func(c *config) { c.filters = append(c.filters, expr) } }

// Interval selects records from from to until, inclusive, as bgpreader's
// -w. A zero until means no end: the stream is live (it reads what exists,
// then follows new data until its context ends). Several intervals OR
// together.
func Interval(from, until time.Time) Option {
	return func(c *config) {
		if from.IsZero() {
			c.problem("Interval: the start is zero (use time.Unix(0, 0) for the epoch)")
			return
		}
		if !until.IsZero() && until.Before(from) {
			c.problem("Interval: the end %s is before the start %s", until.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
			return
		}
		w := filter.Window{Start: from.UTC()}
		if !until.IsZero() {
			w.End = until.UTC()
		}
		c.windows = append(c.windows, w)
	}
}

// Projects selects the projects to read (ris, routeviews, ...): a data
// interface that lists dumps (csvfile, later the archive brokers) reads
// only theirs, and records of other projects are filtered out.
func Projects(names ...string) Option {
	return func(c *config) { c.projects = append(c.projects, filter.SplitList(names)...) }
}

// Collectors selects the collectors to read (rrc00, route-views2, ...), as
// Projects does for projects.
func Collectors(names ...string) Option {
	return func(c *config) { c.colls = append(c.colls, filter.SplitList(names)...) }
}

// RecordTypes selects "ribs" and/or "updates".
func RecordTypes(types ...string) Option {
	return func(c *config) {
		for _, t := range filter.SplitList(types) {
			switch t {
			case "ribs", "updates":
				c.types = append(c.types, t)
			case "rib", "update":
				c.types = append(c.types, t+"s")
			default:
				c.problem("RecordTypes: %q is not a record type: use ribs or updates", t)
			}
		}
	}
}

// Files adds files to read (MRT, BMP or OpenBMP, any compression; "-" is
// standard input). They are merged in record-time order with each other and
// with the data interface's resources. Labels sets their project and
// collector ("singlefile" by default).
func Files(paths ...string) Option { return func(c *config) { c.files = append(c.files, paths...) } }

// Labels sets the project and collector of the records of Files (bgpreader
// labels a single file "singlefile").
func Labels(project, collector string) Option {
	return func(c *config) { c.project, c.collector = project, collector }
}

// InputFormat sets the format of Files: "mrt", "bmp", "openbmp", or "auto"
// (the default: detected from the decompressed first bytes).
func InputFormat(format string) Option { return func(c *config) { c.format = format } }

// RIBPeriod keeps at most one RIB dump per collector per period, as
// bgpreader's -P (0: every RIB).
func RIBPeriod(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.problem("RIBPeriod: %v is negative", d)
			return
		}
		c.ribPeriod = d
	}
}

// Live makes the stream follow new data after what exists, until its
// context ends (bgpreader's -l); an Interval without an end implies it.
func Live() Option { return func(c *config) { c.live = true } }

// Logger sets the logger of the stream's notices (default slog.Default).
func Logger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Warnings sets a function receiving one-line notices about the stream as
// a whole (e.g. a filter naming a project no input carries). By default
// they go to the Logger at warn level.
func Warnings(fn func(msg string)) Option { return func(c *config) { c.warn = fn } }

// OnDamage sets a function receiving each piece of damage the inputs hold,
// as it is read: a gap skipped or a corrupted record, each naming its input
// and byte offset (Damage.Error). It is called from the inputs' reader
// goroutines, concurrently, and must not keep the Damage. Damage is also
// counted in Stats.
func OnDamage(fn func(d *Damage)) Option { return func(c *config) { c.damage = fn } }

// OnResourceError sets a function receiving each input that could not be
// read to its end (a *ResourceError) when the stream is read with Run; the
// stream goes on with the others. By default such errors are logged.
// Iterators yield them instead.
func OnResourceError(fn func(err error)) Option { return func(c *config) { c.failed = fn } }

// ReaderOptions passes options to the MRT reader of every input (buffer
// sizes, bzip2 workers); the defaults suit almost everyone.
func ReaderOptions(opts ...mrt.ReaderOpt) Option {
	return func(c *config) { c.readerOpt = append(c.readerOpt, opts...) }
}

// Clock sets the clock that dates plain files (bgpreader's singlefile dump
// time is when a file was queued) and anchors relative intervals; default
// time.Now.
func Clock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// OptionError lists every problem New found in its options, one per line.
type OptionError struct {
	Problems []string
}

// Error returns the problems, one per line.
func (e *OptionError) Error() string {
	if len(e.Problems) == 1 {
		return "bgpstream: " + e.Problems[0]
	}
	return "bgpstream: " + fmt.Sprint(len(e.Problems)) + " problems:\n  " + strings.Join(e.Problems, "\n  ")
}

// ErrNoInput means a stream was configured with nothing to read.
var ErrNoInput = errors.New("nothing to read: give files, or a data interface with its options (e.g. singlefile with upd-file)")

// Stdin sets what the file name "-" reads (default os.Stdin).
func Stdin(r io.Reader) Option { return func(c *config) { c.stdin = r } }

// InputSummary is what one input of a stream read: its name and labels,
// its counts, and the error that ended it early (nil when read to its
// end).
type InputSummary struct {
	Name, Project, Collector string
	Stats                    ingest.FileStats
	Err                      error
}

// OnInputDone sets a function called as each input ends (from its reader
// goroutine, concurrently), e.g. for a per-dump summary.
func OnInputDone(fn func(InputSummary)) Option { return func(c *config) { c.inputDone = fn } }
