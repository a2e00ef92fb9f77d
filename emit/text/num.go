package text

import "github.com/bgp-connector/bgp-connector/decode"

// Number and AS path rendering without strconv: the digits are written in
// place at the end of dst, which profiles showed to be twice as fast as
// strconv.AppendUint's copy from a scratch buffer for the short numbers
// (ASNs, community halves) that dominate elem lines.

const digits2 = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendUint32 appends v in decimal.
func appendUint32(dst []byte, v uint32) []byte {
	if v < 10 {
		return append(dst, byte('0'+v))
	}
	var n int
	switch {
	case v < 100:
		n = 2
	case v < 1000:
		n = 3
	case v < 10000:
		n = 4
	case v < 100000:
		n = 5
	case v < 1000000:
		n = 6
	case v < 10000000:
		n = 7
	case v < 100000000:
		n = 8
	case v < 1000000000:
		n = 9
	default:
		n = 10
	}
	l := len(dst)
	if cap(dst)-l < n {
		dst = append(dst, "0000000000"[:n]...)
	} else {
		dst = dst[:l+n]
	}
	i := l + n
	for v >= 100 {
		q := v / 100
		r := (v - q*100) * 2
		i -= 2
		dst[i], dst[i+1] = digits2[r], digits2[r+1]
		v = q
	}
	if v >= 10 {
		dst[i-2], dst[i-1] = digits2[2*v], digits2[2*v+1]
	} else {
		dst[i-1] = byte('0' + v)
	}
	return dst
}

// appendASPath appends p as bgpreader and bgpdump print it: sequences
// space-separated, AS_SET {a,b}, AS_CONFED_SEQUENCE (a b), AS_CONFED_SET
// [a,b], unknown types <a b> (decode.ASPath.AppendText's notation).
func appendASPath(dst []byte, p *decode.ASPath) []byte {
	for i, n := 0, p.NumSegments(); i < n; i++ {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendSegment(dst, p, i)
	}
	return dst
}

// appendSegment appends segment i of p in appendASPath's notation.
func appendSegment(dst []byte, p *decode.ASPath, i int) []byte {
	typ, asns := p.Segment(i)
	var open, sep, closing byte
	switch typ {
	case decode.SegSequence:
		for j, a := range asns {
			if j > 0 {
				dst = append(dst, ' ')
			}
			dst = appendUint32(dst, a)
		}
		return dst
	case decode.SegSet:
		open, sep, closing = '{', ',', '}'
	case decode.SegConfedSeq:
		open, sep, closing = '(', ' ', ')'
	case decode.SegConfedSet:
		open, sep, closing = '[', ',', ']'
	default:
		open, sep, closing = '<', ' ', '>'
	}
	dst = append(dst, open)
	for j, a := range asns {
		if j > 0 {
			dst = append(dst, sep)
		}
		dst = appendUint32(dst, a)
	}
	return append(dst, closing)
}

// appendCommunity appends "asn:value".
func appendCommunity(dst []byte, c decode.Community) []byte {
	dst = appendUint32(dst, uint32(c>>16))
	dst = append(dst, ':')
	return appendUint32(dst, uint32(c&0xffff))
}
