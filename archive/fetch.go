package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// FetchOptions configure NewFetcher.
type FetchOptions struct {
	// HTTP configures downloads (timeouts, retries, proxy).
	HTTP HTTPOptions
	// CacheDir, when set, keeps every downloaded dump there (bgpreader -o
	// cache-dir=), shared safely by any number of processes. It is
	// created when missing.
	CacheDir string
	// CacheOnly never uses the network: a dump is read from the cache, and
	// one not in it is an error matching ErrNotCached (-o cache-only=true).
	// It needs CacheDir.
	CacheOnly bool
	// Prefetch is how many dumps Prefetch keeps downloaded or downloading
	// ahead of Open. Default 2.
	Prefetch int
	// TempDir is where Prefetch keeps its downloads when there is no
	// CacheDir (each file is removed once opened, or by Close). Default
	// os.TempDir().
	TempDir string
}

// ErrNotCached is matched (errors.Is) by the error of a CacheOnly Open of a
// dump that is not (completely) in the cache.
var ErrNotCached = errors.New("not in the cache (cache-only)")

// FetchStats counts a Fetcher's work.
type FetchStats struct {
	// Requests is the number of HTTP requests made for dumps; Retries
	// those that repeated a failed one; Resumes those that continued a
	// download with Range.
	Requests, Retries, Resumes int64
	// Bytes is the number of dump bytes received over HTTP.
	Bytes int64
	// CacheHits counts Opens served from a complete cache entry;
	// Downloads the dumps written to the cache or to a temporary file;
	// CacheWaits the Opens that waited for another process or goroutine
	// to finish a download.
	CacheHits, Downloads, CacheWaits int64
}

// Fetcher opens dumps as streams of their raw (still compressed) bytes,
// from HTTP, local files or a cache directory. It is safe for concurrent
// use.
type Fetcher struct {
	o     FetchOptions
	http  HTTPOptions
	cache *cache

	stats struct {
		requests, retries, resumes, bytes, hits, downloads, waits atomic.Int64
	}

	// prefetch state
	life    context.Context
	stop    context.CancelFunc
	pmu     sync.Mutex
	pending map[string]*prefetched
	slots   chan struct{}
	pwg     sync.WaitGroup
	tmpOnce sync.Once
	tmpDir  string
	tmpErr  error
}

// NewFetcher returns a Fetcher. The options are validated here (and the
// cache directory created and checked writable); the error names the
// option.
func NewFetcher(o FetchOptions) (*Fetcher, error) {
	var errs []error
	h, err := o.HTTP.withDefaults("FetchOptions.HTTP")
	if err != nil {
		errs = append(errs, err)
	}
	if o.Prefetch < 0 {
		errs = append(errs, fmt.Errorf("FetchOptions.Prefetch: negative (%d)", o.Prefetch))
	} else if o.Prefetch == 0 {
		o.Prefetch = 2
	}
	if o.CacheOnly && o.CacheDir == "" {
		errs = append(errs, errors.New("FetchOptions.CacheOnly needs CacheDir"))
	}
	f := &Fetcher{o: o, http: h, pending: map[string]*prefetched{}, slots: make(chan struct{}, max(o.Prefetch, 1))}
	if o.CacheDir != "" {
		c, err := newCache(o.CacheDir, o.CacheOnly)
		if err != nil {
			errs = append(errs, fmt.Errorf("FetchOptions.CacheDir: %w", err))
		}
		f.cache = c
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("archive: fetcher: %w", errors.Join(errs...))
	}
	f.life, f.stop = context.WithCancel(context.Background())
	return f, nil
}

// Stats returns the counters so far.
func (f *Fetcher) Stats() FetchStats {
	s := &f.stats
	return FetchStats{Requests: s.requests.Load(), Retries: s.retries.Load(), Resumes: s.resumes.Load(),
		Bytes: s.bytes.Load(), CacheHits: s.hits.Load(), Downloads: s.downloads.Load(), CacheWaits: s.waits.Load()}
}

// CachePath is where the cache keeps d (whether or not it is there yet),
// or "" without a cache: CacheDir/<project>.<collector>.<type>.<initial
// unix time>.<duration s>.<file name>, e.g.
// ris.rrc03.updates.1267286400.300.updates.20100227.1600.gz.
func (f *Fetcher) CachePath(d Dump) string {
	if f.cache == nil {
		return ""
	}
	return f.cache.path(d)
}

// Open returns the raw bytes of d as a stream; the caller closes it. ctx
// governs the whole read, not only the Open.
//
// A local dump (a path or file:// URL) is opened directly. With a cache,
// the dump is read from its complete cache entry, downloaded into it first
// when missing or damaged (one download per file however many processes
// and goroutines ask; the others wait and read the finished file). A dump
// given to Prefetch is read from its finished download. Otherwise the
// bytes stream straight from HTTP: a dropped connection is resumed with
// Range (or restarted, skipping what was read, when the server ignores
// Range), errors are retried with backoff, and an error that remains names
// the URL and byte offset. A 404 matches ErrNotPublished.
func (f *Fetcher) Open(ctx context.Context, d Dump) (io.ReadCloser, error) {
	if d.IsStream() {
		return nil, fmt.Errorf("archive: %s is a %s stream resource, not a file", d.URL, d.Transport)
	}
	if p, ok := localPath(d.URL); ok {
		fh, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("archive: %w", err)
		}
		return fh, nil
	}
	if rc, ok, err := f.openPrefetched(ctx, d); ok {
		return rc, err
	}
	if f.cache != nil {
		p, err := f.cache.ensure(ctx, f, d)
		if err == nil {
			fh, err := os.Open(p)
			if err != nil {
				return nil, fmt.Errorf("archive: %s: cache: %w", d.URL, err)
			}
			return fh, nil
		}
		var fe cacheFSError
		if !errors.As(err, &fe) || f.o.CacheOnly {
			return nil, err
		}
		// The cache directory failed us (disk full, permissions): read
		// from the network, as libbgpstream does.
		f.http.Logger.Warn("archive: cache unusable, reading from the network", "url", d.URL, "err", err)
	}
	r := f.newReader(ctx, d)
	if err := r.connect(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// localPath returns the file path of a local dump URL (a path or
// file://), or false for a remote one.
func localPath(u string) (string, bool) {
	if strings.HasPrefix(u, "file://") {
		pu, err := url.Parse(u)
		if err != nil {
			return strings.TrimPrefix(u, "file://"), true
		}
		return pu.Path, true
	}
	if strings.Contains(u, "://") {
		return "", false
	}
	return u, true
}

// reader streams one dump over HTTP, resuming after failures.
type reader struct {
	f    *Fetcher
	ctx  context.Context
	d    Dump
	url  string
	resp *http.Response
	rctx context.Context
	stop context.CancelCauseFunc
	wd   *watchdog

	off       int64 // bytes delivered to the caller
	total     int64 // the file's size from the server, -1 unknown
	validator string
	skip      int64 // bytes to drop after a restart that ignored Range
	fails     int   // failures since bytes last arrived
	lastErr   error
	err       error // sticky: io.EOF or the final error
}

func (f *Fetcher) newReader(ctx context.Context, d Dump) *reader {
	return &reader{f: f, ctx: ctx, d: d, url: d.URL, total: -1}
}

// connect makes one request for the bytes from r.off on, with retries.
func (r *reader) connect() error {
	o := &r.f.http
	for {
		if r.fails > 0 {
			if r.fails >= o.Attempts || !retryable(r.lastErr) {
				return r.fail(r.lastErr)
			}
			w := o.backoff(r.fails)
			o.Logger.Warn("archive: retrying download", "url", r.url, "offset", r.off, "attempt", r.fails+1, "wait", w, "err", r.lastErr)
			if err := sleep(r.ctx, w); err != nil {
				return r.fail(err)
			}
			r.f.stats.retries.Add(1)
		}
		err := r.request()
		if err == nil {
			return nil
		}
		if r.ctx.Err() != nil {
			return r.fail(r.ctx.Err())
		}
		r.fails++
		r.lastErr = err
	}
}

// fail makes err the reader's final error, naming the URL and offset.
func (r *reader) fail(err error) error {
	var he *HTTPError
	if !errors.As(err, &he) {
		err = &HTTPError{URL: r.url, Offset: r.off, Err: err}
	}
	r.err = err
	r.drop()
	return err
}

// request sends one GET (a Range one when resuming) and checks the answer.
func (r *reader) request() error {
	o := &r.f.http
	rctx, stop := context.WithCancelCause(r.ctx)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, r.url, nil)
	if err != nil {
		stop(nil)
		return permanentError{&HTTPError{URL: r.url, Err: err}}
	}
	req.Header.Set("User-Agent", o.UserAgent)
	resuming := r.off > 0
	if resuming {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(r.off, 10)+"-")
		if r.validator != "" {
			req.Header.Set("If-Range", r.validator)
		}
		r.f.stats.resumes.Add(1)
	}
	r.f.stats.requests.Add(1)
	wd := newWatchdog(o.ReadTimeout, stop)
	resp, err := o.Client.Do(req)
	if err != nil {
		wd.stop()
		stop(nil)
		return &HTTPError{URL: r.url, Offset: r.off, Err: cause(rctx, err)}
	}
	fail := func(err error) error {
		wd.stop()
		resp.Body.Close()
		stop(nil)
		return err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		r.skip = r.off // a whole answer: drop what the caller has
		r.total = resp.ContentLength
	case resp.StatusCode == http.StatusPartialContent && resuming:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start > r.off {
			return fail(&HTTPError{URL: r.url, Offset: r.off, Status: resp.StatusCode,
				Err: fmt.Errorf("resume: bad Content-Range %q for offset %d", resp.Header.Get("Content-Range"), r.off)})
		}
		r.skip = r.off - start
		r.total = total
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && resuming && r.total == r.off:
		// Everything had arrived; the error was at the very end.
		fail(nil)
		r.err = io.EOF
		return nil
	default:
		return fail(statusError(r.url, resp))
	}
	if r.validator == "" {
		if et := resp.Header.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
			r.validator = et
		} else if lm := resp.Header.Get("Last-Modified"); lm != "" {
			r.validator = lm
		}
	}
	r.resp, r.rctx, r.stop, r.wd = resp, rctx, stop, wd
	return nil
}

// parseContentRange reads "bytes start-end/total" (total may be "*": -1).
func parseContentRange(s string) (start, total int64, ok bool) {
	s, ok = strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, false
	}
	rng, tot, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, false
	}
	a, _, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

// Read reads the dump's bytes, reconnecting after a failure.
func (r *reader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.resp == nil {
			if err := r.connect(); err != nil {
				return 0, err
			}
			continue
		}
		n, err := r.resp.Body.Read(p)
		if n > 0 {
			r.wd.kick()
			r.f.stats.bytes.Add(int64(n))
			r.fails = 0
			if r.skip > 0 {
				k := min(int64(n), r.skip)
				copy(p, p[k:n])
				n -= int(k)
				r.skip -= k
			}
			r.off += int64(n)
		}
		if err == nil {
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err == io.EOF {
			want := r.total
			if want < 0 {
				want = r.d.Size
			}
			if want <= 0 || r.off >= want {
				r.drop()
				r.err = io.EOF
				return n, io.EOF
			}
			err = fmt.Errorf("connection closed after %d of %d bytes", r.off, want)
		}
		err = cause(r.rctx, err)
		r.drop()
		if r.ctx.Err() != nil {
			return n, r.fail(r.ctx.Err())
		}
		r.fails++
		r.lastErr = &HTTPError{URL: r.url, Offset: r.off, Err: err}
		if n > 0 {
			return n, nil
		}
	}
}

// drop closes the current response.
func (r *reader) drop() {
	if r.resp != nil {
		r.wd.stop()
		r.resp.Body.Close()
		r.stop(nil)
		r.resp = nil
	}
}

// Close ends the download.
func (r *reader) Close() error {
	r.drop()
	if r.err == nil {
		r.err = errors.New("archive: read after Close")
	}
	return nil
}

// copyBufs recycles download buffers.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// download writes d's bytes into w (a new file), verifies the size
// against the server's Content-Length (or Dump.Size) and syncs it.
func (f *Fetcher) download(ctx context.Context, d Dump, w *os.File) error {
	r := f.newReader(ctx, d)
	defer r.Close()
	if err := r.connect(); err != nil {
		return err
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	n, err := io.CopyBuffer(w, onlyReader{r}, *bp)
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) {
			return err
		}
		return cacheFSError{fmt.Errorf("writing %s: %w", w.Name(), err)}
	}
	want := r.total
	if want < 0 {
		want = d.Size
	}
	if want > 0 && n != want {
		return &HTTPError{URL: d.URL, Offset: n, Err: fmt.Errorf("got %d bytes, want %d", n, want)}
	}
	if err := w.Sync(); err != nil {
		return cacheFSError{fmt.Errorf("syncing %s: %w", w.Name(), err)}
	}
	f.stats.downloads.Add(1)
	return nil
}

// onlyReader hides WriterTo/ReaderFrom so that io.CopyBuffer uses the
// buffer.
type onlyReader struct{ io.Reader }

// tempDir is the Fetcher's private directory for prefetched files.
func (f *Fetcher) tempDir() (string, error) {
	f.tmpOnce.Do(func() {
		f.tmpDir, f.tmpErr = os.MkdirTemp(f.o.TempDir, "bgp-archive-")
	})
	return f.tmpDir, f.tmpErr
}

// Close stops the prefetch downloads and removes their files that were
// not opened. Readers already returned by Open stay usable.
func (f *Fetcher) Close() error {
	f.stop()
	f.pwg.Wait()
	f.pmu.Lock()
	for u, pf := range f.pending {
		if pf.temp && pf.path != "" {
			os.Remove(pf.path)
		}
		delete(f.pending, u)
	}
	f.pmu.Unlock()
	if f.tmpDir != "" {
		return os.RemoveAll(f.tmpDir)
	}
	return nil
}

// tempFile creates a file for a prefetched download.
func (f *Fetcher) tempFile(d Dump) (*os.File, error) {
	dir, err := f.tempDir()
	if err != nil {
		return nil, cacheFSError{err}
	}
	fh, err := os.CreateTemp(dir, "*."+filepath.Base(d.Name()))
	if err != nil {
		return nil, cacheFSError{err}
	}
	return fh, nil
}
