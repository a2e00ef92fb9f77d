package filter

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// bruteMatch is the definition of the prefix modes, over a plain list.
func bruteMatch(entries []prefixEntry, e netip.Prefix) bool {
	e = e.Masked()
	for _, x := range entries {
		p := x.p.Masked()
		if p.Addr().Is4() != e.Addr().Is4() {
			continue
		}
		inside := e.Bits() >= p.Bits() && p.Contains(e.Addr())   // e in p
		contains := p.Bits() >= e.Bits() && e.Contains(p.Addr()) // p in e
		switch x.mode {
		case modeExact:
			if p == e {
				return true
			}
		case modeMore:
			if inside {
				return true
			}
		case modeLess:
			if contains {
				return true
			}
		case modeAny:
			if inside || contains {
				return true
			}
		}
	}
	return false
}

// randPrefix draws prefixes clustered under a few roots so that nesting,
// shared buckets and family boundaries all occur.
func randPrefix(r *rand.Rand, v6 bool) netip.Prefix {
	if v6 {
		var b [16]byte
		b[0], b[1] = 0x20, byte(r.IntN(4))
		for i := 2; i < 16; i++ {
			b[i] = byte(r.IntN(4)) << uint(r.IntN(7))
		}
		return netip.PrefixFrom(netip.AddrFrom16(b), r.IntN(129)).Masked()
	}
	var b [4]byte
	b[0] = byte(r.IntN(4)) * 60
	for i := 1; i < 4; i++ {
		b[i] = byte(r.IntN(8)) << uint(r.IntN(6))
	}
	return netip.PrefixFrom(netip.AddrFrom4(b), r.IntN(33)).Masked()
}

func TestPrefixSetAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 120 {
		n := []int{1, 3, 15, 40, 300, 3000}[round%6]
		var entries []prefixEntry
		for range n {
			entries = append(entries, prefixEntry{randPrefix(r, r.IntN(3) == 0), pfxMode(r.IntN(4))})
		}
		if round%3 == 0 { // IPv6 sets of /56 or shorter use the 64-bit tables
			for i := range entries {
				if p := entries[i].p; p.Addr().Is6() && p.Bits() > 56 {
					entries[i].p = netip.PrefixFrom(p.Addr(), r.IntN(57)).Masked()
				}
			}
		}
		if round%5 == 0 { // single mode sets exercise each table alone
			for i := range entries {
				entries[i].mode = pfxMode(round / 5 % 4)
			}
		}
		s := newPrefixSet(entries)
		for range 3000 {
			var q netip.Prefix
			if r.IntN(4) == 0 {
				q = entries[r.IntN(len(entries))].p // hit listed prefixes exactly
				if r.IntN(2) == 0 && q.Bits() > 0 {
					q = netip.PrefixFrom(q.Addr(), q.Bits()-1).Masked()
				}
			} else {
				q = randPrefix(r, r.IntN(3) == 0)
			}
			if got, want := s.contains(q), bruteMatch(entries, q); got != want {
				t.Fatalf("round %d (%d entries): contains(%v) = %v, want %v", round, n, q, got, want)
			}
		}
	}
}

func TestPrefixSetUnmaskedElem(t *testing.T) {
	// Decoders may keep bits past the length (bgpdump prints 11.13.0.0/13).
	s := newPrefixSet([]prefixEntry{{netip.MustParsePrefix("11.8.0.0/13"), modeExact}})
	if !s.contains(netip.PrefixFrom(netip.MustParseAddr("11.13.0.0"), 13)) {
		t.Errorf("unmasked elem prefix not matched")
	}
	if s.contains(netip.Prefix{}) {
		t.Errorf("invalid prefix matched")
	}
}
