package filter_test

import (
	"runtime"
	"syscall"

	"bufio"
	"compress/gzip"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
)

// realPrefixes returns up to n distinct real prefixes, read from bgpdump's
// reference output of the corpus (RIS updates 2015 and a 2002 RIB).
func realPrefixes(b testing.TB, n int) []string {
	b.Helper()
	seen := map[string]bool{}
	var out []string
	for _, name := range []string{
		"ripe-bgpdump_updates.et-header.2015.gz.bgpdump-m.txt.gz",
		"ripe-bgpdump_bview.20020722.2337.gz.bgpdump-m.txt.gz",
		"pyasn_rib6.20151101.0600_firstMB.bz2.bgpdump-m.txt.gz",
	} {
		f, err := os.Open(filepath.Join(realDir, "_reference", "bgpdump-m", name))
		if err != nil {
			b.Skipf("reference output missing: %v", err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() && len(out) < n {
			fields := strings.Split(sc.Text(), "|")
			if len(fields) < 6 || (fields[2] != "A" && fields[2] != "B" && fields[2] != "W") {
				continue
			}
			p := fields[5]
			if fields[0] == "TABLE_DUMP2_AP" || fields[0] == "BGP4MP_AP" {
				continue
			}
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
		f.Close()
	}
	if len(out) < n {
		b.Fatalf("only %d distinct prefixes in the references", len(out))
	}
	return out
}

// hot samples 512 elems spread over the corpus: a working set (elems, their
// attributes, AS path and community storage) that stays in cache, as an elem
// does when it is filtered right after it was decoded. The "cold" variants
// run over the whole corpus (128k elems, tens of MB with their attributes)
// and mostly measure cache misses on the elems.
func hot(items []item) []item {
	const n = 512
	out := make([]item, 0, n)
	for i := range n {
		out = append(out, items[i*len(items)/n])
	}
	return out
}

// threadCPU returns the CPU time of the calling OS thread. The build machine
// is shared, so wall-clock ns/op include time spent descheduled; cpu-ns/op
// (the loop's thread CPU time per op, with the goroutine locked to its
// thread) is the figure to read.
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD (Linux)
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loopCPU runs body as a benchmark loop and reports cpu-ns/op.
func loopCPU(b *testing.B, body func(i int)) {
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	start := threadCPU()
	n := 0
	for i := 0; b.Loop(); i++ {
		body(i)
		n++
	}
	b.ReportMetric(float64(threadCPU()-start)/float64(n), "cpu-ns/op")
}

// benchLoop runs match over the elems, one elem per iteration.
func benchLoop(b *testing.B, items []item, match func(*decode.Record, *decode.Elem) bool) {
	n := 0
	loopCPU(b, func(i int) {
		it := items[i%len(items)]
		if match(it.r, it.e) {
			n++
		}
	})
	b.ReportMetric(float64(n)/float64(b.N), "matched/elem")
}

func BenchmarkPrefix100k(b *testing.B) {
	items := loadCorpus(b)
	pfx := realPrefixes(b, 100000)
	for _, mode := range []string{"more", "exact", "less", "any"} {
		f := mustParse(b, "prefix "+mode+" "+strings.Join(pfx, " "))
		b.Run(mode, func(b *testing.B) { benchLoop(b, hot(items), f.Match) })
		b.Run(mode+"/cold", func(b *testing.B) { benchLoop(b, items, f.Match) })
	}
}

func BenchmarkFiveClauses(b *testing.B) {
	items := loadCorpus(b)
	for _, tc := range []struct{ name, expr string }{
		// A realistic selective filter: most elems fail early.
		{"selective", "collector route-views2 and type ribs and peer 6939 and prefix more 1.0.0.0/8 and community 3356:*"},
		// Every clause passes for most elems, so all five run.
		{"all-evaluated", "project routeviews ris singlefile and type ribs updates and ipversion 4 6 and not peer 1 and prefix more 0.0.0.0/0 ::/0"},
		// Attribute clauses that all run on RIB entries.
		{"attributes", "elemtype ribs announcements and not community 65535:0 and aspath !_1_ and prefix any 0.0.0.0/0 ::/0 and not origin 1"},
	} {
		f := mustParse(b, tc.expr)
		b.Run(tc.name, func(b *testing.B) { benchLoop(b, hot(items), f.Match) })
		b.Run(tc.name+"/cold", func(b *testing.B) { benchLoop(b, items, f.Match) })
	}
}

func BenchmarkASPath(b *testing.B) {
	items := loadCorpus(b)
	for _, tc := range []struct{ name, expr string }{
		{"fast", "aspath _3356_"},
		{"fast-alternation", `aspath "_(3356|1299|174)_"`},
		{"regexp", "aspath (_3356_)"},
		{"regexp-prefiltered", `aspath "^3257_.*_22773$"`},
		{"regexp-prefiltered-adjacent", "aspath _6939_3356_"},
	} {
		f := mustParse(b, tc.expr)
		b.Run(tc.name+"/Filter", func(b *testing.B) { benchLoop(b, hot(items), f.Match) })
		m := f.NewMatcher()
		b.Run(tc.name+"/Matcher", func(b *testing.B) { benchLoop(b, hot(items), m.Match) })
	}
}

func BenchmarkPushDown(b *testing.B) {
	items := hot(loadCorpus(b))
	f := mustParse(b, "peer 6939 and collector route-views2 and elemtype ribs and prefix more 1.0.0.0/8")
	b.Run("MatchPeer", func(b *testing.B) {
		loopCPU(b, func(i int) {
			e := items[i%len(items)].e
			f.MatchPeer(e.PeerIP, e.PeerASN)
		})
	})
	b.Run("MatchRecord", func(b *testing.B) {
		loopCPU(b, func(i int) { f.MatchRecord(items[i%len(items)].r) })
	})
	b.Run("WantsFamily", func(b *testing.B) {
		loopCPU(b, func(i int) { f.WantsFamily(i&1 == 0) })
	})
}

func BenchmarkParse100kPrefixes(b *testing.B) {
	pfx := realPrefixes(b, 100000)
	s := "prefix any " + strings.Join(pfx, " ")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := filter.Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRealPrefixSet100k checks the 100k-prefix set against netip on real
// prefixes: every listed prefix matches exactly, and each elem's answer for
// "more" agrees with a map lookup of all its covering prefixes.
func TestRealPrefixSet100k(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	items := loadCorpus(t)
	pfx := realPrefixes(t, 100000)
	set := map[netip.Prefix]bool{}
	for _, p := range pfx {
		set[netip.MustParsePrefix(p).Masked()] = true
	}
	f := mustParse(t, "prefix more "+strings.Join(pfx, " "))
	for _, it := range items[:min(len(items), 40000)] {
		if it.e.Type == decode.ElemPeerState {
			continue
		}
		want := false
		for l := it.e.Prefix.Bits(); l >= 0 && !want; l-- {
			q, _ := it.e.Prefix.Addr().Prefix(l)
			want = set[q]
		}
		if got := f.Match(it.r, it.e); got != want {
			t.Fatalf("%v: got %v, want %v", it.e.Prefix, got, want)
		}
	}
}
