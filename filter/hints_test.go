package filter

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

func TestHints(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want Hints
	}{
		{"", Hints{}},
		{"collector rrc00 rrc01 and peerip 192.0.2.1 and prefix more 10.0.0.0/8 exact 2001:db8::/32 and elemtype announcements",
			Hints{Collectors: []string{"rrc00", "rrc01"}, PeerIPs: []netip.Addr{netip.MustParseAddr("192.0.2.1")},
				Prefixes:  []PrefixHint{{netip.MustParsePrefix("10.0.0.0/8"), true, false}, {netip.MustParsePrefix("2001:db8::/32"), false, false}},
				ElemTypes: []decode.ElemType{decode.ElemAnnouncement}}},
		// Under "or" or "not" nothing is required of every elem.
		{"collector rrc00 or peer 1", Hints{}},
		{"not collector rrc00", Hints{}},
		{"peerip 192.0.2.0/24 and prefix any 10.0.0.0/8", Hints{Prefixes: []PrefixHint{{netip.MustParsePrefix("10.0.0.0/8"), true, true}}}},
	} {
		f, err := Parse(tc.expr)
		if tc.expr == "" {
			f, err = nil, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Hints(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, want %+v", tc.expr, got, tc.want)
		}
	}
}

// TestMatchPrefix: the prefix push-down answers false only when no elem
// for the prefix can match.
func TestMatchPrefix(t *testing.T) {
	for _, tc := range []struct {
		expr string
		p    string
		want bool
	}{
		{"prefix more 10.0.0.0/8", "10.1.0.0/16", true},
		{"prefix more 10.0.0.0/8", "192.0.2.0/24", false},
		{"prefix exact 10.0.0.0/8", "10.1.0.0/16", false},
		{"prefix less 10.1.0.0/16", "10.0.0.0/8", true},
		{"not prefix more 10.0.0.0/8", "10.1.0.0/16", false},
		{"not prefix more 10.0.0.0/8", "192.0.2.0/24", true},
		{"prefix more 10.0.0.0/8 or peer 65000", "192.0.2.0/24", true},
		{"prefix more 10.0.0.0/8 and peer 65000", "192.0.2.0/24", false},
		{"peer 65000", "192.0.2.0/24", true},
	} {
		f, err := Parse(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.MatchPrefix(netip.MustParsePrefix(tc.p)); got != tc.want {
			t.Errorf("%q MatchPrefix(%s) = %v, want %v", tc.expr, tc.p, got, tc.want)
		}
	}
}
