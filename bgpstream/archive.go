package bgpstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bgp-connector/bgp-connector/archive"
	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/ingest/rislive"
)

// The options every archive data interface takes (fetching and caching).
var fetchOptions = []OptionInfo{
	{Name: "cache-dir", Description: "keep every downloaded dump in this directory, shared safely by any number of processes (one download per file)"},
	{Name: "cache-only", Description: "true: read from the cache only, never the network (a missing dump is an error)"},
	{Name: "prefetch", Description: "dumps downloaded ahead while earlier ones are decoded (default 2)"},
	{Name: "timeout", Description: "connect and idle read timeout of a download, e.g. 30s (default 10s connect, 30s read)"},
	{Name: "retries", Description: "attempts per download or request before giving up (default 5)"},
	{Name: "poll-interval", Description: "live mode: wait between polls for new dumps, doubling after 10 empty polls up to 150s (default 20s, libbgpstream's)"},
	{Name: "ris-live-url", Description: "-p ris-live: the RIS Live feed read beside the dumps (default " + rislive.DefaultURL + "; the broker's own stream resources win)"},
}

func init() {
	register(&diSpec{
		info: DataInterfaceInfo{Name: "broker", Description: "Find dumps through the CAIDA BGPStream broker (API v2), then fetch them (the default, as bgpreader's)",
			Options: append([]OptionInfo{
				{Name: "url", Description: "broker URL (default " + archive.DefaultCAIDABrokerURL + ")"},
				{Name: "param", Description: "extra query parameter key=value sent to the broker", Repeatable: true},
			}, fetchOptions...)},
		make: func(s *Stream, o map[string][]string) (dataInterface, error) {
			idx, err := archiveIndex("broker", o, wantsStreams(s.cfg.projects))
			if err != nil {
				return nil, err
			}
			return newArchiveDI(s, "broker", idx, o)
		},
	})
	register(&diSpec{
		info: DataInterfaceInfo{Name: "bgpkit", Description: "Find dumps through the BGPKIT broker (API v3), then fetch them",
			Options: append([]OptionInfo{
				{Name: "url", Description: "broker URL (default " + archive.DefaultBGPKITBrokerURL + ")"},
			}, fetchOptions...)},
		make: func(s *Stream, o map[string][]string) (dataInterface, error) {
			idx, err := ArchiveIndex("bgpkit", o)
			if err != nil {
				return nil, err
			}
			return newArchiveDI(s, "bgpkit", idx, o)
		},
	})
	register(&diSpec{
		info: DataInterfaceInfo{Name: "archive", Description: "Find dumps in the RIS and RouteViews archives themselves (directory listings, no broker), or in a local mirror laid out like them",
			Options: append([]OptionInfo{
				{Name: "base", Description: "one root holding both archives' trees: a mirror path, file:// or http(s) URL"},
				{Name: "ris-base", Description: "RIS root (default " + archive.DefaultRISBase + ")"},
				{Name: "routeviews-base", Description: "RouteViews root (default " + archive.DefaultRouteViewsBase + ")"},
				{Name: "collectors-file", Description: "replaces the built-in collector list: 'project collector [path]' lines"},
			}, fetchOptions...)},
		make: func(s *Stream, o map[string][]string) (dataInterface, error) {
			idx, err := ArchiveIndex("archive", o)
			if err != nil {
				return nil, err
			}
			return newArchiveDI(s, "archive", idx, o)
		},
	})
}

// ArchiveIndex returns the archive.Index of the data interface di
// ("broker", "bgpkit" or "archive") built from its -o options exactly as
// read builds it (url, param; base, ris-base, routeviews-base,
// collectors-file; timeout, retries), for a caller that lists dumps
// without reading them (bgp-connector backfill). Options that only concern
// fetching (cache-dir, prefetch...) are ignored here.
func ArchiveIndex(di string, o map[string][]string) (archive.Index, error) {
	return archiveIndex(di, o, false)
}

// archiveIndex is ArchiveIndex; streams asks the CAIDA broker for stream
// resources (live feeds) beside the dumps.
func archiveIndex(di string, o map[string][]string, streams bool) (archive.Index, error) {
	h, err := httpOptions(o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", di, err)
	}
	var idx archive.Index
	switch di {
	case "broker":
		idx, err = archive.NewCAIDABroker(archive.BrokerOptions{URL: last(o, "url"), Params: o["param"], Streams: streams, HTTP: h})
	case "bgpkit":
		idx, err = archive.NewBGPKITBroker(archive.BGPKITOptions{URL: last(o, "url"), HTTP: h})
	case "archive":
		idx, err = archive.NewArchiveIndex(archive.ArchiveOptions{Base: last(o, "base"), RISBase: last(o, "ris-base"),
			RouteViewsBase: last(o, "routeviews-base"), CollectorsFile: last(o, "collectors-file"), HTTP: h})
	default:
		return nil, fmt.Errorf("%q is not an archive data interface (broker, bgpkit, archive)", di)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", di, err)
	}
	return idx, nil
}

func httpOptions(o map[string][]string) (archive.HTTPOptions, error) {
	var h archive.HTTPOptions
	if v := last(o, "timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return h, fmt.Errorf("timeout %q: want a duration such as 30s", v)
		}
		h.ConnectTimeout, h.ReadTimeout = d, d
	}
	if v := last(o, "retries"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return h, fmt.Errorf("retries %q: want a number of attempts, at least 1", v)
		}
		h.Attempts = n
	}
	return h, nil
}

func parseBool(name, v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s %q: want true or false", name, v)
	}
	return b, nil
}

// archiveDI lists dumps through an archive.Index (once, or live through a
// Poller) and reads them through a Fetcher.
type archiveDI struct {
	s      *Stream
	name   string
	idx    archive.Index
	q      archive.Query
	fetch  *archive.Fetcher
	poller *archive.Poller
	// cacheIdx lists the cache: the fallback when the index is unreachable.
	cacheIdx *archive.CacheIndex
	// streamRes are the live feeds asked for by project, opened once beside
	// the dumps; noDumps says only feeds were asked for.
	streamRes []archive.Dump
	noDumps   bool
	done      bool
	streams   atomic.Int64 // stream resources skipped
}

func newArchiveDI(s *Stream, name string, idx archive.Index, o map[string][]string) (dataInterface, error) {
	c := &s.cfg
	fo := archive.FetchOptions{CacheDir: last(o, "cache-dir")}
	var err error
	if fo.CacheOnly, err = parseBool("cache-only", last(o, "cache-only")); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if fo.HTTP, err = httpOptions(o); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if v := last(o, "prefetch"); v != "" {
		if fo.Prefetch, err = strconv.Atoi(v); err != nil || fo.Prefetch < 0 {
			return nil, fmt.Errorf("%s: prefetch %q: want a number of dumps", name, v)
		}
	}
	f, err := archive.NewFetcher(fo)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// Stream projects (ris-live, routeviews-stream) are live feeds, not
	// dumps: the CAIDA broker lists them as stream resources; for the other
	// indexes they are opened directly, beside the dumps.
	projects, streams := c.projects, []string(nil)
	if name != "broker" {
		projects = nil
		for _, p := range c.projects {
			if contains(streamProjects, p) {
				streams = append(streams, p)
			} else {
				projects = append(projects, p)
			}
		}
	}
	q := archive.Query{Projects: projects, Collectors: c.colls, Types: c.types, RIBPeriod: c.ribPeriod}
	for _, w := range c.windows {
		q.Windows = append(q.Windows, archive.Window{Start: w.Start, End: w.End})
	}
	if len(q.Windows) == 0 {
		// As bgpreader: no window means live, from now on.
		q.Windows = []archive.Window{{Start: c.now().UTC().Truncate(time.Second)}}
	}
	d := &archiveDI{s: s, name: name, idx: idx, q: q, fetch: f, noDumps: len(streams) > 0 && len(projects) == 0}
	now := c.now().Unix()
	for _, p := range streams {
		dm := archive.Dump{Project: p, Start: time.Unix(now, 0), Transport: "kafka"}
		switch p {
		case "ris-live":
			dm.URL, dm.Format = last(o, "ris-live-url"), "ris-live"
			if dm.URL == "" {
				dm.URL = rislive.DefaultURL
			}
		case "routeviews-stream":
			dm.URL, dm.Format = routeviewsStreamBrokers, "bmp"
			dm.Attrs = map[string]string{"kafka-topics": routeviewsStreamTopics}
		default:
			return nil, fmt.Errorf("%s: project %s: its stream is only listed by the CAIDA broker (-d broker)", name, p)
		}
		d.streamRes = append(d.streamRes, dm)
	}
	if fo.CacheDir != "" {
		ci, err := archive.NewCacheIndex(fo.CacheDir)
		switch {
		case fo.CacheOnly && err != nil:
			return nil, fmt.Errorf("%s: cache-only: %w", name, err)
		case fo.CacheOnly:
			d.idx = ci // offline: the cache is the index
		case err == nil:
			d.cacheIdx = ci
		}
	}
	if (s.live() || len(c.windows) == 0) && !fo.CacheOnly {
		po := archive.PollerOptions{Logger: c.log}
		if v := last(o, "poll-interval"); v != "" {
			if po.Interval, err = time.ParseDuration(v); err != nil || po.Interval <= 0 {
				return nil, fmt.Errorf("%s: poll-interval %q: want a duration such as 20s", name, v)
			}
			po.MaxInterval = max(po.Interval, 150*time.Second)
		}
		d.poller, err = archive.NewPoller(idx, q, po)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return d, nil
}

func (d *archiveDI) poll(ctx context.Context) ([]*resource, bool, error) {
	if d.done {
		return nil, true, nil
	}
	var dumps []archive.Dump
	var err error
	dumps, d.streamRes = d.streamRes, nil
	if d.noDumps {
		d.done = true
	} else if d.poller != nil {
		var found []archive.Dump
		found, err = d.poller.Next(ctx)
		dumps = append(dumps, found...)
	} else {
		var found []archive.Dump
		found, err = d.idx.Find(ctx, d.q)
		d.done = true
		if err != nil && d.cacheIdx != nil && ctx.Err() == nil {
			d.s.warnf("%s: %v; reading what the cache holds for the window instead", d.name, err)
			found, err = d.cacheIdx.Find(ctx, d.q)
		}
		dumps = append(dumps, found...)
	}
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", d.name, err)
	}
	var files []archive.Dump
	var out []*resource
	for _, dm := range dumps {
		if dm.IsStream() {
			if r := d.stream(dm); r != nil {
				out = append(out, r)
			}
			continue
		}
		files = append(files, dm)
		out = append(out, d.resource(dm))
	}
	d.fetch.Prefetch(ctx, files)
	return out, d.done, nil
}

func (d *archiveDI) resource(dm archive.Dump) *resource {
	rt := decode.RecordUpdate
	if dm.Type == archive.TypeRIBs {
		rt = decode.RecordRIB
	}
	s := d.s
	r := &resource{Name: dm.URL, Project: dm.Project, Collector: dm.Collector, Type: rt,
		InitialTime: dm.Start.Unix(), Duration: int64(dm.Duration / time.Second), DumpTime: dm.Start.Unix(), Format: dm.Format}
	r.open = func(ctx context.Context, small bool) (ingest.Source, error) {
		rc, err := d.fetch.Open(ctx, dm)
		if err != nil {
			return nil, err
		}
		src, err := ingest.NewFileSource(rc, s.fileOptions(r, small))
		if err != nil {
			rc.Close()
			return nil, err
		}
		return &closingSource{inner: src, c: rc}, nil
	}
	return r
}

// stream returns the resource of a stream the broker lists (bgpreader
// opens them beside the dumps): RIS Live (format ris-live) or a Kafka topic
// of BMP (format bmp, attr kafka-topics), merged in time with the dumps.
// It never ends; the stream is live from then on.
func (d *archiveDI) stream(dm archive.Dump) *resource {
	s := d.s
	r := &resource{Name: dm.URL, Project: dm.Project, Collector: dm.Collector, Type: decode.RecordUpdate,
		InitialTime: dm.Start.Unix(), DumpTime: dm.Start.Unix(), Format: dm.Format}
	switch dm.Format {
	case "ris-live":
		url := dm.URL
		if !strings.Contains(url, "://") {
			url = "" // not an address RIS Live answers on: the public one
		}
		sub := rislive.FromHints(s.filter.Hints())
		r.open = func(context.Context, bool) (ingest.Source, error) {
			return rislive.New(url, rislive.WithClientName("bgp-connector"), rislive.WithSubscribe(sub),
				rislive.WithProject(dm.Project), rislive.WithLogger(s.cfg.log))
		}
	case "bmp", "":
		topics := filter.SplitList([]string{dm.Attrs["kafka-topics"]})
		if len(topics) == 0 {
			d.s.warnf("%s: stream resource %s has no kafka-topics: skipped", d.name, dm.URL)
			return nil
		}
		seeds := filter.SplitList([]string{strings.TrimPrefix(dm.URL, "kafka://")})
		g := ingest.GroupOptions{Group: "bgpstream-" + randomID(), Topics: topics, ResetLatest: true, FetchMaxWait: 50 * time.Millisecond}
		vf := labelled{ValueFormat: ingest.BMPValues{}, project: dm.Project, collector: dm.Collector}
		r.open = func(ctx context.Context, _ bool) (ingest.Source, error) {
			return openKafka(ctx, s, seeds, g, vf, false, false)
		}
	default:
		if d.streams.Add(1) == 1 {
			d.s.warnf("%s lists a stream of format %q (%s) this reader does not read: skipped", d.name, dm.Format, dm.URL)
		}
		return nil
	}
	return r
}

// Close stops the fetcher's downloads.
func (d *archiveDI) Close() error { return d.fetch.Close() }

// closingSource is a source that closes its input with itself.
type closingSource struct {
	inner ingest.Source
	c     io.Closer
}

func (c *closingSource) Next(ctx context.Context, b *decode.Batch) error { return c.inner.Next(ctx, b) }

func (c *closingSource) NextN(ctx context.Context, b *decode.Batch, maxElems, maxRecords int) error {
	if s, ok := c.inner.(sizedSource); ok {
		return s.NextN(ctx, b, maxElems, maxRecords)
	}
	return c.inner.Next(ctx, b)
}

func (c *closingSource) Stats() ingest.FileStats {
	if s, ok := c.inner.(statsSource); ok {
		return s.Stats()
	}
	return ingest.FileStats{}
}

func (c *closingSource) Close() error {
	return errors.Join(c.inner.Close(), c.c.Close())
}

// streamProjects are the CAIDA broker's projects of live streams.
var streamProjects = []string{"ris-live", "routeviews-stream", "caida-bmp"}

// wantsStreams reports whether the projects asked for include a stream
// project: the broker is then asked for stream resources too.
func wantsStreams(projects []string) bool {
	for _, p := range projects {
		if contains(streamProjects, p) {
			return true
		}
	}
	return false
}
