package filter

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/bgp-connector/bgp-connector/decode"
)

// clause is one compiled "term value..." of a filter.
type clause interface {
	// match evaluates the clause on an elem; s is nil unless needsScratch.
	match(r *decode.Record, e *decode.Elem, s *scratch) bool
	// probe answers a push-down question, or unknown.
	probe(p probe) tri
	// questions lists the push-down questions probe can answer.
	questions() question
	needsScratch() bool
	// cost orders AND/OR operands: cheap first.
	cost() int
	// appendText appends the canonical "term value..." form.
	appendText(dst []byte) []byte
}

// termDef describes a term of the language.
type termDef struct {
	name    string
	aliases []string
	expect  string // what a value looks like, for error messages
	build   func(vals []value) (clause, error)
}

var terms []*termDef

// termList is the list of term names for error messages.
var termList string

func init() {
	terms = []*termDef{
		{"project", []string{"proj"}, "a project name such as ris or routeviews", buildStrings(fieldProject)},
		{"collector", []string{"coll"}, "a collector name such as rrc00 or route-views2", buildStrings(fieldCollector)},
		{"router", []string{"rout"}, "a router name", buildStrings(fieldRouter)},
		{"type", nil, "ribs or updates", buildType},
		{"resourcetype", []string{"restype"}, "stream or batch", buildResType},
		{"peer", nil, "a peer AS number such as 3356", buildASNs("peer", false)},
		{"origin", []string{"orig"}, "an origin AS number such as 3356", buildASNs("origin", true)},
		{"prefix", []string{"pref"}, "[exact|more|less|any] followed by prefixes such as 192.0.2.0/24", buildPrefix},
		{"community", []string{"comm"}, "a community asn:value, either half may be *, e.g. 3356:* or *:666", buildCommunity},
		{"extcommunity", []string{"extc"}, "an extended community such as rt:65000:100, ro:192.0.2.1:7 or 0x0002:00fde8000064", buildExtCommunity},
		{"largecommunity", []string{"lcomm"}, "a large community global:local1:local2, each may be *", buildLargeCommunity},
		{"aspath", []string{"path"}, `an AS path regex such as "_3356_" or "^174_" ('!' in front negates)`, buildASPath},
		{"ipversion", []string{"ipv"}, "4 or 6", buildIPVersion},
		{"elemtype", nil, "ribs, announcements, withdrawals or peerstates", buildElemType},
		{"peerip", nil, "a peer address or prefix such as 192.0.2.1 or 2001:db8::/32", buildAddrs("peerip")},
		{"nexthop", nil, "a next-hop address or prefix such as 192.0.2.1", buildAddrs("nexthop")},
		{"pathid", nil, "an ADD-PATH path identifier (0 to 4294967295)", buildPathID},
		{"time", []string{"window"}, "start[,end] as unix seconds, RFC 3339 or 2006-01-02", buildTime},
	}
	names := make([]string, len(terms))
	for i, t := range terms {
		names[i] = t.name
	}
	termList = strings.Join(names, ", ")
}

func lookupTerm(s string) *termDef {
	for _, t := range terms {
		if strings.EqualFold(s, t.name) {
			return t
		}
		for _, a := range t.aliases {
			if strings.EqualFold(s, a) {
				return t
			}
		}
	}
	return nil
}

// appendValue appends v, quoted if it would not read back as one value.
func appendValue(dst []byte, v string) []byte {
	need := v == ""
	switch strings.ToLower(v) {
	case "and", "or", "not", "exact", "more", "less", "any":
		need = true
	}
	if !need {
		need = strings.ContainsAny(v, " \t\r\n\"'()\\")
	}
	if !need {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, v[i])
	}
	return append(dst, '"')
}

func appendTerm(dst []byte, name string, vals []string) []byte {
	dst = append(dst, name...)
	for _, v := range vals {
		dst = append(dst, ' ')
		dst = appendValue(dst, v)
	}
	return dst
}

// elemFails returns the elem-type probe answer of a clause that BGPStream
// fails for peer states, and for withdrawals too when failsW.
func elemFails(p probe, failsW bool) tri {
	if p.ask == askElemType && (p.et == decode.ElemPeerState || (failsW && p.et == decode.ElemWithdrawal)) {
		return no
	}
	return unknown
}

// ---- project, collector, router ----

type recField uint8

const (
	fieldProject recField = iota
	fieldCollector
	fieldRouter
)

var fieldNames = [...]string{"project", "collector", "router"}

type stringsClause struct {
	field recField
	vals  []string
}

func buildStrings(f recField) func([]value) (clause, error) {
	return func(vals []value) (clause, error) {
		c := &stringsClause{field: f}
		for _, v := range vals {
			if v.text == "" {
				return nil, badValue(v, "empty %s name: expected %s", fieldNames[f], lookupTerm(fieldNames[f]).expect)
			}
			c.vals = append(c.vals, v.text)
		}
		return c, nil
	}
}

func (c *stringsClause) get(r *decode.Record) string {
	switch c.field {
	case fieldProject:
		return r.Project
	case fieldCollector:
		return r.Collector
	}
	return r.Router
}

func (c *stringsClause) test(r *decode.Record) bool {
	if r == nil {
		return false
	}
	s := c.get(r)
	for _, v := range c.vals {
		if s == v {
			return true
		}
	}
	return false
}

func (c *stringsClause) match(r *decode.Record, _ *decode.Elem, _ *scratch) bool { return c.test(r) }
func (c *stringsClause) probe(p probe) tri {
	if p.ask == askRecord {
		return triOf(c.test(p.r))
	}
	return unknown
}
func (c *stringsClause) questions() question { return askRecord }
func (c *stringsClause) needsScratch() bool  { return false }
func (c *stringsClause) cost() int           { return 2 }
func (c *stringsClause) appendText(dst []byte) []byte {
	return appendTerm(dst, fieldNames[c.field], c.vals)
}

// ---- type ----

type typeClause struct {
	rib, update bool
	vals        []string
}

func buildType(vals []value) (clause, error) {
	c := &typeClause{}
	for _, v := range vals {
		switch strings.ToLower(v.text) {
		case "ribs", "rib":
			c.rib = true
			c.vals = append(c.vals, "ribs")
		case "updates", "update":
			c.update = true
			c.vals = append(c.vals, "updates")
		default:
			return nil, badValue(v, "bad record type %q: expected ribs or updates", v.text)
		}
	}
	return c, nil
}

func (c *typeClause) test(r *decode.Record) bool {
	if r == nil {
		return false
	}
	if r.Type == decode.RecordRIB {
		return c.rib
	}
	return c.update
}
func (c *typeClause) match(r *decode.Record, _ *decode.Elem, _ *scratch) bool { return c.test(r) }
func (c *typeClause) probe(p probe) tri {
	switch p.ask {
	case askRecord:
		return triOf(c.test(p.r))
	case askElemType:
		if p.et == decode.ElemRIB {
			return triOf(c.rib)
		}
		return triOf(c.update)
	}
	return unknown
}
func (c *typeClause) questions() question          { return askRecord | askElemType }
func (c *typeClause) needsScratch() bool           { return false }
func (c *typeClause) cost() int                    { return 1 }
func (c *typeClause) appendText(dst []byte) []byte { return appendTerm(dst, "type", c.vals) }

// ---- resourcetype ----

type resTypeClause struct {
	stream, batch bool
	vals          []string
}

func buildResType(vals []value) (clause, error) {
	c := &resTypeClause{}
	for _, v := range vals {
		switch strings.ToLower(v.text) {
		case "stream":
			c.stream = true
		case "batch":
			c.batch = true
		default:
			return nil, badValue(v, "bad resource type %q: expected stream or batch", v.text)
		}
		c.vals = append(c.vals, strings.ToLower(v.text))
	}
	return c, nil
}

// test: BMP (live feeds, Kafka) is a stream; MRT files are batch.
func (c *resTypeClause) test(r *decode.Record) bool {
	if r == nil {
		return false
	}
	if r.Format == decode.FormatBMP {
		return c.stream
	}
	return c.batch
}
func (c *resTypeClause) match(r *decode.Record, _ *decode.Elem, _ *scratch) bool { return c.test(r) }
func (c *resTypeClause) probe(p probe) tri {
	if p.ask == askRecord {
		return triOf(c.test(p.r))
	}
	return unknown
}
func (c *resTypeClause) questions() question          { return askRecord }
func (c *resTypeClause) needsScratch() bool           { return false }
func (c *resTypeClause) cost() int                    { return 1 }
func (c *resTypeClause) appendText(dst []byte) []byte { return appendTerm(dst, "resourcetype", c.vals) }

// ---- peer, origin ----

// asnSet is a small set of ASNs; sorted for binary search when large.
type asnSet []uint32

func (s asnSet) has(a uint32) bool {
	if len(s) <= 16 {
		for _, x := range s {
			if x == a {
				return true
			}
		}
		return false
	}
	_, ok := slices.BinarySearch(s, a)
	return ok
}

func newASNSet(a []uint32) asnSet {
	s := slices.Clone(a)
	slices.Sort(s)
	return slices.Compact(s)
}

// parseASN reads an AS number: decimal, optionally prefixed with "AS", or
// asdot "high.low".
func parseASN(s string) (uint32, bool) {
	t := s
	if len(t) > 2 && (t[0] == 'A' || t[0] == 'a') && (t[1] == 'S' || t[1] == 's') {
		t = t[2:]
	}
	if hi, lo, ok := strings.Cut(t, "."); ok {
		h, err1 := strconv.ParseUint(hi, 10, 16)
		l, err2 := strconv.ParseUint(lo, 10, 16)
		if err1 != nil || err2 != nil || hi == "" || lo == "" || hi[0] == '+' || lo[0] == '+' {
			return 0, false
		}
		return uint32(h)<<16 | uint32(l), true
	}
	if t == "" || t[0] == '+' {
		return 0, false
	}
	n, err := strconv.ParseUint(t, 10, 32)
	return uint32(n), err == nil
}

type asnClause struct {
	origin bool
	list   []uint32 // source order
	set    asnSet
}

func buildASNs(what string, origin bool) func([]value) (clause, error) {
	return func(vals []value) (clause, error) {
		c := &asnClause{origin: origin}
		for _, v := range vals {
			a, ok := parseASN(v.text)
			if !ok {
				return nil, badValue(v, "bad %s AS number %q: expected a decimal AS number from 0 to 4294967295 (e.g. 3356, AS3356 or asdot 1.10)", what, v.text)
			}
			c.list = append(c.list, a)
		}
		c.set = newASNSet(c.list)
		return c, nil
	}
}

func (c *asnClause) match(_ *decode.Record, e *decode.Elem, _ *scratch) bool {
	if !c.origin {
		return c.set.has(e.PeerASN)
	}
	if e.Attrs == nil || e.Type == decode.ElemWithdrawal || e.Type == decode.ElemPeerState {
		return false
	}
	o, ok := e.Attrs.ASPath.OriginASN()
	return ok && c.set.has(o)
}
func (c *asnClause) probe(p probe) tri {
	if c.origin {
		return elemFails(p, true)
	}
	if p.ask == askPeer {
		return triOf(c.set.has(p.asn))
	}
	return unknown
}
func (c *asnClause) questions() question {
	if c.origin {
		return askElemType
	}
	return askPeer
}
func (c *asnClause) needsScratch() bool { return false }
func (c *asnClause) cost() int {
	if c.origin {
		return 3
	}
	return 2
}
func (c *asnClause) appendText(dst []byte) []byte {
	if c.origin {
		dst = append(dst, "origin"...)
	} else {
		dst = append(dst, "peer"...)
	}
	for _, a := range c.list {
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, uint64(a), 10)
	}
	return dst
}

// ---- prefix ----

type prefixClause struct {
	entries []prefixEntry // source order
	set     prefixSet
}

// parsePrefix reads a prefix, or an address as a host prefix, masking host
// bits.
func parsePrefix(v value, what string) (netip.Prefix, error) {
	s := v.text
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	} else if strings.Contains(s, "/") {
		reason := err.Error()
		if i := strings.LastIndex(reason, "): "); i >= 0 {
			reason = reason[i+3:]
		}
		return netip.Prefix{}, badValue(v, "bad %s %q (%s): expected an IPv4 or IPv6 prefix such as 192.0.2.0/24 or 2001:db8::/32", what, s, reason)
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, badValue(v, "bad %s %q: expected an IPv4 or IPv6 prefix such as 192.0.2.0/24 or 2001:db8::/32", what, s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func buildPrefix(vals []value) (clause, error) {
	c := &prefixClause{}
	mode := modeMore
	var pending *value // a mode keyword not yet followed by a prefix
	for i := range vals {
		v := vals[i]
		if !v.quoted {
			switch strings.ToLower(v.text) {
			case "exact", "more", "less", "any":
				if pending != nil {
					return nil, badValue(*pending, "prefix mode %q is not followed by a prefix: expected a prefix such as 192.0.2.0/24", pending.text)
				}
				switch strings.ToLower(v.text) {
				case "exact":
					mode = modeExact
				case "more":
					mode = modeMore
				case "less":
					mode = modeLess
				case "any":
					mode = modeAny
				}
				pending = &vals[i]
				continue
			}
		}
		p, err := parsePrefix(v, "prefix")
		if err != nil {
			return nil, err
		}
		pending = nil
		c.entries = append(c.entries, prefixEntry{p, mode})
	}
	if pending != nil {
		return nil, &valueError{atEnd: true, msg: sprintf("missing prefix after %q: expected a prefix such as 192.0.2.0/24", pending.text)}
	}
	c.set = newPrefixSet(c.entries)
	return c, nil
}

func (c *prefixClause) match(_ *decode.Record, e *decode.Elem, _ *scratch) bool {
	if e.Type == decode.ElemPeerState {
		return false
	}
	return c.set.contains(e.Prefix)
}
func (c *prefixClause) probe(p probe) tri {
	if p.ask == askPrefix {
		return triOf(c.set.contains(p.pfx))
	}
	if p.ask == askFamily {
		if (p.ipv6 && !c.set.has6) || (!p.ipv6 && !c.set.has4) {
			return no
		}
		return unknown
	}
	return elemFails(p, false)
}
func (c *prefixClause) questions() question { return askElemType | askFamily | askPrefix }
func (c *prefixClause) needsScratch() bool  { return false }
func (c *prefixClause) cost() int           { return 4 }
func (c *prefixClause) appendText(dst []byte) []byte {
	dst = append(dst, "prefix"...)
	mode := pfxMode(255)
	for _, e := range c.entries {
		if e.mode != mode {
			mode = e.mode
			dst = append(dst, ' ')
			dst = append(dst, modeNames[mode]...)
		}
		dst = append(dst, ' ')
		dst = e.p.AppendTo(dst)
	}
	return dst
}

// ---- ipversion ----

type ipvClause struct {
	v4, v6 bool
	vals   []string
}

func buildIPVersion(vals []value) (clause, error) {
	c := &ipvClause{}
	for _, v := range vals {
		switch strings.ToLower(v.text) {
		case "4", "ipv4", "v4":
			c.v4 = true
			c.vals = append(c.vals, "4")
		case "6", "ipv6", "v6":
			c.v6 = true
			c.vals = append(c.vals, "6")
		default:
			return nil, badValue(v, "bad IP version %q: expected 4 or 6", v.text)
		}
	}
	return c, nil
}

func (c *ipvClause) match(_ *decode.Record, e *decode.Elem, _ *scratch) bool {
	if e.Type == decode.ElemPeerState || !e.Prefix.IsValid() {
		return false
	}
	if e.Prefix.Addr().Is4() {
		return c.v4
	}
	return c.v6
}
func (c *ipvClause) probe(p probe) tri {
	if p.ask == askFamily {
		if p.ipv6 {
			return triOf(c.v6)
		}
		return triOf(c.v4)
	}
	return elemFails(p, false)
}
func (c *ipvClause) questions() question          { return askElemType | askFamily }
func (c *ipvClause) needsScratch() bool           { return false }
func (c *ipvClause) cost() int                    { return 1 }
func (c *ipvClause) appendText(dst []byte) []byte { return appendTerm(dst, "ipversion", c.vals) }

// ---- elemtype ----

type elemTypeClause struct {
	mask uint8 // bit per decode.ElemType
	vals []string
}

func buildElemType(vals []value) (clause, error) {
	c := &elemTypeClause{}
	for _, v := range vals {
		var t decode.ElemType
		var name string
		switch strings.ToLower(v.text) {
		case "ribs", "rib":
			t, name = decode.ElemRIB, "ribs"
		case "announcements", "announcement":
			t, name = decode.ElemAnnouncement, "announcements"
		case "withdrawals", "withdrawal":
			t, name = decode.ElemWithdrawal, "withdrawals"
		case "peerstates", "peerstate":
			t, name = decode.ElemPeerState, "peerstates"
		default:
			return nil, badValue(v, "bad elem type %q: expected ribs, announcements, withdrawals or peerstates", v.text)
		}
		c.mask |= 1 << t
		c.vals = append(c.vals, name)
	}
	return c, nil
}

func (c *elemTypeClause) match(_ *decode.Record, e *decode.Elem, _ *scratch) bool {
	return c.mask&(1<<(e.Type&7)) != 0
}
func (c *elemTypeClause) probe(p probe) tri {
	switch p.ask {
	case askElemType:
		return triOf(c.mask&(1<<(p.et&7)) != 0)
	case askRecord:
		// RIB records yield RIB elems only; update records announcements,
		// withdrawals and peer states.
		if p.r == nil {
			return no
		}
		if p.r.Type == decode.RecordRIB {
			return triOf(c.mask&(1<<decode.ElemRIB) != 0)
		}
		upd := uint8(1<<decode.ElemAnnouncement | 1<<decode.ElemWithdrawal | 1<<decode.ElemPeerState)
		switch c.mask & upd {
		case 0:
			return no
		case upd:
			return yes
		}
	}
	return unknown
}
func (c *elemTypeClause) questions() question          { return askElemType | askRecord }
func (c *elemTypeClause) needsScratch() bool           { return false }
func (c *elemTypeClause) cost() int                    { return 1 }
func (c *elemTypeClause) appendText(dst []byte) []byte { return appendTerm(dst, "elemtype", c.vals) }

// ---- peerip, nexthop ----

type addrClause struct {
	nexthop bool
	pfxs    []netip.Prefix
}

func buildAddrs(what string) func([]value) (clause, error) {
	return func(vals []value) (clause, error) {
		c := &addrClause{nexthop: what == "nexthop"}
		for _, v := range vals {
			p, err := parsePrefix(v, what+" address")
			if err != nil {
				return nil, err
			}
			c.pfxs = append(c.pfxs, p)
		}
		return c, nil
	}
}

func (c *addrClause) test(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range c.pfxs {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (c *addrClause) match(_ *decode.Record, e *decode.Elem, _ *scratch) bool {
	if c.nexthop {
		if e.Type == decode.ElemWithdrawal || e.Type == decode.ElemPeerState {
			return false
		}
		return c.test(e.NextHop)
	}
	return c.test(e.PeerIP)
}
func (c *addrClause) probe(p probe) tri {
	if c.nexthop {
		return elemFails(p, true)
	}
	if p.ask == askPeer {
		return triOf(c.test(p.ip))
	}
	return unknown
}
func (c *addrClause) questions() question {
	if c.nexthop {
		return askElemType
	}
	return askPeer
}
func (c *addrClause) needsScratch() bool { return false }
func (c *addrClause) cost() int          { return 3 }
func (c *addrClause) appendText(dst []byte) []byte {
	if c.nexthop {
		dst = append(dst, "nexthop"...)
	} else {
		dst = append(dst, "peerip"...)
	}
	for _, p := range c.pfxs {
		dst = append(dst, ' ')
		if p.IsSingleIP() {
			dst = p.Addr().AppendTo(dst)
		} else {
			dst = p.AppendTo(dst)
		}
	}
	return dst
}

// ---- pathid ----

type pathIDClause struct {
	list []uint32
	set  asnSet
}

func buildPathID(vals []value) (clause, error) {
	c := &pathIDClause{}
	for _, v := range vals {
		n, err := strconv.ParseUint(v.text, 10, 32)
		if err != nil || v.text[0] == '+' {
			return nil, badValue(v, "bad path identifier %q: expected a number from 0 to 4294967295", v.text)
		}
		c.list = append(c.list, uint32(n))
	}
	c.set = newASNSet(c.list)
	return c, nil
}

func (c *pathIDClause) match(_ *decode.Record, e *decode.Elem, _ *scratch) bool {
	return e.HasPathID && c.set.has(e.PathID)
}
func (c *pathIDClause) probe(p probe) tri   { return elemFails(p, false) }
func (c *pathIDClause) questions() question { return askElemType }
func (c *pathIDClause) needsScratch() bool  { return false }
func (c *pathIDClause) cost() int           { return 1 }
func (c *pathIDClause) appendText(dst []byte) []byte {
	dst = append(dst, "pathid"...)
	for _, a := range c.list {
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, uint64(a), 10)
	}
	return dst
}
