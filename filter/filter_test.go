package filter_test

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
)

func mustParse(t testing.TB, s string) *filter.Filter {
	t.Helper()
	f, err := filter.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// announce builds an announcement with the given path segments.
func announce(prefix string, segs ...[]uint32) *decode.Elem {
	a := &decode.Attrs{}
	for _, s := range segs {
		a.ASPath.AppendSegment(uint8(s[0]), s[1:]...)
	}
	return &decode.Elem{
		Type: decode.ElemAnnouncement, PeerASN: 65001, PeerIP: netip.MustParseAddr("192.0.2.1"),
		Prefix: netip.MustParsePrefix(prefix), NextHop: netip.MustParseAddr("192.0.2.1"), Attrs: a,
	}
}

func seq(asns ...uint32) []uint32  { return append([]uint32{uint32(decode.SegSequence)}, asns...) }
func set(asns ...uint32) []uint32  { return append([]uint32{uint32(decode.SegSet)}, asns...) }
func conf(asns ...uint32) []uint32 { return append([]uint32{uint32(decode.SegConfedSeq)}, asns...) }

var updRec = &decode.Record{Type: decode.RecordUpdate, Project: "ris", Collector: "rrc00", Time: 1427846400_000000, Format: decode.FormatBGP4MP}

func TestExtAndLargeCommunities(t *testing.T) {
	e := announce("192.0.2.0/24", seq(65001, 3356))
	e.Attrs.ExtCommunities = []decode.ExtCommunity{
		{0x00, 0x02, 0xfd, 0xe8, 0x00, 0x00, 0x00, 0x64}, // rt:65000:100, 2-octet AS
		{0x42, 0x03, 0x00, 0x01, 0x00, 0x02, 0x00, 0x07}, // ro:65538:7, 4-octet AS, non-transitive
		{0x01, 0x02, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x09}, // rt:192.0.2.1:9
		{0x80, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, // flowspec traffic-rate 0
	}
	e.Attrs.LargeCommunities = []decode.LargeCommunity{{Global: 3356, Local1: 1, Local2: 2}}
	cases := []struct {
		expr string
		want bool
	}{
		{"extcommunity rt:65000:100", true},
		{"extcommunity rt:65000:101", false},
		{"extcommunity ro:65000:100", false},
		{"extcommunity rt:65000:*", true},
		{"extcommunity rt:*:100", true},
		{"extcommunity ro:65538:7", true},
		{"extcommunity ro:65538:*", true},
		{"extcommunity ro:*:7", true},
		{"extcommunity rt:192.0.2.1:9", true},
		{"extcommunity rt:192.0.2.1:*", true},
		{"extcommunity rt:192.0.2.2:9", false},
		{"extcommunity 0x8006:000000000000", true},
		{"extcommunity 0x8006:*", true},
		{"extcommunity 0x8007:*", false},
		{"extcommunity 0x0002:fde800000064", true},
		{"extcommunity rt:1:1 rt:65000:100", true},
		{"largecommunity 3356:1:2", true},
		{"largecommunity 3356:*:2", true},
		{"largecommunity *:*:*", true},
		{"largecommunity 3356:2:*", false},
		{"lcomm 1:1:2", false},
	}
	for _, tc := range cases {
		if got := mustParse(t, tc.expr).Match(updRec, e); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.expr, got, tc.want)
		}
	}
	// A route target written with a 4-octet AS encoding matches the same
	// rt:ASN:N as the 2-octet form.
	e.Attrs.ExtCommunities = []decode.ExtCommunity{{0x02, 0x02, 0x00, 0x00, 0xfd, 0xe8, 0x00, 0x64}}
	if !mustParse(t, "extc rt:65000:100").Match(updRec, e) {
		t.Errorf("rt:65000:100 in 4-octet AS form did not match")
	}
}

func TestASPathSegments(t *testing.T) {
	// Paths with sets and confederation segments, as bgpreader renders them.
	e1 := announce("192.0.2.0/24", seq(1, 2, 3), set(4, 5))       // "1 2 3 {4,5}"
	e2 := announce("192.0.2.0/24", conf(64512, 64513), seq(7, 8)) // "(64512 64513) 7 8"
	e3 := announce("192.0.2.0/24", seq(9))                        // "9"
	e4 := announce("192.0.2.0/24")                                // ""
	cases := []struct {
		expr string
		want [4]bool
	}{
		{"path _4_", [4]bool{true, false, false, false}},
		{"path _5$", [4]bool{false, false, false, false}}, // "5}" then end: no boundary before the end
		{`path "_5\}$"`, [4]bool{true, false, false, false}},
		{"path ^1_", [4]bool{true, false, false, false}},
		{"path ^64512_", [4]bool{false, false, false, false}}, // starts with "("
		{"path _64512_", [4]bool{false, true, false, false}},
		{"path _8$", [4]bool{false, true, false, false}},
		{"path ^9$", [4]bool{false, false, true, false}},
		{"path ^$", [4]bool{false, false, false, true}},
		{"path .*", [4]bool{true, true, true, true}},
		{"path !_9_", [4]bool{true, true, false, true}},
		{"path _3_4_", [4]bool{false, false, false, false}}, // " {" is two boundaries
		{"path _3_\\{4", [4]bool{true, false, false, false}},
		{"origin 3", [4]bool{false, false, false, false}}, // a set last: no origin
		{"origin 8 9", [4]bool{false, true, true, false}},
	}
	for _, tc := range cases {
		f := mustParse(t, tc.expr)
		for i, e := range []*decode.Elem{e1, e2, e3, e4} {
			if got := f.Match(updRec, e); got != tc.want[i] {
				t.Errorf("%s on %q: got %v, want %v", tc.expr, e.Attrs.ASPath.String(), got, tc.want[i])
			}
		}
	}
}

// TestBGPStreamElemSemantics: peer-state elems fail prefix, ipversion,
// community, aspath and origin clauses; withdrawals fail community, aspath
// and origin clauses.
func TestBGPStreamElemSemantics(t *testing.T) {
	w := &decode.Elem{Type: decode.ElemWithdrawal, PeerASN: 65001, Prefix: netip.MustParsePrefix("192.0.2.0/24")}
	s := &decode.Elem{Type: decode.ElemPeerState, PeerASN: 65001, OldState: decode.StateActive, NewState: decode.StateEstablished}
	cases := []struct {
		expr  string
		w, st bool
	}{
		{"prefix more 192.0.2.0/24", true, false},
		{"ipversion 4", true, false},
		{"community *:*", false, false},
		{"extcommunity rt:*:*", false, false},
		{"largecommunity *:*:*", false, false},
		{"aspath .*", false, false},
		{"aspath !_1_", false, false},
		{"origin 1", false, false},
		{"nexthop 0.0.0.0/0", false, false},
		{"peer 65001", true, true},
		{"not community *:*", true, true},
		{"elemtype withdrawals peerstates", true, true},
	}
	for _, tc := range cases {
		f := mustParse(t, tc.expr)
		if got := f.Match(updRec, w); got != tc.w {
			t.Errorf("%s on a withdrawal: got %v, want %v", tc.expr, got, tc.w)
		}
		if got := f.Match(updRec, s); got != tc.st {
			t.Errorf("%s on a peer state: got %v, want %v", tc.expr, got, tc.st)
		}
		// Push-down must agree: a type the clause always fails is not wanted.
		if tc.expr != "not community *:*" && tc.expr != "peer 65001" && tc.expr != "elemtype withdrawals peerstates" {
			if !tc.st && f.WantsElemType(decode.ElemPeerState) {
				t.Errorf("%s: WantsElemType(peerstate) true", tc.expr)
			}
			if !tc.w && f.WantsElemType(decode.ElemWithdrawal) {
				t.Errorf("%s: WantsElemType(withdrawal) true", tc.expr)
			}
		}
	}
}

func TestPushDown(t *testing.T) {
	rib := &decode.Record{Type: decode.RecordRIB, Project: "routeviews", Collector: "route-views2", Time: 1400824800_000000, Format: decode.FormatTableDumpV2}
	bmp := &decode.Record{Type: decode.RecordUpdate, Collector: "obmp", Format: decode.FormatBMP, Time: 1700000000_000000}
	ip1, ip2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	cases := []struct {
		expr                  string
		updRec, ribRec, bmpRc bool
		peer1, peer2          bool // (ip1, 1), (ip2, 2)
		ribs, ann, wd, ps     bool
		v4, v6                bool
	}{
		{"collector rrc00", true, false, false, true, true, true, true, true, true, true, true},
		{"type ribs", false, true, false, true, true, true, false, false, false, true, true},
		{"elemtype announcements", true, false, true, true, true, false, true, false, false, true, true},
		{"elemtype ribs", false, true, false, true, true, true, false, false, false, true, true},
		{"restype stream", false, false, true, true, true, true, true, true, true, true, true},
		{"time 1427846400,1427846500", true, false, false, true, true, true, true, true, true, true, true},
		{"peer 1", true, true, true, true, false, true, true, true, true, true, true},
		{"not peer 1", true, true, true, false, true, true, true, true, true, true, true},
		{"peerip 2001:db8::/32", true, true, true, false, true, true, true, true, true, true, true},
		{"peer 1 or collector rrc00", true, true, true, true, true, true, true, true, true, true, true},
		{"peer 1 and collector rrc00", true, false, false, true, false, true, true, true, true, true, true},
		{"ipversion 6", true, true, true, true, true, true, true, true, false, false, true},
		{"prefix more 10.0.0.0/8", true, true, true, true, true, true, true, true, false, true, false},
		{"prefix more 10.0.0.0/8 2001:db8::/32", true, true, true, true, true, true, true, true, false, true, true},
		{"not ipversion 6", true, true, true, true, true, true, true, true, true, true, false},
		{"community 1:1", true, true, true, true, true, true, true, false, false, true, true},
		{"not (peer 1 and type ribs)", true, true, true, true, true, true, true, true, true, true, true},
		{"not (peer 1 or type ribs)", true, false, true, false, true, false, true, true, true, true, true},
	}
	for _, tc := range cases {
		f := mustParse(t, tc.expr)
		got := []bool{
			f.MatchRecord(updRec), f.MatchRecord(rib), f.MatchRecord(bmp),
			f.MatchPeer(ip1, 1), f.MatchPeer(ip2, 2),
			f.WantsElemType(decode.ElemRIB), f.WantsElemType(decode.ElemAnnouncement), f.WantsElemType(decode.ElemWithdrawal), f.WantsElemType(decode.ElemPeerState),
			f.WantsFamily(false), f.WantsFamily(true),
		}
		want := []bool{tc.updRec, tc.ribRec, tc.bmpRc, tc.peer1, tc.peer2, tc.ribs, tc.ann, tc.wd, tc.ps, tc.v4, tc.v6}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: push-down answers %v, want %v", tc.expr, got, want)
				break
			}
		}
	}
}

// TestPeerIndexTableKept: a reader must not skip the PEER_INDEX_TABLE, whose
// peers later RIB records need, whatever the record clauses say.
func TestPeerIndexTableKept(t *testing.T) {
	pit := &decode.Record{Type: decode.RecordRIB, Format: decode.FormatTableDumpV2, MRTType: 13, MRTSubtype: 1, Time: 1}
	rib := &decode.Record{Type: decode.RecordRIB, Format: decode.FormatTableDumpV2, MRTType: 13, MRTSubtype: 2, Time: 1}
	for _, expr := range []string{"time 100", "type updates", "collector x", "elemtype announcements"} {
		f := mustParse(t, expr)
		if !f.MatchRecord(pit) {
			t.Errorf("%s: MatchRecord skips the PEER_INDEX_TABLE", expr)
		}
		if f.MatchRecord(rib) {
			t.Errorf("%s: MatchRecord keeps a RIB record it rules out", expr)
		}
	}
}

func TestNilAndEmptyFilters(t *testing.T) {
	var f *filter.Filter
	e := announce("192.0.2.0/24", seq(1))
	if !f.Match(updRec, e) || !f.MatchRecord(updRec) || !f.MatchPeer(netip.Addr{}, 0) || !f.WantsElemType(decode.ElemRIB) || !f.WantsFamily(true) || f.String() != "" {
		t.Errorf("nil filter must match everything")
	}
	if !f.NewMatcher().Match(updRec, e) {
		t.Errorf("nil filter's Matcher must match")
	}
	g := mustParse(t, "peer 1")
	if filter.And(nil, g) != g || filter.And(g, nil) != g {
		t.Errorf("And with nil must return the other filter")
	}
	h := filter.And(g, mustParse(t, "collector rrc00 or collector rrc01"))
	if h.String() != "peer 1 and (collector rrc00 or collector rrc01)" {
		t.Errorf("And: %q", h.String())
	}
	// Record clauses fail without a record; time uses the elem's time.
	e.Time = 1427846400_000000
	if mustParse(t, "collector rrc00").Match(nil, e) || !mustParse(t, "time 1427846400").Match(nil, e) {
		t.Errorf("nil record handling")
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	e := announce("192.0.2.0/24", seq(65001, 3356, 174), set(64500, 64501))
	e.Attrs.Communities = []decode.Community{3356<<16 | 100, 174<<16 | 22}
	for _, expr := range []string{
		"collector rrc00 and type updates and peer 65001 and prefix more 192.0.0.0/8 and community 3356:*",
		`aspath "_(3356|1299)_" and not aspath "^174_"`,
		"aspath _174_ and origin 174",
		"extcommunity rt:1:1 or largecommunity 1:*:* or ipversion 4",
	} {
		f := mustParse(t, expr)
		f.Match(updRec, e)
		if n := testing.AllocsPerRun(200, func() { f.Match(updRec, e) }); n != 0 {
			t.Errorf("%s: %v allocs per Match", expr, n)
		}
		m := f.NewMatcher()
		if n := testing.AllocsPerRun(200, func() { m.Match(updRec, e) }); n != 0 {
			t.Errorf("%s: %v allocs per Matcher.Match", expr, n)
		}
		if n := testing.AllocsPerRun(200, func() {
			f.MatchRecord(updRec)
			f.MatchPeer(e.PeerIP, e.PeerASN)
			f.WantsElemType(e.Type)
			f.WantsFamily(false)
		}); n != 0 {
			t.Errorf("%s: %v allocs per push-down round", expr, n)
		}
	}
}

// TestConcurrentMatch runs one regex filter from several goroutines; run
// with -race to check the pooled render buffers.
func TestConcurrentMatch(t *testing.T) {
	f := mustParse(t, `aspath "_(3356|1299)_"`)
	elems := []*decode.Elem{announce("192.0.2.0/24", seq(1, 3356)), announce("192.0.2.0/24", seq(1, 2)), announce("192.0.2.0/24", seq(1299))}
	want := []bool{true, false, true}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := (i + g) % len(elems)
				if f.Match(updRec, elems[k]) != want[k] {
					errs <- "wrong answer under concurrency"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestFlagsBuild(t *testing.T) {
	now := time.Unix(1427850000, 0)
	cases := []struct {
		fl   filter.Flags
		want string // the filter string the flags stand for
	}{
		{filter.Flags{}, ""},
		{filter.Flags{Count: 10}, ""},
		{filter.Flags{Collectors: []string{"rrc00", "rrc01"}}, "collector rrc00 rrc01"},
		{filter.Flags{Collectors: []string{"rrc00,route-views2"}, Types: []string{"updates"}}, "collector rrc00 route-views2 and type updates"},
		{filter.Flags{Filter: "peer 1 or peer 2", Projects: []string{"ris"}}, "(peer 1 or peer 2) and project ris"},
		{filter.Flags{Routers: []string{"r1"}, PeerASNs: []string{"25152", "3356"}}, "router r1 and peer 25152 3356"},
		{filter.Flags{NotPeerASNs: []string{"6939,174"}}, "not peer 6939 174"},
		{filter.Flags{OriginASNs: []string{"AS3356"}}, "origin 3356"},
		{filter.Flags{Prefixes: []string{"10.0.0.0/8", "exact 192.0.2.0/24"}}, "prefix more 10.0.0.0/8 exact 192.0.2.0/24"},
		{filter.Flags{Communities: []string{"*:666", "3356:100"}}, "community *:666 3356:100"},
		{filter.Flags{ASPaths: []string{"_3356_", "^{1,2}$"}}, `aspath _3356_ "^{1,2}$"`},
		{filter.Flags{Windows: []string{"1427846400,1427846700"}}, "time 1427846400,1427846700"},
		{filter.Flags{Windows: []string{"2015-04-01"}}, "time 1427846400"},
		{filter.Flags{Interval: "1 h"}, "time 1427846400"},
		{filter.Flags{Interval: "30 m"}, "time 1427848200"},
		{filter.Flags{Interval: "2days"}, "time 1427677200"},
		{filter.Flags{Interval: "600"}, "time 1427849400"},
	}
	for _, tc := range cases {
		f, err := tc.fl.Build(now)
		if err != nil {
			t.Errorf("%+v: %v", tc.fl, err)
			continue
		}
		want := ""
		if tc.want != "" {
			want = mustParse(t, tc.want).String()
		}
		if f.String() != want {
			t.Errorf("%+v: Build gives %q, the string gives %q", tc.fl, f.String(), want)
		}
	}
	bad := []struct {
		fl  filter.Flags
		msg string
	}{
		{filter.Flags{PeerASNs: []string{"x"}}, `flag -j "x": bad peer AS number "x"`},
		{filter.Flags{NotPeerASNs: []string{"1,-2"}}, `flag -J "-2": bad peer AS number`},
		{filter.Flags{Prefixes: []string{"10.0.0.0/33"}}, `flag -k "10.0.0.0/33": bad prefix`},
		{filter.Flags{Prefixes: []string{"exact"}}, `flag -k "exact": missing prefix after "exact"`},
		{filter.Flags{Types: []string{"rib5"}}, `flag -t "rib5": bad record type`},
		{filter.Flags{Communities: []string{"1:2:3"}}, `flag -y "1:2:3": bad community`},
		{filter.Flags{ASPaths: []string{"_(1_"}}, `flag -A "_(1_": bad AS path regex`},
		{filter.Flags{Windows: []string{"5,1"}}, `flag -w "5,1": bad time window "5,1": the end is before the start`},
		{filter.Flags{Interval: "3 fortnights"}, `flag -I "3 fortnights": bad interval`},
		{filter.Flags{Collectors: []string{","}}, `flag -c ",": empty value`},
		{filter.Flags{Filter: "peer x"}, "filter: column 6: bad peer AS number"},
	}
	for _, tc := range bad {
		_, err := tc.fl.Build(now)
		if err == nil || len(err.Error()) < len(tc.msg) || err.Error()[:len(tc.msg)] != tc.msg {
			t.Errorf("%+v: error %v, want prefix %q", tc.fl, err, tc.msg)
		}
	}
}
