package filter_test

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// The Filter satisfies the MRT elementor's push-down hook.
var _ mrt.Prefilter = (*filter.Filter)(nil)

// realDir is the shared corpus of real MRT files (see its MANIFEST.md).
var realDir = corpus.Root()

// corpusFile is a corpus file and the project/collector labels its records
// get (the labels a BGPStream broker would give these archives).
type corpusFile struct {
	path, project, collector string
	maxElems                 int
}

var corpusFiles = []corpusFile{
	{"libbgpstream/ris.rrc06.updates.1427846400.gz", "ris", "rrc06", 0},
	{"libbgpstream/routeviews.route-views.jinx.updates.1427846400.bz2", "routeviews", "route-views.jinx", 0},
	{"pyasn/rib6.20151101.0600_firstMB.bz2", "routeviews", "route-views6", 40000},
	{"pyasn/rib.20140523.0600_firstMB.bz2", "routeviews", "route-views2", 40000},
	{"ripe-bgpdump/bview.ipv4_unicast_add_path.gz", "ris", "rrc-addpath", 0},
	{"ripe-bgpdump/bview.ipv6_unicast_add_path.gz", "ris", "rrc-addpath", 0},
	{"ripe-bgpdump/updates.20070211.0141.gz", "ris", "rrc00", 30000},
	{"bgpkit/rrc15_2010.02_updates.20100227.1610.gz", "ris", "rrc15", 0},
	{"mrtparse/bird6-mrtdump_bgp", "singlefile", "bird6", 0},
	// BIRD stamps each TABLE_DUMP_V2 record with its own time, after the
	// PEER_INDEX_TABLE's.
	{"mrtparse/bird-mrtdump_rib", "singlefile", "bird", 0},
}

// item is one decoded elem with its record.
type item struct {
	r *decode.Record
	e *decode.Elem
}

var (
	corpusOnce  sync.Once
	corpusItems []item
	corpusErr   error
)

// loadCorpus decodes the corpus files with package mrt.
func loadCorpus(t testing.TB) []item {
	t.Helper()
	if _, err := os.Stat(realDir); err != nil {
		t.Skipf("real corpus not present at %s: %v", realDir, err)
	}
	corpusOnce.Do(func() {
		for _, cf := range corpusFiles {
			items, err := decodeFile(cf)
			if err != nil {
				corpusErr = err
				return
			}
			corpusItems = append(corpusItems, items...)
		}
	})
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return corpusItems
}

func decodeFile(cf corpusFile) ([]item, error) {
	f, err := os.Open(filepath.Join(realDir, cf.path))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	el := mrt.NewElementor()
	el.Project, el.Collector = cf.project, cf.collector
	sc, err := mrt.NewScanner(f, el, mrt.WithName(cf.path))
	if err != nil {
		return nil, err
	}
	max := cf.maxElems
	if max == 0 {
		max = 1 << 30
	}
	b := &decode.Batch{}
	for b.Len() < max {
		err := sc.Fill(b, max, 1<<30)
		if errors.Is(err, io.EOF) {
			break
		}
		var te *mrt.TruncatedError
		if errors.As(err, &te) {
			break // the *_firstMB files end inside a record
		}
		if err != nil {
			return nil, err
		}
	}
	out := make([]item, 0, b.Len())
	for i := range b.Elems {
		out = append(out, item{&b.Records[b.ElemRecord[i]], &b.Elems[i]})
	}
	return out, nil
}

// ---- independent expectations: plain Go over the elems ----

func hasPath(e *decode.Elem) bool {
	return e.Attrs != nil && (e.Type == decode.ElemRIB || e.Type == decode.ElemAnnouncement)
}

func hasPathP(_ *decode.Record, e *decode.Elem) bool { return hasPath(e) }

// pathTokens splits the rendered AS path on Cisco's boundary characters.
func pathTokens(e *decode.Elem) []string {
	return strings.FieldsFunc(e.Attrs.ASPath.String(), func(r rune) bool { return strings.ContainsRune(" {},()[]<>", r) })
}

func pathContains(asn string) func(*decode.Record, *decode.Elem) bool {
	return func(_ *decode.Record, e *decode.Elem) bool {
		return hasPath(e) && slices.Contains(pathTokens(e), asn)
	}
}

func pathStarts(asn string) func(*decode.Record, *decode.Elem) bool {
	return func(_ *decode.Record, e *decode.Elem) bool {
		if !hasPath(e) {
			return false
		}
		s := e.Attrs.ASPath.String()
		return strings.HasPrefix(s, asn) && (len(s) == len(asn) || s[len(asn)] == ' ')
	}
}

// textOrigin is the origin as bgpreader prints it: the last token when the
// path text ends in a digit (not a set or confederation bracket).
func textOrigin(e *decode.Elem) (string, bool) {
	if !hasPath(e) {
		return "", false
	}
	s := e.Attrs.ASPath.String()
	if s == "" || s[len(s)-1] < '0' || s[len(s)-1] > '9' {
		return "", false
	}
	return s[strings.LastIndexAny(s, " {},()[]<>")+1:], true
}

func pathEnds(asns ...string) func(*decode.Record, *decode.Elem) bool {
	return func(_ *decode.Record, e *decode.Elem) bool {
		o, ok := textOrigin(e)
		return ok && slices.Contains(asns, o)
	}
}

func originIs(asns ...string) func(*decode.Record, *decode.Elem) bool { return pathEnds(asns...) }

func peerIs(asns ...uint32) func(*decode.Record, *decode.Elem) bool {
	return func(_ *decode.Record, e *decode.Elem) bool { return slices.Contains(asns, e.PeerASN) }
}

func collectorIs(names ...string) func(*decode.Record, *decode.Elem) bool {
	return func(r *decode.Record, _ *decode.Elem) bool { return slices.Contains(names, r.Collector) }
}

func projectIs(names ...string) func(*decode.Record, *decode.Elem) bool {
	return func(r *decode.Record, _ *decode.Elem) bool { return slices.Contains(names, r.Project) }
}

func typeIs(t decode.ElemType) func(*decode.Record, *decode.Elem) bool {
	return func(_ *decode.Record, e *decode.Elem) bool { return e.Type == t }
}

func recIs(t decode.RecordType) func(*decode.Record, *decode.Elem) bool {
	return func(r *decode.Record, _ *decode.Elem) bool { return r.Type == t }
}

func ipv(v6 bool) func(*decode.Record, *decode.Elem) bool {
	return func(_ *decode.Record, e *decode.Elem) bool {
		return e.Type != decode.ElemPeerState && e.Prefix.IsValid() && e.Prefix.Addr().Is6() == v6
	}
}

// prefixRel relates the elem's prefix E to P: "more" E inside P, "less" P
// inside E, "exact", "any".
func prefixRel(mode, p string) func(*decode.Record, *decode.Elem) bool {
	P := netip.MustParsePrefix(p).Masked()
	return func(_ *decode.Record, e *decode.Elem) bool {
		if e.Type == decode.ElemPeerState || !e.Prefix.IsValid() {
			return false
		}
		E := e.Prefix.Masked()
		if E.Addr().Is4() != P.Addr().Is4() {
			return false
		}
		inside := E.Bits() >= P.Bits() && P.Contains(E.Addr())
		contains := P.Bits() >= E.Bits() && E.Contains(P.Addr())
		switch mode {
		case "more":
			return inside
		case "less":
			return contains
		case "exact":
			return E == P
		}
		return inside || contains
	}
}

func commIs(pat string) func(*decode.Record, *decode.Elem) bool {
	a, b, _ := strings.Cut(pat, ":")
	return func(_ *decode.Record, e *decode.Elem) bool {
		if !hasPath(e) {
			return false
		}
		for _, c := range e.Attrs.Communities {
			hi, lo := strconv.Itoa(int(c>>16)), strconv.Itoa(int(c&0xffff))
			if (a == "*" || a == hi) && (b == "*" || b == lo) {
				return true
			}
		}
		return false
	}
}

func timeIn(a, b int64) func(*decode.Record, *decode.Elem) bool {
	return func(r *decode.Record, _ *decode.Elem) bool { s := r.Time / 1e6; return s >= a && s <= b }
}

func pathIDIs(ids ...uint32) func(*decode.Record, *decode.Elem) bool {
	return func(_ *decode.Record, e *decode.Elem) bool { return e.HasPathID && slices.Contains(ids, e.PathID) }
}

func peerIPIn(p string) func(*decode.Record, *decode.Elem) bool {
	P := netip.MustParsePrefix(p)
	return func(_ *decode.Record, e *decode.Elem) bool { return e.PeerIP.IsValid() && P.Contains(e.PeerIP) }
}

func nextHopIn(p string) func(*decode.Record, *decode.Elem) bool {
	P := netip.MustParsePrefix(p)
	return func(_ *decode.Record, e *decode.Elem) bool {
		return hasPath(e) && e.NextHop.IsValid() && P.Contains(e.NextHop)
	}
}

func pathLen(n int) func(*decode.Record, *decode.Elem) bool {
	return func(_ *decode.Record, e *decode.Elem) bool { return hasPath(e) && len(pathTokens(e)) == n }
}

type pred = func(*decode.Record, *decode.Elem) bool

func and(ps ...pred) pred {
	return func(r *decode.Record, e *decode.Elem) bool {
		for _, p := range ps {
			if !p(r, e) {
				return false
			}
		}
		return true
	}
}

func or(ps ...pred) pred {
	return func(r *decode.Record, e *decode.Elem) bool {
		for _, p := range ps {
			if p(r, e) {
				return true
			}
		}
		return false
	}
}

func not(p pred) pred { return func(r *decode.Record, e *decode.Elem) bool { return !p(r, e) } }

func always(*decode.Record, *decode.Elem) bool { return true }

// corpusCases are filter strings and their independent expectations. The
// first ones are BGPStream's documented examples.
var corpusCases = []struct {
	expr string
	want pred
}{
	// BGPStream documentation examples.
	{"collector rrc00 and type updates", and(collectorIs("rrc00"), recIs(decode.RecordUpdate))},
	{"prefix more 1.2.3.0/22 and collector rrc06 route-views.jinx", and(prefixRel("more", "1.2.0.0/22"), collectorIs("rrc06", "route-views.jinx"))},
	{`ipversion 6 and peer 25152 and path "_4554_"`, and(ipv(true), peerIs(25152), pathContains("4554"))},
	{"community *:666", commIs("*:666")},
	{`path '^681_1444_'`, and(pathStarts("681"), func(_ *decode.Record, e *decode.Elem) bool {
		t := pathTokens(e)
		return len(t) >= 2 && t[1] == "1444" && strings.HasPrefix(e.Attrs.ASPath.String(), "681 1444")
	})},
	// Record terms.
	{"collector rrc06", collectorIs("rrc06")},
	{"coll route-views.jinx rrc15", collectorIs("route-views.jinx", "rrc15")},
	{"project ris", projectIs("ris")},
	{"proj routeviews and type ribs", and(projectIs("routeviews"), recIs(decode.RecordRIB))},
	{"type ribs", recIs(decode.RecordRIB)},
	{"type updates", recIs(decode.RecordUpdate)},
	{"type ribs updates", always},
	{"router r1", func(r *decode.Record, _ *decode.Elem) bool { return r.Router == "r1" }},
	{"resourcetype batch", always},
	{"restype stream", func(r *decode.Record, _ *decode.Elem) bool { return r.Format == decode.FormatBMP }},
	{`collector "rrc00"`, collectorIs("rrc00")},
	// Peers and origins.
	{"peer 25152", peerIs(25152)},
	{"peer 30844 37105", peerIs(30844, 37105)},
	{"peer 3257 and ipversion 6", and(peerIs(3257), ipv(true))},
	{"peer AS6939", peerIs(6939)},
	{"not peer 30844", not(peerIs(30844))},
	{"origin 5972", originIs("5972")},
	{"orig 22773 3257", originIs("22773", "3257")},
	{"origin 45528 and type ribs", and(originIs("45528"), recIs(decode.RecordRIB))},
	{"origin 38266", originIs("38266")},
	// Prefixes.
	{"prefix 2001:200::/32", prefixRel("more", "2001:200::/32")},
	{"prefix more 2a00::/12", prefixRel("more", "2a00::/12")},
	{"prefix exact 2620:110:9000::/44", prefixRel("exact", "2620:110:9000::/44")},
	{"prefix less 2620:110:9004::/48", prefixRel("less", "2620:110:9004::/48")},
	{"prefix any 2620:110:9000::/40", prefixRel("any", "2620:110:9000::/40")},
	{"prefix any 1.0.0.0/24", prefixRel("any", "1.0.0.0/24")},
	{"prefix less 1.0.4.0/24", prefixRel("less", "1.0.4.0/24")},
	{"prefix more 1.0.0.0/8", prefixRel("more", "1.0.0.0/8")},
	{"prefix exact 0.0.0.0/0", prefixRel("exact", "0.0.0.0/0")},
	{"prefix less 69.194.4.0/24", prefixRel("less", "69.194.4.0/24")},
	{"pref more 199.38.164.0/22 exact 69.194.4.0/24", or(prefixRel("more", "199.38.164.0/22"), prefixRel("exact", "69.194.4.0/24"))},
	{"prefix exact 208.73.244.0/22 202.70.88.0/21 less 2.16.100.0/24", or(prefixRel("exact", "208.73.244.0/22"), prefixRel("exact", "202.70.88.0/21"), prefixRel("less", "2.16.100.0/24"))},
	{"prefix more 10.0.0.0/8 and elemtype ribs", and(prefixRel("more", "10.0.0.0/8"), typeIs(decode.ElemRIB))},
	{"prefix more 0.0.0.0/0", ipv(false)},
	{"prefix more ::/0", ipv(true)},
	{"prefix any 2001:200:900::/40 2001::/16", or(prefixRel("any", "2001:200:900::/40"), prefixRel("any", "2001::/16"))},
	// Communities.
	{"community 2914:420", commIs("2914:420")},
	{"comm 2914:*", commIs("2914:*")},
	{"community *:3000", commIs("*:3000")},
	{"community 3356:22 3130:380", or(commIs("3356:22"), commIs("3130:380"))},
	{"community *:*", commIs("*:*")},
	{"community 209:888 and ipversion 6", and(commIs("209:888"), ipv(true))},
	{"not community *:*", not(commIs("*:*"))},
	// AS paths, fast forms and the same through the regexp engine.
	{"path _2914_", pathContains("2914")},
	{"path (_2914_)", pathContains("2914")},
	{"aspath ^30844_", pathStarts("30844")},
	{"aspath ^(30844)_", pathStarts("30844")},
	{"aspath _5972$", pathEnds("5972")},
	{"aspath _(5972)$", pathEnds("5972")},
	{`aspath "_(701|1239)$"`, pathEnds("701", "1239")},
	{"aspath _6939_ _3356_", and(pathContains("6939"), pathContains("3356"))},
	{"aspath !_6939_", and(hasPathP, not(pathContains("6939")))},
	{"aspath !(_6939_)", and(hasPathP, not(pathContains("6939")))},
	{"aspath ^25152$", and(pathStarts("25152"), pathLen(1), pathEnds("25152"))},
	{"aspath .*", hasPathP},
	{`aspath "^[0-9]+ [0-9]+$"`, func(_ *decode.Record, e *decode.Elem) bool {
		if !hasPath(e) {
			return false
		}
		parts := strings.Split(e.Attrs.ASPath.String(), " ")
		return len(parts) == 2 && allDigits(parts[0]) && allDigits(parts[1])
	}},
	{`aspath "\{"`, func(_ *decode.Record, e *decode.Elem) bool {
		return hasPath(e) && strings.Contains(e.Attrs.ASPath.String(), "{")
	}},
	{"path _6939_3356_", textSeq("6939", "3356")},
	{"path _6939_3356_ and not path (_6939_3356_)", func(*decode.Record, *decode.Elem) bool { return false }},
	{`path "^3257_.*_22773$"`, func(_ *decode.Record, e *decode.Elem) bool {
		if !hasPath(e) {
			return false
		}
		s := e.Attrs.ASPath.String()
		n := len(s)
		return strings.HasPrefix(s, "3257") && strings.HasSuffix(s, "22773") && n >= 11 && isBoundary(s[4]) && isBoundary(s[n-6]) && n-6 > 4
	}},
	{`path "^(3257|6939)_"`, or(pathStarts("3257"), pathStarts("6939"))},
	{`path "_(?:3356|1299|174)_"`, or(pathContains("3356"), pathContains("1299"), pathContains("174"))},
	{"path _0174_", func(*decode.Record, *decode.Elem) bool { return false }},
	{"aspath _38266_ and origin 38266", and(pathContains("38266"), originIs("38266"))},
	{"path _6509_ and not path _6509$", and(pathContains("6509"), not(pathEnds("6509")))},
	// ipversion and elemtype.
	{"ipversion 4", ipv(false)},
	{"ipv 6", ipv(true)},
	{"ipversion 4 6", or(ipv(false), ipv(true))},
	{"elemtype ribs", typeIs(decode.ElemRIB)},
	{"elemtype announcements", typeIs(decode.ElemAnnouncement)},
	{"elemtype withdrawals", typeIs(decode.ElemWithdrawal)},
	{"elemtype peerstates", typeIs(decode.ElemPeerState)},
	{"elemtype announcements withdrawals", or(typeIs(decode.ElemAnnouncement), typeIs(decode.ElemWithdrawal))},
	{"elemtype peerstates and collector rrc15", and(typeIs(decode.ElemPeerState), collectorIs("rrc15"))},
	// Beyond BGPStream: peerip, nexthop, pathid, time.
	{"peerip 202.249.2.185", peerIPIn("202.249.2.185/32")},
	{"peerip 2001:668::/32", peerIPIn("2001:668::/32")},
	{"nexthop 196.223.14.0/24", nextHopIn("196.223.14.0/24")},
	{"pathid 36 38", pathIDIs(36, 38)},
	{"pathid 1 and ipversion 6", and(pathIDIs(1), ipv(true))},
	{"time 1427846400,1427846700", timeIn(1427846400, 1427846700)},
	{"time 2015-04-01T00:05:00Z", timeIn(1427846700, 1<<40)},
	{"time 1486801685", timeIn(1486801685, 1<<40)},
	{"time 1486801685,1486801745 and collector bird", and(timeIn(1486801685, 1486801745), collectorIs("bird"))},
	{"window 1427846400,1427846400 1427846900,1427846999", or(timeIn(1427846400, 1427846400), timeIn(1427846900, 1427846999))},
	// Boolean structure.
	{"peer 25152 or peer 30844", peerIs(25152, 30844)},
	{"(collector rrc06 or collector rrc15) and elemtype withdrawals", and(collectorIs("rrc06", "rrc15"), typeIs(decode.ElemWithdrawal))},
	{"collector rrc06 or collector rrc15 and elemtype withdrawals", or(collectorIs("rrc06"), and(collectorIs("rrc15"), typeIs(decode.ElemWithdrawal)))},
	{"not (type ribs or ipversion 6)", not(or(recIs(decode.RecordRIB), ipv(true)))},
	{"not not peer 25152", peerIs(25152)},
	{"not elemtype withdrawals and not elemtype peerstates", and(not(typeIs(decode.ElemWithdrawal)), not(typeIs(decode.ElemPeerState)))},
	{"not community 2914:420", not(commIs("2914:420"))},
	{"peer 3257 and prefix more 2001::/16 and community 3257:* and path _6939_ and ipversion 6", and(peerIs(3257), prefixRel("more", "2001::/16"), commIs("3257:*"), pathContains("6939"), ipv(true))},
	{"collector route-views2 and (origin 45528 or origin 45769) and not peer 6939", and(collectorIs("route-views2"), originIs("45528", "45769"), not(peerIs(6939)))},
	{"((peer 25152))", peerIs(25152)},
	{"PEER 25152 AND Collector rrc06", and(peerIs(25152), collectorIs("rrc06"))},
}

func TestCorpusFilters(t *testing.T) {
	items := loadCorpus(t)
	if len(corpusCases) < 80 {
		t.Fatalf("only %d corpus cases, want at least 80", len(corpusCases))
	}
	if len(items) < 100000 {
		t.Fatalf("decoded only %d elems from the corpus", len(items))
	}
	nonTrivial := 0
	for _, tc := range corpusCases {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := filter.Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			round, err := filter.Parse(f.String())
			if err != nil {
				t.Fatalf("String %q does not parse: %v", f.String(), err)
			}
			if round.String() != f.String() {
				t.Errorf("String not stable: %q then %q", f.String(), round.String())
			}
			m := f.NewMatcher()
			got, want, bad := 0, 0, 0
			for _, it := range items {
				w := tc.want(it.r, it.e)
				g := f.Match(it.r, it.e)
				if w {
					want++
				}
				if g {
					got++
				}
				if g != w || m.Match(it.r, it.e) != g || round.Match(it.r, it.e) != g {
					if bad++; bad <= 3 {
						t.Errorf("elem %c %s peer %d %v path %q at %d: Match %v, want %v",
							it.e.Type.Char(), it.r.Collector, it.e.PeerASN, it.e.Prefix, pathString(it.e), it.r.Time, g, w)
					}
				}
				if g {
					checkPushDown(t, f, it)
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d elems disagree (got %d matches, want %d)", bad, len(items), got, want)
			}
			if want > 0 && want < len(items) {
				nonTrivial++
			}
			t.Logf("%d of %d elems match", got, len(items))
		})
	}
	// Most cases must select a proper, non-empty subset of the corpus, or
	// the comparison proves little.
	if nonTrivial < 70 {
		t.Errorf("only %d cases select a proper non-empty subset", nonTrivial)
	}
}

func isBoundary(c byte) bool { return strings.IndexByte(" {},()[]<>", c) >= 0 }

// textSeq: the rendered path has token a, exactly one boundary character,
// then token b.
func textSeq(a, b string) pred {
	return func(_ *decode.Record, e *decode.Elem) bool {
		if !hasPath(e) {
			return false
		}
		s := e.Attrs.ASPath.String()
		for i := 0; i+len(a)+1+len(b) <= len(s); i++ {
			j := i + len(a)
			k := j + 1 + len(b)
			if s[i:j] == a && isBoundary(s[j]) && s[j+1:k] == b &&
				(i == 0 || isBoundary(s[i-1])) && (k == len(s) || isBoundary(s[k])) {
				return true
			}
		}
		return false
	}
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func pathString(e *decode.Elem) string {
	if e.Attrs == nil {
		return ""
	}
	return e.Attrs.ASPath.String()
}

// checkPushDown asserts that no push-down answer rules out an elem that
// matches.
func checkPushDown(t *testing.T, f *filter.Filter, it item) {
	t.Helper()
	if !f.MatchRecord(it.r) {
		t.Fatalf("MatchRecord false for a record whose elem matches (%s %v)", it.r.Collector, it.r.Type)
	}
	if !f.MatchPeer(it.e.PeerIP, it.e.PeerASN) {
		t.Fatalf("MatchPeer(%v, %d) false for a matching elem", it.e.PeerIP, it.e.PeerASN)
	}
	if !f.WantsElemType(it.e.Type) {
		t.Fatalf("WantsElemType(%v) false for a matching elem", it.e.Type)
	}
	if it.e.Type != decode.ElemPeerState && it.e.Prefix.IsValid() && !f.WantsFamily(it.e.Prefix.Addr().Is6()) {
		t.Fatalf("WantsFamily false for a matching elem of %v", it.e.Prefix)
	}
}

// TestCorpusPushDownSelective checks that push-down answers are not all
// "maybe": a selective filter rules out most peers, records and types.
func TestCorpusPushDownSelective(t *testing.T) {
	items := loadCorpus(t)
	f, err := filter.Parse("peer 25152 and elemtype announcements and ipversion 6 and collector rrc06")
	if err != nil {
		t.Fatal(err)
	}
	peersOut, recsOut := 0, 0
	for _, it := range items {
		if !f.MatchPeer(it.e.PeerIP, it.e.PeerASN) {
			peersOut++
			if it.e.PeerASN == 25152 {
				t.Fatalf("peer 25152 ruled out")
			}
		}
		if !f.MatchRecord(it.r) {
			recsOut++
		}
	}
	if peersOut == 0 || recsOut == 0 {
		t.Errorf("push-down ruled out %d peers' and %d records' elems; want some of each", peersOut, recsOut)
	}
	if f.WantsElemType(decode.ElemRIB) || f.WantsElemType(decode.ElemWithdrawal) || !f.WantsElemType(decode.ElemAnnouncement) {
		t.Errorf("WantsElemType wrong")
	}
	if f.WantsFamily(false) || !f.WantsFamily(true) {
		t.Errorf("WantsFamily wrong")
	}
}

var (
	rawOnce  sync.Once
	rawFiles [][]byte
	rawErr   error
)

// rawCorpus returns the corpus files decompressed with the standard
// library and cut, by plain MRT framing (12-byte header, length at 8), after
// the last complete record, or after 1500 records.
func rawCorpus(t *testing.T) [][]byte {
	t.Helper()
	loadCorpus(t)
	rawOnce.Do(func() {
		for _, cf := range corpusFiles {
			b, err := decompress(filepath.Join(realDir, cf.path))
			if err != nil {
				rawErr = err
				return
			}
			off, n := 0, 0
			for len(b)-off >= 12 && n < 1500 {
				l := 12 + int(binary.BigEndian.Uint32(b[off+8:]))
				if len(b)-off < l {
					break
				}
				off += l
				n++
			}
			rawFiles = append(rawFiles, b[:off])
		}
	})
	if rawErr != nil {
		t.Fatal(rawErr)
	}
	return rawFiles
}

func decompress(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(path, ".gz"):
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		r = zr
	case strings.HasSuffix(path, ".bz2"):
		r = bzip2.NewReader(f)
	}
	b, err := io.ReadAll(r)
	if err != nil && !strings.Contains(path, "firstMB") {
		return nil, err // the *_firstMB slices end inside a bzip2 block
	}
	return b, nil
}

// elemKey identifies an elem for comparing two decodes.
type elemKey struct {
	collector      string
	time           int64
	typ            decode.ElemType
	peer           netip.Addr
	asn, pathID    uint32
	prefix         netip.Prefix
	pathLen, first uint32
	last           uint32
}

func keyOf(r *decode.Record, e *decode.Elem) elemKey {
	k := elemKey{collector: r.Collector, time: r.Time, typ: e.Type, peer: e.PeerIP, asn: e.PeerASN, pathID: e.PathID, prefix: e.Prefix}
	if e.Attrs != nil {
		if a := e.Attrs.ASPath.ASNs(); len(a) > 0 {
			k.pathLen, k.first, k.last = uint32(len(a)), a[0], a[len(a)-1]
		}
	}
	return k
}

// decodeRaw decodes raw, with f as the elementor's Prefilter if prefilter,
// and returns the batches.
func decodeRaw(t *testing.T, cf corpusFile, raw []byte, f *filter.Filter, prefilter bool) []*decode.Batch {
	el := mrt.NewElementor()
	el.Project, el.Collector = cf.project, cf.collector
	if prefilter {
		el.Prefilter = f
	}
	sc, err := mrt.NewScanner(bytes.NewReader(raw), el, mrt.WithCompression("none"), mrt.WithChunkSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	var out []*decode.Batch
	for {
		b := &decode.Batch{}
		if err := sc.Fill(b, 4096, 1<<30); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			return out
		}
		out = append(out, b)
	}
}

// keptKeys returns the keys of the elems f keeps, counted.
func keptKeys(bs []*decode.Batch, f *filter.Filter) map[elemKey]int {
	out := map[elemKey]int{}
	for _, b := range bs {
		for i := range b.Elems {
			r := &b.Records[b.ElemRecord[i]]
			if f.Match(r, &b.Elems[i]) {
				out[keyOf(r, &b.Elems[i])]++
			}
		}
	}
	return out
}

// TestCorpusPrefilterEquivalence runs every corpus case through package
// mrt with the filter as the elementor's push-down Prefilter, and compares
// the elems it then keeps with those it keeps from a full decode.
func TestCorpusPrefilterEquivalence(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes the corpus twice per case")
	}
	raws := rawCorpus(t)
	full := make([][]*decode.Batch, len(raws))
	for i, cf := range corpusFiles {
		full[i] = decodeRaw(t, cf, raws[i], nil, false)
	}
	for _, tc := range corpusCases {
		f := mustParse(t, tc.expr)
		for i, cf := range corpusFiles {
			with, without := keptKeys(decodeRaw(t, cf, raws[i], f, true), f), keptKeys(full[i], f)
			if !maps.Equal(with, without) {
				t.Errorf("%s on %s: %d elems kept with push-down, %d without", tc.expr, cf.path, len(with), len(without))
			}
		}
	}
}
