// Package filter is BGPStream's filter language, extended, compiled once into
// a value that decides quickly whether a [decode.Elem] is wanted.
//
// # Language
//
// The grammar is libbgpstream v2.3.0's (see ../shared/spec/filter-grammar.md)
// plus boolean operators:
//
//	expr    := or
//	or      := and ("or" and)*
//	and     := unary ("and" unary)*
//	unary   := "not" unary | "(" expr ")" | clause
//	clause  := term value+
//
// "not" binds tighter than "and", which binds tighter than "or". Values are
// separated by spaces; a value may be quoted with "double" (backslash escapes
// \" and \\) or 'single' quotes, which also keeps a value such as "and" or
// "more" from being read as a keyword. The values of one clause combine with
// "any of them", except aspath, where all regexes must match.
//
// Terms (short forms in brackets):
//
//	project [proj]         names                     record's project
//	collector [coll]       names                     record's collector
//	router [rout]          names                     record's router (BMP)
//	type                   ribs updates              record type
//	resourcetype [restype] stream batch              BMP records are "stream"; MRT files are "batch"
//	peer                   ASNs                      elem's peer ASN
//	origin [orig]          ASNs                      last ASN of an AS path ending in an AS_SEQUENCE
//	prefix [pref]          [exact|more|less|any] P…  default more; a keyword applies to the prefixes after it
//	community [comm]       asn:value, '*' either half; well-known names no-export, no-advertise,
//	                       no-export-subconfed, no-peer, blackhole, graceful-shutdown
//	aspath [path]          Cisco-style regex, '!' in front negates; all values must match
//	ipversion [ipv]        4 6
//	elemtype               ribs announcements withdrawals peerstates
//
// Beyond BGPStream:
//
//	extcommunity [extc]    rt:ASN:N ro:ASN:N rt:IPv4:N ro:IPv4:N ('*' for either field), 0xTTSS:HHHHHHHHHHHH or 0xTTSS:*
//	largecommunity [lcomm] G:L1:L2, each may be '*'
//	peerip                 addresses or prefixes     elem's peer address
//	nexthop                addresses or prefixes     elem's next hop
//	pathid                 numbers                   ADD-PATH path identifier (elems without one fail)
//	time [window]          start[,end]               record time in [start, end], end inclusive to the
//	                                                  second; unix seconds (fraction allowed), RFC 3339 or
//	                                                  2006-01-02; no end means open
//
// BGPStream semantics are kept: peer-state elems fail prefix, ipversion,
// community, aspath, origin (and the extended terms that need a prefix or
// attributes); withdrawals fail community, aspath and origin clauses. Under
// "not" these failures invert like any other result.
//
// AS path regexes are Go RE2 regexes run against the path rendered as
// bgpreader prints it ([decode.ASPath.AppendText]); '_' is Cisco's boundary:
// start, end, space, and the segment punctuation { } , ( ) [ ] < > (BGPStream
// documents start, end, space, { } and ,; confederation and unknown segment
// brackets are added here). The forms _N_, ^N_, _N$, ^N$ and .*, with N one
// ASN or an alternation (N1|N2|...), are answered on the ASN list directly,
// without rendering or regexp. Other regexes made of ASNs, '_', '^', '$' and
// ".*" first check that the ASNs they need are in the path, so the regexp
// runs only on candidate paths.
//
// Prefix sets of any size are compiled, per address family, into sorted
// tables of 64-bit keys (address bits and length; IPv6 sets with prefixes
// longer than /56 use 128-bit keys) with a direct index on up to 16 address
// bits: a stride-16 trie root whose leaves are sorted runs. Since prefixes
// nest or are disjoint, exact, more, less and any each cost one index read
// and a binary search of a few entries (about 15-25 ns on 100 k real
// prefixes, see BenchmarkPrefix100k).
//
// The nesting of parentheses and "not" is limited to 200 levels.
//
// # Evaluation and concurrency
//
// A [Filter] is immutable once parsed and safe for concurrent use. Match does
// not allocate. Only an AS path regex that has no fast form needs a buffer to
// render the path into: Filter.Match takes one from a sync.Pool for that; a
// goroutine that evaluates many elems can avoid the pool with its own
// [Matcher] from [Filter.NewMatcher].
//
// # Push-down
//
// MatchRecord, MatchPeer, WantsElemType and WantsFamily answer from partial
// facts, with three-valued logic over the whole expression: they return false
// only when no elem with those facts can match, so a reader may skip decoding
// attributes (package mrt's Prefilter). MatchRecord assumes that RIB records
// yield only RIB elems and update records only announcements, withdrawals and
// peer states.
//
// # bgpreader flags
//
// [Flags] carries bgpreader's -f -p -c -R -t -j -J -a -k -y -A -w -I -n and
// [Flags.Build] turns them into the same filter the equivalent string gives.
// -n (Count) is not a filter: it limits how many records the read command
// processes, and the read command applies it; Build ignores it.
//
// This package does not read input, decode BGP or print elems; it only
// decides. A nil *Filter matches everything.
package filter
