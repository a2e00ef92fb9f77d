package archive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// PollerOptions configure NewPoller. The defaults are libbgpstream's.
type PollerOptions struct {
	// Interval is the wait between polls that found nothing. Default 20 s.
	Interval time.Duration
	// MaxInterval caps the wait. Default 150 s.
	MaxInterval time.Duration
	// BackoffAfter is how many empty polls in a row are made at Interval
	// before the wait doubles on each further empty poll. Default 10.
	BackoffAfter int
	// ErrorWait is the wait after a failed poll; it doubles on each
	// further failure up to ErrorMaxWait. Defaults 1 s and 900 s.
	ErrorWait, ErrorMaxWait time.Duration
	// Lookback is how far behind the newest dump seen a poll still looks
	// for late ones: a collector may publish an older dump after another
	// collector published a newer one (RIS bviews appear about 2 h 15 min
	// late). Default 6 h. Over the CAIDA broker a poll of an open window
	// costs Lookback/BrokerOptions.Chunk+1 small requests.
	Lookback time.Duration
	// Logger receives a Warn line for each failed poll. Default
	// slog.Default().
	Logger *slog.Logger
}

// Poller turns an Index into a live source of dumps: the first Next returns
// what exists now, each later one blocks until new dumps are published.
//
// An Incremental index (the CAIDA broker) is asked only for what it added
// since its last answer (dataAddedSince, minInitialTime); any other index
// is asked again for a window that moves with the newest dump seen (less
// Lookback), and the dumps it returned before are dropped by URL. Windows
// with an end are polled too, whole, until the context ends.
//
// Dumps come back sorted within one Next; a dump published late can start
// before one an earlier Next returned (the merge orders records). A
// Poller is not safe for concurrent use.
type Poller struct {
	idx    Index
	inc    Incremental
	q      Query
	o      PollerOptions
	seen   map[string]time.Time // URL → dump end (start for streams)
	newest time.Time            // newest dump end seen
	asOf   time.Time            // the Incremental index's time of its last answer
	rp     ribPeriod
	period time.Duration // the query's RIBPeriod, applied across polls
	first  bool
	empty  int // empty polls in a row
	wait   time.Duration
}

// NewPoller returns a Poller over idx for q (whose RIBPeriod it applies
// across polls). The options are validated here; the error names the
// option.
func NewPoller(idx Index, q Query, o PollerOptions) (*Poller, error) {
	var errs []error
	if idx == nil {
		errs = append(errs, errors.New("NewPoller: nil Index"))
	}
	nq, err := q.normalize(true)
	if err != nil {
		errs = append(errs, err)
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"Interval", &o.Interval, 20 * time.Second}, {"MaxInterval", &o.MaxInterval, 150 * time.Second},
		{"ErrorWait", &o.ErrorWait, time.Second}, {"ErrorMaxWait", &o.ErrorMaxWait, 900 * time.Second},
		{"Lookback", &o.Lookback, 6 * time.Hour}} {
		if *f.v < 0 {
			errs = append(errs, fmt.Errorf("PollerOptions.%s: negative (%s)", f.name, *f.v))
		} else if *f.v == 0 {
			*f.v = f.def
		}
	}
	if o.MaxInterval < o.Interval {
		errs = append(errs, fmt.Errorf("PollerOptions.MaxInterval %s is shorter than Interval %s", o.MaxInterval, o.Interval))
	}
	if o.ErrorMaxWait < o.ErrorWait {
		errs = append(errs, fmt.Errorf("PollerOptions.ErrorMaxWait %s is shorter than ErrorWait %s", o.ErrorMaxWait, o.ErrorWait))
	}
	if o.BackoffAfter < 0 {
		errs = append(errs, fmt.Errorf("PollerOptions.BackoffAfter: negative (%d)", o.BackoffAfter))
	} else if o.BackoffAfter == 0 {
		o.BackoffAfter = 10
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("archive: %w", errors.Join(errs...))
	}
	p := &Poller{idx: idx, q: nq, o: o, seen: map[string]time.Time{}, first: true, wait: o.Interval}
	p.period, p.q.RIBPeriod = nq.RIBPeriod, 0 // applied here, across polls
	p.inc, _ = idx.(Incremental)
	return p, nil
}

// Next returns the next dumps: on the first call every dump that exists
// now (without waiting, unless there is none), then the dumps published
// since, blocking (polling) until there are some. It retries failed polls
// with backoff and returns an error only when ctx ends (ctx.Err()) or the
// index fails in a way retrying cannot fix (an HTTP 4xx, an unsupported
// broker answer).
func (p *Poller) Next(ctx context.Context) ([]Dump, error) {
	errWait := time.Duration(0)
	for {
		if !p.first {
			w := p.wait
			if errWait > 0 {
				w = errWait
			}
			if err := sleep(ctx, w); err != nil {
				return nil, err
			}
		}
		ds, err := p.poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if isPermanent(err) {
				return nil, err
			}
			errWait = min(max(2*errWait, p.o.ErrorWait), p.o.ErrorMaxWait)
			p.o.Logger.Warn("archive: poll failed; retrying", "wait", errWait, "err", err)
			p.first = false
			continue
		}
		errWait = 0
		p.first = false
		if len(ds) > 0 {
			p.empty, p.wait = 0, p.o.Interval
			return ds, nil
		}
		if p.empty++; p.empty >= p.o.BackoffAfter {
			p.wait = min(2*p.wait, p.o.MaxInterval)
		}
	}
}

// poll asks the index once and returns the dumps not seen before.
func (p *Poller) poll(ctx context.Context) ([]Dump, error) {
	q := p.q
	q.Windows = make([]Window, len(p.q.Windows))
	for i, w := range p.q.Windows {
		if w.Open() && !p.newest.IsZero() {
			if s := p.newest.Add(-p.o.Lookback); s.After(w.Start) {
				w.Start = s
			}
		}
		q.Windows[i] = w
	}
	var ds []Dump
	var err error
	if p.inc != nil {
		var asOf time.Time
		ds, asOf, err = p.inc.FindAdded(ctx, q, p.asOf)
		if err == nil {
			p.asOf = asOf
		}
	} else {
		ds, err = p.idx.Find(ctx, q)
	}
	if err != nil {
		return nil, err
	}
	out := ds[:0]
	for _, d := range ds {
		if _, ok := p.seen[d.URL]; ok {
			continue
		}
		end := d.End()
		if end.IsZero() {
			// A stream resource never ends: never forget it.
			p.seen[d.URL] = neverEnds
			out = append(out, d)
			continue
		}
		p.seen[d.URL] = end
		if end.After(p.newest) {
			p.newest = end
		}
		out = append(out, d)
	}
	SortDumps(out)
	if p.period > 0 {
		out = p.rp.filter(out, p.period)
	}
	p.prune()
	return out, nil
}

// neverEnds is the end recorded for a stream resource.
var neverEnds = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// prune forgets URLs that no later poll can return: those ending before
// every moving window's start.
func (p *Poller) prune() {
	if len(p.seen) < 4096 || p.newest.IsZero() {
		return
	}
	floor := p.newest.Add(-p.o.Lookback)
	for _, w := range p.q.Windows {
		if !w.Open() && w.Start.Before(floor) {
			return // a closed window is asked whole: keep everything
		}
	}
	for u, end := range p.seen {
		if !end.After(floor) {
			delete(p.seen, u)
		}
	}
}
