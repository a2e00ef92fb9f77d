package text

import (
	"strconv"

	"github.com/bgp-connector/bgp-connector/decode"
)

// appendTime appends µs as "<sec>.<usec>" with six digits of microseconds.
func appendTime(dst []byte, us int64) []byte {
	sec, frac := us/1e6, us%1e6
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	if sec >= 0 && sec <= 1<<32-1 {
		dst = appendUint32(dst, uint32(sec))
	} else {
		dst = strconv.AppendInt(dst, sec, 10)
	}
	f := uint32(frac)
	return append(dst, '.',
		byte('0'+f/100000), byte('0'+f/10000%10), byte('0'+f/1000%10),
		byte('0'+f/100%10), byte('0'+f/10%10), byte('0'+f%10))
}

// appendRecordHead appends the columns bgpreader's record and elem lines
// share after the first two: "time|project|collector|router|router-ip".
func appendRecordHead(dst []byte, rec *decode.Record) []byte {
	dst = appendTime(dst, rec.Time)
	dst = append(dst, '|')
	dst = appendField(dst, rec.Project)
	dst = append(dst, '|')
	dst = appendField(dst, rec.Collector)
	dst = append(dst, '|')
	dst = appendField(dst, rec.Router)
	dst = append(dst, '|')
	return appendAddrNtop(dst, rec.RouterIP)
}

// appendField appends a label that may come from the data (a BMP router
// name, an OpenBMP collector), replacing '|' and control characters with
// '_' so that one elem stays one line of 16 columns.
func appendField(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '|' || c == 0x7f {
			start := len(dst)
			dst = append(dst, s...)
			for j := start + i; j < len(dst); j++ {
				if c := dst[j]; c < 0x20 || c == '|' || c == 0x7f {
					dst[j] = '_'
				}
			}
			return dst
		}
	}
	return append(dst, s...)
}

// appendOrigin appends bgpreader's origin-AS column. libbgpstream keeps each
// ASN of an AS_SEQUENCE as a segment of its own, so the origin is the last
// ASN when the path ends in a sequence, and the whole last segment ("{a,b}",
// "(a b)") otherwise.
func appendOrigin(dst []byte, p *decode.ASPath) []byte {
	n := p.NumSegments()
	if n == 0 {
		return dst
	}
	if typ, asns := p.Segment(n - 1); typ == decode.SegSequence {
		if len(asns) == 0 {
			return dst
		}
		return appendUint32(dst, asns[len(asns)-1])
	}
	return appendSegment(dst, p, n-1)
}

// AppendBGPReaderRecord appends bgpreader's 9-column record line (its -r
// output) and a newline:
//
//	type|dump-pos|time|project|collector|router|router-ip|status|dump-time
//
// e.g. "R|B|1659312000.000000|singlefile|singlefile|||V|1659827072".
func AppendBGPReaderRecord(dst []byte, rec *decode.Record) []byte {
	dst = append(dst, rec.Type.Char(), '|', rec.DumpPos.Char(), '|')
	dst = appendRecordHead(dst, rec)
	dst = append(dst, '|', rec.Status.Char(), '|')
	dst = strconv.AppendInt(dst, rec.DumpTime, 10)
	return append(dst, '\n')
}

// AppendBGPReaderElem appends bgpreader's 16-column elem line and a newline:
//
//	rec-type|elem-type|time|project|collector|router|router-ip|peer-asn|peer-ip|
//	prefix|next-hop|as-path|origin-as|communities|old-state|new-state
//
// The time is the record's. Withdrawals leave the six columns after the
// prefix empty; peer-state elems leave prefix to communities empty. The
// communities column holds standard communities only, as bgpreader does;
// use JSON for the others.
func AppendBGPReaderElem(dst []byte, rec *decode.Record, e *decode.Elem) []byte {
	if (e.Type == decode.ElemRIB || e.Type == decode.ElemAnnouncement) && e.Attrs != nil {
		dst = appendBGPReaderHead(dst, rec, e)
		return appendBGPReaderAttrs(dst, e.Attrs)
	}
	dst = append(dst, rec.Type.Char(), '|', e.Type.Char(), '|')
	dst = appendRecordHead(dst, rec)
	dst = append(dst, '|')
	dst = appendUint32(dst, e.PeerASN)
	dst = append(dst, '|')
	dst = appendAddrNtop(dst, e.PeerIP)
	dst = append(dst, '|')
	switch e.Type {
	case decode.ElemPeerState:
		dst = append(dst, "|||||"...)
		dst = append(dst, e.OldState.String()...)
		dst = append(dst, '|')
		dst = append(dst, e.NewState.String()...)
	case decode.ElemWithdrawal:
		dst = appendPrefixNtop(dst, e.Prefix)
		dst = append(dst, "||||||"...)
	default: // R or A without attributes
		dst = appendPrefixNtop(dst, e.Prefix)
		dst = append(dst, '|')
		dst = appendAddrNtop(dst, e.NextHop)
		dst = append(dst, "|||||"...)
	}
	return append(dst, '\n')
}

// appendBGPReaderHead appends the columns of an R or A line up to and
// including the next hop and its separator.
func appendBGPReaderHead(dst []byte, rec *decode.Record, e *decode.Elem) []byte {
	dst = append(dst, rec.Type.Char(), '|', e.Type.Char(), '|')
	dst = appendRecordHead(dst, rec)
	dst = append(dst, '|')
	return appendBGPReaderPeer(dst, e)
}

// appendBGPReaderPeer appends the columns of an R or A line from the peer
// ASN to the next hop and its separator.
func appendBGPReaderPeer(dst []byte, e *decode.Elem) []byte {
	dst = appendUint32(dst, e.PeerASN)
	dst = append(dst, '|')
	dst = appendAddrNtop(dst, e.PeerIP)
	dst = append(dst, '|')
	dst = appendPrefixNtop(dst, e.Prefix)
	dst = append(dst, '|')
	dst = appendAddrNtop(dst, e.NextHop)
	return append(dst, '|')
}

// appendBGPReaderAttrs appends the attribute columns of an R or A line (AS
// path, origin AS, communities, two empty state columns) and the newline.
// They depend on the attributes only, so the elems of one UPDATE can share
// one rendering.
func appendBGPReaderAttrs(dst []byte, a *decode.Attrs) []byte {
	dst = appendASPath(dst, &a.ASPath)
	dst = append(dst, '|')
	dst = appendOrigin(dst, &a.ASPath)
	dst = append(dst, '|')
	for i, c := range a.Communities {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendCommunity(dst, c)
	}
	return append(dst, "||\n"...)
}
