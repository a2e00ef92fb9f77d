package filter

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/bgp-connector/bgp-connector/decode"
)

// boundary is what Cisco's '_' stands for in an AS path regex: the start or
// end of the path, a space, or segment punctuation.
const boundary = `(?:^|[ {},()\[\]<>]|$)`

// pathKind is how an AS path pattern is evaluated.
type pathKind uint8

const (
	pathRegexp pathKind = iota // general: render the path and run the regexp
	pathAll                    // ".*" or "": any path
	pathHas                    // _N_: N anywhere
	pathFirst                  // ^N_: first segment is a sequence starting with N
	pathLast                   // _N$: last segment is a sequence ending with N
	pathOnly                   // ^N$: the path is the single ASN N
)

// pathPat is one compiled AS path pattern. The fast kinds take N as one ASN
// or an alternation (N1|N2|...), held in asns. A regexp pattern may carry
// required ASNs: whole-token literals that every match contains, checked on
// the ASN list before the path is rendered (empty but non-nil: a required
// token no ASN can equal, such as one with a leading zero).
type pathPat struct {
	src      string // as written, with the '!'
	neg      bool
	kind     pathKind
	asns     asnSet
	required []uint32
	re       *regexp.Regexp
}

// cisco turns a Cisco-style regex into a Go one: each '_' not escaped by a
// backslash becomes the boundary group.
func cisco(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			b.WriteByte(s[i])
			b.WriteByte(s[i+1])
			i++
		case s[i] == '_':
			b.WriteString(boundary)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// fastASN reads a canonical decimal ASN (no sign, no leading zero).
func fastASN(s string) (uint32, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

func compilePathPat(src string) (pathPat, error) {
	p := pathPat{src: src}
	s := src
	if strings.HasPrefix(s, "!") {
		p.neg, s = true, s[1:]
	}
	if s == "" || s == ".*" {
		p.kind = pathAll
		return p, nil
	}
	if len(s) >= 3 {
		head, tail, body := s[0], s[len(s)-1], s[1:len(s)-1]
		if set, ok := fastASNs(body); ok {
			p.asns = set
			switch {
			case head == '_' && tail == '_':
				p.kind = pathHas
			case head == '^' && tail == '_':
				p.kind = pathFirst
			case head == '_' && tail == '$':
				p.kind = pathLast
			case head == '^' && tail == '$':
				p.kind = pathOnly
			}
			if p.kind != pathRegexp {
				return p, nil
			}
		}
	}
	// Check the regex as the user wrote it first, so that an error quotes
	// their text rather than the expanded boundaries.
	if _, err := regexp.Compile(s); err != nil {
		return p, err
	}
	re, err := regexp.Compile(cisco(s))
	if err != nil {
		return p, err
	}
	p.re = re
	p.required = requiredASNs(s)
	return p, nil
}

// fastASNs reads "N", "(N1|N2|...)" or "(?:N1|N2|...)".
func fastASNs(s string) (asnSet, bool) {
	if n, ok := fastASN(s); ok {
		return asnSet{n}, true
	}
	if len(s) < 3 || s[0] != '(' || s[len(s)-1] != ')' {
		return nil, false
	}
	s = strings.TrimPrefix(s[1:len(s)-1], "?:")
	var out []uint32
	for _, part := range strings.Split(s, "|") {
		n, ok := fastASN(part)
		if !ok {
			return nil, false
		}
		out = append(out, n)
	}
	return newASNSet(out), true
}

// requiredASNs returns the ASNs every match of a Cisco regex must contain
// as whole tokens. It only analyses patterns made of digits, '_', '^', '$'
// and the wildcards ".*" and ".+"; a digit run counts when '_', '^' or '$'
// (or the pattern's ends for ^ and $) delimit it on both sides.
func requiredASNs(s string) []uint32 {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c == '_', c == '^', c == '$':
		case c == '.' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '+'):
			i++
		default:
			return nil
		}
	}
	var out []uint32
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		delim := func(k int) bool { return k >= 0 && k < len(s) && (s[k] == '_' || s[k] == '^' || s[k] == '$') }
		if delim(i-1) && delim(j) {
			if n, ok := fastASN(s[i:j]); ok {
				out = append(out, n)
			} else {
				return []uint32{}
			}
		}
		i = j
	}
	return out
}

// matchPath applies the pattern to the path, before negation.
func (p *pathPat) matchPath(a *decode.Attrs, s *scratch) bool {
	path := &a.ASPath
	switch p.kind {
	case pathAll:
		return true
	case pathHas:
		for _, x := range path.ASNs() {
			if p.asns.has(x) {
				return true
			}
		}
		return false
	case pathFirst:
		if path.NumSegments() == 0 {
			return false
		}
		t, asns := path.Segment(0)
		return t == decode.SegSequence && len(asns) > 0 && p.asns.has(asns[0])
	case pathLast:
		n := path.NumSegments()
		if n == 0 {
			return false
		}
		t, asns := path.Segment(n - 1)
		return t == decode.SegSequence && len(asns) > 0 && p.asns.has(asns[len(asns)-1])
	case pathOnly:
		if path.NumSegments() != 1 {
			return false
		}
		t, asns := path.Segment(0)
		return t == decode.SegSequence && len(asns) == 1 && p.asns.has(asns[0])
	}
	if p.required != nil {
		if len(p.required) == 0 {
			return false // a required token no ASN can equal (e.g. leading zero)
		}
		all := path.ASNs()
		for _, r := range p.required {
			found := false
			for _, x := range all {
				if x == r {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
	}
	return p.re.Match(s.path(a))
}

type asPathClause struct {
	pats    []pathPat
	regexps bool
}

func buildASPath(vals []value) (clause, error) {
	c := &asPathClause{}
	for _, v := range vals {
		p, err := compilePathPat(v.text)
		if err != nil {
			msg := err.Error()
			if i := strings.Index(msg, "error parsing regexp: "); i >= 0 {
				msg = msg[i+len("error parsing regexp: "):]
			}
			return nil, badValue(v, "bad AS path regex %q (%s): expected a Cisco-style regex such as \"_3356_\", \"^174_\" or \"_(701|1239)$\"", v.text, msg)
		}
		if p.kind == pathRegexp {
			c.regexps = true
		}
		c.pats = append(c.pats, p)
	}
	return c, nil
}

func (c *asPathClause) match(_ *decode.Record, e *decode.Elem, s *scratch) bool {
	if e.Attrs == nil || e.Type == decode.ElemWithdrawal || e.Type == decode.ElemPeerState {
		return false
	}
	for i := range c.pats {
		p := &c.pats[i]
		if p.matchPath(e.Attrs, s) == p.neg {
			return false
		}
	}
	return true
}
func (c *asPathClause) probe(p probe) tri   { return elemFails(p, true) }
func (c *asPathClause) questions() question { return askElemType }
func (c *asPathClause) needsScratch() bool  { return c.regexps }
func (c *asPathClause) cost() int {
	if c.regexps {
		return 50
	}
	return 5
}
func (c *asPathClause) appendText(dst []byte) []byte {
	dst = append(dst, "aspath"...)
	for _, p := range c.pats {
		dst = append(dst, ' ')
		dst = appendValue(dst, p.src)
	}
	return dst
}
