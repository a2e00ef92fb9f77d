// Package bartcmp compares the filter's prefix tables with
// github.com/gaissmai/bart on 100 k real prefixes. It is a separate module
// (under testdata, so the main module never builds it or depends on bart):
//
//	cd filter/testdata/bartcmp && GOFLAGS=-mod=mod go test -bench . -benchtime 2s
//
// TestAgree checks, query by query, that both give the same answers for
// more (bart LookupPrefix), exact (Get) and any (OverlapsPrefix).
package bartcmp

import (
	"bufio"
	"compress/gzip"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/gaissmai/bart"
)

// ref is the corpus's bgpdump output, relative to this directory.
var ref = filepath.Join("..", "..", "..", "..", "shared", "testdata", "real", "_reference", "bgpdump-m")

func prefixes(files []string, n int) []netip.Prefix {
	seen := map[netip.Prefix]bool{}
	var out []netip.Prefix
	for _, name := range files {
		f, err := os.Open(filepath.Join(ref, name))
		if err != nil {
			return nil
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() && len(out) < n {
			fs := strings.Split(sc.Text(), "|")
			if len(fs) < 6 || (fs[2] != "A" && fs[2] != "B" && fs[2] != "W") || strings.HasSuffix(fs[0], "_AP") {
				continue
			}
			p, err := netip.ParsePrefix(fs[5])
			if err != nil {
				continue
			}
			p = p.Masked()
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
		f.Close()
	}
	return out
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loop(b *testing.B, n int, body func(i int) bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	start := threadCPU()
	k, m := 0, 0
	for i := 0; b.Loop(); i++ {
		if body(i % n) {
			m++
		}
		k++
	}
	b.ReportMetric(float64(threadCPU()-start)/float64(k), "cpu-ns/op")
	b.ReportMetric(float64(m)/float64(k), "hit")
}

func BenchmarkCompare(b *testing.B) {
	set := prefixes([]string{"ripe-bgpdump_updates.et-header.2015.gz.bgpdump-m.txt.gz", "ripe-bgpdump_bview.20020722.2337.gz.bgpdump-m.txt.gz", "pyasn_rib6.20151101.0600_firstMB.bz2.bgpdump-m.txt.gz"}, 100000)
	qs := prefixes([]string{"pyasn_rib.20140523.0600_firstMB.bz2.bgpdump-m.txt.gz", "pyasn_rib6.20151101.0600_firstMB.bz2.bgpdump-m.txt.gz", "libbgpstream_routeviews.route-views.jinx.updates.1427846400.bz2.bgpdump-m.txt.gz"}, 1<<30)
	if len(set) < 100000 || len(qs) == 0 {
		b.Skip("corpus references not found")
	}
	var strs []string
	tbl := new(bart.Table[struct{}])
	for _, p := range set {
		strs = append(strs, p.String())
		tbl.Insert(p, struct{}{})
	}
	elems := make([]decode.Elem, len(qs))
	for i, q := range qs {
		elems[i] = decode.Elem{Type: decode.ElemRIB, Prefix: q}
	}
	r := &decode.Record{}
	for _, mode := range []string{"more", "exact", "any"} {
		f, err := filter.Parse("prefix " + mode + " " + strings.Join(strs, " "))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(mode+"/filter", func(b *testing.B) { loop(b, len(elems), func(i int) bool { return f.Match(r, &elems[i]) }) })
		switch mode {
		case "more":
			b.Run(mode+"/bart", func(b *testing.B) {
				loop(b, len(qs), func(i int) bool { _, ok := tbl.LookupPrefix(qs[i]); return ok })
			})
		case "exact":
			b.Run(mode+"/bart", func(b *testing.B) {
				loop(b, len(qs), func(i int) bool { _, ok := tbl.Get(qs[i]); return ok })
			})
		case "any":
			b.Run(mode+"/bart", func(b *testing.B) {
				loop(b, len(qs), func(i int) bool { return tbl.OverlapsPrefix(qs[i]) })
			})
		}
	}
}

func TestAgree(t *testing.T) {
	set := prefixes([]string{"ripe-bgpdump_updates.et-header.2015.gz.bgpdump-m.txt.gz", "ripe-bgpdump_bview.20020722.2337.gz.bgpdump-m.txt.gz", "pyasn_rib6.20151101.0600_firstMB.bz2.bgpdump-m.txt.gz"}, 100000)
	qs := prefixes([]string{"pyasn_rib.20140523.0600_firstMB.bz2.bgpdump-m.txt.gz", "pyasn_rib6.20151101.0600_firstMB.bz2.bgpdump-m.txt.gz", "libbgpstream_routeviews.route-views.jinx.updates.1427846400.bz2.bgpdump-m.txt.gz"}, 1<<30)
	if len(set) < 100000 || len(qs) == 0 {
		t.Skip("corpus references not found")
	}
	var strs []string
	tbl := new(bart.Table[struct{}])
	for _, p := range set {
		strs = append(strs, p.String())
		tbl.Insert(p, struct{}{})
	}
	r := &decode.Record{}
	for _, mode := range []string{"more", "exact", "any"} {
		f, err := filter.Parse("prefix " + mode + " " + strings.Join(strs, " "))
		if err != nil {
			t.Fatal(err)
		}
		hits := 0
		for _, q := range qs {
			var want bool
			switch mode {
			case "more":
				_, want = tbl.LookupPrefix(q)
			case "exact":
				_, want = tbl.Get(q)
			case "any":
				want = tbl.OverlapsPrefix(q)
			}
			if got := f.Match(r, &decode.Elem{Type: decode.ElemRIB, Prefix: q}); got != want {
				t.Fatalf("%s %v: filter %v, bart %v", mode, q, got, want)
			}
			if want {
				hits++
			}
		}
		t.Logf("%s: %d of %d queries agree, %d hits", mode, len(qs), len(qs), hits)
	}
}
