package filter_test

import (
	"errors"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
)

// fuzzElems are elems every fuzzed filter is evaluated on: constructed ones
// covering each elem type and path shape, plus real ones from the corpus.
func fuzzElems(t testing.TB) []item {
	a := announce("192.0.2.0/24", seq(65001, 3356), set(64500, 64501))
	a.Attrs.Communities = []decode.Community{3356<<16 | 100, decode.CommunityNoExport}
	a.Attrs.ExtCommunities = []decode.ExtCommunity{{0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 100}}
	a.Attrs.LargeCommunities = []decode.LargeCommunity{{Global: 3356, Local1: 1, Local2: 2}}
	c := announce("2001:db8::/32", conf(64512), seq(7))
	c.HasPathID, c.PathID = true, 7
	c.Type = decode.ElemRIB
	w := &decode.Elem{Type: decode.ElemWithdrawal, PeerASN: 65001, PeerIP: netip.MustParseAddr("192.0.2.1"), Prefix: netip.MustParsePrefix("10.0.0.0/8")}
	s := &decode.Elem{Type: decode.ElemPeerState, PeerASN: 65002, PeerIP: netip.MustParseAddr("2001:db8::2"), NewState: decode.StateIdle}
	rib := &decode.Record{Type: decode.RecordRIB, Project: "routeviews", Collector: "route-views2", Time: 1400824800_000000}
	bmp := &decode.Record{Type: decode.RecordUpdate, Collector: "obmp", Router: "r1", Format: decode.FormatBMP, Time: 1700000000_500000}
	out := []item{{updRec, a}, {rib, c}, {updRec, w}, {bmp, s}, {bmp, a}}
	for _, it := range fuzzCorpus(t) {
		out = append(out, it)
		if len(out) > 64 {
			break
		}
	}
	return out
}

// fuzzCorpus decodes the small RIS rrc06 updates file (1,561 elems): a fuzz
// worker loads it at every start, so the large corpus would slow it down.
func fuzzCorpus(t testing.TB) []item {
	if _, err := os.Stat(realDir); err != nil {
		return nil
	}
	items, err := decodeFile(corpusFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	var out []item
	for i := 0; i < len(items); i += 20 {
		out = append(out, items[i])
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, tc := range corpusCases {
		f.Add(tc.expr)
	}
	for _, s := range []string{
		"", "(", ")", "not", "peer 1 or (collector a and not type ribs)", `path "_(1|2)_" '^3$'`,
		"prefix any 10.0.0.0/8 less ::/0 exact 1.2.3.4", "extc rt:*:7 ro:192.0.2.1:* 0x0102:*",
		"lcomm *:1:*", "time 1,2 2015-04-01T00:00:00.5Z", `collector "a\"b" 'c d'`, "colector x",
	} {
		f.Add(s)
	}
	// Values taken from real elems: prefixes, AS paths as regexes,
	// communities, peers.
	{
		items := fuzzCorpus(f)
		for i := 0; i < len(items); i += 2 {
			e := items[i].e
			f.Add("peer " + strconv.FormatUint(uint64(e.PeerASN), 10) + " and prefix any " + e.Prefix.String())
			if e.Attrs != nil {
				f.Add(`path "^` + strings.ReplaceAll(e.Attrs.ASPath.String(), " ", "_") + `$"`)
				for _, c := range e.Attrs.Communities {
					f.Add("community " + string(c.AppendText(nil)) + " or not nexthop " + e.NextHop.String())
				}
			}
		}
	}
	elems := fuzzElems(f)
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := filter.Parse(expr)
		if err != nil {
			var se *filter.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			if se.Pos < 0 || se.Pos > len(expr) || se.Expr != expr || !strings.HasPrefix(expr[se.Pos:], se.Token) {
				t.Fatalf("bad error position: Pos %d Token %q in %q", se.Pos, se.Token, expr)
			}
			if len(strings.Split(se.Error(), "\n")) < 3 {
				t.Fatalf("Error() lacks the caret line: %q", se.Error())
			}
			return
		}
		s := flt.String()
		again, err := filter.Parse(s)
		if err != nil {
			t.Fatalf("String %q of %q does not parse: %v", s, expr, err)
		}
		if again.String() != s {
			t.Fatalf("String not stable: %q then %q", s, again.String())
		}
		m := flt.NewMatcher()
		for _, it := range elems {
			got := flt.Match(it.r, it.e)
			if again.Match(it.r, it.e) != got || m.Match(it.r, it.e) != got {
				t.Fatalf("%q: the re-parsed filter or the Matcher disagrees", expr)
			}
			if got {
				if !flt.MatchRecord(it.r) || !flt.MatchPeer(it.e.PeerIP, it.e.PeerASN) || !flt.WantsElemType(it.e.Type) {
					t.Fatalf("%q: a push-down answer rules out a matching elem", expr)
				}
				if it.e.Type != decode.ElemPeerState && it.e.Prefix.IsValid() && !flt.WantsFamily(it.e.Prefix.Addr().Is6()) {
					t.Fatalf("%q: WantsFamily rules out a matching elem", expr)
				}
			}
		}
	})
}
