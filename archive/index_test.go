package archive

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/archivetest"
)

// windowCases are queries with the catalogue dumps every index must return
// for them, in order.
var windowCases = []struct {
	name  string
	q     Query
	paths []string
}{
	{"one collector",
		Query{Collectors: []string{"rrc15"}, Windows: []Window{{ut(2010, 2, 27, 16, 0, 0), ut(2010, 2, 27, 16, 20, 0)}}},
		[]string{"rrc15/2010.02/updates.20100227.1600.gz", "rrc15/2010.02/updates.20100227.1610.gz"}},
	{"several collectors",
		Query{Projects: []string{"ris"}, Collectors: []string{"rrc03", "rrc15"}, Windows: []Window{{ut(2010, 2, 27, 16, 0, 0), ut(2010, 2, 27, 16, 20, 0)}}},
		[]string{"rrc03/2010.02/updates.20100227.1600.gz", "rrc15/2010.02/updates.20100227.1600.gz", "rrc15/2010.02/updates.20100227.1610.gz"}},
	{"every collector of a project",
		Query{Projects: []string{"riperis"}, Windows: []Window{{ut(2010, 2, 27, 16, 0, 0), ut(2010, 2, 27, 16, 20, 0)}}},
		[]string{"rrc03/2010.02/updates.20100227.1600.gz", "rrc15/2010.02/updates.20100227.1600.gz", "rrc15/2010.02/updates.20100227.1610.gz"}},
	{"dump ending exactly at the window start is not selected",
		Query{Collectors: []string{"rrc03", "rrc15"}, Windows: []Window{{ut(2010, 2, 27, 16, 5, 0), ut(2010, 2, 27, 16, 12, 0)}}},
		[]string{"rrc15/2010.02/updates.20100227.1610.gz"}},
	{"dump covering the window start by one second is selected",
		Query{Collectors: []string{"rrc03", "rrc15"}, Windows: []Window{{ut(2010, 2, 27, 16, 4, 59), ut(2010, 2, 27, 16, 5, 0)}}},
		[]string{"rrc03/2010.02/updates.20100227.1600.gz", "rrc15/2010.02/updates.20100227.1600.gz"}},
	{"dump starting exactly at the window end is selected",
		Query{Collectors: []string{"rrc15"}, Windows: []Window{{ut(2010, 2, 27, 15, 50, 0), ut(2010, 2, 27, 16, 0, 0)}}},
		[]string{"rrc15/2010.02/updates.20100227.1600.gz"}},
	{"several windows, both projects, per-project durations",
		Query{Windows: []Window{{ut(2010, 2, 27, 16, 0, 0), ut(2010, 2, 27, 16, 1, 0)}, {ut(2015, 4, 1, 0, 10, 0), ut(2015, 4, 1, 0, 20, 0)}},
			Collectors: []string{"rrc03", "rrc15", "rrc06", "route-views.jinx"}},
		// rrc06's 00:00 file ended at 00:05; jinx's lasts 15 min.
		[]string{"rrc03/2010.02/updates.20100227.1600.gz", "rrc15/2010.02/updates.20100227.1600.gz",
			"route-views.jinx/bgpdata/2015.04/UPDATES/updates.20150401.0000.bz2"}},
	{"the RIB covering the window start",
		Query{Projects: []string{"routeviews"}, Collectors: []string{"route-views2"}, Windows: []Window{{ut(2014, 5, 23, 6, 1, 0), ut(2014, 5, 23, 7, 0, 0)}}},
		[]string{"bgpdata/2014.05/RIBS/rib.20140523.0600.bz2"}},
	{"the RIB ended before the window",
		Query{Projects: []string{"routeviews"}, Collectors: []string{"route-views2"}, Windows: []Window{{ut(2014, 5, 23, 6, 2, 0), ut(2014, 5, 23, 7, 0, 0)}}},
		nil},
	{"types: ribs only",
		Query{Types: []string{"rib"}, Collectors: []string{"route-views6", "route-views.jinx"}, Windows: []Window{{ut(2015, 4, 1, 0, 0, 0), ut(2015, 11, 1, 6, 0, 0)}}},
		[]string{"route-views6/bgpdata/2015.11/RIBS/rib.20151101.0600.bz2"}},
	{"RIB period keeps one RIB per collector",
		Query{Types: []string{"ribs"}, Collectors: []string{"route-views2", "route-views6"}, RIBPeriod: 24 * time.Hour,
			Windows: []Window{{ut(2014, 5, 23, 0, 0, 0), ut(2014, 5, 24, 0, 0, 0)}, {ut(2015, 11, 1, 0, 0, 0), ut(2015, 11, 2, 0, 0, 0)}}},
		[]string{"bgpdata/2014.05/RIBS/rib.20140523.0600.bz2", "route-views6/bgpdata/2015.11/RIBS/rib.20151101.0600.bz2"}},
	{"early RIS: an off-grid 15-minute file covers the window start",
		Query{Collectors: []string{"rrc00"}, Windows: []Window{{ut(1999, 9, 3, 10, 50, 0), ut(1999, 9, 3, 11, 0, 0)}}},
		[]string{"rrc00/1999.09/updates.19990903.1041.gz"}},
	{"early RIS: window after the month start lists the previous month too",
		Query{Collectors: []string{"rrc00"}, Windows: []Window{{ut(2000, 1, 1, 0, 0, 0), ut(2000, 1, 31, 0, 0, 0)}}},
		[]string{"rrc00/2000.01/updates.20000102.2014.gz", "rrc00/2000.01/bview.20000111.0032.gz"}},
}

// TestIndexesWindows runs every query through every index (the archive
// listings, a local mirror by path and by file:// URL, the CAIDA broker,
// the BGPKIT broker) over the same emulated archive, and checks that each
// returns exactly the expected dumps with the same labels, in order.
func TestIndexesWindows(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	idx := indexes(t, srv)
	for _, tc := range windowCases {
		t.Run(tc.name, func(t *testing.T) {
			want := expect(t, tc.paths...)
			for _, name := range sortedKeys(idx) {
				ds, err := idx[name].Find(testCtx(t), tc.q)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got := labels(ds); !sameStrings(got, want) {
					t.Errorf("%s:\n got  %q\n want %q", name, got, want)
				}
				for _, d := range ds {
					if d.Format != "mrt" || (d.Transport != "http" && d.Transport != "file") {
						t.Errorf("%s: %s: format %q transport %q", name, d.URL, d.Format, d.Transport)
					}
				}
			}
		})
	}
}

// TestArchiveIndexURLs checks that the archive index's URLs are the real
// layouts' (route-views2 without a collector path) and that they answer
// with the catalogue's bytes.
func TestArchiveIndexURLs(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	ai, err := NewArchiveIndex(ArchiveOptions{RISBase: srv.RISBase(), RouteViewsBase: srv.RouteViewsBase(), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ai.Find(testCtx(t), Query{Windows: []Window{{ut(2014, 5, 23, 6, 0, 0), ut(2014, 5, 23, 6, 1, 0)}}, Collectors: []string{"route-views2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].URL != srv.RouteViewsBase()+"/bgpdata/2014.05/RIBS/rib.20140523.0600.bz2" {
		t.Fatalf("got %v", ds)
	}
	resp, err := http.Get(ds[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if want := archivetest.Bytes(t, "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2"); string(b) != string(want) {
		t.Fatalf("served %d bytes, want the %d of the corpus file", len(b), len(want))
	}
}

// TestListingStyles reads the same archive through both listing styles
// (Apache's table, nginx's <pre>) and gets the same dumps.
func TestListingStyles(t *testing.T) {
	q := Query{Windows: []Window{{ut(2010, 2, 27, 16, 0, 0), ut(2010, 2, 27, 16, 20, 0)}, {ut(2015, 4, 1, 0, 0, 0), ut(2015, 4, 1, 0, 1, 0)}},
		Collectors: []string{"rrc03", "rrc15", "rrc06", "route-views.jinx"}}
	want := expect(t, "rrc03/2010.02/updates.20100227.1600.gz", "rrc15/2010.02/updates.20100227.1600.gz",
		"rrc15/2010.02/updates.20100227.1610.gz", "rrc06/2015.04/updates.20150401.0000.gz",
		"route-views.jinx/bgpdata/2015.04/UPDATES/updates.20150401.0000.bz2")
	for _, style := range []string{"table", "pre"} {
		srv := archivetest.New(t, archivetest.Options{Listing: style})
		ai, err := NewArchiveIndex(ArchiveOptions{RISBase: srv.RISBase(), RouteViewsBase: srv.RouteViewsBase(), HTTP: fastHTTP()})
		if err != nil {
			t.Fatal(err)
		}
		ds, err := ai.Find(testCtx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		if got := labels(ds); !sameStrings(got, want) {
			t.Errorf("%s:\n got  %q\n want %q", style, got, want)
		}
		// The page really is in that style.
		resp, err := http.Get(srv.RISBase() + "/rrc15/2010.02/")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if isTable := strings.Contains(string(page), "<table>"); isTable != (style == "table") {
			t.Errorf("%s: page is not in that style:\n%s", style, page)
		}
	}
}

// TestListingOldStyleFault switches one directory to the old table style
// while the rest stays <pre>: the index reads both.
func TestListingOldStyleFault(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{Listing: "pre"})
	srv.SetFault("/ris/rrc15/2010.02/", archivetest.Fault{Listing: "table"})
	ai, err := NewArchiveIndex(ArchiveOptions{RISBase: srv.RISBase(), RouteViewsBase: srv.RouteViewsBase(), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	q := windowCases[1].q
	ds, err := ai.Find(testCtx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := labels(ds), expect(t, windowCases[1].paths...); !sameStrings(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if srv.Requests("/ris/rrc15/2010.02/") != 1 {
		t.Errorf("rrc15 month listed %d times", srv.Requests("/ris/rrc15/2010.02/"))
	}
}

// TestParseListing checks names and sizes read from both page styles.
func TestParseListing(t *testing.T) {
	for _, style := range []string{"table", "pre"} {
		srv := archivetest.New(t, archivetest.Options{Listing: style})
		for _, dir := range []string{"/ris/rrc15/2010.02/", "/routeviews/route-views.jinx/bgpdata/2015.04/UPDATES/", "/ris/rrc00/"} {
			resp, err := http.Get(srv.URL() + dir)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			items := parseListing(page, srv.URL()+dir)
			var names []string
			for _, it := range items {
				names = append(names, it.name)
				if strings.HasSuffix(it.name, "/") {
					continue
				}
				size := int64(len(srv.Data(dir + it.name)))
				if it.rough < size*95/100 || it.rough > size*105/100 {
					t.Errorf("%s %s%s: size %d, file has %d", style, dir, it.name, it.rough, size)
				}
				if it.size != 0 && it.size != size {
					t.Errorf("%s %s%s: exact size %d, file has %d", style, dir, it.name, it.size, size)
				}
			}
			want := map[string]string{
				"/ris/rrc15/2010.02/": "updates.20100227.1600.gz updates.20100227.1610.gz",
				"/routeviews/route-views.jinx/bgpdata/2015.04/UPDATES/": "updates.20150401.0000.bz2",
				"/ris/rrc00/": "1999.09/ 1999.12/ 2000.01/ 2000.03/",
			}[dir]
			if got := strings.Join(names, " "); got != want {
				t.Errorf("%s %s: names %q, want %q", style, dir, got, want)
			}
		}
	}
}

// TestDumpsOfOffGrid checks the durations given to early RIS files with
// off-grid minutes: until the next file, or 15 min for the last.
func TestDumpsOfOffGrid(t *testing.T) {
	items := []listItem{{name: "bview.20010101.0609.gz"}, {name: "updates.20010131.2236.gz"},
		{name: "updates.20010131.2251.gz"}, {name: "updates.20010131.2330.gz"}, {name: "README"}, {name: "2001.01/"}}
	ds := dumpsOf(Collector{Project: ProjectRIS, Name: "rrc00", Path: "rrc00"}, base{url: "https://x/rrc00/2001.01"}, items)
	got := map[string]time.Duration{}
	for _, d := range ds {
		got[d.Name()] = d.Duration
	}
	want := map[string]time.Duration{"bview.20010101.0609.gz": RIBDuration, "updates.20010131.2236.gz": 15 * time.Minute,
		"updates.20010131.2251.gz": 39 * time.Minute, "updates.20010131.2330.gz": 5 * time.Minute}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: duration %s, want %s", k, got[k], v)
		}
	}
}

// TestCollectorsFile replaces the built-in collector list: only the listed
// collectors are read, under the names and paths the file gives.
func TestCollectorsFile(t *testing.T) {
	srv := archivetest.New(t, archivetest.Options{})
	dir := t.TempDir()
	win := []Window{{ut(2010, 2, 27, 16, 0, 0), ut(2010, 2, 27, 16, 20, 0)}}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	find := func(t *testing.T, o ArchiveOptions, q Query) []Dump {
		t.Helper()
		o.RISBase, o.RouteViewsBase, o.HTTP = srv.RISBase(), srv.RouteViewsBase(), fastHTTP()
		ai, err := NewArchiveIndex(o)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := ai.Find(testCtx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	t.Run("text", func(t *testing.T) {
		p := write("c.txt", "# only rrc15, and rrc03 under another name\nris rrc15\nripe-ris renamed rrc03  # path\n")
		ds := find(t, ArchiveOptions{CollectorsFile: p}, Query{Windows: win})
		var got []string
		for _, d := range ds {
			got = append(got, d.Collector+" "+d.Name())
		}
		want := "renamed updates.20100227.1600.gz|rrc15 updates.20100227.1600.gz|rrc15 updates.20100227.1610.gz"
		if strings.Join(got, "|") != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("bgpkit JSON", func(t *testing.T) {
		p := write("c.json", `{"projects":[{"name":"riperis","collectors":[{"id":"rrc03","url":"`+srv.RISBase()+`/rrc03"}]}]}`)
		ds := find(t, ArchiveOptions{CollectorsFile: p}, Query{Windows: win})
		if got, want := labels(ds), expect(t, "rrc03/2010.02/updates.20100227.1600.gz"); !sameStrings(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("errors name the file and line", func(t *testing.T) {
		p := write("bad.txt", "ris rrc00\nisolario rrc99\nris\n")
		_, err := NewArchiveIndex(ArchiveOptions{CollectorsFile: p})
		if err == nil || !strings.Contains(err.Error(), p+":2") || !strings.Contains(err.Error(), p+":3") ||
			!strings.Contains(err.Error(), "CollectorsFile") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("a collector not in the list", func(t *testing.T) {
		p := write("one.txt", "ris rrc15\n")
		ai, err := NewArchiveIndex(ArchiveOptions{CollectorsFile: p, RISBase: srv.RISBase()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ai.Find(testCtx(t), Query{Collectors: []string{"rrc03"}, Windows: win})
		if err == nil || !strings.Contains(err.Error(), `"rrc03"`) {
			t.Errorf("error %v", err)
		}
	})
}

// TestMirrorPerProjectBases reads a mirror whose projects live in separate
// directories, and a missing month, which is empty rather than an error.
func TestMirrorPerProjectBases(t *testing.T) {
	dir := t.TempDir()
	var ris, rv []archivetest.Entry
	for _, e := range archivetest.Catalogue() {
		if e.Project == "ris" {
			ris = append(ris, e)
		} else {
			rv = append(rv, e)
		}
	}
	archivetest.WriteMirror(t, filepath.Join(dir, "ris"), ris)
	archivetest.WriteMirror(t, filepath.Join(dir, "rv"), rv)
	ai, err := NewArchiveIndex(ArchiveOptions{RISBase: filepath.Join(dir, "ris"), RouteViewsBase: "file://" + filepath.Join(dir, "rv")})
	if err != nil {
		t.Fatal(err)
	}
	q := windowCases[6].q
	ds, err := ai.Find(testCtx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := labels(ds), expect(t, windowCases[6].paths...); !sameStrings(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if ds[0].URL != filepath.Join(dir, "ris", "rrc03/2010.02/updates.20100227.1600.gz") || ds[0].Size != int64(len(archivetest.Bytes(t, "bgpkit/rrc03_2010.02_updates.20100227.1600.first-796-records.gz"))) {
		t.Errorf("RIS dump %s size %d", ds[0].URL, ds[0].Size)
	}
	if !strings.HasPrefix(ds[2].URL, "file://"+filepath.Join(dir, "rv")) {
		t.Errorf("RouteViews dump %s", ds[2].URL)
	}
	empty, err := ai.Find(testCtx(t), Query{Collectors: []string{"rrc03"}, Windows: []Window{{ut(2020, 1, 1, 0, 0, 0), ut(2020, 3, 1, 0, 0, 0)}}})
	if err != nil || len(empty) != 0 {
		t.Errorf("missing months: %v %v", empty, err)
	}
}

// TestQueryValidation checks that bad queries and options are refused up
// front, naming what is wrong.
func TestQueryValidation(t *testing.T) {
	ai, err := NewArchiveIndex(ArchiveOptions{Base: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    Query
		want string
	}{
		{Query{}, "Query.Windows"},
		{Query{Windows: []Window{{}}}, "zero start"},
		{Query{Windows: []Window{{ut(2020, 1, 2, 0, 0, 0), ut(2020, 1, 1, 0, 0, 0)}}}, "before start"},
		{Query{Projects: []string{"isolario"}, Windows: []Window{{Start: ut(2020, 1, 1, 0, 0, 0)}}}, `unknown project "isolario"`},
		{Query{Types: []string{"bmp"}, Windows: []Window{{Start: ut(2020, 1, 1, 0, 0, 0)}}}, `unknown type "bmp"`},
	} {
		if _, err := ai.Find(testCtx(t), tc.q); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.q, err, tc.want)
		}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{second(NewArchiveIndex(ArchiveOptions{RISBase: "ftp://x"})), "ArchiveOptions.RISBase"},
		{second(NewArchiveIndex(ArchiveOptions{Listings: -1})), "ArchiveOptions.Listings"},
		{second(NewCAIDABroker(BrokerOptions{URL: "broker"})), "BrokerOptions.URL"},
		{second(NewCAIDABroker(BrokerOptions{Params: []string{"novalue"}})), "BrokerOptions.Params"},
		{second(NewCAIDABroker(BrokerOptions{HTTP: HTTPOptions{Attempts: -1}})), "BrokerOptions.HTTP.Attempts"},
		{second(NewBGPKITBroker(BGPKITOptions{PageSize: 5000})), "BGPKITOptions.PageSize"},
		{second(NewFetcher(FetchOptions{CacheOnly: true})), "FetchOptions.CacheOnly"},
		{second(NewFetcher(FetchOptions{HTTP: HTTPOptions{RetryWait: time.Minute, RetryMaxWait: time.Second}})), "RetryMaxWait"},
		{second(NewPoller(ai, Query{}, PollerOptions{})), "Query.Windows"},
		{second(NewPoller(ai, Query{Windows: []Window{{Start: time.Now()}}}, PollerOptions{Interval: time.Minute, MaxInterval: time.Second})), "PollerOptions.MaxInterval"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("error %v, want one naming %q", tc.err, tc.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestRIBPeriod checks bgpreader's -P rule on a collector's RIB series:
// the first RIB, then each one at least a period after the last kept.
func TestRIBPeriod(t *testing.T) {
	var ds []Dump
	for h := 0; h < 24; h += 2 {
		for _, c := range []string{"route-views2", "route-views6"} {
			ds = append(ds, Dump{URL: c + string(rune('a'+h)), Project: "routeviews", Collector: c, Type: TypeRIBs,
				Start: ut(2014, 5, 23, h, 0, 0), Duration: RIBDuration})
		}
		ds = append(ds, Dump{URL: "u" + string(rune('a'+h)), Project: "routeviews", Collector: "route-views2", Type: TypeUpdates,
			Start: ut(2014, 5, 23, h, 0, 0), Duration: 15 * time.Minute})
	}
	q := Query{RIBPeriod: 5 * time.Hour, Windows: []Window{{ut(2014, 5, 23, 0, 0, 0), ut(2014, 5, 24, 0, 0, 0)}}}
	got := finish(q, ds)
	var ribs []string
	updates := 0
	for _, d := range got {
		if d.Type == TypeRIBs {
			ribs = append(ribs, d.Collector+"@"+d.Start.Format("15"))
		} else {
			updates++
		}
	}
	want := "route-views2@00 route-views6@00 route-views2@06 route-views6@06 route-views2@12 route-views6@12 route-views2@18 route-views6@18"
	if strings.Join(ribs, " ") != want || updates != 12 {
		t.Errorf("ribs %q (want %q), %d updates (want 12)", ribs, want, updates)
	}
}
