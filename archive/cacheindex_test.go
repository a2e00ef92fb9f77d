package archive

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestCacheIndex lists a cache's complete entries as dumps with their
// labels and URLs, selects them by query, and ignores partial, hidden and
// foreign files.
func TestCacheIndex(t *testing.T) {
	dir := t.TempDir()
	c := &cache{dir: dir}
	put := func(d Dump, data string, meta bool) {
		p := c.path(d)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if meta {
			if err := os.WriteFile(hidden(p, ".meta"), []byte(`{"url":"`+d.URL+`","size":`+strconv.Itoa(len(data))+`}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t0 := time.Date(2015, 4, 1, 0, 0, 0, 0, time.UTC)
	jinx := Dump{URL: "http://rv/route-views.jinx/bgpdata/2015.04/UPDATES/updates.20150401.0000.bz2", Project: "routeviews",
		Collector: "route-views.jinx", Type: TypeUpdates, Start: t0, Duration: 15 * time.Minute}
	rrc06 := Dump{URL: "http://ris/rrc06/2015.04/updates.20150401.0000.gz", Project: "ris", Collector: "rrc06",
		Type: TypeUpdates, Start: t0, Duration: 5 * time.Minute}
	later := rrc06
	later.URL, later.Start = "http://ris/rrc06/2015.04/updates.20150401.1000.gz", t0.Add(10*time.Hour)
	put(jinx, "BZh9data", true)
	put(rrc06, "\x1f\x8bdata", true)
	put(later, "\x1f\x8bdata", true)
	noMeta := rrc06
	noMeta.Collector = "rrc07"
	put(noMeta, "\x1f\x8bdata", false) // URL unknown: not listed
	os.WriteFile(filepath.Join(dir, ".ris.rrc06.updates.1.300.x.part"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	// A damaged entry (size differs from its .meta) is not listed.
	bad := rrc06
	bad.Collector, bad.URL = "rrc11", "http://ris/rrc11/2015.04/updates.20150401.0000.gz"
	put(bad, "\x1f\x8bdata", true)
	os.WriteFile(c.path(bad), []byte("\x1f\x8bda"), 0o644)

	idx, err := NewCacheIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := idx.Find(context.Background(), Query{Windows: []Window{{Start: t0, End: t0.Add(10 * time.Minute)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].URL != jinx.URL || got[1].URL != rrc06.URL || got[0].Collector != "route-views.jinx" || got[1].Duration != 5*time.Minute {
		t.Fatalf("got %v", got)
	}
	got, _ = idx.Find(context.Background(), Query{Collectors: []string{"rrc06"}, Windows: []Window{{Start: t0}}})
	if len(got) != 2 || got[1].URL != later.URL {
		t.Fatalf("open window, rrc06: %v", got)
	}
	if _, err := NewCacheIndex(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing cache directory is not an error")
	}
}
