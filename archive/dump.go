package archive

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// RIBDuration is the nominal duration of a RIB dump: the CAIDA broker's
// convention (libbgpstream's test CSV gives RIBs 120 s). It decides which
// RIB overlaps a window: the RIB named 06:00 covers [06:00, 06:02).
const RIBDuration = 2 * time.Minute

// Nominal update-file cadences of the two archives.
const (
	RISUpdatesDuration        = 5 * time.Minute
	RouteViewsUpdatesDuration = 15 * time.Minute
)

// Project names (the CAIDA broker's).
const (
	ProjectRIS        = "ris"
	ProjectRouteViews = "routeviews"
)

// Dump types.
const (
	TypeRIBs    = "ribs"
	TypeUpdates = "updates"
)

// Dump is one archive file (or stream resource) with the labels the index
// gives it.
type Dump struct {
	// URL is where the bytes are: http(s)://, file://, or a local path. A
	// stream resource's URL is what its broker gave (a Kafka address).
	URL string
	// Project is "ris" or "routeviews" (CAIDA names; a CAIDA stream
	// resource may be "ris-live" or "routeviews-stream"); Collector is
	// "rrc00", "route-views2", "route-views.jinx".
	Project, Collector string
	// Type is "ribs" or "updates".
	Type string
	// Start is the nominal start (the broker's initialTime, the time in
	// the file name).
	Start time.Time
	// Duration is the nominal length: 5 min for RIS updates, 15 min for
	// RouteViews updates, RIBDuration for RIBs, 0 for a stream resource
	// (it never ends).
	Duration time.Duration
	// Size is the expected size in bytes when the index knows it exactly,
	// else 0.
	Size int64
	// Format is "mrt" (the default when empty), "bmp" or "ris-live".
	Format string
	// Transport is "file" or "http" for a dump, "kafka" for a stream
	// resource of the CAIDA broker.
	Transport string
	// Attrs holds further labels, e.g. "kafka-topics" of a stream resource.
	Attrs map[string]string
}

// End is Start+Duration; the zero time for a stream resource (Duration 0).
func (d Dump) End() time.Time {
	if d.Duration <= 0 {
		return time.Time{}
	}
	return d.Start.Add(d.Duration)
}

// Name is the base name of the dump's URL ("updates.20100227.1600.gz").
func (d Dump) Name() string {
	u := d.URL
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return path.Base(u)
}

// IsStream reports whether d is a stream resource (Kafka), not a file.
func (d Dump) IsStream() bool { return d.Transport == "kafka" }

// String is "<project>/<collector> <type> <start> <url>", for logs.
func (d Dump) String() string {
	return fmt.Sprintf("%s/%s %s %s %s", d.Project, d.Collector, d.Type, d.Start.UTC().Format("2006-01-02T15:04:05Z"), d.URL)
}

// Overlaps reports whether the dump's interval [Start, Start+Duration)
// overlaps the window [w.Start, w.End] (End inclusive; zero End: open). A
// stream resource (Duration 0) lasts forever from its Start.
func (d Dump) Overlaps(w Window) bool {
	if !w.End.IsZero() && d.Start.After(w.End) {
		return false
	}
	return d.Duration <= 0 || d.Start.Add(d.Duration).After(w.Start)
}

// Window is a time window [Start, End], End inclusive. A zero End is open:
// live, no end.
type Window struct{ Start, End time.Time }

// Open reports whether the window has no end.
func (w Window) Open() bool { return w.End.IsZero() }

// String is "start,end" in RFC 3339 ("start," when open).
func (w Window) String() string {
	s := w.Start.UTC().Format(time.RFC3339) + ","
	if !w.End.IsZero() {
		s += w.End.UTC().Format(time.RFC3339)
	}
	return s
}

// Query is what an Index is asked. Empty lists mean "all".
type Query struct {
	// Projects: "ris", "routeviews" (aliases riperis, ripe-ris,
	// route-views, rv are accepted).
	Projects []string
	// Collectors: "rrc00", "route-views2", ...
	Collectors []string
	// Types: "ribs", "updates" (rib, update accepted).
	Types []string
	// Windows: at least one; a dump is selected when it overlaps any.
	Windows []Window
	// RIBPeriod is bgpreader's -P: at most one RIB per collector per
	// period (a RIB is kept when it starts at least RIBPeriod after the
	// last RIB kept for its collector); 0 keeps all.
	RIBPeriod time.Duration
}

// Index answers "which dumps of these projects, collectors and types overlap
// these windows".
type Index interface {
	// Find returns the dumps sorted by Start, then ribs before updates,
	// then collector, de-duplicated by URL. Labels come from the index.
	Find(ctx context.Context, q Query) ([]Dump, error)
}

// Incremental is an Index that can also answer "what was added since my
// last answer" (the CAIDA broker's dataAddedSince). A Poller uses it instead
// of re-listing a moving window.
type Incremental interface {
	Index
	// FindAdded is Find limited to dumps the index learnt of at or after
	// since (zero: all), and returns the index's own time of the answer,
	// to pass as since next time.
	FindAdded(ctx context.Context, q Query, since time.Time) (dumps []Dump, asOf time.Time, err error)
}

// ProjectName returns the CAIDA name of a project given under any of the
// names the brokers accept ("ris", "riperis", "ripe-ris", "ripe" → "ris";
// "routeviews", "route-views", "rv" → "routeviews"), or false.
func ProjectName(s string) (string, bool) {
	switch strings.ToLower(s) {
	case "ris", "riperis", "ripe-ris", "ripe":
		return ProjectRIS, true
	case "routeviews", "route-views", "rv":
		return ProjectRouteViews, true
	}
	return "", false
}

// typeName returns "ribs" or "updates" for the accepted spellings.
func typeName(s string) (string, bool) {
	switch strings.ToLower(s) {
	case "ribs", "rib", "r":
		return TypeRIBs, true
	case "updates", "update", "u":
		return TypeUpdates, true
	}
	return "", false
}

// normalize validates q and returns it with canonical project and type
// names. Streams allows project names other than ris and routeviews (the
// CAIDA broker's stream projects).
func (q Query) normalize(anyProject bool) (Query, error) {
	var errs []error
	out := q
	out.Projects = nil
	for _, p := range q.Projects {
		if c, ok := ProjectName(p); ok {
			out.Projects = appendUnique(out.Projects, c)
		} else if anyProject && p != "" {
			out.Projects = appendUnique(out.Projects, p)
		} else {
			errs = append(errs, fmt.Errorf("Query.Projects: unknown project %q (want ris or routeviews)", p))
		}
	}
	out.Types = nil
	for _, t := range q.Types {
		c, ok := typeName(t)
		if !ok {
			errs = append(errs, fmt.Errorf("Query.Types: unknown type %q (want ribs or updates)", t))
			continue
		}
		out.Types = appendUnique(out.Types, c)
	}
	out.Collectors = nil
	for _, c := range q.Collectors {
		if c == "" {
			errs = append(errs, errors.New("Query.Collectors: empty collector name"))
			continue
		}
		out.Collectors = appendUnique(out.Collectors, c)
	}
	if len(q.Windows) == 0 {
		errs = append(errs, errors.New("Query.Windows: at least one window is required"))
	}
	for i, w := range q.Windows {
		switch {
		case w.Start.IsZero():
			errs = append(errs, fmt.Errorf("Query.Windows[%d]: zero start", i))
		case !w.End.IsZero() && w.End.Before(w.Start):
			errs = append(errs, fmt.Errorf("Query.Windows[%d]: end %s before start %s", i, w.End.UTC().Format(time.RFC3339), w.Start.UTC().Format(time.RFC3339)))
		}
	}
	if q.RIBPeriod < 0 {
		errs = append(errs, fmt.Errorf("Query.RIBPeriod: negative (%s)", q.RIBPeriod))
	}
	if len(errs) > 0 {
		return q, fmt.Errorf("archive: %w", errors.Join(errs...))
	}
	return out, nil
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// wants reports whether the query's project, collector and type lists
// admit a dump.
func (q Query) wants(d Dump) bool {
	return admits(q.Projects, d.Project) && admits(q.Collectors, d.Collector) && admits(q.Types, d.Type)
}

func admits(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// overlapsAny reports whether d overlaps one of the windows.
func overlapsAny(d Dump, ws []Window) bool {
	for _, w := range ws {
		if d.Overlaps(w) {
			return true
		}
	}
	return false
}

// SortDumps sorts dumps as every Index returns them: by Start, then ribs
// before updates, then collector, then URL.
func SortDumps(ds []Dump) {
	sort.SliceStable(ds, func(i, j int) bool { return dumpLess(ds[i], ds[j]) })
}

func dumpLess(a, b Dump) bool {
	if !a.Start.Equal(b.Start) {
		return a.Start.Before(b.Start)
	}
	if a.Type != b.Type {
		return a.Type == TypeRIBs
	}
	if a.Collector != b.Collector {
		return a.Collector < b.Collector
	}
	return a.URL < b.URL
}

// finish is the common tail of every Find: keep what the query wants and
// the windows overlap, sort, de-duplicate by URL, apply the RIB period.
func finish(q Query, ds []Dump) []Dump {
	out := ds[:0]
	for _, d := range ds {
		if q.wants(d) && overlapsAny(d, q.Windows) {
			out = append(out, d)
		}
	}
	SortDumps(out)
	out = dedupe(out, nil)
	if q.RIBPeriod > 0 {
		var rp ribPeriod
		out = rp.filter(out, q.RIBPeriod)
	}
	return out
}

// dedupe drops dumps whose URL was seen earlier in ds or is in seen (which
// it then updates, when not nil).
func dedupe(ds []Dump, seen map[string]bool) []Dump {
	if seen == nil {
		seen = make(map[string]bool, len(ds))
	}
	out := ds[:0]
	for _, d := range ds {
		if seen[d.URL] {
			continue
		}
		seen[d.URL] = true
		out = append(out, d)
	}
	return out
}

// ribPeriod is bgpreader's -P filter (libbgpstream's wanted_resource): the
// first RIB of a collector is kept, then each RIB that starts at least
// period after the last one kept. It keeps its state across calls (a
// Poller's).
type ribPeriod struct{ last map[string]time.Time }

func (rp *ribPeriod) filter(ds []Dump, period time.Duration) []Dump {
	if rp.last == nil {
		rp.last = map[string]time.Time{}
	}
	out := ds[:0]
	for _, d := range ds {
		if d.Type == TypeRIBs {
			k := d.Project + "." + d.Collector
			if last, ok := rp.last[k]; ok && d.Start.Before(last.Add(period)) {
				continue
			}
			rp.last[k] = d.Start
		}
		out = append(out, d)
	}
	return out
}
