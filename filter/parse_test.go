package filter_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/filter"
)

func TestParseErrors(t *testing.T) {
	cases := []struct {
		expr  string
		pos   int
		token string
		msg   string // substring of Msg
	}{
		{"", 0, "", "empty filter: expected a term"},
		{"   ", 3, "", "empty filter"},
		{"colector rrc00", 0, "colector", `unknown term "colector" (did you mean "collector"?): expected one of project, collector`},
		{"type ribs and frobnicate 1", 14, "frobnicate", `unknown term "frobnicate": expected one of`},
		{"peer", 4, "", `missing value after "peer": expected a peer AS number`},
		{"peer and type ribs", 5, "and", `missing value after "peer"`},
		{"collector rrc00 and project", 27, "", `missing value after "project": expected a project name`},
		{"peer x", 5, "x", `bad peer AS number "x": expected a decimal AS number`},
		{"peer 4294967296", 5, "4294967296", "bad peer AS number"},
		{"origin -1", 7, "-1", "bad origin AS number"},
		{"prefix 10.0.0.0/33", 7, "10.0.0.0/33", `bad prefix "10.0.0.0/33" (prefix length out of range): expected an IPv4 or IPv6 prefix`},
		{"prefix foo", 7, "foo", `bad prefix "foo": expected an IPv4 or IPv6 prefix`},
		{"prefix more", 11, "", `missing prefix after "more"`},
		{"prefix exact more 10.0.0.0/8", 7, "exact", `prefix mode "exact" is not followed by a prefix`},
		{"prefix less 10.0.0.0/8 any and peer 1", 27, "and", `missing prefix after "any"`},
		{"community 70000:1", 10, "70000:1", `bad community "70000:1": expected asn:value`},
		{"comm foo", 5, "foo", "bad community"},
		{"extcommunity rt:1", 13, "rt:1", `bad extended community "rt:1": expected rt:ASN:N`},
		{"extc rt:70000:70000", 5, "rt:70000:70000", "bad extended community"},
		{"extc 0x0002:12", 5, "0x0002:12", "bad extended community"},
		{"largecommunity 1:2", 15, "1:2", `bad large community "1:2": expected global:local1:local2`},
		{"path _(1_", 5, "_(1_", "bad AS path regex \"_(1_\" (missing closing ): `_(1_`)"},
		{`aspath "[a"`, 7, `"[a"`, "bad AS path regex"},
		{"ipversion 5", 10, "5", `bad IP version "5": expected 4 or 6`},
		{"elemtype foo", 9, "foo", "bad elem type \"foo\": expected ribs, announcements, withdrawals or peerstates"},
		{"type rib5", 5, "rib5", `bad record type "rib5": expected ribs or updates`},
		{"restype foo", 8, "foo", `bad resource type "foo": expected stream or batch`},
		{"time yesterday", 5, "yesterday", `bad time window "yesterday" (bad start)`},
		{"time 10,x", 5, "10,x", "(bad end)"},
		{"time 10,5", 5, "10,5", "the end is before the start"},
		{"pathid -1", 7, "-1", "bad path identifier"},
		{"peerip 1.2.3", 7, "1.2.3", `bad peerip address "1.2.3"`},
		{"nexthop 10.0.0.0/40", 8, "10.0.0.0/40", "bad nexthop address"},
		{`collector "rrc00`, 10, `"rrc00`, "unterminated quoted value: expected a closing \""},
		{`collector ""`, 10, `""`, "empty collector name"},
		{"(peer 1", 7, "", "missing ')' to close the '(' at column 1"},
		{"(peer 1 peer 2", 8, "peer", `bad peer AS number "peer"`},
		{"peer 1)", 6, ")", "unexpected ')': no '(' to close"},
		{"()", 1, ")", "unexpected ')': expected a term, 'not' or '('"},
		{"and peer 1", 0, "and", `unexpected "and": expected a term`},
		{"peer 1 and", 10, "", "unexpected end of filter: expected a term"},
		{"peer 1 or not", 13, "", "unexpected end of filter"},
		{"peer 1 not peer 2", 7, "not", "unexpected 'not' after the values of \"peer\": expected 'and not' or 'or not'"},
		{`"peer" 1`, 0, `"peer"`, "unexpected quoted value: expected a term"},
		{"(peer 1) peer 2", 9, "peer", `unexpected "peer": expected 'and', 'or' or the end of the filter`},
		{"((peer 1) peer 2)", 10, "peer", `unexpected "peer": expected 'and', 'or' or ')' to close the '(' at column 1`},
		{"(peer 1) (", 9, "(", `unexpected "(": expected 'and', 'or' or the end of the filter`},
		{strings.Repeat("(", 250) + "peer 1", 200, "(", "filter nested more than 200 levels deep"},
		{strings.Repeat("not ", 250) + "peer 1", 800, "not", "filter nested more than 200 levels deep"},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := filter.Parse(tc.expr)
			if err == nil {
				t.Fatalf("Parse succeeded: %s", f)
			}
			var se *filter.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError: %v", err, err)
			}
			if se.Expr != tc.expr || se.Pos != tc.pos || se.Token != tc.token {
				t.Errorf("got Pos %d Token %q, want Pos %d Token %q", se.Pos, se.Token, tc.pos, tc.token)
			}
			if !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("Msg %q does not contain %q", se.Msg, tc.msg)
			}
			// The caret line puts a caret under every byte of the token.
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != 3 {
				t.Fatalf("Error() has %d lines:\n%s", len(lines), err)
			}
			caret := lines[2]
			want := "  " + strings.Repeat(" ", tc.pos) + strings.Repeat("^", max(len(tc.token), 1))
			if caret != want {
				t.Errorf("caret line %q, want %q", caret, want)
			}
		})
	}
}

func TestSyntaxErrorText(t *testing.T) {
	_, err := filter.Parse("collector rrc00 and prefix more 10.0.0.0/33")
	want := `filter: column 33: bad prefix "10.0.0.0/33" (prefix length out of range): expected an IPv4 or IPv6 prefix such as 192.0.2.0/24 or 2001:db8::/32
  collector rrc00 and prefix more 10.0.0.0/33
                                  ^^^^^^^^^^^`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	// Columns count characters, not bytes.
	_, err = filter.Parse(`collector "é" and pear 1`)
	if err == nil || !strings.HasSuffix(err.Error(), "\n                    ^^^^") {
		t.Errorf("caret not under the token for a multi-byte filter:\n%v", err)
	}
}

func TestParseString(t *testing.T) {
	cases := []struct{ in, out string }{
		{"coll rrc00 and type updates", "collector rrc00 and type updates"},
		{"pref 192.0.2.1/24", "prefix more 192.0.2.0/24"},
		{"prefix 10.0.0.0/8 exact 10.1.0.0/16 10.2.0.0/16 any 2001:db8::/32", "prefix more 10.0.0.0/8 exact 10.1.0.0/16 10.2.0.0/16 any 2001:db8::/32"},
		{"prefix 192.0.2.1", "prefix more 192.0.2.1/32"},
		{"path '_(1|2)_' and path !_3_", `aspath "_(1|2)_" and aspath !_3_`},
		{`collector "a\"b\\c"`, `collector "a\"b\\c"`},
		{`collector "and"`, `collector "and"`},
		{`collector 'with space'`, `collector "with space"`},
		{"not (peer 1 or peer 2) and origin 3", "not (peer 1 or peer 2) and origin 3"},
		{"peer 1 or peer 2 and origin 3", "peer 1 or peer 2 and origin 3"},
		{"(peer 1 or peer 2) and origin 3", "(peer 1 or peer 2) and origin 3"},
		{"((peer 1 and (peer 2 and peer 3)))", "peer 1 and peer 2 and peer 3"},
		{"not not peer AS1", "not not peer 1"},
		{"peer 1.10", "peer 65546"},
		{"comm NO-EXPORT *:666", "community no-export *:666"},
		{"ipv ipv4 v6", "ipversion 4 6"},
		{"elemtype rib announcement", "elemtype ribs announcements"},
		{"type RIBS", "type ribs"},
		{"time 1427846400.5,1427846401.25", "time 1427846400.5,1427846401.25"},
		{"window 2015-04-01T00:00:00Z,2015-04-01", "time 1427846400,1427846400"},
		{"peerip 192.0.2.1 10.0.0.0/8", "peerip 192.0.2.1 10.0.0.0/8"},
		{"extc RT:65000:100", "extcommunity rt:65000:100"},
		{"lcomm 1:*:3", "largecommunity 1:*:3"},
		{"collector rrc00\tand\ntype ribs", "collector rrc00 and type ribs"},
		{"not(peer 1)or(peer 2)", "not peer 1 or peer 2"},
	}
	for _, tc := range cases {
		f, err := filter.Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := f.String(); got != tc.out {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.out)
		}
		g, err := filter.Parse(f.String())
		if err != nil || g.String() != f.String() {
			t.Errorf("String %q does not round-trip: %v %v", f.String(), g, err)
		}
	}
}
