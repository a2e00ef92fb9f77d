package text

import (
	"net/netip"
	"strconv"
)

// Address rendering. bgpreader prints addresses with glibc's inet_ntop;
// bgpdump has its own fmt_ipv6, which differs from it (and from Go's
// netip, which follows RFC 5952) in two ways: it compresses a single zero
// group ("2001:db8::1:1:1:1:1") and it prints IPv4-compatible addresses
// ("::192.0.2.1"). Both are reproduced here exactly, without allocating.

const hexDigits = "0123456789abcdef"

// appendIPv4 appends a dotted quad.
func appendIPv4(dst []byte, a [4]byte) []byte {
	for i, b := range a {
		if i > 0 {
			dst = append(dst, '.')
		}
		switch {
		case b >= 100:
			dst = append(dst, '0'+b/100, '0'+b/10%10, '0'+b%10)
		case b >= 10:
			dst = append(dst, '0'+b/10, '0'+b%10)
		default:
			dst = append(dst, '0'+b)
		}
	}
	return dst
}

// appendHex16 appends w in lower-case hex without leading zeros.
func appendHex16(dst []byte, w uint16) []byte {
	switch {
	case w >= 0x1000:
		return append(dst, hexDigits[w>>12], hexDigits[w>>8&15], hexDigits[w>>4&15], hexDigits[w&15])
	case w >= 0x100:
		return append(dst, hexDigits[w>>8], hexDigits[w>>4&15], hexDigits[w&15])
	case w >= 0x10:
		return append(dst, hexDigits[w>>4], hexDigits[w&15])
	}
	return append(dst, hexDigits[w])
}

func words(b *[16]byte) (w [8]uint16) {
	for i := range w {
		w[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return w
}

// appendAddrNtop appends a as glibc's inet_ntop prints it (bgpreader).
// An invalid address appends nothing.
func appendAddrNtop(dst []byte, a netip.Addr) []byte {
	if a.Is4() {
		return appendIPv4(dst, a.As4())
	}
	if !a.IsValid() {
		return dst
	}
	b := a.As16()
	w := words(&b)
	// Longest run of at least two zero words, first one on ties.
	best, bestLen, cur, curLen := -1, 0, -1, 0
	for i, x := range w {
		if x == 0 {
			if cur < 0 {
				cur, curLen = i, 1
			} else {
				curLen++
			}
			continue
		}
		if cur >= 0 {
			if best < 0 || curLen > bestLen {
				best, bestLen = cur, curLen
			}
			cur = -1
		}
	}
	if cur >= 0 && (best < 0 || curLen > bestLen) {
		best, bestLen = cur, curLen
	}
	if best >= 0 && bestLen < 2 {
		best = -1
	}
	for i := 0; i < 8; i++ {
		if best >= 0 && i >= best && i < best+bestLen {
			if i == best {
				dst = append(dst, ':')
			}
			continue
		}
		if i != 0 {
			dst = append(dst, ':')
		}
		if i == 6 && best == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff)) {
			return appendIPv4(dst, [4]byte(b[12:]))
		}
		dst = appendHex16(dst, w[i])
	}
	if best >= 0 && best+bestLen == 8 {
		dst = append(dst, ':')
	}
	return dst
}

// appendAddrBGPDump appends a as bgpdump's fmt_ipv4/fmt_ipv6 print it. An
// invalid address prints as 0.0.0.0 (bgpdump's zeroed in_addr).
func appendAddrBGPDump(dst []byte, a netip.Addr) []byte {
	if a.Is4() {
		return appendIPv4(dst, a.As4())
	}
	if !a.IsValid() {
		return append(dst, "0.0.0.0"...)
	}
	b := a.As16()
	w := words(&b)
	if w[0]|w[1]|w[2]|w[3]|w[4] == 0 {
		last := uint32(w[6])<<16 | uint32(w[7])
		if w[5] == 0xffff { // IN6_IS_ADDR_V4MAPPED
			return appendIPv4(append(dst, "::ffff:"...), [4]byte(b[12:]))
		}
		if w[5] == 0 && last > 1 { // IN6_IS_ADDR_V4COMPAT
			return appendIPv4(append(dst, "::"...), [4]byte(b[12:]))
		}
	}
	// Longest run of zero words (even a single one), first one on ties.
	best, bestLen := -1, 0
	run := 0
	for i := 7; i >= 0; i-- {
		if w[i] == 0 {
			run++
		} else {
			run = 0
		}
		if run >= bestLen && run > 0 {
			best, bestLen = i, run
		}
	}
	for i := 0; i < 8; i++ {
		if i == best {
			if i == 0 {
				dst = append(dst, ':')
			}
			dst = append(dst, ':')
			i += bestLen - 1
			continue
		}
		dst = appendHex16(dst, w[i])
		if i != 7 {
			dst = append(dst, ':')
		}
	}
	return dst
}

// appendPrefixNtop appends "addr/len" with inet_ntop rendering; an invalid
// prefix appends nothing.
func appendPrefixNtop(dst []byte, p netip.Prefix) []byte {
	if !p.IsValid() {
		return dst
	}
	dst = appendAddrNtop(dst, p.Addr())
	dst = append(dst, '/')
	return strconv.AppendUint(dst, uint64(p.Bits()), 10)
}

// appendPrefixBGPDump appends "addr/len" with bgpdump's rendering.
func appendPrefixBGPDump(dst []byte, p netip.Prefix) []byte {
	dst = appendAddrBGPDump(dst, p.Addr())
	dst = append(dst, '/')
	return strconv.AppendUint(dst, uint64(max(p.Bits(), 0)), 10)
}
