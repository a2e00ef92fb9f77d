package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/archive"
	"github.com/bgp-connector/bgp-connector/internal/archivetest"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/internal/rislivetest"
)

// readRun is one run of `bgp-connector read`.
type readRun struct {
	out, errOut string
	code        int
}

func runRead(t *testing.T, args ...string) readRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, connBinary(t), append([]string{"read"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := readRun{out: out.String(), errOut: errOut.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("read %v: %v", args, err)
	}
	return r
}

// window is a test window with the dumps it selects from the catalogue.
type archiveWindow struct {
	flag       string // -w value
	collectors []string
	w          archive.Window
}

func (w archiveWindow) entries() []archivetest.Entry {
	var out []archivetest.Entry
	for _, e := range archivetest.Catalogue() {
		if !slices.Contains(w.collectors, e.Collector) || e.Transport != "" {
			continue
		}
		d := archive.Dump{Start: e.Start, Duration: e.Duration}
		if d.Overlaps(w.w) {
			out = append(out, e)
		}
	}
	return out
}

var (
	win2010 = archiveWindow{"2010-02-27 16:00,2010-02-27 16:20", []string{"rrc03", "rrc15"},
		archive.Window{Start: time.Date(2010, 2, 27, 16, 0, 0, 0, time.UTC), End: time.Date(2010, 2, 27, 16, 20, 0, 0, time.UTC)}}
	win2015 = archiveWindow{"2015-04-01 00:00,2015-04-01 00:14", []string{"rrc06", "route-views.jinx"},
		archive.Window{Start: time.Date(2015, 4, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2015, 4, 1, 0, 14, 0, 0, time.UTC)}}
)

// archiveExpected reads the window's dumps from the local corpus through
// -d csvfile (same labels, same window): what an archive read must print.
func archiveExpected(t *testing.T, w archiveWindow) string {
	t.Helper()
	var csv strings.Builder
	for _, e := range w.entries() {
		fmt.Fprintf(&csv, "%s,%s,%s,%s,%d,%d,%d\n", corpus.Path(t, e.Source), e.Project, e.Type, e.Collector,
			e.Start.Unix(), int64(e.Duration/time.Second), e.Start.Unix()+1)
	}
	p := filepath.Join(t.TempDir(), "window.csv")
	if err := os.WriteFile(p, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runRead(t, "-d", "csvfile", "-o", "csv-file="+p, "-w", w.flag)
	if r.code != 0 || strings.Count(r.out, "\n") < 100 {
		t.Fatalf("csvfile read: exit %d, %d lines, %s", r.code, strings.Count(r.out, "\n"), r.errOut)
	}
	return r.out
}

func colls(w archiveWindow) string { return strings.Join(w.collectors, ",") }

// TestReadArchiveIndexes reads time windows through every archive data
// interface, served by the archive emulator from the real dumps: each
// prints exactly what reading the selected local files prints.
func TestReadArchiveIndexes(t *testing.T) {
	corpus.Need(t)
	srv := archivetest.New(t, archivetest.Options{})
	mirror := t.TempDir()
	archivetest.WriteMirror(t, mirror, archivetest.Catalogue())
	for _, w := range []archiveWindow{win2010, win2015} {
		want := archiveExpected(t, w)
		for _, tc := range []struct {
			name string
			args []string
		}{
			{"caida-broker", []string{"-d", "broker", "-o", "url=" + srv.CAIDABrokerURL()}},
			{"bgpkit", []string{"-d", "bgpkit", "-o", "url=" + srv.BGPKITURL()}},
			{"listings", []string{"-d", "archive", "-o", "ris-base=" + srv.RISBase(), "-o", "routeviews-base=" + srv.RouteViewsBase()}},
			{"mirror", []string{"-d", "archive", "-o", "base=" + mirror}},
			{"mirror-url", []string{"-d", "archive", "-o", "base=file://" + mirror}},
		} {
			t.Run(w.collectors[0]+"/"+tc.name, func(t *testing.T) {
				r := runRead(t, append(tc.args, "-c", colls(w), "-w", w.flag)...)
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.errOut)
				}
				if r.out != want {
					t.Errorf("%d lines, want %d (the local files read the same way)", strings.Count(r.out, "\n"), strings.Count(want, "\n"))
				}
			})
		}
	}
}

// TestReadArchiveFaults injects faults at the emulator: a connection
// dropped mid-file (resumed), 500s then success (retried), an old-style
// listing: the output stays exact. A truncated dump is reported with its
// URL and the rest of the window is read (exit 1); a stalled server is a
// timeout naming the URL.
func TestReadArchiveFaults(t *testing.T) {
	corpus.Need(t)
	w := win2015
	want := archiveExpected(t, w)
	jinx := ""
	for _, e := range w.entries() {
		if e.Collector == "route-views.jinx" {
			jinx = e.URLPath()
		}
	}
	for _, tc := range []struct {
		name  string
		fault archivetest.Fault
		opts  archivetest.Options
	}{
		{"dropped connection", archivetest.Fault{DropAfter: 10000, Drops: 2}, archivetest.Options{}},
		{"500s then success", archivetest.Fault{Status: 500, Times: 2}, archivetest.Options{}},
		{"old-style listing", archivetest.Fault{}, archivetest.Options{Listing: "table"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := archivetest.New(t, tc.opts)
			srv.SetFault(jinx, tc.fault)
			r := runRead(t, "-d", "archive", "-o", "ris-base="+srv.RISBase(), "-o", "routeviews-base="+srv.RouteViewsBase(),
				"-c", colls(w), "-w", w.flag)
			if r.code != 0 || r.out != want {
				t.Errorf("exit %d, %d lines (want %d): %s", r.code, strings.Count(r.out, "\n"), strings.Count(want, "\n"), r.errOut)
			}
			if n := srv.Requests(jinx); tc.fault.Times+tc.fault.Drops > 0 && n < 2 {
				t.Errorf("%d requests for the faulty file: the fault was not exercised", n)
			}
		})
	}
	t.Run("truncated dump", func(t *testing.T) {
		srv := archivetest.New(t, archivetest.Options{Truncated: true})
		// The route-views2 RIB slice of 2014-05-23 is served truncated; the
		// rrc06 updates of 2015 read through the same stream.
		r := runRead(t, "-d", "archive", "-o", "ris-base="+srv.RISBase(), "-o", "routeviews-base="+srv.RouteViewsBase(),
			"-c", "route-views2,rrc06", "-w", "2014-05-23 06:00,2014-05-23 06:01", "-w", w.flag)
		if r.code != 1 {
			t.Errorf("exit %d, want 1", r.code)
		}
		if !strings.Contains(r.errOut, "rib.20140523.0600.bz2") || !strings.Contains(r.errOut, "could not be read completely") {
			t.Errorf("the truncated dump is not reported with its URL: %s", r.errOut)
		}
		if !strings.Contains(r.out, "|rrc06|") || !strings.Contains(r.out, "|route-views2|") {
			t.Errorf("the rest of the window was not read (or nothing of the truncated dump before the cut)")
		}
	})
	t.Run("slow server", func(t *testing.T) {
		srv := archivetest.New(t, archivetest.Options{})
		srv.SetFault(jinx, archivetest.Fault{HeaderDelay: 10 * time.Second})
		start := time.Now()
		r := runRead(t, "-d", "archive", "-o", "ris-base="+srv.RISBase(), "-o", "routeviews-base="+srv.RouteViewsBase(),
			"-o", "timeout=1s", "-o", "retries=1", "-c", colls(w), "-w", w.flag)
		if r.code != 1 || !strings.Contains(r.errOut, "updates.20150401.0000.bz2") {
			t.Errorf("exit %d, stderr %s: want a timeout naming the dump", r.code, r.errOut)
		}
		if d := time.Since(start); d > 8*time.Second {
			t.Errorf("the read took %v: the timeout did not cut it short", d)
		}
		if !strings.Contains(r.out, "|rrc06|") {
			t.Error("the other collector's dump was not read")
		}
	})
}

// TestReadArchiveCache runs 4 read processes at once on one window with a
// shared cache: exactly one download per file (counted at the server),
// identical outputs; then a fifth run, with the server stopped, reads it
// all from the cache; and a process killed while downloading leaves no
// partial file and no stuck lock.
func TestReadArchiveCache(t *testing.T) {
	corpus.Need(t)
	w := win2010
	want := archiveExpected(t, w)
	srv := archivetest.New(t, archivetest.Options{})
	for _, e := range w.entries() {
		srv.SetFault(e.URLPath(), archivetest.Fault{ChunkSize: 16 << 10, ChunkDelay: 5 * time.Millisecond}) // overlap the downloads
	}
	cache := t.TempDir()
	args := []string{"-d", "archive", "-o", "ris-base=" + srv.RISBase(), "-o", "cache-dir=" + cache, "-c", colls(w), "-w", w.flag}
	var wg sync.WaitGroup
	runs := make([]readRun, 4)
	for i := range runs {
		wg.Add(1)
		go func() { defer wg.Done(); runs[i] = runRead(t, args...) }()
	}
	wg.Wait()
	for i, r := range runs {
		if r.code != 0 || r.out != want {
			t.Errorf("process %d: exit %d, %d lines (want %d): %s", i, r.code, strings.Count(r.out, "\n"), strings.Count(want, "\n"), r.errOut)
		}
	}
	for _, e := range w.entries() {
		if n := srv.Requests(e.URLPath()); n != 1 {
			t.Errorf("%s downloaded %d times by 4 processes, want 1", e.URLPath(), n)
		}
	}
	srv.Close()
	for _, extra := range [][]string{{"-o", "retries=2"}, {"-o", "cache-only=true"}} {
		if r := runRead(t, append(slices.Clone(args), extra...)...); r.code != 0 || r.out != want {
			t.Errorf("from the cache %v, server stopped: exit %d, %d lines: %s", extra, r.code, strings.Count(r.out, "\n"), r.errOut)
		}
	}

	// A process killed mid-download.
	srv2 := archivetest.New(t, archivetest.Options{})
	big := w.entries()[1].URLPath() // rrc15 1600, 208 KiB
	srv2.SetFault(big, archivetest.Fault{ChunkSize: 4 << 10, ChunkDelay: 50 * time.Millisecond})
	cache2 := t.TempDir()
	args2 := []string{"-d", "archive", "-o", "ris-base=" + srv2.RISBase(), "-o", "cache-dir=" + cache2, "-c", colls(w), "-w", w.flag}
	cmd := exec.Command(connBinary(t), append([]string{"read"}, args2...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for srv2.Requests(big) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // part of the file is in
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	entries, _ := os.ReadDir(cache2)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), "updates.20100227.1600") && strings.HasPrefix(e.Name(), "ris.rrc15") {
			if fi, _ := e.Info(); fi != nil && int64(len(srv2.Data(big))) != fi.Size() {
				t.Errorf("a partial file is visible in the cache: %s (%d bytes)", e.Name(), fi.Size())
			}
		}
	}
	srv2.SetFault(big, archivetest.Fault{})
	start := time.Now()
	if r := runRead(t, args2...); r.code != 0 || r.out != want {
		t.Errorf("after the kill: exit %d, %d lines: %s", r.code, strings.Count(r.out, "\n"), r.errOut)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the read after the kill took %v: a stuck lock?", d)
	}
}

// TestReadArchiveLive runs read with a window without an end while the
// emulator publishes the next dumps: they are read as they appear, in time
// order, and SIGINT ends the read cleanly.
func TestReadArchiveLive(t *testing.T) {
	corpus.Need(t)
	w := win2010
	// The dumps of 16:00 exist when the read starts; the one of 16:10 is
	// published while it runs.
	var held []string
	for _, e := range w.entries() {
		if e.Start.After(w.w.Start) {
			held = append(held, e.URLPath())
		}
	}
	if len(held) == 0 {
		t.Fatal("no later dump in the window")
	}
	srv := archivetest.New(t, archivetest.Options{Hold: held})
	cmd := exec.Command(connBinary(t), "read", "-d", "archive", "-o", "ris-base="+srv.RISBase(), "-o", "poll-interval=200ms",
		"-c", colls(w), "-w", "2010-02-27 16:00")
	var out, errOut connBuf
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	wait := func(what string, cond func() bool) {
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s; stderr %s", what, errOut.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("the first dumps", func() bool {
		return strings.Contains(out.String(), "|rrc03|") && strings.Contains(out.String(), "|rrc15|")
	})
	before := strings.Count(out.String(), "\n")
	for _, p := range held {
		srv.Publish(p)
		wait("a published dump", func() bool { return srv.Requests(p) > 0 })
	}
	wait("the published dump's elems", func() bool {
		return strings.Count(out.String(), "\n") > before && strings.Contains(out.String(), "|12672870")
	})
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() != 130 && ee.ExitCode() != 0 {
		t.Errorf("SIGINT: exit %d: %s", ee.ExitCode(), errOut.String())
	}
	// In order, and the published dumps read.
	var prev string
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Split(l, "|")
		if len(f) < 3 {
			continue
		}
		n++
		if f[2] < prev {
			t.Fatalf("time %s after %s: out of order", f[2], prev)
		}
		prev = f[2]
	}
	if n < 1000 {
		t.Errorf("only %d lines", n)
	}
}

// TestReadArchiveThenRISLive reads `-p ris -p ris-live -w START` (no end):
// the archive dumps from START up to now, then the live feed, in time
// order, in one stream. The fake RIS Live replays a real RIS updates file
// restamped to now (RIS Live is live).
func TestReadArchiveThenRISLive(t *testing.T) {
	corpus.Need(t)
	srv := archivetest.New(t, archivetest.Options{})
	var lines bytes.Buffer
	if _, err := rislivetest.Derive(bytes.NewReader(corpus.Read(t, "libbgpstream/ris.rrc06.updates.1427846400.gz")), &lines,
		rislivetest.DeriveOptions{Host: "rrc06"}); err != nil {
		t.Fatal(err)
	}
	now := float64(time.Now().Unix())
	var msgs [][]byte
	re := regexp.MustCompile(`"timestamp":[0-9.]+`)
	for i, l := range bytes.Split(bytes.TrimSpace(lines.Bytes()), []byte("\n")) {
		msgs = append(msgs, re.ReplaceAll(l, []byte(fmt.Sprintf(`"timestamp":%.2f`, now+float64(i)/100))))
	}
	live := rislivetest.NewServer(msgs)
	defer live.Close()
	cmd := exec.Command(connBinary(t), "read", "-d", "archive", "-o", "ris-base="+srv.RISBase(),
		"-o", "ris-live-url=ws"+strings.TrimPrefix(live.URL, "http")+"/v1/ws/", "-o", "poll-interval=200ms",
		"-p", "ris", "-p", "ris-live", "-c", "rrc06", "-w", "2015-04-01 00:00")
	var out, errOut connBuf
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(out.String(), "|ris-live|") < 500 {
		if time.Now().After(deadline) {
			t.Fatalf("%d live lines after 60 s; stderr %s", strings.Count(out.String(), "|ris-live|"), errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	var prev string
	archiveLines, sawLive := 0, false
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Split(l, "|")
		if len(f) < 5 {
			continue
		}
		if f[2] < prev {
			t.Fatalf("time %s after %s: out of order", f[2], prev)
		}
		prev = f[2]
		switch f[3] {
		case "ris":
			if sawLive {
				t.Fatalf("an archive line after the live feed began: %s", l)
			}
			archiveLines++
		case "ris-live":
			sawLive = true
		}
	}
	if archiveLines != 1561 { // bgpdump -m lines of the dump (MANIFEST)
		t.Errorf("%d archive lines, want the dump's 1561", archiveLines)
	}
}
