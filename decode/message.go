package decode

import (
	"fmt"
	"net/netip"
)

// MessageType is the BGP message type code (RFC 4271 §4.1, RFC 2918).
type MessageType uint8

// BGP message types.
const (
	MsgOpen         MessageType = 1
	MsgUpdate       MessageType = 2
	MsgNotification MessageType = 3
	MsgKeepalive    MessageType = 4
	MsgRouteRefresh MessageType = 5
)

// String returns the RFC name ("UPDATE"...) or "TYPE(n)".
func (t MessageType) String() string {
	switch t {
	case MsgOpen:
		return "OPEN"
	case MsgUpdate:
		return "UPDATE"
	case MsgNotification:
		return "NOTIFICATION"
	case MsgKeepalive:
		return "KEEPALIVE"
	case MsgRouteRefresh:
		return "ROUTE-REFRESH"
	}
	return fmt.Sprintf("TYPE(%d)", uint8(t))
}

// HeaderLen is the length of the BGP message header: 16-byte marker, 2-byte
// length, 1-byte type.
const HeaderLen = 19

// ASTrans is the 2-byte placeholder for a 4-byte ASN (RFC 6793).
const ASTrans = 23456

// Header is the BGP message header.
type Header struct {
	// Length is the total message length including the header.
	Length int
	// Type is the message type.
	Type MessageType
}

// DecodeHeader reads the 19-byte header at the start of b. It checks the
// length bounds of RFC 4271 §6.1 against len(b) but not the marker, which
// MRT writers do not always fill with ones.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, &Error{Offset: 0, Field: "BGP header", Action: ActionSessionReset,
			Err: fmt.Errorf("%w: %d bytes, need %d", ErrTruncated, len(b), HeaderLen)}
	}
	h := Header{Length: int(be16(b[16:])), Type: MessageType(b[18])}
	// RFC 4271 §6.1: the Length field must be at least 19 and at most 4096
	// (RFC 8654 extends it to 65535).
	if h.Length < HeaderLen {
		return h, &Error{Offset: 16, Field: "BGP header", Action: ActionSessionReset,
			Err: fmt.Errorf("%w: length %d below %d", ErrMalformed, h.Length, HeaderLen)}
	}
	if h.Length > len(b) {
		return h, &Error{Offset: 16, Field: "BGP header", Action: ActionSessionReset,
			Err: fmt.Errorf("%w: length %d but %d bytes present", ErrTruncated, h.Length, len(b))}
	}
	return h, nil
}

// Capability codes (IANA "Capability Codes") used by the decoders.
const (
	CapMultiprotocol uint8 = 1  // RFC 4760
	CapRouteRefresh  uint8 = 2  // RFC 2918
	CapAS4           uint8 = 65 // RFC 6793
	CapAddPath       uint8 = 69 // RFC 7911
)

// Open is a decoded OPEN message (RFC 4271 §4.2) with the capabilities that
// matter for reading the session's UPDATEs.
type Open struct {
	// Version is the BGP version (4).
	Version uint8
	// ASN is the speaker's ASN: the 4-byte AS capability's value if present,
	// else My Autonomous System.
	ASN uint32
	// HoldTime is the proposed hold time in seconds.
	HoldTime uint16
	// ID is the BGP identifier.
	ID netip.Addr
	// AS4 says the 4-byte AS capability was sent.
	AS4 bool
	// Families lists the multiprotocol capabilities sent.
	Families []Family
	// AddPathSend and AddPathReceive are per-family bit sets (AddPathBit) of
	// the ADD-PATH capability's send and receive flags.
	AddPathSend, AddPathReceive uint8
	// Capabilities lists every capability code seen, in order.
	Capabilities []uint8
}

// DecodeOpen decodes an OPEN message body (after the 19-byte header).
func DecodeOpen(dst *Open, body []byte) error {
	caps := dst.Capabilities[:0]
	fams := dst.Families[:0]
	*dst = Open{Capabilities: caps, Families: fams}
	if len(body) < 10 {
		return &Error{Field: "OPEN", Action: ActionSessionReset, Err: fmt.Errorf("%w: %d bytes, need 10", ErrTruncated, len(body))}
	}
	dst.Version = body[0]
	dst.ASN = uint32(be16(body[1:]))
	dst.HoldTime = be16(body[3:])
	dst.ID = netip.AddrFrom4([4]byte(body[5:9]))
	optLen := int(body[9])
	p := body[10:]
	off := 10
	// RFC 9072: extended optional parameters length.
	if optLen == 255 && len(p) >= 3 && p[0] == 255 {
		optLen = int(be16(p[1:]))
		p, off = p[3:], off+3
		if optLen > len(p) {
			return &Error{Offset: off, Field: "OPEN optional parameters", Action: ActionSessionReset, Err: fmt.Errorf("%w: length %d, %d bytes present", ErrTruncated, optLen, len(p))}
		}
		p = p[:optLen]
		for len(p) >= 3 {
			typ, l := p[0], int(be16(p[1:]))
			if 3+l > len(p) {
				return &Error{Offset: off, Field: "OPEN optional parameter", Action: ActionSessionReset, Err: ErrTruncated}
			}
			if typ == 2 {
				if err := dst.decodeCaps(p[3:3+l], off+3); err != nil {
					return err
				}
			}
			p, off = p[3+l:], off+3+l
		}
		return nil
	}
	if optLen > len(p) {
		return &Error{Offset: off, Field: "OPEN optional parameters", Action: ActionSessionReset, Err: fmt.Errorf("%w: length %d, %d bytes present", ErrTruncated, optLen, len(p))}
	}
	p = p[:optLen]
	for len(p) >= 2 {
		typ, l := p[0], int(p[1])
		if 2+l > len(p) {
			return &Error{Offset: off, Field: "OPEN optional parameter", Action: ActionSessionReset, Err: ErrTruncated}
		}
		if typ == 2 { // Capabilities (RFC 5492)
			if err := dst.decodeCaps(p[2:2+l], off+2); err != nil {
				return err
			}
		}
		p, off = p[2+l:], off+2+l
	}
	return nil
}

func (dst *Open) decodeCaps(p []byte, off int) error {
	for len(p) >= 2 {
		code, l := p[0], int(p[1])
		if 2+l > len(p) {
			return &Error{Offset: off, Field: "capability", Action: ActionSessionReset, Err: ErrTruncated}
		}
		v := p[2 : 2+l]
		dst.Capabilities = append(dst.Capabilities, code)
		switch code {
		case CapMultiprotocol:
			if l == 4 {
				dst.Families = append(dst.Families, Family{AFI: be16(v), SAFI: v[3]})
			}
		case CapAS4:
			if l == 4 {
				dst.AS4 = true
				dst.ASN = be32(v)
			}
		case CapAddPath:
			for ; len(v) >= 4; v = v[4:] {
				bit := AddPathBit(Family{AFI: be16(v), SAFI: v[2]})
				if v[3]&1 != 0 {
					dst.AddPathReceive |= bit
				}
				if v[3]&2 != 0 {
					dst.AddPathSend |= bit
				}
			}
		}
		p, off = p[2+l:], off+2+l
	}
	return nil
}

// SessionOptions returns the Options for reading UPDATEs sent by the speaker
// of sent to the speaker of recv, from the two OPENs of a session (as a BMP
// Peer Up carries them): 4-byte ASNs when both sent the AS4 capability, and
// ADD-PATH for each family the sender may send and the receiver will receive.
func SessionOptions(sent, recv *Open) Options {
	return Options{
		AS4:     sent.AS4 && recv.AS4,
		AddPath: sent.AddPathSend & recv.AddPathReceive,
	}
}

// Notification is a decoded NOTIFICATION message (RFC 4271 §4.5).
type Notification struct {
	// Code and Subcode are the error code and subcode.
	Code, Subcode uint8
	// Data is the diagnostic data; it aliases the decoded input.
	Data []byte
}

// DecodeNotification decodes a NOTIFICATION body (after the header).
func DecodeNotification(body []byte) (Notification, error) {
	if len(body) < 2 {
		return Notification{}, &Error{Field: "NOTIFICATION", Action: ActionSessionReset, Err: fmt.Errorf("%w: %d bytes, need 2", ErrTruncated, len(body))}
	}
	return Notification{Code: body[0], Subcode: body[1], Data: body[2:]}, nil
}
