package filter

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/bgp-connector/bgp-connector/decode"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// Filter is a compiled filter expression. It is immutable and safe for
// concurrent use; a nil *Filter matches everything.
type Filter struct {
	root *expr // nil: matches everything

	scratch bool // some clause renders the AS path (regexp)
	// has* say whether any clause can answer the push-down question; when
	// none can, the answer is true without walking the tree.
	hasRecord, hasPeer, hasElemType, hasFamily, hasPrefix bool
}

type op uint8

const (
	opTerm op = iota
	opAnd
	opOr
	opNot
)

// expr is a node of the expression tree.
type expr struct {
	op   op
	args []*expr // operands in source order (String); one for opNot
	eval []*expr // operands in evaluation order: cheapest first
	c    clause  // for opTerm
	cost int
	qs   question // push-down questions some clause of the subtree answers
}

func leafExpr(c clause) *expr { return &expr{op: opTerm, c: c, cost: c.cost(), qs: c.questions()} }

func notExpr(x *expr) *expr {
	return &expr{op: opNot, args: []*expr{x}, eval: []*expr{x}, cost: x.cost, qs: x.qs}
}

// joinExpr returns x op y, flattening nested nodes of the same operator.
func joinExpr(o op, x, y *expr) *expr {
	n := &expr{op: o}
	for _, e := range []*expr{x, y} {
		if e.op == o {
			n.args = append(n.args, e.args...)
		} else {
			n.args = append(n.args, e)
		}
	}
	n.eval = slices.Clone(n.args)
	// AND and OR have no side effects, so operands may run in any order:
	// cheap, selective clauses (record, peer) first; regexps last.
	slices.SortStableFunc(n.eval, func(a, b *expr) int { return a.cost - b.cost })
	for _, a := range n.args {
		n.cost += a.cost
		n.qs |= a.qs
	}
	return n
}

func newFilter(root *expr) *Filter {
	f := &Filter{root: root}
	walk(root, func(c clause) {
		if c.needsScratch() {
			f.scratch = true
		}
		q := c.questions()
		f.hasRecord = f.hasRecord || q&askRecord != 0
		f.hasPeer = f.hasPeer || q&askPeer != 0
		f.hasElemType = f.hasElemType || q&askElemType != 0
		f.hasFamily = f.hasFamily || q&askFamily != 0
		f.hasPrefix = f.hasPrefix || q&askPrefix != 0
	})
	return f
}

func walk(x *expr, fn func(clause)) {
	if x == nil {
		return
	}
	if x.op == opTerm {
		fn(x.c)
		return
	}
	for _, a := range x.args {
		walk(a, fn)
	}
}

// And returns a filter that matches what both a and b match. Either may be
// nil (match everything). a and b are not modified.
func And(a, b *Filter) *Filter {
	switch {
	case a == nil || a.root == nil:
		return b
	case b == nil || b.root == nil:
		return a
	}
	return newFilter(joinExpr(opAnd, a.root, b.root))
}

// scratch is per-evaluation storage for the rendered AS path.
type scratch struct {
	buf      []byte
	rendered bool
}

func (s *scratch) path(a *decode.Attrs) []byte {
	if !s.rendered {
		s.buf = a.ASPath.AppendText(s.buf[:0])
		s.rendered = true
	}
	return s.buf
}

var scratchPool = sync.Pool{New: func() any { return &scratch{buf: make([]byte, 0, 256)} }}

// Match reports whether the elem e of record r passes the filter. r may be
// nil: record clauses (project, collector, router, type, resourcetype) then
// fail, and time clauses use e.Time instead of the record time. Match does
// not allocate; a filter with an AS path regex that has no fast form borrows
// a render buffer from a sync.Pool (see NewMatcher to avoid it).
func (f *Filter) Match(r *decode.Record, e *decode.Elem) bool {
	if f == nil || f.root == nil {
		return true
	}
	if !f.scratch {
		return f.root.match(r, e, nil)
	}
	s := scratchPool.Get().(*scratch)
	s.rendered = false
	ok := f.root.match(r, e, s)
	scratchPool.Put(s)
	return ok
}

// Matcher evaluates a Filter with its own scratch space. It is not safe for
// concurrent use: give each goroutine its own. It exists for filters with AS
// path regexes, where it saves Filter.Match's pool round trip.
type Matcher struct {
	f *Filter
	s scratch
}

// NewMatcher returns a Matcher for f.
func (f *Filter) NewMatcher() *Matcher { return &Matcher{f: f} }

// Match is Filter.Match using m's scratch space.
func (m *Matcher) Match(r *decode.Record, e *decode.Elem) bool {
	if m.f == nil || m.f.root == nil {
		return true
	}
	m.s.rendered = false
	return m.f.root.match(r, e, &m.s)
}

func (x *expr) match(r *decode.Record, e *decode.Elem, s *scratch) bool {
	switch x.op {
	case opTerm:
		return x.c.match(r, e, s)
	case opAnd:
		for _, a := range x.eval {
			if !a.match(r, e, s) {
				return false
			}
		}
		return true
	case opOr:
		for _, a := range x.eval {
			if a.match(r, e, s) {
				return true
			}
		}
		return false
	}
	return !x.eval[0].match(r, e, s)
}

// mrtPeerIndexTable is the TABLE_DUMP_V2 subtype PEER_INDEX_TABLE (RFC 6396
// §4.3.1).
const mrtPeerIndexTable = 1

// tri is a three-valued truth: the answer may be unknown from partial facts.
type tri uint8

const (
	unknown tri = iota
	no
	yes
)

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

// question says which partial fact a push-down probe carries.
type question uint8

const (
	askRecord question = 1 << iota
	askPeer
	askElemType
	askFamily
	askPrefix
)

// probe is a push-down question and its facts.
type probe struct {
	ask  question
	r    *decode.Record
	ip   netip.Addr
	asn  uint32
	et   decode.ElemType
	ipv6 bool
	pfx  netip.Prefix
}

func (x *expr) probe(p *probe) tri {
	if x.qs&p.ask == 0 {
		return unknown // no clause below can answer: skip the subtree
	}
	switch x.op {
	case opTerm:
		// The peer question is asked once per RIB entry: answer the common
		// peer clause without an interface call.
		if c, ok := x.c.(*asnClause); ok && p.ask == askPeer {
			return triOf(c.set.has(p.asn))
		}
		return x.c.probe(*p)
	case opAnd:
		res := yes
		for _, a := range x.eval {
			switch a.probe(p) {
			case no:
				return no
			case unknown:
				res = unknown
			}
		}
		return res
	case opOr:
		res := no
		for _, a := range x.eval {
			switch a.probe(p) {
			case yes:
				return yes
			case unknown:
				res = unknown
			}
		}
		return res
	}
	switch x.eval[0].probe(p) {
	case yes:
		return no
	case no:
		return yes
	}
	return unknown
}

// MatchRecord is the record-level push-down: false means no elem of r can
// match (project, collector, router, type, resourcetype, time window and the
// elem types a record of r's type yields), so a reader may skip r entirely.
// It is therefore always true for a TABLE_DUMP_V2 PEER_INDEX_TABLE, which
// yields no elem but carries the peers the later RIB records refer to.
func (f *Filter) MatchRecord(r *decode.Record) bool {
	if f == nil || f.root == nil || !f.hasRecord || r == nil {
		return true
	}
	if r.Format == decode.FormatTableDumpV2 && r.MRTSubtype == mrtPeerIndexTable {
		return true
	}
	return f.root.probe(&probe{ask: askRecord, r: r}) != no
}

// MatchPeer is the peer-level push-down: false means no elem of the peer
// with address ip and AS asn can match (peer, peerip, and "not" of them).
func (f *Filter) MatchPeer(ip netip.Addr, asn uint32) bool {
	if f == nil || f.root == nil || !f.hasPeer {
		return true
	}
	return f.root.probe(&probe{ask: askPeer, ip: ip, asn: asn}) != no
}

// WantsElemType is the elem-type push-down: false means no elem of type t
// can match (elemtype clauses, and the clauses BGPStream fails for
// withdrawals and peer states).
func (f *Filter) WantsElemType(t decode.ElemType) bool {
	if f == nil || f.root == nil || !f.hasElemType {
		return true
	}
	return f.root.probe(&probe{ask: askElemType, et: t}) != no
}

// WantsFamily is the address-family push-down: false means no elem whose
// prefix is IPv6 (ipv6 true) or IPv4 (false) can match (ipversion clauses,
// and prefix clauses without a prefix of that family). It says nothing
// about peer-state elems, which have no prefix.
func (f *Filter) WantsFamily(ipv6 bool) bool {
	if f == nil || f.root == nil || !f.hasFamily {
		return true
	}
	return f.root.probe(&probe{ask: askFamily, ipv6: ipv6}) != no
}

// MatchPrefix is the prefix push-down: false means no elem for prefix p
// can match (prefix clauses, and "not" of them), so a reader may skip a
// RIB record, whose entries all share one prefix, before decoding them.
func (f *Filter) MatchPrefix(p netip.Prefix) bool {
	if f == nil || f.root == nil || !f.hasPrefix {
		return true
	}
	return f.root.probe(&probe{ask: askPrefix, pfx: p}) != no
}

// String returns the filter in canonical form: full term names, explicit
// prefix keywords, quotes where needed and parentheses only where needed.
// Parse(f.String()) gives an equivalent filter with the same String.
func (f *Filter) String() string {
	if f == nil || f.root == nil {
		return ""
	}
	return string(f.root.appendText(nil, opOr))
}

// appendText renders x; parent is the operator of the enclosing node, which
// decides whether parentheses are needed.
func (x *expr) appendText(dst []byte, parent op) []byte {
	switch x.op {
	case opTerm:
		return x.c.appendText(dst)
	case opNot:
		dst = append(dst, "not "...)
		a := x.args[0]
		if a.op == opAnd || a.op == opOr {
			dst = append(dst, '(')
			dst = a.appendText(dst, opOr)
			return append(dst, ')')
		}
		return a.appendText(dst, opNot)
	}
	paren := x.op == opOr && parent != opOr
	if paren {
		dst = append(dst, '(')
	}
	sep := " and "
	if x.op == opOr {
		sep = " or "
	}
	for i, a := range x.args {
		if i > 0 {
			dst = append(dst, sep...)
		}
		dst = a.appendText(dst, x.op)
	}
	if paren {
		dst = append(dst, ')')
	}
	return dst
}

// Apply is the filter stage of the data path: it removes from b the elems
// that do not match, in place, and returns how many it removed. Records stay
// (a record whose elems all fail still prints its record line in record
// mode, as bgpreader's does), and so do BMP statistics, which are not
// elems. A nil Matcher, or one of a filter that matches everything, keeps
// everything without looking.
func (m *Matcher) Apply(b *decode.Batch) int {
	if m == nil || m.f == nil || m.f.root == nil {
		return 0
	}
	j := 0
	for i := range b.Elems {
		if !m.Match(&b.Records[b.ElemRecord[i]], &b.Elems[i]) {
			continue
		}
		if i != j {
			b.Elems[j] = b.Elems[i]
			b.ElemRecord[j] = b.ElemRecord[i]
		}
		j++
	}
	n := len(b.Elems) - j
	b.Elems, b.ElemRecord = b.Elems[:j], b.ElemRecord[:j]
	return n
}
