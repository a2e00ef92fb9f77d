package filter

import (
	"cmp"
	"math/bits"
	"net/netip"
	"slices"
)

// pfxMode is how an elem's prefix E relates to a listed prefix P.
type pfxMode uint8

const (
	modeMore  pfxMode = iota // E is P or more specific (BGPStream's default)
	modeExact                // E is P
	modeLess                 // E is P or less specific
	modeAny                  // either contains the other
)

var modeNames = [...]string{modeMore: "more", modeExact: "exact", modeLess: "less", modeAny: "any"}

// prefixEntry is one listed prefix with its mode.
type prefixEntry struct {
	p    netip.Prefix
	mode pfxMode
}

// u128 is an address as a 128-bit number; IPv4 addresses occupy the top 32
// bits so that one implementation serves both families.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) mask(n uint8) u128 {
	if n <= 64 {
		if n == 0 {
			return u128{}
		}
		return u128{a.hi & (^uint64(0) << (64 - n)), 0}
	}
	return u128{a.hi, a.lo & (^uint64(0) << (128 - n))}
}

// last returns the highest address of the prefix a/n.
func (a u128) last(n uint8) u128 {
	if n <= 64 {
		if n == 0 {
			return u128{^uint64(0), ^uint64(0)}
		}
		return u128{a.hi | ^(^uint64(0) << (64 - n)), ^uint64(0)}
	}
	if n >= 128 {
		return a
	}
	return u128{a.hi, a.lo | ^(^uint64(0) << (128 - n))}
}

// keyOf returns the masked start address and length of p, and whether it is
// IPv6.
func keyOf(p netip.Prefix) (u128, uint8, bool) {
	a := p.Addr()
	n := uint8(p.Bits())
	if a.Is4() {
		b := a.As4()
		v := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		return u128{v << 32, 0}.mask(n), n, false
	}
	b := a.As16()
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	lo := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 |
		uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	return u128{hi, lo}.mask(n), n, true
}

// pent is a prefix in a sorted table: start address and length.
type pent struct {
	start u128
	bits  uint8
}

func (a pent) cmp(b pent) int {
	if c := a.start.cmp(b.start); c != 0 {
		return c
	}
	return cmp.Compare(a.bits, b.bits)
}

// sortedSet is a sorted table of prefixes with a direct index on k address
// bits taken after the bits all entries share: idx[b] is the first entry
// whose bucket is >= b, so a search touches one bucket only.
type sortedSet struct {
	ents     []pent
	idx      []uint32
	shift, k uint
	min, max u128
}

func newSortedSet(ents []pent) sortedSet {
	s := sortedSet{ents: ents}
	if len(ents) == 0 {
		return s
	}
	s.min, s.max = ents[0].start, ents[len(ents)-1].start
	if len(ents) < 16 || s.min.hi == s.max.hi {
		return s
	}
	cpl := uint(bits.LeadingZeros64(s.min.hi ^ s.max.hi))
	k := uint(bits.Len(uint(len(ents))))
	k = min(k, 16, 64-cpl)
	if k < 4 {
		return s
	}
	s.shift, s.k = cpl, k
	s.idx = make([]uint32, 1<<k+1)
	j := 0
	for b := range 1 << k {
		for j < len(ents) && s.bucket(ents[j].start) < uint(b) {
			j++
		}
		s.idx[b] = uint32(j)
	}
	s.idx[1<<k] = uint32(len(ents))
	return s
}

func (s *sortedSet) bucket(q u128) uint { return uint((q.hi << s.shift) >> (64 - s.k)) }

// span returns the range of entries to search for q, which lies within
// [s.min, s.max].
func (s *sortedSet) span(q u128) (int, int) {
	if s.idx == nil {
		return 0, len(s.ents)
	}
	b := s.bucket(q)
	return int(s.idx[b]), int(s.idx[b+1])
}

// upper returns the number of entries whose start is <= q.
func (s *sortedSet) upper(q u128) int {
	if q.cmp(s.min) < 0 {
		return 0
	}
	if q.cmp(s.max) >= 0 {
		return len(s.ents)
	}
	lo, hi := s.span(q)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.ents[m].start.cmp(q) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// lower returns the index of the first entry >= (q, n).
func (s *sortedSet) lower(q u128, n uint8) int {
	if q.cmp(s.min) < 0 {
		return 0
	}
	if q.cmp(s.max) > 0 {
		return len(s.ents)
	}
	lo, hi := s.span(q)
	t := pent{q, n}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.ents[m].cmp(t) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// famSet answers exact/more/less/any for one address family. Prefixes never
// overlap partially (they nest or are disjoint), which makes each question
// one search:
//   - exact: (E.start, E.bits) is in the table;
//   - more (some P contains E): more holds only maximal prefixes, which are
//     disjoint, so the last one starting at or before E.start is the only
//     candidate;
//   - less (some P inside E): the first entry >= (E.start, E.bits) is inside E
//     if and only if any is.
type famSet struct {
	exact, more, less sortedSet
}

func newFamSet(entries []prefixEntry) *famSet {
	var ex, mo, le []pent
	for _, e := range entries {
		k, n, _ := keyOf(e.p)
		p := pent{k, n}
		switch e.mode {
		case modeExact:
			ex = append(ex, p)
		case modeMore:
			mo = append(mo, p)
		case modeLess:
			le = append(le, p)
		case modeAny:
			mo = append(mo, p)
			le = append(le, p)
		}
	}
	sortPents := func(s []pent) []pent {
		slices.SortFunc(s, pent.cmp)
		return slices.Compact(s)
	}
	ex, mo, le = sortPents(ex), sortPents(mo), sortPents(le)
	// Keep only maximal prefixes for "more": a prefix inside a kept one
	// (which sorts before it) adds nothing.
	maximal := mo[:0]
	for _, p := range mo {
		if len(maximal) > 0 {
			m := maximal[len(maximal)-1]
			if p.bits >= m.bits && p.start.mask(m.bits) == m.start {
				continue
			}
		}
		maximal = append(maximal, p)
	}
	return &famSet{exact: newSortedSet(ex), more: newSortedSet(maximal), less: newSortedSet(le)}
}

func (s *famSet) match(start u128, n uint8) bool {
	if len(s.exact.ents) > 0 {
		i := s.exact.lower(start, n)
		if i < len(s.exact.ents) && s.exact.ents[i] == (pent{start, n}) {
			return true
		}
	}
	if len(s.more.ents) > 0 {
		if i := s.more.upper(start); i > 0 {
			p := s.more.ents[i-1]
			if p.bits <= n && start.mask(p.bits) == p.start {
				return true
			}
		}
	}
	if len(s.less.ents) > 0 {
		i := s.less.lower(start, n)
		if i < len(s.less.ents) && s.less.ents[i].start.cmp(start.last(n)) <= 0 {
			return true
		}
	}
	return false
}

// prefixSet is a set of prefixes with modes, both families. Each family
// uses the compact 64-bit tables when its prefixes allow (always for IPv4,
// for IPv6 when no listed prefix is longer than /56), else 128-bit ones.
type prefixSet struct {
	v4, v6     *fam64  // compact tables; nil when not used
	v6wide     *famSet // IPv6 with prefixes longer than /56
	has4, has6 bool
}

func newPrefixSet(entries []prefixEntry) prefixSet {
	var e4, e6 []prefixEntry
	for _, e := range entries {
		if e.p.Addr().Is4() {
			e4 = append(e4, e)
		} else {
			e6 = append(e6, e)
		}
	}
	s := prefixSet{has4: len(e4) > 0, has6: len(e6) > 0}
	if s.has4 {
		s.v4 = newFam64(e4)
	}
	if s.has6 {
		narrow := true
		for _, e := range e6 {
			narrow = narrow && e.p.Bits() <= maxBits64
		}
		if narrow {
			s.v6 = newFam64(e6)
		} else {
			s.v6wide = newFamSet(e6)
		}
	}
	return s
}

// contains reports whether p relates to a listed prefix as that prefix's
// mode asks.
func (s *prefixSet) contains(p netip.Prefix) bool {
	if !p.IsValid() {
		return false
	}
	k, n, v6 := keyOf(p)
	switch {
	case !v6:
		return s.v4 != nil && s.v4.match(k.hi, n)
	case s.v6 != nil:
		return s.v6.match(k.hi, n)
	case s.v6wide != nil:
		return s.v6wide.match(k, n)
	}
	return false
}

// maxBits64 is the longest prefix the 64-bit tables hold: its length fits
// in the low byte that the masked address leaves zero.
const maxBits64 = 56

// table64 is a sorted table of keys hi|bits, where hi is the masked top 64
// bits of the address (IPv4 in the top 32), with a direct index like
// sortedSet's.
type table64 struct {
	keys     []uint64
	idx      []uint32
	shift, k uint
	min, max uint64
}

func newTable64(keys []uint64) table64 {
	slices.Sort(keys)
	keys = slices.Compact(keys)
	t := table64{keys: keys}
	if len(keys) == 0 {
		return t
	}
	t.min, t.max = keys[0], keys[len(keys)-1]
	if len(keys) < 16 {
		return t
	}
	cpl := uint(bits.LeadingZeros64(t.min ^ t.max))
	k := min(uint(bits.Len(uint(len(keys)))), 16, 64-cpl)
	if k < 4 {
		return t
	}
	t.shift, t.k = cpl, k
	t.idx = make([]uint32, 1<<k+1)
	j := 0
	for b := range 1 << k {
		for j < len(keys) && t.bucket(keys[j]) < uint(b) {
			j++
		}
		t.idx[b] = uint32(j)
	}
	t.idx[1<<k] = uint32(len(keys))
	return t
}

func (t *table64) bucket(q uint64) uint { return uint((q << t.shift) >> (64 - t.k)) }

// lower returns the index of the first key >= q.
func (t *table64) lower(q uint64) int {
	if q <= t.min {
		return 0
	}
	if q > t.max {
		return len(t.keys)
	}
	lo, hi := 0, len(t.keys)
	if t.idx != nil {
		b := t.bucket(q)
		lo, hi = int(t.idx[b]), int(t.idx[b+1])
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.keys[m] < q {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func mask64(a uint64, n uint8) uint64 {
	if n == 0 {
		return 0
	}
	if n >= 64 {
		return a
	}
	return a & (^uint64(0) << (64 - n))
}

// fam64 is famSet over table64s (see famSet for the three questions).
type fam64 struct {
	exact, more, less table64
}

func newFam64(entries []prefixEntry) *fam64 {
	var ex, mo, le []uint64
	for _, e := range entries {
		k, n, _ := keyOf(e.p)
		key := k.hi | uint64(n)
		switch e.mode {
		case modeExact:
			ex = append(ex, key)
		case modeMore:
			mo = append(mo, key)
		case modeLess:
			le = append(le, key)
		case modeAny:
			mo = append(mo, key)
			le = append(le, key)
		}
	}
	slices.Sort(mo)
	maximal := mo[:0]
	for _, key := range mo {
		if len(maximal) > 0 {
			m := maximal[len(maximal)-1]
			mb := uint8(m)
			if uint8(key) >= mb && mask64(key, mb) == m&^0xff {
				continue
			}
		}
		maximal = append(maximal, key)
	}
	return &fam64{exact: newTable64(ex), more: newTable64(maximal), less: newTable64(le)}
}

// match tests the prefix whose masked top 64 bits are hi and length n.
func (s *fam64) match(hi uint64, n uint8) bool {
	narrow := n <= maxBits64
	if narrow && len(s.exact.keys) > 0 {
		q := hi | uint64(n)
		if i := s.exact.lower(q); i < len(s.exact.keys) && s.exact.keys[i] == q {
			return true
		}
	}
	if len(s.more.keys) > 0 {
		// Entries whose start is <= hi are the keys <= hi|0xff (starts have a
		// zero low byte); the last one is the only candidate.
		q := hi | 0xff
		i := len(s.more.keys)
		if q < s.more.max {
			i = s.more.lower(q + 1)
		}
		if i > 0 {
			p := s.more.keys[i-1]
			if pb := uint8(p); pb <= n && mask64(hi, pb) == p&^0xff {
				return true
			}
		}
	}
	if narrow && len(s.less.keys) > 0 {
		if i := s.less.lower(hi | uint64(n)); i < len(s.less.keys) {
			last := hi
			if n < 64 {
				last |= ^(^uint64(0) << (64 - n))
			}
			if n == 0 {
				last = ^uint64(0)
			}
			return s.less.keys[i]&^0xff <= last
		}
	}
	return false
}
