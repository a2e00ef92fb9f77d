package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/archivetest"
)

// The helper process: the test binary re-executed with ARCHIVE_HELPER set
// (as Go's own os/exec tests do). It opens each dump of ARCHIVE_DUMPS
// through a Fetcher on ARCHIVE_CACHE, at ARCHIVE_START (a barrier, unix
// ns), and prints "dump <url> <len> <sha256>" per dump.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("ARCHIVE_HELPER") == "" {
		t.Skip("helper process for the cache and proxy tests")
	}
	os.Exit(helperMain())
}

func helperMain() int {
	var ds []Dump
	if err := json.Unmarshal([]byte(os.Getenv("ARCHIVE_DUMPS")), &ds); err != nil {
		fmt.Fprintln(os.Stderr, "helper: ARCHIVE_DUMPS:", err)
		return 2
	}
	o := FetchOptions{CacheDir: os.Getenv("ARCHIVE_CACHE"), CacheOnly: os.Getenv("ARCHIVE_CACHE_ONLY") == "1",
		HTTP: HTTPOptions{RetryWait: 5 * time.Millisecond, RetryMaxWait: 20 * time.Millisecond, Logger: quiet}}
	if pem := os.Getenv("ARCHIVE_CA"); pem != "" {
		cfg, err := tlsConfigFromPEM(pem)
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 2
		}
		o.HTTP.TLSConfig = cfg
	}
	f, err := NewFetcher(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	defer f.Close()
	if at, _ := strconv.ParseInt(os.Getenv("ARCHIVE_START"), 10, 64); at > 0 {
		time.Sleep(time.Until(time.Unix(0, at)))
	}
	if os.Getenv("ARCHIVE_REVERSE") == "1" {
		for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
			ds[i], ds[j] = ds[j], ds[i]
		}
	}
	ctx := context.Background()
	for _, d := range ds {
		b, err := readDump(ctx, f, d)
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 3
		}
		sum := sha256.Sum256(b)
		fmt.Printf("dump %s %d %s\n", d.URL, len(b), hex.EncodeToString(sum[:]))
	}
	return 0
}

// helper starts the helper process with the given extra environment.
func helper(t *testing.T, ds []Dump, env ...string) *exec.Cmd {
	t.Helper()
	js, err := json.Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), append([]string{"ARCHIVE_HELPER=1", "ARCHIVE_DUMPS=" + string(js)}, env...)...)
	return cmd
}

// runHelper runs the helper to its end and returns its dump lines, sorted.
func runHelper(t *testing.T, cmd *exec.Cmd) ([]string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%v: %s", err, errb.String())
	}
	return dumpLines(out.String()), err
}

func dumpLines(s string) []string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "dump ") {
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	return lines
}

// wantLines is what the helper prints for dumps served by srv.
func wantLines(srv *archivetest.Server, ds []Dump, paths []string) []string {
	var out []string
	for i, d := range ds {
		b := srv.Data(paths[i])
		sum := sha256.Sum256(b)
		out = append(out, fmt.Sprintf("dump %s %d %s", d.URL, len(b), hex.EncodeToString(sum[:])))
	}
	sort.Strings(out)
	return out
}

// TestCacheProcesses starts 4 processes together on the same dumps with one
// cache: each file is downloaded exactly once (counted at the server) while
// the others wait, and every process reads the same bytes. Then, with the
// server stopped, a 5th run reads everything from the cache, and so does a
// cache-only run.
func TestCacheProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	srv := archivetest.New(t, archivetest.Options{})
	ds, paths := dumpsAt(t, srv, rrc03a, rrc15a, rrc15b, jinx, rv2rib)
	for _, p := range paths {
		// Slow answers keep the first downloader inside its lock while
		// the others arrive.
		srv.SetFault(p, archivetest.Fault{HeaderDelay: 300 * time.Millisecond})
	}
	cache := t.TempDir()
	start := strconv.FormatInt(time.Now().Add(700*time.Millisecond).UnixNano(), 10)
	cmds := make([]*exec.Cmd, 4)
	outs := make([]bytes.Buffer, 4)
	errs := make([]bytes.Buffer, 4)
	for i := range cmds {
		env := []string{"ARCHIVE_CACHE=" + cache, "ARCHIVE_START=" + start}
		if i%2 == 1 {
			env = append(env, "ARCHIVE_REVERSE=1")
		}
		cmds[i] = helper(t, ds, env...)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &errs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	want := wantLines(srv, ds, paths)
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("process %d: %v: %s", i, err, errs[i].String())
		}
		if got := dumpLines(outs[i].String()); !sameStrings(got, want) {
			t.Errorf("process %d read:\n%s\nwant:\n%s", i, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	for _, p := range paths {
		if n := srv.Requests(p); n != 1 {
			t.Errorf("%s downloaded %d times by 4 processes, want once", p, n)
		}
	}
	// The cache lists the dumps under readable names, and nothing else
	// visible.
	var names []string
	f := newFetcher(t, FetchOptions{CacheDir: cache})
	for _, d := range ds {
		names = append(names, filepath.Base(f.CachePath(d)))
	}
	sort.Strings(names)
	if got := visible(t, cache); !sameStrings(got, names) {
		t.Errorf("cache holds %q, want %q", got, names)
	}
	for _, n := range listDir(t, cache) {
		if strings.HasSuffix(n, ".part") {
			t.Errorf("a part file is left: %s", n)
		}
	}

	srv.Close()
	before := srv.TotalRequests()
	for _, only := range []string{"0", "1"} {
		got, err := runHelper(t, helper(t, ds, "ARCHIVE_CACHE="+cache, "ARCHIVE_CACHE_ONLY="+only))
		if err != nil {
			t.Fatalf("run with the server stopped (cache-only=%s): %v", only, err)
		}
		if !sameStrings(got, want) {
			t.Errorf("run with the server stopped (cache-only=%s) read:\n%s", only, strings.Join(got, "\n"))
		}
	}
	if srv.TotalRequests() != before {
		t.Errorf("the warm-cache runs made %d requests", srv.TotalRequests()-before)
	}
}

// TestCacheKilledDownload kills (SIGKILL) a process in the middle of a
// download: no partial file is visible under the dump's name, the lock it
// held is gone, and the next reader downloads the dump whole.
func TestCacheKilledDownload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	srv := archivetest.New(t, archivetest.Options{})
	d, p := dumpOf(t, srv, rv2rib)
	srv.SetFault(p, archivetest.Fault{ChunkSize: 16 << 10, ChunkDelay: 100 * time.Millisecond})
	cache := t.TempDir()
	cmd := helper(t, []Dump{d}, "ARCHIVE_CACHE="+cache)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	part := func() int64 {
		for _, n := range listDir(t, cache) {
			if strings.HasSuffix(n, ".part") {
				if fi, err := os.Stat(filepath.Join(cache, n)); err == nil {
					return fi.Size()
				}
			}
		}
		return 0
	}
	waitFor(t, func() bool { return part() >= 48<<10 })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	f := newFetcher(t, FetchOptions{CacheDir: cache})
	if _, err := os.Stat(f.CachePath(d)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after the kill the entry exists: %v", err)
	}
	if got := visible(t, cache); len(got) != 0 {
		t.Fatalf("after the kill the cache shows %q", got)
	}
	srv.SetFault(p, archivetest.Fault{})
	ctx := testCtx(t)
	start := time.Now()
	b, err := readDump(ctx, f, d)
	if err != nil || !bytes.Equal(b, srv.Data(p)) {
		t.Fatalf("next read: %d bytes, %v", len(b), err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the next read waited %s for the dead process's lock", time.Since(start))
	}
	if n := srv.Requests(p); n != 2 {
		t.Errorf("%d requests, want 2 (the killed one and the new one)", n)
	}
	for _, n := range listDir(t, cache) {
		if strings.HasSuffix(n, ".part") {
			t.Errorf("the dead process's part file is left: %s", n)
		}
	}
}

// TestCacheGoroutines opens the same dump from 8 goroutines at once: one
// download, the others wait for it.
func TestCacheGoroutines(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	d, p := dumpOf(t, srv, rrc15a)
	srv.SetFault(p, archivetest.Fault{HeaderDelay: 200 * time.Millisecond})
	f := newFetcher(t, FetchOptions{CacheDir: t.TempDir()})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := readDump(testCtx(t), f, d)
			if err == nil && !bytes.Equal(b, srv.Data(p)) {
				err = fmt.Errorf("%d bytes differ", len(b))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := srv.Requests(p); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if s := f.Stats(); s.Downloads != 1 || s.CacheWaits < 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestCacheDamaged damages cache entries: a shortened file (its .meta says
// otherwise), and, with no .meta, a bzip2 file without its end marker and a
// gzip file without its magic. Each is detected and fetched again.
func TestCacheDamaged(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	cache := t.TempDir()
	f := newFetcher(t, FetchOptions{CacheDir: cache})
	for _, tc := range []struct {
		path   string
		damage func(entry string)
	}{
		{rrc15a, func(e string) { os.Truncate(e, 100_000) }},
		{jinx, func(e string) {
			os.Remove(hidden(e, ".meta"))
			fi, _ := os.Stat(e)
			os.Truncate(e, fi.Size()-5)
		}},
		{rrc03a, func(e string) {
			os.Remove(hidden(e, ".meta"))
			b, _ := os.ReadFile(e)
			b[0] = 'X'
			os.WriteFile(e, b, 0o644)
		}},
	} {
		d, p := dumpOf(t, srv, tc.path)
		if _, err := readDump(testCtx(t), f, d); err != nil {
			t.Fatal(err)
		}
		entry := f.CachePath(d)
		tc.damage(entry)
		b, err := readDump(testCtx(t), f, d)
		if err != nil || !bytes.Equal(b, srv.Data(p)) {
			t.Fatalf("%s: after damage: %d bytes, %v", tc.path, len(b), err)
		}
		if n := srv.Requests(p); n != 2 {
			t.Errorf("%s: %d requests, want 2 (damage detected, fetched again)", tc.path, n)
		}
		// An undamaged entry without .meta (a cache filled by hand) is
		// used as is.
		os.Remove(hidden(entry, ".meta"))
		if _, err := readDump(testCtx(t), f, d); err != nil || srv.Requests(p) != 2 {
			t.Errorf("%s: a sound entry without .meta was fetched again (%d requests, %v)", tc.path, srv.Requests(p), err)
		}
	}
}

// TestCacheOnly reads a warm cache offline; a missing entry is an error
// naming the URL and matching ErrNotCached, with no request.
func TestCacheOnly(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	cache := t.TempDir()
	warm := newFetcher(t, FetchOptions{CacheDir: cache})
	d1, p1 := dumpOf(t, srv, rrc03a)
	d2, p2 := dumpOf(t, srv, rrc15a)
	if _, err := readDump(testCtx(t), warm, d1); err != nil {
		t.Fatal(err)
	}
	off := newFetcher(t, FetchOptions{CacheDir: cache, CacheOnly: true})
	if b, err := readDump(testCtx(t), off, d1); err != nil || !bytes.Equal(b, srv.Data(p1)) {
		t.Fatalf("cached dump: %d bytes, %v", len(b), err)
	}
	_, err := off.Open(testCtx(t), d2)
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), d2.URL) {
		t.Fatalf("missing dump: %v", err)
	}
	off.Prefetch(testCtx(t), []Dump{d2})
	time.Sleep(50 * time.Millisecond)
	if srv.Requests(p2) != 0 || srv.Requests(p1) != 1 {
		t.Errorf("cache-only made requests: %d, %d", srv.Requests(p1), srv.Requests(p2))
	}
	if _, err := NewFetcher(FetchOptions{CacheDir: filepath.Join(cache, "absent"), CacheOnly: true}); err == nil || !strings.Contains(err.Error(), "FetchOptions.CacheDir") {
		t.Errorf("cache-only on a missing directory: %v", err)
	}
}

// TestCacheLayout checks the readable entry names.
func TestCacheLayout(t *testing.T) {
	f := newFetcher(t, FetchOptions{CacheDir: t.TempDir()})
	for _, tc := range []struct {
		d    Dump
		want string
	}{
		{Dump{URL: "https://data.ris.ripe.net/rrc03/2010.02/updates.20100227.1600.gz", Project: "ris", Collector: "rrc03", Type: "updates",
			Start: ut(2010, 2, 27, 16, 0, 0), Duration: 5 * time.Minute}, "ris.rrc03.updates.1267286400.300.updates.20100227.1600.gz"},
		{Dump{URL: "https://archive.routeviews.org/bgpdata/2014.05/RIBS/rib.20140523.0600.bz2?x=1", Project: "routeviews", Collector: "route-views2",
			Type: "ribs", Start: ut(2014, 5, 23, 6, 0, 0), Duration: RIBDuration}, "routeviews.route-views2.ribs.1400824800.120.rib.20140523.0600.bz2"},
		{Dump{URL: "https://example.com/x/../weird name.gz"}, "unlabelled."},
	} {
		got := filepath.Base(f.CachePath(tc.d))
		if !strings.HasPrefix(got, tc.want) || strings.ContainsAny(got, " /") {
			t.Errorf("%s: entry %q, want %q", tc.d.URL, got, tc.want)
		}
	}
}

// TestBzip2Ends checks the end-of-stream test on real bzip2 files and on
// their truncations.
func TestBzip2Ends(t *testing.T) {
	for _, rel := range []string{"libbgpstream/routeviews.route-views.jinx.updates.1427846400.bz2", "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2", "ryu/updates.20161101.0000.bz2"} {
		b := archivetest.Bytes(t, rel)
		if !bzip2Ends(b[len(b)-11:]) {
			t.Errorf("%s: end marker not found", rel)
		}
		if c := b[:len(b)-7]; bzip2Ends(c[len(c)-11:]) {
			t.Errorf("%s cut by 7 bytes: end marker found", rel)
		}
	}
	b := archivetest.Bytes(t, "pyasn/rib.20140523.0600_firstMB.bz2") // truncated original
	if bzip2Ends(b[len(b)-11:]) {
		t.Error("the truncated original has an end marker")
	}
}
