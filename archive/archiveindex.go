package archive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Default archive roots.
const (
	DefaultRISBase        = "https://data.ris.ripe.net"
	DefaultRouteViewsBase = "https://archive.routeviews.org"
)

// ArchiveOptions configure NewArchiveIndex. A base is an http(s) URL, a
// file:// URL or a local path (a mirror laid out like the archive).
type ArchiveOptions struct {
	// Base is one root for both projects, a mirror holding the RIS and
	// RouteViews trees side by side (rrcNN/YYYY.MM/...,
	// route-views.X/bgpdata/YYYY.MM/..., bgpdata/YYYY.MM/... for
	// route-views2). bgpreader -o base=.
	Base string
	// RISBase and RouteViewsBase set one project's root; they win over
	// Base. Defaults DefaultRISBase and DefaultRouteViewsBase.
	RISBase, RouteViewsBase string
	// Collectors replaces the built-in collector list (DefaultCollectors).
	Collectors []Collector
	// CollectorsFile names a file read with ReadCollectorsFile that
	// replaces the built-in list (bgpreader -o collectors-file=). Not
	// together with Collectors.
	CollectorsFile string
	// Listings is how many directory listings are read at once. Default 4.
	Listings int
	// HTTP configures requests (timeouts, retries, proxy).
	HTTP HTTPOptions
}

// ArchiveIndex is an Index over the archives' directory listings (or a
// local mirror's directories).
type ArchiveIndex struct {
	bases      map[string]base
	collectors []Collector
	listings   int
	http       HTTPOptions
}

// base is one project root: a URL (http or https) or a local directory
// (with fileURL when it was given as file://).
type base struct {
	url     string // http(s) root without a trailing slash, or ""
	dir     string // local root, or ""
	fileURL bool
}

func parseBase(s string) (base, error) {
	s = strings.TrimSuffix(s, "/")
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return base{}, fmt.Errorf("%q is not a valid URL", s)
		}
		return base{url: s}, nil
	}
	if strings.HasPrefix(s, "file://") {
		u, err := url.Parse(s)
		if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
			return base{}, fmt.Errorf("%q is not a file:///path URL", s)
		}
		return base{dir: u.Path, fileURL: true}, nil
	}
	if strings.Contains(s, "://") {
		return base{}, fmt.Errorf("%q: unsupported scheme (want http, https, file or a path)", s)
	}
	if s == "" {
		return base{}, errors.New("empty")
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return base{}, err
	}
	return base{dir: abs}, nil
}

// join returns the base joined with a relative path, as a URL or a path.
func (b base) join(rel string) base {
	if b.url != "" {
		return base{url: b.url + "/" + rel}
	}
	return base{dir: filepath.Join(b.dir, filepath.FromSlash(rel)), fileURL: b.fileURL}
}

// location is the URL (or path) of a file under the base.
func (b base) location(name string) string {
	switch {
	case b.url != "":
		return b.url + "/" + url.PathEscape(name)
	case b.fileURL:
		return "file://" + filepath.ToSlash(filepath.Join(b.dir, name))
	default:
		return filepath.Join(b.dir, name)
	}
}

// NewArchiveIndex returns an Index that reads the archives' directory
// listings (or a local mirror's directories) instead of asking a broker.
// The options are validated here; the error names the option.
func NewArchiveIndex(o ArchiveOptions) (*ArchiveIndex, error) {
	var errs []error
	ix := &ArchiveIndex{bases: map[string]base{}, listings: o.Listings}
	setBase := func(project, opt, v, def string) {
		if v == "" {
			v = def
		}
		b, err := parseBase(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("ArchiveOptions.%s: %w", opt, err))
			return
		}
		ix.bases[project] = b
	}
	risOpt, rvOpt := "RISBase", "RouteViewsBase"
	risDef, rvDef := DefaultRISBase, DefaultRouteViewsBase
	if o.Base != "" {
		risDef, rvDef = o.Base, o.Base
		if o.RISBase == "" {
			risOpt = "Base"
		}
		if o.RouteViewsBase == "" {
			rvOpt = "Base"
		}
	}
	setBase(ProjectRIS, risOpt, o.RISBase, risDef)
	setBase(ProjectRouteViews, rvOpt, o.RouteViewsBase, rvDef)
	switch {
	case o.CollectorsFile != "" && o.Collectors != nil:
		errs = append(errs, errors.New("ArchiveOptions: Collectors and CollectorsFile are exclusive"))
	case o.CollectorsFile != "":
		cs, err := ReadCollectorsFile(o.CollectorsFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("ArchiveOptions.CollectorsFile: %w", err))
		}
		ix.collectors = cs
	case o.Collectors != nil:
		for i, c := range o.Collectors {
			p, ok := ProjectName(c.Project)
			if !ok || c.Name == "" {
				errs = append(errs, fmt.Errorf("ArchiveOptions.Collectors[%d]: want a project (ris, routeviews) and a name, got %q %q", i, c.Project, c.Name))
				continue
			}
			c.Project = p
			if c.Path == "" {
				c.Path = defaultPath(p, c.Name)
			}
			ix.collectors = append(ix.collectors, c)
		}
	default:
		ix.collectors = DefaultCollectors()
	}
	if ix.listings == 0 {
		ix.listings = 4
	} else if ix.listings < 0 {
		errs = append(errs, fmt.Errorf("ArchiveOptions.Listings: negative (%d)", o.Listings))
	}
	h, err := o.HTTP.withDefaults("ArchiveOptions.HTTP")
	if err != nil {
		errs = append(errs, err)
	}
	ix.http = h
	if len(errs) > 0 {
		return nil, fmt.Errorf("archive: archive index: %w", errors.Join(errs...))
	}
	return ix, nil
}

// Collectors returns the index's collector list.
func (ix *ArchiveIndex) Collectors() []Collector { return append([]Collector(nil), ix.collectors...) }

// root is where a collector's month directories live.
func (ix *ArchiveIndex) root(c Collector) (base, error) {
	if strings.Contains(c.Path, "://") || filepath.IsAbs(c.Path) {
		return parseBase(c.Path)
	}
	return ix.bases[c.Project].join(c.Path), nil
}

// listJob is one directory to list for one collector.
type listJob struct {
	c   Collector
	dir base
}

// Find lists the month directories the windows touch, for every collector
// the query selects, and returns the dumps they hold that overlap the
// windows. Names are read from the listings, never synthesized: early RIS
// months have off-grid minutes (updates.19990903.1041.gz).
func (ix *ArchiveIndex) Find(ctx context.Context, q Query) ([]Dump, error) {
	q, err := q.normalize(false)
	if err != nil {
		return nil, err
	}
	cs, err := ix.selectCollectors(q)
	if err != nil {
		return nil, err
	}
	months := monthsOf(q.Windows, time.Now())
	var jobs []listJob
	for _, c := range cs {
		root, err := ix.root(c)
		if err != nil {
			return nil, fmt.Errorf("archive: collector %s: path %q: %w", c.Name, c.Path, err)
		}
		for _, m := range months {
			month := root.join(m.Format("2006.01"))
			if c.Project == ProjectRIS {
				jobs = append(jobs, listJob{c, month})
				continue
			}
			if admits(q.Types, TypeRIBs) {
				jobs = append(jobs, listJob{c, month.join("RIBS")})
			}
			if admits(q.Types, TypeUpdates) {
				jobs = append(jobs, listJob{c, month.join("UPDATES")})
			}
		}
	}
	all, err := ix.runJobs(ctx, jobs)
	if err != nil {
		return nil, err
	}
	return finish(q, all), nil
}

// selectCollectors returns the collectors the query names (or all of the
// query's projects), or an error naming an unknown one.
func (ix *ArchiveIndex) selectCollectors(q Query) ([]Collector, error) {
	var out []Collector
	for _, c := range ix.collectors {
		if admits(q.Projects, c.Project) && admits(q.Collectors, c.Name) {
			out = append(out, c)
		}
	}
	for _, name := range q.Collectors {
		found := false
		for _, c := range out {
			found = found || c.Name == name
		}
		if !found {
			return nil, fmt.Errorf("archive: collector %q is not in the collector list of project(s) %v (ArchiveOptions.Collectors or CollectorsFile adds it)", name, q.Projects)
		}
	}
	return out, nil
}

// runJobs lists directories, ix.listings at a time, and turns their
// entries into dumps.
func (ix *ArchiveIndex) runJobs(ctx context.Context, jobs []listJob) ([]Dump, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		all   []Dump
		first error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, ix.listings)
	for _, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			items, err := ix.list(ctx, j.dir)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
					cancel()
				}
				return
			}
			all = append(all, dumpsOf(j.c, j.dir, items)...)
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return all, first
}

// list reads one directory; a missing one (404, ENOENT) is empty.
func (ix *ArchiveIndex) list(ctx context.Context, dir base) ([]listItem, error) {
	if dir.url != "" {
		body, err := getSmall(ctx, &ix.http, dir.url+"/", 64<<20)
		if errors.Is(err, ErrNotPublished) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return parseListing(body, dir.url+"/"), nil
	}
	ents, err := os.ReadDir(dir.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("archive: listing %s: %w", dir.dir, err)
	}
	items := make([]listItem, 0, len(ents))
	for _, e := range ents {
		it := listItem{name: e.Name()}
		if e.IsDir() {
			it.name += "/"
		} else if fi, err := e.Info(); err == nil {
			it.size, it.rough = fi.Size(), fi.Size()
		}
		items = append(items, it)
	}
	return items, nil
}

// dumpsOf turns the entries of one directory into labelled dumps.
//
// Durations are nominal: RIS updates 5 min, RouteViews updates 15 min,
// RIBs RIBDuration. RIS's first years wrote updates every 15 minutes at
// odd minutes (updates.20010131.2236.gz, .2251.gz): an off-grid RIS
// updates file lasts until the next file of its directory (at most 1 h),
// or 15 min when it is the last.
func dumpsOf(c Collector, dir base, items []listItem) []Dump {
	var out []Dump
	for _, it := range items {
		typ, start, ok := parseDumpName(it.name)
		if !ok {
			continue
		}
		d := Dump{URL: dir.location(it.name), Project: c.Project, Collector: c.Name, Type: typ, Start: start,
			Duration: nominalDuration(c.Project, typ), Size: it.size, Format: "mrt", Transport: "http"}
		if dir.url == "" {
			d.Transport = "file"
		}
		out = append(out, d)
	}
	if c.Project != ProjectRIS {
		return out
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	var prev *Dump
	for i := range out {
		d := &out[i]
		if d.Type != TypeUpdates {
			continue
		}
		if prev != nil && prev.Start.Minute()%5 != 0 {
			if gap := d.Start.Sub(prev.Start); gap > 0 && gap <= time.Hour {
				prev.Duration = gap
			}
		}
		if d.Start.Minute()%5 != 0 {
			d.Duration = 15 * time.Minute
		}
		prev = d
	}
	return out
}

// monthsOf returns the first instants of the months the windows touch,
// starting an hour before each window so that a dump begun in the previous
// month that still covers the window's start is listed. An open window
// runs to now.
func monthsOf(ws []Window, now time.Time) []time.Time {
	set := map[time.Time]bool{}
	for _, w := range ws {
		end := w.End
		if end.IsZero() || end.After(now) {
			end = now
		}
		m := monthStart(w.Start.Add(-time.Hour))
		for !m.After(end) {
			set[m] = true
			m = m.AddDate(0, 1, 0)
		}
	}
	out := make([]time.Time, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
