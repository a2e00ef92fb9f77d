package archivetest

import (
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

// Entry is one dump of the emulated archives (or one stream resource of
// the emulated CAIDA broker), with the labels the real archives and
// brokers give it.
type Entry struct {
	// Project is "ris" or "routeviews" (the CAIDA broker's names).
	Project string
	// Collector is the collector's name: "rrc03", "route-views.jinx",
	// "route-views2".
	Collector string
	// Type is "ribs" or "updates".
	Type string
	// Start is the dump's nominal start (the time in its name).
	Start time.Time
	// Duration is the dump's nominal length: 5 min for RIS updates
	// (15 min for the early off-grid ones), 15 min for RouteViews
	// updates, 2 min for RIBs (the CAIDA broker's convention).
	Duration time.Duration
	// ArchivePath is the file's path under its project's archive root,
	// exactly as on data.ris.ripe.net or archive.routeviews.org:
	// "rrc03/2010.02/updates.20100227.1600.gz",
	// "bgpdata/2014.05/RIBS/rib.20140523.0600.bz2" (route-views2).
	ArchivePath string
	// Source is the corpus file served for it, relative to the corpus
	// root; Truncated is the truncated original served instead when
	// Options.Truncated is set ("" when there is none).
	Source, Truncated string
	// Data, when set, is served instead of the corpus file Source: a dump
	// a test built (RepeatRIB), under a real archive name.
	Data []byte

	// Transport, Format and Attrs describe a stream resource of the CAIDA
	// broker (Transport "kafka"); empty for an archive file.
	Transport, Format string
	Attrs             map[string]string
}

// URLPath is the entry's path on the emulator: "/<project>/<ArchivePath>"
// (stream resources have none).
func (e Entry) URLPath() string {
	if e.Transport == "kafka" {
		return ""
	}
	return "/" + e.Project + "/" + e.ArchivePath
}

// Base is the file name of the dump ("updates.20100227.1600.gz").
func (e Entry) Base() string { return path.Base(e.ArchivePath) }

// End is Start + Duration.
func (e Entry) End() time.Time { return e.Start.Add(e.Duration) }

func ut(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, time.UTC)
}

const (
	risUpdates   = 5 * time.Minute
	risEarly     = 15 * time.Minute // RIS's first years: updates every 15 min at odd minutes
	rvUpdates    = 15 * time.Minute
	ribDuration  = 2 * time.Minute
	routeviewsRV = "routeviews"
)

// catalogue lists the real dumps of ../shared/testdata/real that carry a
// real archive name and date, under that name.
var catalogue = []Entry{
	// RIPE RIS (gzip). The early rrc00/rrc01 files have off-grid minutes.
	{Project: "ris", Collector: "rrc00", Type: "updates", Start: ut(1999, 9, 3, 10, 41), Duration: risEarly,
		ArchivePath: "rrc00/1999.09/updates.19990903.1041.gz", Source: "bgpkit/rrc00_1999.09_updates.19990903.1041.gz"},
	{Project: "ris", Collector: "rrc00", Type: "updates", Start: ut(1999, 12, 14, 16, 21), Duration: risEarly,
		ArchivePath: "rrc00/1999.12/updates.19991214.1621.gz", Source: "bgpkit/rrc00_1999.12_updates.19991214.1621.gz"},
	{Project: "ris", Collector: "rrc00", Type: "updates", Start: ut(2000, 1, 2, 20, 14), Duration: risEarly,
		ArchivePath: "rrc00/2000.01/updates.20000102.2014.gz", Source: "bgpkit/rrc00_2000.01_updates.20000102.2014.gz"},
	{Project: "ris", Collector: "rrc00", Type: "ribs", Start: ut(2000, 1, 11, 0, 32), Duration: ribDuration,
		ArchivePath: "rrc00/2000.01/bview.20000111.0032.gz", Source: "bgpkit/rrc00_2000.01_bview.20000111.0032.gz"},
	{Project: "ris", Collector: "rrc00", Type: "updates", Start: ut(2000, 3, 25, 3, 45), Duration: risUpdates,
		ArchivePath: "rrc00/2000.03/updates.20000325.0345.gz", Source: "bgpkit/rrc00_2000.03_updates.20000325.0345.gz"},
	{Project: "ris", Collector: "rrc01", Type: "updates", Start: ut(2000, 11, 4, 1, 24), Duration: risEarly,
		ArchivePath: "rrc01/2000.11/updates.20001104.0124.gz", Source: "bgpkit/rrc01_2000.11_updates.20001104.0124.gz"},
	{Project: "ris", Collector: "rrc03", Type: "updates", Start: ut(2010, 2, 27, 16, 0), Duration: risUpdates,
		ArchivePath: "rrc03/2010.02/updates.20100227.1600.gz", Source: "bgpkit/rrc03_2010.02_updates.20100227.1600.first-796-records.gz"},
	{Project: "ris", Collector: "rrc15", Type: "updates", Start: ut(2010, 2, 27, 16, 0), Duration: risUpdates,
		ArchivePath: "rrc15/2010.02/updates.20100227.1600.gz", Source: "bgpkit/rrc15_2010.02_updates.20100227.1600.gz"},
	{Project: "ris", Collector: "rrc15", Type: "updates", Start: ut(2010, 2, 27, 16, 10), Duration: risUpdates,
		ArchivePath: "rrc15/2010.02/updates.20100227.1610.gz", Source: "bgpkit/rrc15_2010.02_updates.20100227.1610.gz"},
	{Project: "ris", Collector: "rrc06", Type: "updates", Start: ut(2015, 4, 1, 0, 0), Duration: risUpdates,
		ArchivePath: "rrc06/2015.04/updates.20150401.0000.gz", Source: "libbgpstream/ris.rrc06.updates.1427846400.gz"},

	// RouteViews (bzip2). route-views2 has no collector path in the old layout.
	{Project: routeviewsRV, Collector: "route-views.jinx", Type: "updates", Start: ut(2015, 4, 1, 0, 0), Duration: rvUpdates,
		ArchivePath: "route-views.jinx/bgpdata/2015.04/UPDATES/updates.20150401.0000.bz2", Source: "libbgpstream/routeviews.route-views.jinx.updates.1427846400.bz2"},
	{Project: routeviewsRV, Collector: "route-views2", Type: "ribs", Start: ut(2014, 5, 23, 6, 0), Duration: ribDuration,
		ArchivePath: "bgpdata/2014.05/RIBS/rib.20140523.0600.bz2", Source: "pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2",
		Truncated: "pyasn/rib.20140523.0600_firstMB.bz2"},
	{Project: routeviewsRV, Collector: "route-views6", Type: "ribs", Start: ut(2015, 11, 1, 6, 0), Duration: ribDuration,
		ArchivePath: "route-views6/bgpdata/2015.11/RIBS/rib.20151101.0600.bz2", Source: "pyasn/rib6.20151101.0600_firstMB.recordcut.mrt.bz2",
		Truncated: "pyasn/rib6.20151101.0600_firstMB.bz2"},
}

// Catalogue returns the real dumps the emulator serves by default, sorted
// by start, ribs before updates, then collector: RIS rrc00 (1999–2000,
// off-grid minutes), rrc01 (2000), rrc03 and rrc15 (2010-02-27 16:00 and
// 16:10), rrc06 (2015-04-01 00:00); RouteViews route-views.jinx
// (2015-04-01 00:00 updates), route-views2 (2014-05-23 06:00 RIB slice)
// and route-views6 (2015-11-01 06:00 RIB slice). It needs no corpus:
// tests compute their expectations from it.
func Catalogue() []Entry {
	out := append([]Entry(nil), catalogue...)
	SortEntries(out)
	return out
}

// Find returns the catalogue entry whose ArchivePath or URLPath is p, or
// false.
func Find(p string) (Entry, bool) {
	for _, e := range catalogue {
		if e.ArchivePath == p || e.URLPath() == p {
			return e, true
		}
	}
	return Entry{}, false
}

// SortEntries sorts entries as the brokers do: by start, ribs before
// updates, then collector, then path.
func SortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		if a.Type != b.Type {
			return a.Type == "ribs"
		}
		if a.Collector != b.Collector {
			return a.Collector < b.Collector
		}
		return a.URLPath() < b.URLPath()
	})
}

var (
	dataMu sync.Mutex
	data   = map[string][]byte{}
)

// Bytes returns the bytes of a corpus file (relative to the corpus root),
// read once per process and shared read-only, or skips tb when the corpus
// is absent.
func Bytes(tb testing.TB, rel string) []byte {
	tb.Helper()
	dataMu.Lock()
	b, ok := data[rel]
	dataMu.Unlock()
	if ok {
		return b
	}
	b = corpus.Read(tb, rel)
	dataMu.Lock()
	data[rel] = b
	dataMu.Unlock()
	return b
}

// WriteMirror lays the entries' files out under dir as a local mirror of
// the archives: dir/<ArchivePath> (the RIS and RouteViews trees side by
// side: rrcNN/, route-views.X/bgpdata/, bgpdata/). It skips tb when the
// corpus is absent.
func WriteMirror(tb testing.TB, dir string, entries []Entry) {
	tb.Helper()
	for _, e := range entries {
		if e.Transport == "kafka" {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(e.ArchivePath))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		b := e.Data
		if b == nil {
			b = Bytes(tb, e.Source)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}
