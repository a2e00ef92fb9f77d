package decode

import (
	"net/netip"
)

// RecordType says whether a record comes from a RIB dump or an update stream,
// as bgpreader's first column does ('R' or 'U').
type RecordType uint8

const (
	// RecordUpdate is a record of an update stream (BGP4MP, BMP Route Monitoring...).
	RecordUpdate RecordType = iota
	// RecordRIB is a record of a RIB dump (TABLE_DUMP, TABLE_DUMP_V2).
	RecordRIB
)

// Char returns bgpreader's letter for the record type: 'R' or 'U'.
func (t RecordType) Char() byte {
	if t == RecordRIB {
		return 'R'
	}
	return 'U'
}

// String returns "rib" or "update".
func (t RecordType) String() string {
	if t == RecordRIB {
		return "rib"
	}
	return "update"
}

// RecordStatus is the status of a record, as in BGPStream V2.
type RecordStatus uint8

const (
	// StatusValid is a record that decoded cleanly.
	StatusValid RecordStatus = iota
	// StatusFilteredSource is a source that the filters excluded entirely.
	StatusFilteredSource
	// StatusEmptySource is a source that held no record.
	StatusEmptySource
	// StatusOutsideInterval is a record outside the requested time interval.
	StatusOutsideInterval
	// StatusCorruptedSource is a source that could not be read (e.g. a damaged
	// compressed stream).
	StatusCorruptedSource
	// StatusCorruptedRecord is a record whose bytes could not be decoded.
	StatusCorruptedRecord
	// StatusUnsupported is a well-formed record of a type or subtype that is not
	// decoded into elems.
	StatusUnsupported
)

// Char returns bgpreader's letter for the status (V F E O S R U).
func (s RecordStatus) Char() byte {
	return "VFEOSRU?"[min(int(s), 7)]
}

// String returns a lower-case name such as "valid" or "corrupted-record".
func (s RecordStatus) String() string {
	switch s {
	case StatusValid:
		return "valid"
	case StatusFilteredSource:
		return "filtered-source"
	case StatusEmptySource:
		return "empty-source"
	case StatusOutsideInterval:
		return "outside-interval"
	case StatusCorruptedSource:
		return "corrupted-source"
	case StatusCorruptedRecord:
		return "corrupted-record"
	case StatusUnsupported:
		return "unsupported"
	}
	return "unknown"
}

// DumpPos is the position of a record within its dump.
type DumpPos uint8

const (
	// DumpMiddle is any record that neither starts nor ends a dump.
	DumpMiddle DumpPos = iota
	// DumpStart is the first record of a dump.
	DumpStart
	// DumpEnd is the last record of a dump.
	DumpEnd
)

// Char returns bgpreader's letter for the dump position (B, M or E).
func (p DumpPos) Char() byte {
	switch p {
	case DumpStart:
		return 'B'
	case DumpEnd:
		return 'E'
	}
	return 'M'
}

// Format identifies the wire container a record came from. Text formats such
// as bgpdump's need it (TABLE_DUMP vs TABLE_DUMP2 vs BGP4MP_ET).
type Format uint8

const (
	// FormatUnknown is a record whose container is not known.
	FormatUnknown Format = iota
	// FormatTableDump is MRT TABLE_DUMP (type 12, RFC 6396 §4.2).
	FormatTableDump
	// FormatTableDumpV2 is MRT TABLE_DUMP_V2 (type 13, RFC 6396 §4.3).
	FormatTableDumpV2
	// FormatBGP4MP is MRT BGP4MP (type 16, RFC 6396 §4.4).
	FormatBGP4MP
	// FormatBGP4MPET is MRT BGP4MP_ET (type 17, extended timestamp).
	FormatBGP4MPET
	// FormatBGP is the deprecated MRT BGP type (5) of 1999–2000 RIS files.
	FormatBGP
	// FormatBMP is a BMP message (RFC 7854), possibly in an OpenBMP envelope.
	FormatBMP
)

// String returns the MRT type's name ("TABLE_DUMP_V2", "BGP4MP_ET", "BMP"...).
func (f Format) String() string {
	switch f {
	case FormatTableDump:
		return "TABLE_DUMP"
	case FormatTableDumpV2:
		return "TABLE_DUMP_V2"
	case FormatBGP4MP:
		return "BGP4MP"
	case FormatBGP4MPET:
		return "BGP4MP_ET"
	case FormatBGP:
		return "BGP"
	case FormatBMP:
		return "BMP"
	}
	return "UNKNOWN"
}

// Record is one unit of input: one MRT record or one BMP message, with the
// metadata BGPStream V2 attaches to it. The elems derived from it are returned
// beside it, not inside it, so a Record stays a small value.
type Record struct {
	// Type is RIB dump or update stream.
	Type RecordType
	// Status says whether the record decoded.
	Status RecordStatus
	// DumpPos is the position within the dump (start, middle, end).
	DumpPos DumpPos
	// Format is the container the record came from.
	Format Format
	// Time is the record time in microseconds since the Unix epoch.
	Time int64
	// DumpTime is the time of the dump the record belongs to, in seconds
	// (the first record's time for a file without other information).
	DumpTime int64
	// Project is the data project (e.g. "routeviews", "ris", "singlefile").
	Project string
	// Collector is the collector name (e.g. "rrc00"), or the OpenBMP admin id.
	Collector string
	// Router is the BMP router name; empty for MRT.
	Router string
	// RouterIP is the BMP router address; invalid for MRT.
	RouterIP netip.Addr
	// MRTType and MRTSubtype are the MRT header's type and subtype (0 for BMP).
	MRTType, MRTSubtype uint16
	// Offset is the byte offset of the record in its (uncompressed) input, or
	// the Kafka offset for records read from a topic.
	Offset int64
	// Err describes why the record is corrupted or unsupported; nil otherwise.
	Err error
}

// ElemType is the kind of an elem: RIB entry, announcement, withdrawal or peer
// state change.
type ElemType uint8

const (
	// ElemRIB is an entry of a RIB dump ('R').
	ElemRIB ElemType = iota
	// ElemAnnouncement is an announced prefix ('A').
	ElemAnnouncement
	// ElemWithdrawal is a withdrawn prefix ('W').
	ElemWithdrawal
	// ElemPeerState is a peer's state change ('S').
	ElemPeerState
)

// Char returns bgpreader's letter for the elem type (R, A, W or S).
func (t ElemType) Char() byte {
	return "RAWS"[t&3]
}

// String returns "rib", "announcement", "withdrawal" or "peerstate".
func (t ElemType) String() string {
	switch t {
	case ElemRIB:
		return "rib"
	case ElemAnnouncement:
		return "announcement"
	case ElemWithdrawal:
		return "withdrawal"
	}
	return "peerstate"
}

// PeerState is a BGP finite state machine state (RFC 4271 §8.2.2), numbered as
// in MRT STATE_CHANGE records. Zero is "unknown".
type PeerState uint8

// The BGP FSM states as numbered by MRT (RFC 6396 §4.4.1); 7 and 8 are
// Quagga's Clearing and Deleted.
const (
	StateUnknown PeerState = iota
	StateIdle
	StateConnect
	StateActive
	StateOpenSent
	StateOpenConfirm
	StateEstablished
	StateClearing
	StateDeleted
)

// String returns the upper-case state name bgpreader prints, or "" for
// StateUnknown and states it does not know.
func (s PeerState) String() string {
	switch s {
	case StateIdle:
		return "IDLE"
	case StateConnect:
		return "CONNECT"
	case StateActive:
		return "ACTIVE"
	case StateOpenSent:
		return "OPENSENT"
	case StateOpenConfirm:
		return "OPENCONFIRM"
	case StateEstablished:
		return "ESTABLISHED"
	case StateClearing:
		return "CLEARING"
	case StateDeleted:
		return "DELETED"
	}
	return ""
}

// BMPPeerType is the BMP per-peer header's peer type (RFC 7854 §4.2, RFC 9069).
type BMPPeerType uint8

// BMP peer types.
const (
	BMPPeerGlobal   BMPPeerType = 0 // Global Instance Peer
	BMPPeerRD       BMPPeerType = 1 // RD Instance Peer
	BMPPeerLocal    BMPPeerType = 2 // Local Instance Peer
	BMPPeerLocRIB   BMPPeerType = 3 // Loc-RIB Instance Peer (RFC 9069)
	BMPPeerTypeNone BMPPeerType = 255
)

// BMPInfo is the BMP per-peer context of an elem. It is zero (Present false)
// for elems that did not come from BMP.
type BMPInfo struct {
	// Present is true for elems decoded from BMP.
	Present bool
	// PeerType is the per-peer header's peer type.
	PeerType BMPPeerType
	// PostPolicy is the L flag: the route is post-policy.
	PostPolicy bool
	// AdjRIBOut is the O flag (RFC 8671): the route is Adj-RIB-Out.
	AdjRIBOut bool
	// AS2 is the A flag: the AS_PATH uses 2-byte ASNs.
	AS2 bool
	// PeerDistinguisher is the per-peer header's distinguisher (route
	// distinguisher for RD instance peers).
	PeerDistinguisher uint64
	// NoPeerUp is true when the route was decoded without a Peer Up having
	// been seen for its peer, with default session options.
	NoPeerUp bool
}

// RIB returns "loc-rib", "adj-rib-out" or "adj-rib-in".
func (b *BMPInfo) RIB() string {
	switch {
	case b.PeerType == BMPPeerLocRIB:
		return "loc-rib"
	case b.AdjRIBOut:
		return "adj-rib-out"
	}
	return "adj-rib-in"
}

// Elem is one BGP fact: a RIB entry, an announced or withdrawn prefix, or a
// peer state change. It is a value; Attrs points at attributes that may be
// shared by all elems of one UPDATE or RIB entry and are owned by the decoder
// that produced them: they stay valid until the decoder's next call.
type Elem struct {
	// Type is the elem type.
	Type ElemType
	// Time is the elem time in microseconds since the Unix epoch.
	Time int64
	// PeerIP is the peer's address (invalid for some 1999-era state records).
	PeerIP netip.Addr
	// PeerASN is the peer's AS number.
	PeerASN uint32
	// Prefix is the announced, withdrawn or dumped prefix; invalid for S elems.
	Prefix netip.Prefix
	// PathID is the ADD-PATH path identifier (RFC 7911), valid if HasPathID.
	PathID uint32
	// HasPathID says whether PathID was present on the wire.
	HasPathID bool
	// NextHop is the next hop for this prefix's address family: NEXT_HOP for
	// IPv4 unicast NLRI, the MP_REACH next hop otherwise. Invalid for W and S.
	NextHop netip.Addr
	// Attrs are the path attributes; nil for W and S elems.
	Attrs *Attrs
	// OldState and NewState are set for S elems.
	OldState, NewState PeerState
	// BMP is the BMP per-peer context (zero for MRT).
	BMP BMPInfo
}
