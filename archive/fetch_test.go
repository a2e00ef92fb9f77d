package archive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/archivetest"
)

// dumpOf is the Dump of a catalogue entry on the emulator, labelled as an
// index would (Size unknown, as from a broker).
func dumpOf(t testing.TB, srv *archivetest.Server, archivePath string) (Dump, string) {
	t.Helper()
	e, ok := archivetest.Find(archivePath)
	if !ok {
		t.Fatalf("no catalogue entry %s", archivePath)
	}
	return Dump{URL: srv.DumpURL(e), Project: e.Project, Collector: e.Collector, Type: e.Type,
		Start: e.Start, Duration: e.Duration, Format: "mrt", Transport: "http"}, e.URLPath()
}

// dumpsAt is dumpOf for several archive paths.
func dumpsAt(t testing.TB, srv *archivetest.Server, archivePaths ...string) (ds []Dump, urlPaths []string) {
	for _, ap := range archivePaths {
		d, p := dumpOf(t, srv, ap)
		ds, urlPaths = append(ds, d), append(urlPaths, p)
	}
	return ds, urlPaths
}

func newFetcher(t testing.TB, o FetchOptions) *Fetcher {
	t.Helper()
	// Quick retries and no retry warnings, unless the test says otherwise.
	if o.HTTP.RetryWait == 0 {
		o.HTTP.RetryWait, o.HTTP.RetryMaxWait = 5*time.Millisecond, 20*time.Millisecond
	}
	if o.HTTP.Logger == nil {
		o.HTTP.Logger = quiet
	}
	f, err := NewFetcher(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readDump opens and reads a dump whole.
func readDump(ctx context.Context, f *Fetcher, d Dump) ([]byte, error) {
	rc, err := f.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

const (
	rrc15a = "rrc15/2010.02/updates.20100227.1600.gz" // 213,264 bytes
	rrc15b = "rrc15/2010.02/updates.20100227.1610.gz"
	rrc03a = "rrc03/2010.02/updates.20100227.1600.gz" // 12,953 bytes
	rv2rib = "bgpdata/2014.05/RIBS/rib.20140523.0600.bz2"
	jinx   = "route-views.jinx/bgpdata/2015.04/UPDATES/updates.20150401.0000.bz2"
	rrc06a = "rrc06/2015.04/updates.20150401.0000.gz"
)

// TestFetchStream streams every catalogue dump from HTTP with no cache:
// the bytes are the file's, one request each.
func TestFetchStream(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	f := newFetcher(t, FetchOptions{})
	for _, e := range archivetest.Catalogue() {
		d, p := dumpOf(t, srv, e.ArchivePath)
		b, err := readDump(testCtx(t), f, d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, srv.Data(p)) {
			t.Errorf("%s: %d bytes differ from the file's %d", p, len(b), len(srv.Data(p)))
		}
		if n := srv.Requests(p); n != 1 {
			t.Errorf("%s: %d requests", p, n)
		}
	}
	if s := f.Stats(); s.Requests != int64(len(archivetest.Catalogue())) || s.Retries != 0 || s.Downloads != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestFetchResume drops the connection twice mid-file: the download resumes
// with Range from where it stopped and the bytes are the file's.
func TestFetchResume(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	d, p := dumpOf(t, srv, rrc15a)
	srv.SetFault(p, archivetest.Fault{DropAfter: 50_000, Drops: 2})
	f := newFetcher(t, FetchOptions{})
	b, err := readDump(testCtx(t), f, d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, srv.Data(p)) {
		t.Fatalf("%d bytes differ from the file's %d", len(b), len(srv.Data(p)))
	}
	var ranges []string
	for _, r := range srv.Log(p) {
		ranges = append(ranges, r.Range)
	}
	if got := strings.Join(ranges, "|"); got != "|bytes=50000-|bytes=100000-" {
		t.Errorf("ranges %q", got)
	}
	if s := f.Stats(); s.Resumes != 2 || s.Bytes != int64(len(b)) {
		t.Errorf("stats %+v", s)
	}
}

// fetchFaulted reads rrc15a whole through a fault installed on it and
// checks the bytes and the request count.
func fetchFaulted(t *testing.T, fault archivetest.Fault, requests int) *Fetcher {
	t.Helper()
	srv := archivetest.New(t, archivetest.Options{})
	d, p := dumpOf(t, srv, rrc15a)
	srv.SetFault(p, fault)
	f := newFetcher(t, FetchOptions{})
	b, err := readDump(testCtx(t), f, d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, srv.Data(p)) || srv.Requests(p) != requests {
		t.Fatalf("%d bytes (want %d), %d requests (want %d)", len(b), len(srv.Data(p)), srv.Requests(p), requests)
	}
	return f
}

// TestFetchRangeIgnored resumes against a server that ignores Range: the
// whole file comes again and the bytes already read are skipped.
func TestFetchRangeIgnored(t *testing.T) {
	f := fetchFaulted(t, archivetest.Fault{DropAfter: 70_000, Drops: 1, NoRange: true}, 2)
	if s, size := f.Stats(), int64(213_264); s.Bytes != 70_000+size {
		t.Errorf("received %d bytes, want %d (the restart resends the start)", s.Bytes, 70_000+size)
	}
}

// TestFetchNoLength drops a chunked answer (no Content-Length): the broken
// chunked encoding is noticed and the download restarted.
func TestFetchNoLength(t *testing.T) {
	fetchFaulted(t, archivetest.Fault{DropAfter: 40_000, Drops: 1, NoLength: true}, 2)
}

// TestFetchRetry answers 500 three times, then the file.
func TestFetchRetry(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	d, p := dumpOf(t, srv, rrc03a)
	srv.SetFault(p, archivetest.Fault{Status: 500, Times: 3})
	f := newFetcher(t, FetchOptions{})
	b, err := readDump(testCtx(t), f, d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, srv.Data(p)) || srv.Requests(p) != 4 || f.Stats().Retries != 3 {
		t.Fatalf("%d bytes, %d requests, stats %+v", len(b), srv.Requests(p), f.Stats())
	}
}

// TestFetchGivesUp answers 500 forever: after Attempts tries the error
// names the URL and the status.
func TestFetchGivesUp(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	d, p := dumpOf(t, srv, rrc03a)
	srv.SetFault(p, archivetest.Fault{Status: 500})
	f := newFetcher(t, FetchOptions{HTTP: HTTPOptions{Attempts: 3}})
	_, err := f.Open(testCtx(t), d)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 500 || he.URL != d.URL || !strings.Contains(err.Error(), d.URL) {
		t.Fatalf("error %v", err)
	}
	if n := srv.Requests(p); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// TestFetchSlowServer: a server that stalls mid-body fails the read within
// the read timeout, naming the URL and offset; one that is slow but moving
// is fine (the timeout is an idle one).
func TestFetchSlowServer(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	t.Run("stalled", func(t *testing.T) {
		d, p := dumpOf(t, srv, rrc15a)
		srv.SetFault(p, archivetest.Fault{ChunkSize: 10_000, ChunkDelay: 5 * time.Second})
		f := newFetcher(t, FetchOptions{HTTP: HTTPOptions{Attempts: 1, ReadTimeout: 200 * time.Millisecond}})
		start := time.Now()
		b, err := readDump(testCtx(t), f, d)
		took := time.Since(start)
		var he *HTTPError
		if !errors.As(err, &he) || he.URL != d.URL || he.Offset != 10_000 || !strings.Contains(err.Error(), "read timeout") {
			t.Fatalf("error %v", err)
		}
		if len(b) != 10_000 || took > 2*time.Second {
			t.Errorf("read %d bytes in %s", len(b), took)
		}
	})
	t.Run("headers", func(t *testing.T) {
		d, p := dumpOf(t, srv, rrc15b)
		srv.SetFault(p, archivetest.Fault{HeaderDelay: 5 * time.Second})
		f := newFetcher(t, FetchOptions{HTTP: HTTPOptions{Attempts: 2, ReadTimeout: 200 * time.Millisecond}})
		start := time.Now()
		_, err := f.Open(testCtx(t), d)
		if err == nil || !strings.Contains(err.Error(), d.URL) || !strings.Contains(err.Error(), "timeout") || time.Since(start) > 2*time.Second {
			t.Fatalf("error %v after %s", err, time.Since(start))
		}
		if n := srv.Requests(p); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("slow but moving", func(t *testing.T) {
		d, p := dumpOf(t, srv, rrc03a)
		srv.SetFault(p, archivetest.Fault{ChunkSize: 4_000, ChunkDelay: 60 * time.Millisecond})
		f := newFetcher(t, FetchOptions{HTTP: HTTPOptions{Attempts: 1, ReadTimeout: 200 * time.Millisecond}})
		b, err := readDump(testCtx(t), f, d)
		if err != nil || !bytes.Equal(b, srv.Data(p)) {
			t.Fatalf("%d bytes, %v", len(b), err)
		}
	})
	t.Run("stall then resume", func(t *testing.T) {
		srv := archivetest.New(t, archivetest.Options{})
		d, p := dumpOf(t, srv, rrc15a)
		srv.SetFault(p, archivetest.Fault{ChunkSize: 100_000, ChunkDelay: 5 * time.Second})
		f := newFetcher(t, FetchOptions{HTTP: HTTPOptions{Attempts: 3, ReadTimeout: 200 * time.Millisecond}})
		rc, err := f.Open(testCtx(t), d)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		first := make([]byte, 100_000)
		if _, err := io.ReadFull(rc, first); err != nil {
			t.Fatal(err)
		}
		srv.SetFault(p, archivetest.Fault{}) // the server recovers
		rest, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(append(first, rest...), srv.Data(p)) {
			t.Fatalf("%d+%d bytes, %v", len(first), len(rest), err)
		}
		if l := srv.Log(p); len(l) != 2 || l[1].Range != "bytes=100000-" {
			t.Errorf("requests %+v", l)
		}
	})
}

// TestFetchTruncatedDump serves the truncated original of a RIB: it is
// delivered whole (the truncation is the decoder's business).
func TestFetchTruncatedDump(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{Truncated: true})
	d, p := dumpOf(t, srv, rv2rib)
	f := newFetcher(t, FetchOptions{CacheDir: t.TempDir()})
	for i := 0; i < 2; i++ {
		b, err := readDump(testCtx(t), f, d)
		if err != nil {
			t.Fatal(err)
		}
		if want := archivetest.Bytes(t, "pyasn/rib.20140523.0600_firstMB.bz2"); !bytes.Equal(b, want) {
			t.Fatalf("%d bytes, want the %d of the truncated original", len(b), len(want))
		}
	}
	// Its bzip2 stream has no end, yet the cache keeps it (its .meta says
	// it is complete) rather than fetching it again and again.
	if n := srv.Requests(p); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// TestFetchNotPublished: a 404 is ErrNotPublished at once (no retries);
// once published the dump opens.
func TestFetchNotPublished(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{Hold: []string{"/ris/" + rrc15b}})
	d, p := dumpOf(t, srv, rrc15b)
	f := newFetcher(t, FetchOptions{})
	_, err := f.Open(testCtx(t), d)
	if !errors.Is(err, ErrNotPublished) || !strings.Contains(err.Error(), d.URL) {
		t.Fatalf("error %v", err)
	}
	if n := srv.Requests(p); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	srv.Publish(p)
	if b, err := readDump(testCtx(t), f, d); err != nil || !bytes.Equal(b, srv.Data(p)) {
		t.Fatalf("after Publish: %d bytes, %v", len(b), err)
	}
}

// TestFetchLocal opens mirror files by path and file:// URL.
func TestFetchLocal(t *testing.T) {
	dir := t.TempDir()
	e, _ := archivetest.Find(jinx)
	archivetest.WriteMirror(t, dir, []archivetest.Entry{e})
	p := filepath.Join(dir, filepath.FromSlash(jinx))
	f := newFetcher(t, FetchOptions{CacheDir: t.TempDir()})
	for _, u := range []string{p, "file://" + p} {
		b, err := readDump(testCtx(t), f, Dump{URL: u, Project: "routeviews", Collector: "route-views.jinx", Type: "updates", Start: e.Start, Duration: e.Duration})
		if err != nil || !bytes.Equal(b, archivetest.Bytes(t, e.Source)) {
			t.Errorf("%s: %d bytes, %v", u, len(b), err)
		}
	}
	if s := f.Stats(); s.Downloads != 0 || s.CacheHits != 0 {
		t.Errorf("a local file went through the cache: %+v", s)
	}
	_, err := f.Open(testCtx(t), Dump{URL: filepath.Join(dir, "missing.gz")})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.gz") {
		t.Errorf("missing file: %v", err)
	}
}

// TestFetchCancel: ending the context ends a stalled read at once.
func TestFetchCancel(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	d, p := dumpOf(t, srv, rrc15a)
	srv.SetFault(p, archivetest.Fault{ChunkSize: 1000, ChunkDelay: 10 * time.Second})
	f := newFetcher(t, FetchOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	rc, err := f.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = io.ReadAll(rc)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("error %v after %s", err, time.Since(start))
	}
}

// TestPrefetch keeps two downloads ahead of Open with no cache: the third
// starts only once the first is opened; the bytes are the files'; Close
// leaves no temporary file behind.
func TestPrefetch(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	ds, paths := dumpsAt(t, srv, rrc03a, rrc15a, rrc15b, rrc06a, jinx)
	tmp := t.TempDir()
	f := newFetcher(t, FetchOptions{Prefetch: 2, TempDir: tmp})
	f.Prefetch(testCtx(t), ds)
	waitFor(t, func() bool { return srv.Requests(paths[0]) == 1 && srv.Requests(paths[1]) == 1 })
	time.Sleep(100 * time.Millisecond)
	if n := srv.Requests(paths[2]); n != 0 {
		t.Fatalf("the third dump was fetched %d times before the first was opened", n)
	}
	for i, d := range ds {
		b, err := readDump(testCtx(t), f, d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, srv.Data(paths[i])) {
			t.Errorf("%s: %d bytes differ", paths[i], len(b))
		}
		if i == 0 {
			waitFor(t, func() bool { return srv.Requests(paths[2]) == 1 })
		}
	}
	for _, p := range paths {
		if n := srv.Requests(p); n != 1 {
			t.Errorf("%s: %d requests", p, n)
		}
	}
	if s := f.Stats(); s.Downloads != 5 {
		t.Errorf("stats %+v", s)
	}
	f.Close()
	if left := listDir(t, tmp); len(left) != 0 {
		t.Errorf("left in the temp dir: %v", left)
	}
}

// TestPrefetchCloseEarly closes the Fetcher with prefetched dumps never
// opened: their files are removed.
func TestPrefetchCloseEarly(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	d1, p1 := dumpOf(t, srv, rrc03a)
	d2, p2 := dumpOf(t, srv, rrc15a)
	tmp := t.TempDir()
	f := newFetcher(t, FetchOptions{Prefetch: 2, TempDir: tmp})
	f.Prefetch(testCtx(t), []Dump{d1, d2})
	waitFor(t, func() bool { return f.Stats().Downloads == 2 })
	if srv.Requests(p1) != 1 || srv.Requests(p2) != 1 {
		t.Fatal("not prefetched")
	}
	f.Close()
	if left := listDir(t, tmp); len(left) != 0 {
		t.Errorf("left in the temp dir: %v", left)
	}
}

// TestPrefetchCache prefetches into the cache: Open reads the cache entry,
// and a second Fetcher on the same cache downloads nothing.
func TestPrefetchCache(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	cache := t.TempDir()
	ds, paths := dumpsAt(t, srv, rrc03a, rrc15a, rrc15b)
	f := newFetcher(t, FetchOptions{CacheDir: cache, Prefetch: 3})
	f.Prefetch(testCtx(t), ds)
	for i, d := range ds {
		b, err := readDump(testCtx(t), f, d)
		if err != nil || !bytes.Equal(b, srv.Data(paths[i])) {
			t.Fatalf("%s: %d bytes, %v", paths[i], len(b), err)
		}
	}
	g := newFetcher(t, FetchOptions{CacheDir: cache})
	for i, d := range ds {
		if b, err := readDump(testCtx(t), g, d); err != nil || !bytes.Equal(b, srv.Data(paths[i])) {
			t.Fatalf("second fetcher %s: %v", paths[i], err)
		}
		if n := srv.Requests(paths[i]); n != 1 {
			t.Errorf("%s: %d requests", paths[i], n)
		}
	}
	if s := g.Stats(); s.CacheHits != 3 || s.Requests != 0 {
		t.Errorf("second fetcher stats %+v", s)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
