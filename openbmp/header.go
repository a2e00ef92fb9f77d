package openbmp

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
)

// OpenBMP v1.7 binary header (all integers big-endian; N = admin id length,
// M = router group length):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Magic Number (0x4F424D50)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Major Ver.  |   Minor Ver.  |         Header Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Message Length                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Flags     |   Obj. Type   |   Coll. Timestamp (seconds)   ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~ Coll. Timestamp (microseconds) | Collector Hash (16 bytes)    ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Coll. Admin ID Length (2) | Coll. Admin ID (N)                ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Router Hash (16) | Router IP (16) | Router Group Length (2)   ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Router Group (M) | Row Count (4)                              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The router fields are present for router messages (flag 0x80); a
// collector message (object type 0) ends after the admin id.

// Magic is the first four bytes of an OpenBMP binary header.
const Magic = "OBMP"

// Version17 is the only OpenBMP header version accepted: major 1, minor 7,
// as Version holds it (major<<8 | minor).
const Version17 uint16 = 0x0107

// OpenBMP header flags.
const (
	// FlagRouterMessage marks a message from a router: the router hash, IP
	// and group fields are present.
	FlagRouterMessage uint8 = 0x80
	// FlagRouterIPv6 says the router IP is an IPv6 address.
	FlagRouterIPv6 uint8 = 0x40
)

// OpenBMP object types.
const (
	// ObjectCollector is a collector message (heartbeat, start, stop).
	ObjectCollector uint8 = 0
	// ObjectBMPRaw is one raw BMP message from a router.
	ObjectBMPRaw uint8 = 12
)

// headerFixedLen is the size of the header with an empty admin id and router
// group: 78 bytes.
const headerFixedLen = 78

// Header is the OpenBMP v1.7 binary header that precedes one BMP message in
// an openbmp.bmp_raw Kafka value. DecodeHeader and AppendTo round-trip it.
type Header struct {
	// Version is major<<8 | minor: Version17 for every accepted header.
	Version uint16
	// Flags are FlagRouterMessage and FlagRouterIPv6.
	Flags uint8
	// ObjectType is ObjectBMPRaw or ObjectCollector.
	ObjectType uint8
	// CollectedAt is the collection time in microseconds since the epoch.
	CollectedAt int64
	// CollectorHash is the collector's MD5 hash.
	CollectorHash [16]byte
	// AdminID is the collector's admin id (libbgpstream's "collector").
	AdminID string
	// RouterHash is the router's MD5 hash (the collector's Kafka key).
	RouterHash [16]byte
	// RouterIP is the router's address; invalid for collector messages.
	RouterIP netip.Addr
	// RouterGroup is the router group (libbgpstream's "router"); may be empty.
	RouterGroup string
	// RowCount is the number of messages in the payload (1 for BMP_RAW).
	RowCount uint32
	// BMPLen is the length of the BMP data that follows the header.
	BMPLen int
}

// DecodeHeader decodes the OpenBMP binary header at the start of b and
// returns it with its length in bytes; the BMP message is
// b[hdrLen:hdrLen+h.BMPLen]. Versions other than 1.7 are rejected with
// ErrVersion. Bytes past the BMP message (real samples carry a stray one)
// are not an error here; the caller bounds the message by BMPLen.
func DecodeHeader(b []byte) (h Header, hdrLen int, err error) {
	hdrLen, err = decodeHeaderInto(&h, b, nil)
	return h, hdrLen, err
}

// interner hands out one string per distinct byte sequence, so that the
// admin ids and router groups of a Kafka stream decode without allocating.
// It is bounded: when full it starts over.
type interner map[string]string

const maxInterned = 4096

func (in interner) get(b []byte) string {
	if in == nil {
		return string(b)
	}
	if s, ok := in[string(b)]; ok {
		return s
	}
	if len(in) >= maxInterned {
		clear(in)
	}
	s := string(b)
	in[s] = s
	return s
}

// decodeHeaderInto is DecodeHeader into a reused header, with strings from
// in (which may be nil).
func decodeHeaderInto(h *Header, b []byte, in interner) (int, error) {
	const field = "OpenBMP header"
	if len(b) < 8 {
		return 0, truncAt(0, field, 8, len(b))
	}
	if string(b[:4]) != Magic {
		return 0, errAt(0, field, fmt.Errorf("%w: magic %q, want %q", ErrMalformed, b[:4], Magic))
	}
	h.Version = be16(b[4:])
	if h.Version != Version17 {
		return 0, errAt(4, field, fmt.Errorf("%w: OpenBMP %d.%d, only 1.7 is read", ErrVersion, b[4], b[5]))
	}
	hl := int(be16(b[6:]))
	if hl < 40 {
		return 0, errAt(6, field, fmt.Errorf("%w: header length %d below 40", ErrMalformed, hl))
	}
	if len(b) < hl {
		return 0, truncAt(0, field, hl, len(b))
	}
	hb := b[:hl]
	h.BMPLen = int(be32(hb[8:]))
	h.Flags = hb[12]
	h.ObjectType = hb[13]
	h.CollectedAt = int64(be32(hb[14:]))*1e6 + int64(be32(hb[18:]))
	copy(h.CollectorHash[:], hb[22:38])
	n := int(be16(hb[38:]))
	p := 40
	if p+n > hl {
		return 0, errAt(38, field, fmt.Errorf("%w: admin id length %d overruns header length %d", ErrMalformed, n, hl))
	}
	h.AdminID = in.get(hb[p : p+n])
	p += n
	h.RouterHash = [16]byte{}
	h.RouterIP = netip.Addr{}
	h.RouterGroup = ""
	h.RowCount = 0
	if h.Flags&FlagRouterMessage != 0 {
		if p+34 > hl {
			return 0, errAt(p, field, fmt.Errorf("%w: router fields overrun header length %d", ErrMalformed, hl))
		}
		copy(h.RouterHash[:], hb[p:p+16])
		ip := hb[p+16 : p+32]
		if h.Flags&FlagRouterIPv6 != 0 {
			// An IPv4-mapped address (a dual-stack collector's view of an
			// IPv4 router) is the IPv4 router, as in the text header.
			h.RouterIP = netip.AddrFrom16([16]byte(ip)).Unmap()
		} else {
			h.RouterIP = netip.AddrFrom4([4]byte(ip[:4]))
		}
		m := int(be16(hb[p+32:]))
		p += 34
		if p+m > hl {
			return 0, errAt(p-2, field, fmt.Errorf("%w: router group length %d overruns header length %d", ErrMalformed, m, hl))
		}
		h.RouterGroup = in.get(hb[p : p+m])
		p += m
	}
	if p+4 <= hl {
		h.RowCount = be32(hb[p:])
	}
	return hl, nil
}

// Len returns the encoded header length: 78 + len(AdminID) + len(RouterGroup)
// for a router message.
func (h *Header) Len() int {
	if h.Flags&FlagRouterMessage == 0 && !h.RouterIP.IsValid() {
		return 44 + len(h.AdminID)
	}
	return headerFixedLen + len(h.AdminID) + len(h.RouterGroup)
}

// AppendTo appends the header followed by bmp to dst and returns the
// extended slice. BMPLen is taken from len(bmp); Version is always 1.7; the
// router-message flag is set when RouterIP is valid and the IPv6 flag
// follows RouterIP. An IPv4-mapped IPv6 RouterIP is the IPv4 router: it is
// written as IPv4 (first 4 bytes, IPv6 flag clear), and DecodeHeader
// returns it unmapped. A zero RowCount is written as 1.
func (h *Header) AppendTo(dst []byte, bmp []byte) []byte {
	flags := h.Flags
	rip := h.RouterIP.Unmap()
	router := flags&FlagRouterMessage != 0 || rip.IsValid()
	if router {
		flags |= FlagRouterMessage
		if rip.Is6() {
			flags |= FlagRouterIPv6
		} else {
			flags &^= FlagRouterIPv6
		}
	}
	hl := 44 + len(h.AdminID)
	if router {
		hl = headerFixedLen + len(h.AdminID) + len(h.RouterGroup)
	}
	rows := h.RowCount
	if rows == 0 {
		rows = 1
	}
	dst = append(dst, Magic...)
	dst = append(dst, 1, 7, byte(hl>>8), byte(hl))
	dst = appendU32(dst, uint32(len(bmp)))
	dst = append(dst, flags, h.ObjectType)
	sec, usec := h.CollectedAt/1e6, h.CollectedAt%1e6
	if usec < 0 {
		sec, usec = sec-1, usec+1e6
	}
	dst = appendU32(dst, uint32(sec))
	dst = appendU32(dst, uint32(usec))
	dst = append(dst, h.CollectorHash[:]...)
	dst = append(dst, byte(len(h.AdminID)>>8), byte(len(h.AdminID)))
	dst = append(dst, h.AdminID...)
	if router {
		dst = append(dst, h.RouterHash[:]...)
		var ip [16]byte
		if rip.Is4() {
			a := rip.As4()
			copy(ip[:], a[:])
		} else if rip.IsValid() {
			ip = rip.As16()
		}
		dst = append(dst, ip[:]...)
		dst = append(dst, byte(len(h.RouterGroup)>>8), byte(len(h.RouterGroup)))
		dst = append(dst, h.RouterGroup...)
	}
	dst = appendU32(dst, rows)
	return append(dst, bmp...)
}

func appendU32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// TextHeader is the legacy OpenBMP text header: "V: 1.7\n" and further
// "KEY: value" lines, ended by an empty line, then the raw BMP message.
type TextHeader struct {
	// Version is the V line ("1.7").
	Version string
	// CollectorHash is C_HASH_ID, decoded from hex when it is hex.
	CollectorHash [16]byte
	// RouterHash is R_HASH.
	RouterHash [16]byte
	// RouterIP is R_IP.
	RouterIP netip.Addr
	// BMPLen is L, the length of the BMP message that follows.
	BMPLen int
}

// DecodeTextHeader decodes a legacy text header at the start of b and
// returns it with its length (up to and including the blank line). The
// version must be 1.7 and L must be present.
func DecodeTextHeader(b []byte) (TextHeader, int, error) {
	const field = "OpenBMP text header"
	var t TextHeader
	haveLen := false
	p := 0
	for {
		nl := bytes.IndexByte(b[p:], '\n')
		if nl < 0 {
			return t, 0, errAt(p, field, fmt.Errorf("%w: no blank line ends the header", ErrTruncated))
		}
		line := b[p : p+nl]
		lineOff := p
		p += nl + 1
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return t, 0, errAt(lineOff, field, fmt.Errorf("%w: line %q has no colon", ErrMalformed, line))
		}
		v = bytes.TrimSpace(v)
		switch string(bytes.TrimSpace(k)) {
		case "V":
			t.Version = string(v)
			if t.Version != "1.7" {
				return t, 0, errAt(lineOff, field, fmt.Errorf("%w: OpenBMP text header %q, only 1.7 is read", ErrVersion, v))
			}
		case "C_HASH_ID":
			hex.Decode(t.CollectorHash[:], v[:min(len(v), 32)])
		case "R_HASH":
			hex.Decode(t.RouterHash[:], v[:min(len(v), 32)])
		case "R_IP":
			a, err := netip.ParseAddr(string(v))
			if err != nil {
				return t, 0, errAt(lineOff, field, fmt.Errorf("%w: R_IP %q", ErrMalformed, v))
			}
			t.RouterIP = a.Unmap()
		case "L":
			n, err := strconv.Atoi(string(v))
			if err != nil || n < 0 {
				return t, 0, errAt(lineOff, field, fmt.Errorf("%w: L %q", ErrMalformed, v))
			}
			t.BMPLen, haveLen = n, true
		}
	}
	if t.Version == "" {
		return t, 0, errAt(0, field, fmt.Errorf("%w: no V line", ErrMalformed))
	}
	if !haveLen {
		return t, 0, errAt(0, field, fmt.Errorf("%w: no L line", ErrMalformed))
	}
	return t, p, nil
}
