package bgpstream

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// Stream is one time-ordered stream of records and elems out of any number
// of inputs (see New). Read it once, with Batches, Records or Elems; Close
// releases it. A Stream is not safe for concurrent use.
type Stream struct {
	cfg    config
	filter *filter.Filter
	dis    []dataInterface
	// endUS is the end of the last window (µs), when every window has an
	// end and the stream is not live: a dump is read only up to it.
	endUS int64

	stats     counters
	nres      atomic.Int64 // resources queued
	openCount atomic.Int64 // inputs open now
	closed    atomic.Bool
	idle      func() // called when the stream waits for input (Run: flush the sink)
	mu        sync.Mutex
	open      []*reader // readers started, for Close
	ran       bool
}

// New returns a stream configured by opts. Every option is checked before
// anything is opened; the error (an *OptionError) lists each problem.
func New(opts ...Option) (*Stream, error) {
	s := &Stream{}
	for _, o := range opts {
		o(&s.cfg)
	}
	c := &s.cfg
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	var expr []string
	for _, f := range c.filters {
		if strings.TrimSpace(f) != "" {
			expr = append(expr, "("+f+")")
		}
	}
	flags := filter.Flags{Projects: c.projects, Collectors: c.colls, Types: c.types}
	for _, w := range c.windows {
		flags.Windows = append(flags.Windows, windowText(w))
	}
	if len(expr) > 0 {
		flags.Filter = strings.Join(expr, " and ")
	}
	f, err := flags.Build(c.now())
	if err != nil {
		c.problem("Filter: %v", err)
	}
	s.filter = f
	if len(c.windows) > 0 && !c.live {
		for _, w := range c.windows {
			if w.End.IsZero() {
				s.endUS = 0
				break
			}
			s.endUS = max(s.endUS, w.End.UnixMicro())
		}
	}
	switch c.format {
	case "", "auto", "mrt", "bmp", "openbmp", "ris-live":
	default:
		c.problem("InputFormat: %q: want mrt, bmp, openbmp, ris-live or auto", c.format)
	}
	// Data interfaces and their options.
	byDI := map[string]map[string][]string{}
	for _, o := range c.diOpts {
		spec, ok := registry[o.di]
		if !ok {
			c.problem("DataInterfaceOption: unknown data interface %q (have %s)", o.di, diNames())
			continue
		}
		known := false
		for _, oi := range spec.info.Options {
			known = known || oi.Name == o.key
		}
		if !known {
			c.problem("DataInterfaceOption: %s has no option %q (its options: %s)", o.di, o.key, optNames(spec))
			continue
		}
		if byDI[o.di] == nil {
			byDI[o.di] = map[string][]string{}
		}
		byDI[o.di][o.key] = append(byDI[o.di][o.key], o.value)
	}
	di := c.di
	if di == "" {
		switch {
		case len(c.files) > 0:
			di = "files"
		case len(byDI) == 1:
			for name := range byDI {
				di = name // the interface the options were given for
			}
		default:
			di = "broker" // bgpreader's default
		}
	}
	spec, ok := registry[di]
	if !ok {
		c.problem("DataInterface: unknown data interface %q (have %s)", di, diNames())
	}
	for name := range byDI {
		if name != di {
			c.problem("DataInterfaceOption: options for %s, but the data interface is %s", name, di)
		}
	}
	if len(c.problems) == 0 {
		d, err := spec.make(s, byDI[di])
		if err != nil {
			c.problem("%v", err)
		} else {
			s.dis = append(s.dis, d)
		}
		if di != "files" && len(c.files) > 0 {
			fd, err := newFilesDI(s, nil)
			if err != nil {
				c.problem("%v", err)
			} else {
				s.dis = append(s.dis, fd)
			}
		}
	}
	if len(c.problems) > 0 {
		return nil, &OptionError{Problems: c.problems}
	}
	s.checkLabels(di)
	for _, h := range c.extra {
		if err := h(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkLabels warns when the filter selects projects or collectors that no
// input can carry: plain files are labelled "singlefile" unless Labels says
// otherwise.
func (s *Stream) checkLabels(di string) {
	c := &s.cfg
	if di != "singlefile" && di != "files" {
		return
	}
	proj, coll := s.labelProject(), s.labelCollector()
	var bad []string
	if len(c.projects) > 0 && !contains(c.projects, proj) {
		bad = append(bad, fmt.Sprintf("project %s", strings.Join(c.projects, ",")))
	}
	if len(c.colls) > 0 && !contains(c.colls, coll) {
		bad = append(bad, fmt.Sprintf("collector %s", strings.Join(c.colls, ",")))
	}
	if len(bad) > 0 {
		s.warnf("the filter selects %s but every input is labelled project %q, collector %q: nothing will match; label the files with --project/--collector (bgpstream.Labels)",
			strings.Join(bad, " and "), proj, coll)
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Stream) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if s.cfg.warn != nil {
		s.cfg.warn(msg)
		return
	}
	s.cfg.log.Warn(msg)
}

func diNames() string {
	var n []string
	for _, d := range DataInterfaces() {
		n = append(n, d.Name)
	}
	return strings.Join(n, ", ")
}

func optNames(d *diSpec) string {
	var n []string
	for _, o := range d.info.Options {
		n = append(n, o.Name)
	}
	return strings.Join(n, ", ")
}

func windowText(w filter.Window) string {
	t := fmt.Sprintf("%d", w.Start.Unix())
	if us := w.Start.UnixMicro() % 1e6; us != 0 {
		t = fmt.Sprintf("%d.%06d", w.Start.Unix(), us)
	}
	if !w.End.IsZero() {
		t += fmt.Sprintf(",%d", w.End.Unix())
	}
	return t
}

func (s *Stream) labelProject() string {
	if s.cfg.project != "" {
		return s.cfg.project
	}
	return "singlefile"
}

func (s *Stream) labelCollector() string {
	if s.cfg.collector != "" {
		return s.cfg.collector
	}
	return "singlefile"
}

func (s *Stream) live() bool {
	if s.cfg.live {
		return true
	}
	for _, w := range s.cfg.windows {
		if w.End.IsZero() {
			return true
		}
	}
	return false
}

func (s *Stream) pollInterval() time.Duration { return 20 * time.Second }

// manyInputs reports whether the stream has so many inputs that each one
// reads with small buffers (memory stays flat with thousands of files).
func (s *Stream) manyInputs() bool { return s.nres.Load() > 16 }

// wants reports whether a dump of this project, collector, type and file
// time is selected by the stream's projects, collectors, record types and
// windows (csvfile's filters_match).
func (s *Stream) wants(project, collector string, rt decode.RecordType, filetime int64) bool {
	c := &s.cfg
	if len(c.projects) > 0 && !contains(c.projects, project) {
		return false
	}
	if len(c.colls) > 0 && !contains(c.colls, collector) {
		return false
	}
	if len(c.types) > 0 && !contains(c.types, map[decode.RecordType]string{decode.RecordRIB: "ribs", decode.RecordUpdate: "updates"}[rt]) {
		return false
	}
	if len(c.windows) == 0 {
		return true
	}
	for _, w := range c.windows {
		// A dump's file time may lie up to 15 min + 120 s before the
		// window (RouteViews updates files cover 15 minutes).
		if filetime >= w.Start.Unix()-15*60-120 && (w.End.IsZero() || filetime <= w.End.Unix()) {
			return true
		}
	}
	return false
}

// Filter returns the stream's compiled filter (its filter expressions,
// projects, collectors, record types and intervals).
func (s *Stream) Filter() *filter.Filter { return s.filter }

// Close stops the stream's inputs. It is safe to call at any time, also
// while iterating (the iteration then ends), and more than once.
func (s *Stream) Close() error {
	s.closed.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.open {
		r.stop()
	}
	return nil
}

// Batches returns the stream as batches of records and elems, in
// record-time order, filtered. A batch (and everything it points to) is
// valid until the next iteration. An input that fails (cannot be opened, or
// ends inside a record) is reported as an error value (a *ResourceError)
// and the stream goes on with the others; any other error ends it. The
// stream is read once.
func (s *Stream) Batches(ctx context.Context) iter.Seq2[*decode.Batch, error] {
	return func(yield func(*decode.Batch, error) bool) {
		if s.ran {
			yield(nil, errors.New("bgpstream: a Stream is read once"))
			return
		}
		s.ran = true
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		m := &merger{s: s, ctx: ctx, yield: yield}
		m.run()
	}
}

// ResourceError is an input of the stream that could not be read (to its
// end): its name (path or URL) and the cause. The stream goes on with the
// other inputs.
type ResourceError struct {
	// Name is the input's path or URL.
	Name string
	// Err is the cause.
	Err error
}

// Error returns the cause, prefixed with the name unless it names it.
func (e *ResourceError) Error() string {
	msg := e.Err.Error()
	if strings.HasPrefix(msg, e.Name) {
		return msg
	}
	return e.Name + ": " + msg
}

// Unwrap returns the cause.
func (e *ResourceError) Unwrap() error { return e.Err }

// Damage is one piece of damage found in an input as it is read: a region
// skipped to resynchronise (Gap set) or a record that did not decode
// (Record set). It is reported to OnDamage and counted in Stats.
type Damage struct {
	// Source is the input's name (path or URL).
	Source string
	// Gap is the skipped region, for a gap.
	Gap *decode.Gap
	// Record is the corrupted record (valid only during the OnDamage call).
	Record *decode.Record
}

// Error describes the damage, naming the input and the byte offset.
func (d *Damage) Error() string {
	if d.Gap != nil {
		msg := d.Gap.Err.Error()
		if !strings.HasPrefix(msg, d.Source) {
			msg = d.Source + ": " + msg
		}
		if strings.Contains(msg, "skipped") { // an MRT gap says how much itself
			return msg
		}
		return fmt.Sprintf("%s; skipping %d bytes to the next valid message at offset %d", msg, d.Gap.Len(), d.Gap.End)
	}
	return fmt.Sprintf("%s: corrupted record at offset %d: %v", d.Source, d.Record.Offset, d.Record.Err)
}

// Unwrap returns the cause.
func (d *Damage) Unwrap() error {
	if d.Gap != nil {
		return d.Gap.Err
	}
	return d.Record.Err
}

// Stats count what a stream read.
type Stats struct {
	// Resources is the number of inputs (files, dumps) opened; Failed those
	// that could not be read to their end. Queued is the number of inputs
	// the data interfaces gave so far, Done those read to their end.
	Resources, Failed, Queued, Done int64
	// Records and Elems count what the stream delivered (elems after the
	// filter).
	Records, Elems int64
	// Corrupted and Unsupported count records with those statuses.
	Corrupted, Unsupported int64
	// Gaps counts damaged regions skipped, BytesSkipped their length.
	Gaps, BytesSkipped int64
	// LengthRepairs counts MRT records whose short length was repaired.
	LengthRepairs int64
	// Bytes counts uncompressed bytes read, CompressedBytes bytes read from
	// the inputs as stored; Compressed says whether any input was
	// compressed.
	Bytes, CompressedBytes int64
	Compressed             bool
}

type counters struct {
	resources, failed, records, elems, corrupted, unsupported, done atomic.Int64
	gaps, skipped, repairs, bytes, compressed                       atomic.Int64
	anyCompressed                                                   atomic.Bool
}

// Stats returns the stream's counts so far (safe to call while iterating,
// e.g. from a progress goroutine).
func (s *Stream) Stats() Stats {
	c := &s.stats
	return Stats{
		Resources: c.resources.Load(), Failed: c.failed.Load(), Queued: s.nres.Load(), Done: c.done.Load(),
		Records: c.records.Load(), Elems: c.elems.Load(),
		Corrupted: c.corrupted.Load(), Unsupported: c.unsupported.Load(), Gaps: c.gaps.Load(),
		BytesSkipped: c.skipped.Load(), LengthRepairs: c.repairs.Load(), Bytes: c.bytes.Load(),
		CompressedBytes: c.compressed.Load(), Compressed: c.anyCompressed.Load(),
	}
}

func (s *Stream) addFileStats(st ingest.FileStats) {
	c := &s.stats
	c.corrupted.Add(st.Corrupted)
	c.unsupported.Add(st.Unsupported)
	c.gaps.Add(st.Gaps)
	c.skipped.Add(st.BytesSkipped)
	c.repairs.Add(st.LengthRepairs)
	c.bytes.Add(st.Bytes)
	c.compressed.Add(st.CompressedBytes)
	if st.Compression != "" && st.Compression != "none" {
		c.anyCompressed.Store(true)
	}
}

// resource is one input of the stream: a file or dump with the labels its
// data interface gives it.
type resource struct {
	// Name is the path or URL.
	Name string
	// Project and Collector label its records.
	Project, Collector string
	// Type is the record type it holds.
	Type decode.RecordType
	// InitialTime (seconds) is when its first record is expected, and
	// Duration (seconds) the time it covers: the merge opens it when the
	// stream reaches it.
	InitialTime, Duration int64
	// DumpTime (seconds) dates its records (bgpreader's dump time).
	DumpTime int64
	// Format is its format ("" or "auto": detected).
	Format string
	// open opens it; small asks for small buffers (a probe, or a merge of
	// many inputs).
	open func(ctx context.Context, small bool) (ingest.Source, error)
}

// fileResource returns a resource for a file path ("-" is standard input).
func (s *Stream) fileResource(path, format, project, collector string, rt decode.RecordType, initial, span int64) *resource {
	r := &resource{Name: path, Project: project, Collector: collector, Type: rt, InitialTime: initial, Duration: span,
		DumpTime: initial, Format: format}
	r.open = func(ctx context.Context, small bool) (ingest.Source, error) {
		o := s.fileOptions(r, small)
		if opener := formatOpeners[format]; opener != nil {
			return opener(ctx, path, o)
		}
		if path == "-" {
			in := s.cfg.stdin
			if in == nil {
				in = os.Stdin
			}
			return ingest.NewFileSource(in, o)
		}
		return ingest.OpenFile(path, o)
	}
	return r
}

// fileOptions returns the options of a file source reading r (small:
// small buffers, for a probe or a merge of many inputs).
func (s *Stream) fileOptions(r *resource, small bool) ingest.FileOptions {
	o := ingest.FileOptions{Name: r.Name, Format: r.Format, Project: r.Project, Collector: r.Collector, DumpTime: r.DumpTime}
	if s.filter != nil && s.filter.String() != "" {
		o.Prefilter = s.filter
	}
	o.ReaderOpts = s.cfg.readerOpt
	if small {
		o.ReaderOpts = append([]mrt.ReaderOpt{mrt.WithChunkSize(16 << 10), mrt.WithBzip2Workers(1)}, o.ReaderOpts...)
	}
	return o
}

// formatOpeners open inputs of formats that ingest.FileSource does not
// read itself (RIS Live JSON lines).
var formatOpeners = map[string]func(ctx context.Context, path string, o ingest.FileOptions) (ingest.Source, error){}

// probe reads r's first record with small buffers to learn its time and
// record type; r keeps its defaults when that fails (the error shows when
// it is read).
func (r *resource) probe(s *Stream) {
	src, err := r.open(context.Background(), true)
	if err != nil {
		return
	}
	defer src.Close()
	b := new(decode.Batch)
	if fs, ok := src.(*ingest.FileSource); ok {
		err = fs.NextN(context.Background(), b, 2, 2)
	} else {
		err = src.Next(context.Background(), b)
	}
	for i := range b.Records {
		rec := &b.Records[i]
		if rec.Format == decode.FormatTableDumpV2 && rec.MRTSubtype == mrt.PeerIndexTable {
			continue
		}
		r.InitialTime, r.Type = rec.Time/1e6, rec.Type
		return
	}
	if err == nil && len(b.Records) > 0 {
		r.InitialTime, r.Type = b.Records[0].Time/1e6, b.Records[0].Type
	}
}
