package openbmp

import (
	"fmt"
	"net/netip"

	"github.com/bgp-connector/bgp-connector/decode"
)

// MessageType is the BMP message type (RFC 7854 §4.1).
type MessageType uint8

// BMP message types (RFC 7854 §10.1).
const (
	MsgRouteMonitoring  MessageType = 0
	MsgStatisticsReport MessageType = 1
	MsgPeerDown         MessageType = 2
	MsgPeerUp           MessageType = 3
	MsgInitiation       MessageType = 4
	MsgTermination      MessageType = 5
	MsgRouteMirroring   MessageType = 6
	// MsgNone marks a Result that holds no BMP message (an OpenBMP
	// collector message).
	MsgNone MessageType = 255
)

// String returns the RFC name ("Route Monitoring"...) or "TYPE(n)".
func (t MessageType) String() string {
	switch t {
	case MsgRouteMonitoring:
		return "Route Monitoring"
	case MsgStatisticsReport:
		return "Statistics Report"
	case MsgPeerDown:
		return "Peer Down"
	case MsgPeerUp:
		return "Peer Up"
	case MsgInitiation:
		return "Initiation"
	case MsgTermination:
		return "Termination"
	case MsgRouteMirroring:
		return "Route Mirroring"
	case MsgNone:
		return "none"
	}
	return fmt.Sprintf("TYPE(%d)", uint8(t))
}

// hasPeerHeader reports whether messages of type t start with a per-peer
// header (RFC 7854 §4.2).
func (t MessageType) hasPeerHeader() bool {
	return t <= MsgPeerUp || t == MsgRouteMirroring
}

// CommonHeader is the BMP common header (RFC 7854 §4.1):
//
//	+-+-+-+-+-+-+-+-+
//	|    Version    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Message Length                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Msg. Type   |
//	+-+-+-+-+-+-+-+-+
type CommonHeader struct {
	// Version is the BMP version (3).
	Version uint8
	// Length is the message length including the common header.
	Length int
	// Type is the message type.
	Type MessageType
}

// DecodeCommonHeader decodes the common header at the start of b and checks
// that the version is 3 and that the message fits in b.
func DecodeCommonHeader(b []byte) (CommonHeader, error) {
	const field = "BMP common header"
	if len(b) < commonHeaderLen {
		return CommonHeader{}, truncAt(0, field, commonHeaderLen, len(b))
	}
	h := CommonHeader{Version: b[0], Length: int(be32(b[1:])), Type: MessageType(b[5])}
	if h.Version != 3 {
		return h, errAt(0, field, versionError(h.Version))
	}
	if h.Length < commonHeaderLen {
		return h, errAt(1, field, fmt.Errorf("%w: message length %d below %d", ErrMalformed, h.Length, commonHeaderLen))
	}
	if h.Length > len(b) {
		return h, truncAt(0, field+" (message length)", h.Length, len(b))
	}
	return h, nil
}

// versionError explains a BMP version other than 3.
func versionError(v uint8) error {
	if v == 4 {
		return fmt.Errorf("%w: BMP version 4 (draft-ietf-grow-bmp-tlv) is not supported, only version 3 (RFC 7854)", ErrVersion)
	}
	return fmt.Errorf("%w: BMP version %d, only version 3 (RFC 7854) is read", ErrVersion, v)
}

// Per-peer header flags (RFC 7854 §4.2, RFC 8671, RFC 9069).
const (
	// PeerFlagV: the peer address is IPv6 (peer types 0-2).
	PeerFlagV uint8 = 0x80
	// PeerFlagL: post-policy Adj-RIB.
	PeerFlagL uint8 = 0x40
	// PeerFlagA: the AS_PATH uses 2-byte ASNs.
	PeerFlagA uint8 = 0x20
	// PeerFlagO: Adj-RIB-Out (RFC 8671).
	PeerFlagO uint8 = 0x10
	// PeerFlagF: for Loc-RIB peers (RFC 9069 §4.2), the Loc-RIB is filtered.
	PeerFlagF uint8 = 0x80
)

// PeerHeaderLen is the length of the per-peer header.
const PeerHeaderLen = 42

// PeerHeader is the BMP per-peer header (RFC 7854 §4.2):
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Peer Type   |  Peer Flags   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Peer Distinguisher (present based on peer type)       |
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Peer Address (16 bytes)                       |
//	~                                                               ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           Peer AS                             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Peer BGP ID                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Timestamp (seconds)                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Timestamp (microseconds)                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type PeerHeader struct {
	// Type is the peer type: global, RD instance, local instance or
	// Loc-RIB (RFC 9069).
	Type decode.BMPPeerType
	// Flags are the peer flags (PeerFlagV...).
	Flags uint8
	// Distinguisher is the peer distinguisher (the route distinguisher of
	// an RD instance peer, the instance id of a Loc-RIB peer).
	Distinguisher uint64
	// Addr is the peer address: IPv6 when the V flag is set, else IPv4 from
	// the last four bytes. Loc-RIB peers have no V flag and hold zero.
	Addr netip.Addr
	// ASN is the peer's AS number.
	ASN uint32
	// BGPID is the peer's BGP identifier.
	BGPID netip.Addr
	// Time is the timestamp in microseconds since the epoch (0 if the
	// router did not set it).
	Time int64
}

// PostPolicy reports the L flag (not defined for Loc-RIB peers).
func (p *PeerHeader) PostPolicy() bool {
	return p.Type != decode.BMPPeerLocRIB && p.Flags&PeerFlagL != 0
}

// AS2 reports the A flag: the AS_PATH is in the legacy 2-byte form.
func (p *PeerHeader) AS2() bool { return p.Type != decode.BMPPeerLocRIB && p.Flags&PeerFlagA != 0 }

// AdjRIBOut reports the O flag (RFC 8671).
func (p *PeerHeader) AdjRIBOut() bool {
	return p.Type != decode.BMPPeerLocRIB && p.Flags&PeerFlagO != 0
}

// Filtered reports the F flag of a Loc-RIB peer (RFC 9069 §4.2).
func (p *PeerHeader) Filtered() bool { return p.Type == decode.BMPPeerLocRIB && p.Flags&PeerFlagF != 0 }

// Info returns the elem BMP context for this peer header.
func (p *PeerHeader) Info() decode.BMPInfo {
	return decode.BMPInfo{
		Present:           true,
		PeerType:          p.Type,
		PostPolicy:        p.PostPolicy(),
		AdjRIBOut:         p.AdjRIBOut(),
		AS2:               p.AS2(),
		PeerDistinguisher: p.Distinguisher,
	}
}

// DecodePeerHeader decodes the per-peer header at the start of b.
func DecodePeerHeader(b []byte) (PeerHeader, error) {
	var p PeerHeader
	if len(b) < PeerHeaderLen {
		return p, truncAt(0, "per-peer header", PeerHeaderLen, len(b))
	}
	p.Type = decode.BMPPeerType(b[0])
	p.Flags = b[1]
	p.Distinguisher = be64(b[2:])
	a := b[10:26]
	if p.Type != decode.BMPPeerLocRIB && p.Flags&PeerFlagV != 0 {
		p.Addr = netip.AddrFrom16([16]byte(a))
	} else {
		p.Addr = netip.AddrFrom4([4]byte(a[12:]))
	}
	p.ASN = be32(b[26:])
	p.BGPID = netip.AddrFrom4([4]byte(b[30:34]))
	p.Time = int64(be32(b[34:]))*1e6 + int64(be32(b[38:]))
	return p, nil
}

// TLV is one information TLV (RFC 7854 §4.4) of an Initiation, Termination,
// Peer Up or Peer Down message. Value aliases the decoded input.
type TLV struct {
	// Type is the information type.
	Type uint16
	// Value is the value bytes.
	Value []byte
}

// Information TLV types (RFC 7854 §4.4, RFC 9069 §5.3, RFC 8671).
const (
	InfoString   uint16 = 0 // free-form UTF-8 string
	InfoSysDescr uint16 = 1 // Initiation: sysDescr
	InfoSysName  uint16 = 2 // Initiation: sysName
	InfoVRFName  uint16 = 3 // Peer Up: VRF/table name (RFC 9069)
	InfoAdmLabel uint16 = 4 // Peer Up: admin label (RFC 8671)
	// TermReason is the Termination reason TLV type (RFC 7854 §4.5).
	TermReason uint16 = 1
)

// appendTLVs decodes type(2) length(2) value TLVs; base is b's offset in
// the message, for errors.
func appendTLVs(dst []TLV, b []byte, base int, field string) ([]TLV, error) {
	for p := 0; p < len(b); {
		if len(b)-p < 4 {
			return dst, truncAt(base+p, field+" TLV", 4, len(b)-p)
		}
		t, l := be16(b[p:]), int(be16(b[p+2:]))
		if p+4+l > len(b) {
			return dst, truncAt(base+p, field+" TLV", 4+l, len(b)-p)
		}
		dst = append(dst, TLV{Type: t, Value: b[p+4 : p+4+l]})
		p += 4 + l
	}
	return dst, nil
}

// Initiation is an Initiation message (RFC 7854 §4.3) or, with Reason, a
// Termination message (§4.5).
type Initiation struct {
	// TLVs are all information TLVs in wire order.
	TLVs []TLV
	// SysName and SysDescr are the Initiation's sysName and sysDescr.
	SysName, SysDescr string
	// Reason is the Termination reason (0 administratively closed,
	// 1 unspecified, 2 out of resources, 3 redundant connection,
	// 4 permanently administratively closed), valid if HasReason.
	Reason    uint16
	HasReason bool
}

func (m *Initiation) decode(b []byte, base int, termination bool) error {
	m.TLVs, m.SysName, m.SysDescr, m.Reason, m.HasReason = m.TLVs[:0], "", "", 0, false
	field := "Initiation"
	if termination {
		field = "Termination"
	}
	var err error
	if m.TLVs, err = appendTLVs(m.TLVs, b, base, field); err != nil {
		return err
	}
	for _, t := range m.TLVs {
		switch {
		case termination && t.Type == TermReason && len(t.Value) == 2:
			m.Reason, m.HasReason = be16(t.Value), true
		case !termination && t.Type == InfoSysName:
			m.SysName = string(t.Value)
		case !termination && t.Type == InfoSysDescr:
			m.SysDescr = string(t.Value)
		}
	}
	return nil
}

// PeerUp is a Peer Up Notification (RFC 7854 §4.10) after its per-peer
// header.
type PeerUp struct {
	// LocalAddr, LocalPort and RemotePort describe the BGP session's TCP
	// connection.
	LocalAddr             netip.Addr
	LocalPort, RemotePort uint16
	// Sent and Received are the OPEN messages the monitored router sent to
	// and received from the peer.
	Sent, Received decode.Open
	// TLVs are the information TLVs that follow the OPENs; they alias the
	// input.
	TLVs []TLV
}

// DecodePeerUp decodes a Peer Up body (after the per-peer header). ipv6 is
// the per-peer header's V flag, which says how to read the local address.
// base is b's offset in the message, for errors.
func DecodePeerUp(dst *PeerUp, b []byte, ipv6 bool, base int) error {
	const field = "Peer Up"
	dst.TLVs = dst.TLVs[:0]
	if len(b) < 20 {
		return truncAt(base, field, 20, len(b))
	}
	if ipv6 {
		dst.LocalAddr = netip.AddrFrom16([16]byte(b[:16]))
	} else {
		dst.LocalAddr = netip.AddrFrom4([4]byte(b[12:16]))
	}
	dst.LocalPort, dst.RemotePort = be16(b[16:]), be16(b[18:])
	p := 20
	for i, o := range []*decode.Open{&dst.Sent, &dst.Received} {
		name := [2]string{"sent OPEN", "received OPEN"}[i]
		h, err := decode.DecodeHeader(b[p:])
		if err != nil {
			return errAt(base+p, field+" "+name, err)
		}
		if h.Type != decode.MsgOpen {
			return errAt(base+p+18, field+" "+name, fmt.Errorf("%w: BGP message type %s, want OPEN", ErrMalformed, h.Type))
		}
		if err := decode.DecodeOpen(o, b[p+decode.HeaderLen:p+h.Length]); err != nil {
			return errAt(base+p+decode.HeaderLen, field+" "+name, err)
		}
		p += h.Length
	}
	var err error
	dst.TLVs, err = appendTLVs(dst.TLVs, b[p:], base+p, field)
	return err
}

// Peer Down reasons (RFC 7854 §4.9, RFC 9069 §4.4).
const (
	DownLocalNotification  uint8 = 1 // local system closed, NOTIFICATION follows
	DownLocalFSM           uint8 = 2 // local system closed, FSM event code follows
	DownRemoteNotification uint8 = 3 // remote system closed, NOTIFICATION follows
	DownRemoteNoData       uint8 = 4 // remote system closed, no data
	DownDeconfigured       uint8 = 5 // peer de-configured
	DownLocalTLV           uint8 = 6 // Loc-RIB: local system closed, TLVs follow (RFC 9069)
)

// PeerDown is a Peer Down Notification (RFC 7854 §4.9) after its per-peer
// header.
type PeerDown struct {
	// Reason is the reason code (DownLocalNotification...).
	Reason uint8
	// Notification is the NOTIFICATION for reasons 1 and 3 (valid if
	// HasNotification); its Data aliases the input.
	Notification    decode.Notification
	HasNotification bool
	// FSMEvent is the FSM event code for reason 2.
	FSMEvent uint16
	// TLVs are the information TLVs of reason 6.
	TLVs []TLV
	// Data is the data after the reason for other reasons; it aliases the
	// input.
	Data []byte
}

// DecodePeerDown decodes a Peer Down body (after the per-peer header); base
// is b's offset in the message, for error offsets.
func DecodePeerDown(dst *PeerDown, b []byte, base int) error {
	const field = "Peer Down"
	*dst = PeerDown{TLVs: dst.TLVs[:0]}
	if len(b) < 1 {
		return truncAt(base, field, 1, 0)
	}
	dst.Reason = b[0]
	d := b[1:]
	switch dst.Reason {
	case DownLocalNotification, DownRemoteNotification:
		h, err := decode.DecodeHeader(d)
		if err != nil {
			return errAt(base+1, field+" NOTIFICATION", err)
		}
		if h.Type != decode.MsgNotification {
			return errAt(base+1+18, field+" NOTIFICATION", fmt.Errorf("%w: BGP message type %s, want NOTIFICATION", ErrMalformed, h.Type))
		}
		n, err := decode.DecodeNotification(d[decode.HeaderLen:h.Length])
		if err != nil {
			return errAt(base+1+decode.HeaderLen, field+" NOTIFICATION", err)
		}
		dst.Notification, dst.HasNotification = n, true
	case DownLocalFSM:
		if len(d) < 2 {
			return truncAt(base+1, field+" FSM event", 2, len(d))
		}
		dst.FSMEvent = be16(d)
	case DownLocalTLV:
		var err error
		dst.TLVs, err = appendTLVs(dst.TLVs, d, base+1, field)
		return err
	default:
		dst.Data = d
	}
	return nil
}

// Statistics types with an AFI/SAFI prefix before a 64-bit gauge.
const (
	StatPerAFIAdjRIBIn      uint16 = 9
	StatPerAFILocRIB        uint16 = 10
	StatPerAFIAdjRIBOutPre  uint16 = 16 // RFC 8671
	StatPerAFIAdjRIBOutPost uint16 = 17 // RFC 8671
)

// appendStats decodes a Statistics Report body (after the per-peer header):
// a 4-byte count and that many type/length/value entries. Values of 4 or 8
// bytes are counters or gauges; an 11-byte value is AFI (2), SAFI (1) and a
// 64-bit gauge. Other lengths keep their last 8 bytes big-endian.
func appendStats(dst []decode.Stat, b []byte, base int, proto decode.Stat) ([]decode.Stat, error) {
	const field = "Statistics Report"
	if len(b) < 4 {
		return dst, truncAt(base, field, 4, len(b))
	}
	n := int(be32(b))
	p := 4
	for i := 0; i < n; i++ {
		if len(b)-p < 4 {
			return dst, truncAt(base+p, field+" entry", 4, len(b)-p)
		}
		t, l := be16(b[p:]), int(be16(b[p+2:]))
		if p+4+l > len(b) {
			return dst, truncAt(base+p, field+" entry", 4+l, len(b)-p)
		}
		v := b[p+4 : p+4+l]
		s := proto
		s.Type = t
		if l == 11 {
			s.AFI, s.SAFI = be16(v), v[2]
			v = v[3:]
		}
		if len(v) > 8 {
			v = v[len(v)-8:]
		}
		for _, c := range v {
			s.Value = s.Value<<8 | uint64(c)
		}
		dst = append(dst, s)
		p += 4 + l
	}
	if p != len(b) {
		return dst, errAt(base+p, field, fmt.Errorf("%w: %d bytes after %d entries", ErrMalformed, len(b)-p, n))
	}
	return dst, nil
}

// Route Mirroring TLV types (RFC 7854 §4.7).
const (
	MirrorBGPMessage  uint16 = 0
	MirrorInformation uint16 = 1
)

// RouteMirroring is a Route Mirroring message (RFC 7854 §4.7) after its
// per-peer header: BGP messages as received, and information codes
// (0 errored PDU, 1 messages lost).
type RouteMirroring struct {
	// Messages are the mirrored BGP messages (with their 19-byte header);
	// they alias the input.
	Messages [][]byte
	// Codes are the information codes.
	Codes []uint16
}

// DecodeRouteMirroring decodes a Route Mirroring body (after the per-peer
// header); base is b's offset in the message, for error offsets.
func DecodeRouteMirroring(dst *RouteMirroring, b []byte, base int) error {
	dst.Messages, dst.Codes = dst.Messages[:0], dst.Codes[:0]
	for p := 0; p < len(b); {
		if len(b)-p < 4 {
			return truncAt(base+p, "Route Mirroring TLV", 4, len(b)-p)
		}
		t, l := be16(b[p:]), int(be16(b[p+2:]))
		if p+4+l > len(b) {
			return truncAt(base+p, "Route Mirroring TLV", 4+l, len(b)-p)
		}
		v := b[p+4 : p+4+l]
		switch t {
		case MirrorBGPMessage:
			dst.Messages = append(dst.Messages, v)
		case MirrorInformation:
			if l == 2 {
				dst.Codes = append(dst.Codes, be16(v))
			}
		}
		p += 4 + l
	}
	return nil
}
