package mrt

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/bgp-connector/bgp-connector/decode"
)

// Prefilter lets the Elementor skip work a filter would throw away: it is
// asked before attributes are decoded. Each method answers false only when no
// elem of that record, peer, type or family can match. *filter.Filter
// implements it, and PrefixPrefilter.
type Prefilter interface {
	MatchRecord(r *decode.Record) bool
	MatchPeer(ip netip.Addr, asn uint32) bool
	WantsElemType(t decode.ElemType) bool
	WantsFamily(ipv6 bool) bool
}

// PrefixPrefilter is a Prefilter that also answers for a prefix: false
// means no elem for prefix p can match, so a TABLE_DUMP_V2 RIB record (one
// prefix, many entries) is skipped before any entry's attributes are
// decoded. *filter.Filter implements it.
type PrefixPrefilter interface {
	MatchPrefix(p netip.Prefix) bool
}

// Peer is one entry of a TABLE_DUMP_V2 PEER_INDEX_TABLE (RFC 6396 §4.3.1).
type Peer struct {
	// BGPID is the peer's BGP identifier.
	BGPID netip.Addr
	// IP is the peer's address.
	IP netip.Addr
	// ASN is the peer's AS number.
	ASN uint32
}

// Elementor turns framed MRT records into records and elems. It holds the
// state that spans records: the PEER_INDEX_TABLE of a TABLE_DUMP_V2 dump.
// It is not safe for concurrent use; use one per input stream.
type Elementor struct {
	// Project and Collector label every record (bgpreader's singlefile
	// interface uses "singlefile" for both).
	Project, Collector string
	// Prefilter, when set, is consulted before attributes are decoded.
	Prefilter Prefilter

	peers     []Peer
	haveIndex bool
	viewName  string
	collector netip.Addr

	upd  decode.Update
	own  decode.Batch
	open decode.Open
}

// NewElementor returns an Elementor labelling records with project and
// collector "singlefile".
func NewElementor() *Elementor {
	return &Elementor{Project: "singlefile", Collector: "singlefile"}
}

// Peers returns the current PEER_INDEX_TABLE (nil before one was read).
func (e *Elementor) Peers() []Peer { return e.peers }

// Elems decodes raw into rec and appends its elems to dst. The elems' Attrs
// are owned by the Elementor and stay valid until the next call; to keep them
// longer use AppendTo with a decode.Batch. A damaged record is reported in
// rec.Status and rec.Err, with the elems decoded before the damage, and a nil
// error: the returned error is reserved for misuse.
func (e *Elementor) Elems(rec *decode.Record, raw *RawRecord, dst []decode.Elem) ([]decode.Elem, error) {
	e.own.Reset()
	e.decodeRecord(&e.own, raw, false)
	*rec = e.own.Records[0]
	return append(dst, e.own.Elems...), nil
}

// AppendTo decodes raw and appends its record and elems to b. Everything the
// elems point to is owned by b.
func (e *Elementor) AppendTo(b *decode.Batch, raw *RawRecord) {
	e.decodeRecord(b, raw, true)
}

// ErrNoPeerIndex is the cause of a TABLE_DUMP_V2 RIB record met before any
// PEER_INDEX_TABLE.
var ErrNoPeerIndex = errors.New("RIB record before any PEER_INDEX_TABLE")

// sink collects one record's elems into a batch.
type sink struct {
	b     *decode.Batch
	ri    int32
	owned bool // copy unknown attribute values into the batch
}

func (s *sink) rec() *decode.Record { return &s.b.Records[s.ri] }

func (s *sink) fail(status decode.RecordStatus, err error) {
	r := s.rec()
	r.Status = status
	r.Err = err
}

func (s *sink) add(e *decode.Elem) { s.b.AddElem(s.ri, e) }

// elem returns a new zero elem of the record to fill in place.
func (s *sink) elem() *decode.Elem { return s.b.NewElem(s.ri) }

func (e *Elementor) decodeRecord(b *decode.Batch, raw *RawRecord, owned bool) {
	h := &raw.Header
	r := decode.Record{
		Type:       decode.RecordUpdate,
		Status:     decode.StatusValid,
		DumpPos:    decode.DumpMiddle,
		Time:       int64(h.Timestamp)*1e6 + int64(h.Microseconds),
		DumpTime:   int64(h.Timestamp),
		Project:    e.Project,
		Collector:  e.Collector,
		MRTType:    h.Type,
		MRTSubtype: h.Subtype,
		Offset:     raw.Offset,
	}
	switch h.Type {
	case TypeTableDump:
		r.Format, r.Type = decode.FormatTableDump, decode.RecordRIB
	case TypeTableDumpV2:
		r.Format, r.Type = decode.FormatTableDumpV2, decode.RecordRIB
	case TypeBGP4MP:
		r.Format = decode.FormatBGP4MP
	case TypeBGP4MPET:
		r.Format = decode.FormatBGP4MPET
	case TypeBGP:
		r.Format = decode.FormatBGP
	}
	if (h.Type == TypeBGP4MP || h.Type == TypeBGP4MPET) && h.Subtype == BGP4MPEntry {
		r.Type = decode.RecordRIB // a RIB entry in update-stream framing
	}
	s := sink{b: b, ri: b.AddRecord(&r), owned: owned}
	// A PEER_INDEX_TABLE is state for the records after it: it is never
	// filtered out.
	index := h.Type == TypeTableDumpV2 && h.Subtype == PeerIndexTable
	if e.Prefilter != nil && !index && !e.Prefilter.MatchRecord(s.rec()) {
		s.rec().Status = decode.StatusFilteredSource
		return
	}
	var err error
	switch h.Type {
	case TypeTableDump:
		err = e.tableDump(&s, raw)
	case TypeTableDumpV2:
		err = e.tableDumpV2(&s, raw)
	case TypeBGP4MP, TypeBGP4MPET:
		err = e.bgp4mp(&s, raw)
	case TypeBGP:
		err = e.bgp(&s, raw)
	default:
		s.fail(decode.StatusUnsupported, fmt.Errorf("%w: MRT type %d subtype %d", decode.ErrUnsupported, h.Type, h.Subtype))
		return
	}
	if err != nil {
		status := decode.StatusCorruptedRecord
		if errors.Is(err, decode.ErrUnsupported) {
			status = decode.StatusUnsupported
		}
		s.fail(status, &RecordError{Offset: raw.Offset, Type: h.Type, Subtype: h.Subtype, Err: err})
	}
}

// RecordError describes a record that could not be (fully) decoded.
type RecordError struct {
	// Offset is the record's byte offset in the uncompressed input.
	Offset int64
	// Type and Subtype are the record's MRT type and subtype.
	Type, Subtype uint16
	// Err is the cause.
	Err error
}

// Error returns "offset N: TYPE/SUBTYPE: cause".
func (e *RecordError) Error() string {
	return fmt.Sprintf("offset %d: MRT %s: %v", e.Offset, typeName(e.Type, e.Subtype), e.Err)
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

func typeName(t, st uint16) string {
	switch t {
	case TypeTableDump:
		return fmt.Sprintf("TABLE_DUMP/%d", st)
	case TypeTableDumpV2:
		names := [...]string{1: "PEER_INDEX_TABLE", 2: "RIB_IPV4_UNICAST", 3: "RIB_IPV4_MULTICAST", 4: "RIB_IPV6_UNICAST",
			5: "RIB_IPV6_MULTICAST", 6: "RIB_GENERIC", 7: "GEO_PEER_TABLE", 8: "RIB_IPV4_UNICAST_ADDPATH",
			9: "RIB_IPV4_MULTICAST_ADDPATH", 10: "RIB_IPV6_UNICAST_ADDPATH", 11: "RIB_IPV6_MULTICAST_ADDPATH", 12: "RIB_GENERIC_ADDPATH"}
		if int(st) < len(names) && names[st] != "" {
			return "TABLE_DUMP_V2/" + names[st]
		}
		return fmt.Sprintf("TABLE_DUMP_V2/%d", st)
	case TypeBGP4MP, TypeBGP4MPET:
		names := [...]string{0: "STATE_CHANGE", 1: "MESSAGE", 2: "ENTRY", 3: "SNAPSHOT", 4: "MESSAGE_AS4", 5: "STATE_CHANGE_AS4",
			6: "MESSAGE_LOCAL", 7: "MESSAGE_AS4_LOCAL", 8: "MESSAGE_ADDPATH", 9: "MESSAGE_AS4_ADDPATH",
			10: "MESSAGE_LOCAL_ADDPATH", 11: "MESSAGE_AS4_LOCAL_ADDPATH"}
		p := "BGP4MP/"
		if t == TypeBGP4MPET {
			p = "BGP4MP_ET/"
		}
		if int(st) < len(names) {
			return p + names[st]
		}
		return fmt.Sprintf("%s%d", p, st)
	case TypeBGP:
		return fmt.Sprintf("BGP/%d", st)
	}
	return fmt.Sprintf("%d/%d", t, st)
}

// truncated builds the error for a structure that runs past the record.
func truncated(what string, need, have int) error {
	return fmt.Errorf("%w: %s needs %d bytes, %d left", decode.ErrTruncated, what, need, have)
}

// addr reads an IPv4 (afi 1) or IPv6 address at the start of b.
func addr(b []byte, afi uint16) (netip.Addr, int, error) {
	switch afi {
	case decode.AFIIPv4:
		if len(b) < 4 {
			return netip.Addr{}, 0, truncated("IPv4 address", 4, len(b))
		}
		return netip.AddrFrom4([4]byte(b)), 4, nil
	case decode.AFIIPv6:
		if len(b) < 16 {
			return netip.Addr{}, 0, truncated("IPv6 address", 16, len(b))
		}
		return netip.AddrFrom16([16]byte(b)), 16, nil
	}
	return netip.Addr{}, 0, fmt.Errorf("%w: AFI %d", decode.ErrUnsupported, afi)
}
