package filter

import (
	"net/netip"

	"github.com/bgp-connector/bgp-connector/decode"
)

// Hints are facts every elem a filter matches must have, for a source that
// can narrow what it is sent (RIS Live's subscription): the collectors, peer
// addresses, prefixes and elem types named by the filter's top-level AND
// clauses. An empty field means no requirement. Hints only narrow: the
// filter itself must still be applied to what arrives.
type Hints struct {
	// Collectors are the names of a top-level collector clause.
	Collectors []string
	// PeerIPs are the single addresses of a top-level peerip clause (a
	// clause with a prefix of peers gives none).
	PeerIPs []netip.Addr
	// Prefixes are the prefixes of a top-level prefix clause, with how they
	// match.
	Prefixes []PrefixHint
	// ElemTypes are the types of a top-level elemtype clause.
	ElemTypes []decode.ElemType
}

// PrefixHint is one prefix of a prefix clause: More matches more specifics,
// Less less specifics (both: "any"; neither: "exact").
type PrefixHint struct {
	Prefix     netip.Prefix
	More, Less bool
}

// Hints returns the filter's hints (see Hints); a nil filter has none.
func (f *Filter) Hints() Hints {
	var h Hints
	if f == nil || f.root == nil {
		return h
	}
	var terms []clause
	switch f.root.op {
	case opTerm:
		terms = []clause{f.root.c}
	case opAnd:
		for _, a := range f.root.args {
			if a.op == opTerm {
				terms = append(terms, a.c)
			}
		}
	}
	for _, c := range terms {
		switch c := c.(type) {
		case *stringsClause:
			if c.field == fieldCollector && h.Collectors == nil {
				h.Collectors = append([]string(nil), c.vals...)
			}
		case *addrClause:
			if c.nexthop || h.PeerIPs != nil {
				continue
			}
			single := true
			for _, p := range c.pfxs {
				single = single && p.IsSingleIP()
			}
			if single {
				for _, p := range c.pfxs {
					h.PeerIPs = append(h.PeerIPs, p.Addr())
				}
			}
		case *prefixClause:
			if h.Prefixes != nil {
				continue
			}
			for _, e := range c.entries {
				h.Prefixes = append(h.Prefixes, PrefixHint{Prefix: e.p,
					More: e.mode == modeMore || e.mode == modeAny, Less: e.mode == modeLess || e.mode == modeAny})
			}
		case *elemTypeClause:
			if h.ElemTypes != nil {
				continue
			}
			for t := decode.ElemRIB; t <= decode.ElemPeerState; t++ {
				if c.mask&(1<<t) != 0 {
					h.ElemTypes = append(h.ElemTypes, t)
				}
			}
		}
	}
	return h
}
