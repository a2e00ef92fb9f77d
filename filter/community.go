package filter

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"

	"github.com/bgp-connector/bgp-connector/decode"
)

// maskPat matches a value v when v&mask == val.
type maskPat[T uint32 | uint64] struct{ mask, val T }

// ---- community ----

var wellKnownCommunities = map[string]decode.Community{
	"no-export":           decode.CommunityNoExport,
	"no-advertise":        decode.CommunityNoAdvertise,
	"no-export-subconfed": decode.CommunityNoExportSubconfed,
	"no-peer":             decode.CommunityNoPeer,
	"blackhole":           decode.CommunityBlackhole,
	"graceful-shutdown":   decode.CommunityGracefulShutdown,
}

type communityClause struct {
	vals []string
	pats []maskPat[uint32]
}

// parseHalf reads one 16-bit half of a community, or '*'.
func parseHalf(s string) (v uint32, wild, ok bool) {
	if s == "*" {
		return 0, true, true
	}
	if s == "" || s[0] == '+' {
		return 0, false, false
	}
	n, err := strconv.ParseUint(s, 10, 16)
	return uint32(n), false, err == nil
}

func buildCommunity(vals []value) (clause, error) {
	c := &communityClause{}
	for _, v := range vals {
		if wk, ok := wellKnownCommunities[strings.ToLower(v.text)]; ok {
			c.pats = append(c.pats, maskPat[uint32]{^uint32(0), uint32(wk)})
			c.vals = append(c.vals, strings.ToLower(v.text))
			continue
		}
		a, b, found := strings.Cut(v.text, ":")
		ha, wa, oka := parseHalf(a)
		hb, wb, okb := parseHalf(b)
		if !found || !oka || !okb {
			return nil, badValue(v, "bad community %q: expected asn:value with numbers from 0 to 65535, either may be * (e.g. 3356:100, *:666), or a well-known name such as no-export", v.text)
		}
		p := maskPat[uint32]{}
		if !wa {
			p.mask |= 0xffff0000
			p.val |= ha << 16
		}
		if !wb {
			p.mask |= 0xffff
			p.val |= hb
		}
		c.pats = append(c.pats, p)
		c.vals = append(c.vals, v.text)
	}
	return c, nil
}

func (c *communityClause) match(_ *decode.Record, e *decode.Elem, _ *scratch) bool {
	if e.Attrs == nil || e.Type == decode.ElemWithdrawal || e.Type == decode.ElemPeerState {
		return false
	}
	for _, x := range e.Attrs.Communities {
		for _, p := range c.pats {
			if uint32(x)&p.mask == p.val {
				return true
			}
		}
	}
	return false
}
func (c *communityClause) probe(p probe) tri            { return elemFails(p, true) }
func (c *communityClause) questions() question          { return askElemType }
func (c *communityClause) needsScratch() bool           { return false }
func (c *communityClause) cost() int                    { return 5 }
func (c *communityClause) appendText(dst []byte) []byte { return appendTerm(dst, "community", c.vals) }

// ---- extcommunity ----

type extCommunityClause struct {
	vals []string
	pats []maskPat[uint64]
}

// Extended community wire layout (RFC 4360 §3, RFC 5668): type, subtype,
// then 6 bytes: 2-octet AS + 4-octet local (type 0x00), IPv4 + 2-octet local
// (0x01), 4-octet AS + 2-octet local (0x02). Bit 0x40 of the type is the
// non-transitive flag and is ignored when matching.
const (
	extTypeMask  = uint64(0xbf) << 56
	extSubMask   = uint64(0xff) << 48
	extSubRT     = 0x02 // route target
	extSubRO     = 0x03 // route origin
	extTypeAS2   = 0x00
	extTypeIPv4  = 0x01
	extTypeAS4   = 0x02
	extBadFormat = "bad extended community %q: expected rt:ASN:N, ro:ASN:N, rt:IPv4:N, ro:IPv4:N (either field may be *), 0xTTSS:HHHHHHHHHHHH (12 hex digits) or 0xTTSS:*"
)

func buildExtCommunity(vals []value) (clause, error) {
	c := &extCommunityClause{}
	for _, v := range vals {
		pats, ok := parseExtPattern(strings.ToLower(v.text))
		if !ok {
			return nil, badValue(v, extBadFormat, v.text)
		}
		c.pats = append(c.pats, pats...)
		c.vals = append(c.vals, strings.ToLower(v.text))
	}
	return c, nil
}

func parseExtPattern(s string) ([]maskPat[uint64], bool) {
	if strings.HasPrefix(s, "0x") {
		ts, rest, ok := strings.Cut(s[2:], ":")
		if !ok || len(ts) != 4 {
			return nil, false
		}
		t, err := strconv.ParseUint(ts, 16, 16)
		if err != nil {
			return nil, false
		}
		if rest == "*" {
			return []maskPat[uint64]{{0xffff << 48, t << 48}}, true
		}
		if len(rest) != 12 {
			return nil, false
		}
		low, err := strconv.ParseUint(rest, 16, 48)
		if err != nil {
			return nil, false
		}
		return []maskPat[uint64]{{^uint64(0), t<<48 | low}}, true
	}
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return nil, false
	}
	var sub uint64
	switch kind {
	case "rt", "target":
		sub = extSubRT
	case "ro", "soo", "origin":
		sub = extSubRO
	default:
		return nil, false
	}
	g, l, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, false
	}
	base := maskPat[uint64]{extSubMask, sub << 48}
	lWild := l == "*"
	var local uint64
	if !lWild {
		if l == "" || l[0] == '+' {
			return nil, false
		}
		n, err := strconv.ParseUint(l, 10, 32)
		if err != nil {
			return nil, false
		}
		local = n
	}
	var out []maskPat[uint64]
	// add appends the pattern for one layout: global field at bit gShift
	// with gBits width (0 for a wildcard global), local in the low lBits.
	add := func(typ uint64, gVal uint64, gWild bool, gShift, gBits, lBits uint) {
		if !lWild && local >= 1<<lBits {
			return
		}
		p := base
		p.mask |= extTypeMask
		p.val |= typ << 56
		if !gWild {
			p.mask |= (1<<gBits - 1) << gShift
			p.val |= gVal << gShift
		}
		if !lWild {
			p.mask |= 1<<lBits - 1
			p.val |= local
		}
		out = append(out, p)
	}
	switch {
	case g == "*":
		add(extTypeAS2, 0, true, 32, 16, 32)
		add(extTypeIPv4, 0, true, 16, 32, 16)
		add(extTypeAS4, 0, true, 16, 32, 16)
	case strings.Contains(g, "."):
		a, err := netip.ParseAddr(g)
		if err != nil || !a.Is4() {
			return nil, false
		}
		b := a.As4()
		add(extTypeIPv4, uint64(binary.BigEndian.Uint32(b[:])), false, 16, 32, 16)
	default:
		asn, ok := parseASN(g)
		if !ok {
			return nil, false
		}
		if asn <= 0xffff {
			add(extTypeAS2, uint64(asn), false, 32, 16, 32)
		}
		add(extTypeAS4, uint64(asn), false, 16, 32, 16)
	}
	return out, len(out) > 0
}

func (c *extCommunityClause) match(_ *decode.Record, e *decode.Elem, _ *scratch) bool {
	if e.Attrs == nil || e.Type == decode.ElemWithdrawal || e.Type == decode.ElemPeerState {
		return false
	}
	for i := range e.Attrs.ExtCommunities {
		x := binary.BigEndian.Uint64(e.Attrs.ExtCommunities[i][:])
		for _, p := range c.pats {
			if x&p.mask == p.val {
				return true
			}
		}
	}
	return false
}
func (c *extCommunityClause) probe(p probe) tri   { return elemFails(p, true) }
func (c *extCommunityClause) questions() question { return askElemType }
func (c *extCommunityClause) needsScratch() bool  { return false }
func (c *extCommunityClause) cost() int           { return 5 }
func (c *extCommunityClause) appendText(dst []byte) []byte {
	return appendTerm(dst, "extcommunity", c.vals)
}

// ---- largecommunity ----

type largePat struct {
	v    [3]uint32
	wild [3]bool
}

type largeCommunityClause struct {
	vals []string
	pats []largePat
}

func buildLargeCommunity(vals []value) (clause, error) {
	c := &largeCommunityClause{}
	for _, v := range vals {
		parts := strings.Split(v.text, ":")
		var p largePat
		ok := len(parts) == 3
		for i := 0; ok && i < 3; i++ {
			if parts[i] == "*" {
				p.wild[i] = true
				continue
			}
			if parts[i] == "" || parts[i][0] == '+' {
				ok = false
				break
			}
			n, err := strconv.ParseUint(parts[i], 10, 32)
			p.v[i], ok = uint32(n), err == nil
		}
		if !ok {
			return nil, badValue(v, "bad large community %q: expected global:local1:local2 with numbers from 0 to 4294967295, each may be * (e.g. 3356:*:100)", v.text)
		}
		c.pats = append(c.pats, p)
		c.vals = append(c.vals, v.text)
	}
	return c, nil
}

func (c *largeCommunityClause) match(_ *decode.Record, e *decode.Elem, _ *scratch) bool {
	if e.Attrs == nil || e.Type == decode.ElemWithdrawal || e.Type == decode.ElemPeerState {
		return false
	}
	for _, x := range e.Attrs.LargeCommunities {
		for i := range c.pats {
			p := &c.pats[i]
			if (p.wild[0] || p.v[0] == x.Global) && (p.wild[1] || p.v[1] == x.Local1) && (p.wild[2] || p.v[2] == x.Local2) {
				return true
			}
		}
	}
	return false
}
func (c *largeCommunityClause) probe(p probe) tri   { return elemFails(p, true) }
func (c *largeCommunityClause) questions() question { return askElemType }
func (c *largeCommunityClause) needsScratch() bool  { return false }
func (c *largeCommunityClause) cost() int           { return 5 }
func (c *largeCommunityClause) appendText(dst []byte) []byte {
	return appendTerm(dst, "largecommunity", c.vals)
}
