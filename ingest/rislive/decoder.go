package rislive

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"

	"github.com/bgp-connector/bgp-connector/decode"
)

// Decoder turns RIS Live messages into records and elems. It holds scratch
// space and small caches (collector names, peer addresses) so that decoding
// a message allocates nothing. It is not safe for concurrent use; use one
// per stream.
type Decoder struct {
	cfg config
	c   *counters

	f     fields
	upd   decode.Update
	msg   []byte   // the BGP message decoded from "raw"
	text  []byte   // unescaped string scratch
	asns  []uint32 // AS_PATH scratch
	hosts map[string]string
	peers map[string]netip.Addr
	seen  map[string]bool // unknown types already logged
}

// fields are the spans of the values a RIS Live message may carry.
type fields struct {
	envType, data, message                    value
	timestamp, peer, peerASN, host, typ, raw  value
	state, path, community, origin, med, aggr value
	announcements, withdrawals                value
}

// NewDecoder returns a Decoder. It uses WithProject and WithLogger.
func NewDecoder(opts ...Opt) *Decoder {
	return newDecoder(newConfig(opts), new(counters))
}

func newDecoder(cfg config, c *counters) *Decoder {
	return &Decoder{
		cfg:   cfg,
		c:     c,
		hosts: make(map[string]string),
		peers: make(map[string]netip.Addr),
		seen:  make(map[string]bool),
	}
}

// Stats returns the decoder's counters.
func (d *Decoder) Stats() Stats { return d.c.snapshot() }

// Decode decodes one RIS Live message — a JSON object {"type": ..., "data":
// {...}}: a line of the firehose or of a saved file, a websocket message or
// a Kafka record value — and appends its record and elems to b, the record's
// Offset set to offset. Everything appended is owned by b; msg is not
// retained.
//
// A ris_message becomes one record (project "ris-live" or WithProject's,
// collector from "host" cut at its first dot, time from "timestamp", type
// update) and its elems, which carry the peer address and ASN. The BGP
// message in "raw" decides what it holds when present (an UPDATE gives
// elems; OPEN, NOTIFICATION, KEEPALIVE and ROUTE-REFRESH none); without
// "raw", the message type and the JSON fields do. One whose BGP message is
// damaged becomes a record with status corrupted-record holding the elems
// decoded before the damage, and one of an unknown type without "raw" a
// record with status unsupported. Decode returns nil for those, and for the messages
// without BGP data (pong, ris_subscribe_ok, ris_rrc_list, unknown envelope
// types), which append nothing.
//
// It returns a *ServerError for a ris_error message, and a *MessageError
// (wrapping decode.ErrMalformed or decode.ErrTruncated) for a message it
// cannot read at all: invalid or truncated JSON, or a missing or unreadable
// timestamp, peer, peer_asn or type. Neither appends anything; the caller
// skips the message and goes on.
func (d *Decoder) Decode(b *decode.Batch, msg []byte, offset int64) error {
	d.c.messages.Add(1)
	d.c.bytes.Add(int64(len(msg)))
	if err := d.parse(msg); err != nil {
		return d.bad(offset, "JSON", err)
	}
	switch string(d.str(msg, d.f.envType)) {
	case "ris_message":
		return d.risMessage(b, msg, offset)
	case "ris_error":
		d.c.serverErr.Add(1)
		text := "(no message)"
		if d.f.message.kind == '"' {
			text = string(d.str(msg, d.f.message))
		}
		return &ServerError{Message: text}
	case "pong", "ris_subscribe_ok", "ris_rrc_list":
		d.c.ignored.Add(1)
		return nil
	case "":
		return d.bad(offset, "type", fmt.Errorf("%w: no message type", decode.ErrMalformed))
	}
	d.c.ignored.Add(1)
	if t := d.str(msg, d.f.envType); !d.seen[string(t)] && len(d.seen) < 64 {
		d.seen[string(t)] = true
		d.cfg.logger.Warn("RIS Live: ignoring messages of an unknown type", "type", string(t), "offset", offset)
	}
	return nil
}

func (d *Decoder) bad(offset int64, field string, err error) error {
	d.c.badLines.Add(1)
	return &MessageError{Offset: offset, Field: field, Err: err}
}

// parse checks the syntax of msg and fills d.f with the spans of the
// values it needs.
func (d *Decoder) parse(msg []byte) error {
	d.f = fields{}
	i := skipSpace(msg, 0)
	if i == len(msg) {
		return errAt(i, "unexpected end")
	}
	m, err := newMembers(msg, i)
	if err != nil {
		return err
	}
	for {
		key, at, ok, err := m.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		var end int
		switch string(key) {
		case "type":
			d.f.envType, end, err = scanValue(msg, at, 1)
		case "data":
			if at < len(msg) && msg[at] == '{' {
				end, err = d.parseData(msg, at)
				d.f.data = value{start: at, end: end, kind: '{'}
			} else {
				d.f.data, end, err = scanValue(msg, at, 1)
			}
		default:
			_, end, err = scanValue(msg, at, 1)
		}
		if err != nil {
			return err
		}
		m.done(end)
	}
	if i := skipSpace(msg, m.i); i != len(msg) {
		return errAt(i, "data after the message")
	}
	return nil
}

// parseData records the members of the data object at msg[i].
func (d *Decoder) parseData(msg []byte, i int) (int, error) {
	m, err := newMembers(msg, i)
	if err != nil {
		return i, err
	}
	f := &d.f
	for {
		key, at, ok, err := m.next()
		if err != nil {
			return at, err
		}
		if !ok {
			return m.i, nil
		}
		v, end, err := scanValue(msg, at, 2)
		if err != nil {
			return end, err
		}
		m.done(end)
		switch string(key) {
		case "timestamp":
			f.timestamp = v
		case "peer":
			f.peer = v
		case "peer_asn":
			f.peerASN = v
		case "host":
			f.host = v
		case "type":
			f.typ = v
		case "raw":
			f.raw = v
		case "state":
			f.state = v
		case "path":
			f.path = v
		case "community":
			f.community = v
		case "origin":
			f.origin = v
		case "med":
			f.med = v
		case "aggregator":
			f.aggr = v
		case "announcements":
			f.announcements = v
		case "withdrawals":
			f.withdrawals = v
		case "message":
			f.message = v
		}
	}
}

// str returns the content of a string value (unescaped into scratch space
// when it has escapes), or nil for a value that is not a string.
func (d *Decoder) str(msg []byte, v value) []byte {
	if v.kind != '"' {
		return nil
	}
	if !v.esc {
		return msg[v.start:v.end]
	}
	d.text = unescape(d.text[:0], msg[v.start:v.end])
	return d.text
}

// scalar returns the text of a number, or of a string (lenient: RIS Live
// sends peer_asn as a string, and some writers quote numbers).
func (d *Decoder) scalar(msg []byte, v value) []byte {
	if v.kind == '0' {
		return msg[v.start:v.end]
	}
	return d.str(msg, v)
}

// Message kinds by the "type" of ris_message data.
type kind uint8

const (
	kindUnknown kind = iota
	kindUpdate
	kindOpen
	kindNotification
	kindKeepalive
	kindState
)

func kindOf(t []byte) kind {
	switch string(t) {
	case "UPDATE":
		return kindUpdate
	case "OPEN":
		return kindOpen
	case "NOTIFICATION":
		return kindNotification
	case "KEEPALIVE":
		return kindKeepalive
	case "RIS_PEER_STATE":
		return kindState
	}
	for _, k := range [...]struct {
		name string
		k    kind
	}{{"update", kindUpdate}, {"open", kindOpen}, {"notification", kindNotification}, {"keepalive", kindKeepalive}, {"ris_peer_state", kindState}} {
		if bytes.EqualFold(t, []byte(k.name)) {
			return k.k
		}
	}
	return kindUnknown
}

func (d *Decoder) risMessage(b *decode.Batch, msg []byte, offset int64) error {
	f := &d.f
	if f.data.kind != '{' {
		return d.bad(offset, "data", fmt.Errorf("%w: ris_message without a data object", decode.ErrMalformed))
	}
	typ := d.str(msg, f.typ)
	if len(typ) == 0 {
		return d.bad(offset, "type", fmt.Errorf("%w: ris_message without a type", decode.ErrMalformed))
	}
	k := kindOf(typ)
	t, err := parseTime(d.scalar(msg, f.timestamp))
	if err != nil {
		return d.bad(offset, "timestamp", err)
	}
	peer, err := d.addr(d.str(msg, f.peer))
	if err != nil {
		return d.bad(offset, "peer", err)
	}
	var asn uint32
	if f.peerASN.ok() {
		if asn, err = parseASN(d.scalar(msg, f.peerASN)); err != nil {
			return d.bad(offset, "peer_asn", err)
		}
	}
	rec := decode.Record{
		Type:      decode.RecordUpdate,
		Status:    decode.StatusValid,
		DumpPos:   decode.DumpMiddle,
		Time:      t,
		DumpTime:  t / 1e6,
		Project:   d.cfg.project,
		Collector: d.collector(d.str(msg, f.host)),
		Offset:    offset,
	}
	ri := b.AddRecord(&rec)
	d.c.records.Add(1)
	n0 := len(b.Elems)
	var field string
	switch {
	case k == kindState:
		st := d.str(msg, f.state)
		e := b.NewElem(ri)
		e.Type, e.Time, e.PeerIP, e.PeerASN = decode.ElemPeerState, t, peer, asn
		e.OldState, e.NewState = decode.StateUnknown, peerState(st)
		if e.NewState == decode.StateUnknown {
			d.cfg.logger.Debug("RIS Live: unknown peer state", "state", string(st), "offset", offset)
		}
	case f.raw.ok():
		field = "raw"
		err = d.rawMessage(b, ri, msg, peer, asn, t)
	case k == kindUpdate:
		field, err = d.jsonUpdate(b, ri, msg, peer, asn, t)
	case k == kindUnknown:
		r := &b.Records[ri]
		r.Status = decode.StatusUnsupported
		r.Err = &MessageError{Offset: offset, Field: "type", Err: fmt.Errorf("%w: ris_message type %q", decode.ErrUnsupported, typ)}
		d.c.unsupported.Add(1)
	}
	if err != nil {
		r := &b.Records[ri]
		r.Status = decode.StatusCorruptedRecord
		r.Err = &MessageError{Offset: offset, Field: field, Err: err}
		d.c.corrupted.Add(1)
	}
	d.c.elems.Add(int64(len(b.Elems) - n0))
	return nil
}

// peerState maps RIS_PEER_STATE's state as libbgpstream does (after
// ExaBGP's reactor): down → IDLE (TCP connection lost), connected →
// CONNECT (TCP up, OPEN about to be sent), up → ESTABLISHED.
func peerState(s []byte) decode.PeerState {
	switch {
	case bytes.EqualFold(s, []byte("down")):
		return decode.StateIdle
	case bytes.EqualFold(s, []byte("connected")):
		return decode.StateConnect
	case bytes.EqualFold(s, []byte("up")):
		return decode.StateEstablished
	}
	return decode.StateUnknown
}

// rawMessage decodes the hex BGP message of "raw" (marker included): an
// UPDATE into elems, the other message types into nothing.
func (d *Decoder) rawMessage(b *decode.Batch, ri int32, msg []byte, peer netip.Addr, asn uint32, t int64) error {
	v := d.f.raw
	if v.kind != '"' || v.esc {
		return fmt.Errorf("%w: not a hex string", decode.ErrMalformed)
	}
	h := msg[v.start:v.end]
	if len(h)%2 != 0 {
		return fmt.Errorf("%w: odd number of hex digits (%d)", decode.ErrTruncated, len(h))
	}
	n := len(h) / 2
	if n > math.MaxUint16 {
		return fmt.Errorf("%w: %d-byte BGP message", decode.ErrMalformed, n)
	}
	if cap(d.msg) < n {
		d.msg = make([]byte, n, max(n, 4096))
	}
	m := d.msg[:n]
	if _, err := hex.Decode(m, h); err != nil {
		return fmt.Errorf("%w: %v", decode.ErrMalformed, err)
	}
	hdr, err := decode.DecodeHeader(m)
	if err != nil {
		return err
	}
	switch hdr.Type {
	case decode.MsgUpdate:
		return d.update(b, ri, m[decode.HeaderLen:hdr.Length], peer, asn, t)
	case decode.MsgOpen, decode.MsgNotification, decode.MsgKeepalive, decode.MsgRouteRefresh:
		return nil
	}
	return fmt.Errorf("%w: BGP message type %d", decode.ErrMalformed, hdr.Type)
}

// update decodes an UPDATE body into W and A elems exactly as package mrt
// does for a BGP4MP_MESSAGE_AS4 record: withdrawals then announcements,
// one shared Attrs, and on a framing fault the prefixes decoded before it.
func (d *Decoder) update(b *decode.Batch, ri int32, body []byte, peer netip.Addr, asn uint32, t int64) error {
	u := &d.upd
	derr := decode.DecodeUpdateAddPathFallback(u, body, &decode.Options{AS4: true})
	b.AppendUpdate(ri, u, peer, asn, t, true, true)
	if derr != nil {
		return derr
	}
	if len(u.Unsupported) > 0 && len(u.Withdrawn)+len(u.Announced) == 0 {
		fam := u.Unsupported[0]
		return fmt.Errorf("%w: NLRI of AFI %d SAFI %d", decode.ErrUnsupported, fam.AFI, fam.SAFI)
	}
	return nil
}

// collector returns the collector name of a host: "rrc21" as is, and
// "rrc03.ripe.net" cut at the first dot.
func (d *Decoder) collector(host []byte) string {
	if i := bytes.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	if s, ok := d.hosts[string(host)]; ok {
		return s
	}
	if len(d.hosts) >= 4096 {
		clear(d.hosts)
	}
	s := string(host)
	d.hosts[s] = s
	return s
}

// addr parses a peer address, through a cache.
func (d *Decoder) addr(s []byte) (netip.Addr, error) {
	if a, ok := d.peers[string(s)]; ok {
		return a, nil
	}
	if len(s) == 0 {
		return netip.Addr{}, fmt.Errorf("%w: no peer address", decode.ErrMalformed)
	}
	a, err := netip.ParseAddr(string(s))
	if err != nil {
		return a, fmt.Errorf("%w: %v", decode.ErrMalformed, err)
	}
	if len(d.peers) >= 1<<16 {
		clear(d.peers)
	}
	d.peers[string(s)] = a
	return a, nil
}

var errTime = fmt.Errorf("%w: not a timestamp", decode.ErrMalformed)

// parseTime reads "1553627987.89" (seconds with any number of decimals)
// into microseconds without going through a float: digits past the sixth
// decimal are dropped. An exponent form is read as a float and rounded.
func parseTime(b []byte) (int64, error) {
	var sec int64
	i := 0
	for ; i < len(b) && isDigit(b[i]); i++ {
		sec = sec*10 + int64(b[i]-'0')
		if sec > 1<<40 {
			return 0, errTime
		}
	}
	if i == 0 {
		return 0, errTime
	}
	var us int64
	if i < len(b) && b[i] == '.' {
		i++
		n := 0
		for ; i < len(b) && isDigit(b[i]); i++ {
			if n < 6 {
				us = us*10 + int64(b[i]-'0')
				n++
			}
		}
		for ; n < 6; n++ {
			us *= 10
		}
	}
	if i < len(b) {
		if b[i] != 'e' && b[i] != 'E' {
			return 0, errTime
		}
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil || f < 0 || f > 1<<40 {
			return 0, errTime
		}
		return int64(math.Round(f * 1e6)), nil
	}
	return sec*1e6 + us, nil
}

var errASN = fmt.Errorf("%w: not an AS number", decode.ErrMalformed)

// parseASN reads "11708" (asplain), lenient about an "AS" prefix and the
// asdot form "1.10".
func parseASN(b []byte) (uint32, error) {
	if len(b) > 2 && (b[0] == 'A' || b[0] == 'a') && (b[1] == 'S' || b[1] == 's') {
		b = b[2:]
	}
	if i := bytes.IndexByte(b, '.'); i >= 0 {
		hi, err1 := parseUint(b[:i], math.MaxUint16)
		lo, err2 := parseUint(b[i+1:], math.MaxUint16)
		if err1 != nil || err2 != nil {
			return 0, errASN
		}
		return uint32(hi<<16 | lo), nil
	}
	v, err := parseUint(b, math.MaxUint32)
	return uint32(v), err
}

func parseUint(b []byte, limit uint64) (uint64, error) {
	if len(b) == 0 || len(b) > 10 {
		return 0, errASN
	}
	var v uint64
	for _, c := range b {
		if !isDigit(c) {
			return 0, errASN
		}
		v = v*10 + uint64(c-'0')
	}
	if v > limit {
		return 0, errASN
	}
	return v, nil
}

// errFieldType is a JSON field of the wrong type.
var errFieldType = errors.New("unexpected JSON type")

// jsonUpdate builds the elems of an UPDATE from RIS Live's JSON fields, for
// a message without "raw". It returns the field at fault with the error.
func (d *Decoder) jsonUpdate(b *decode.Batch, ri int32, msg []byte, peer netip.Addr, asn uint32, t int64) (string, error) {
	f := &d.f
	if f.withdrawals.kind == '[' {
		it, _ := d.prefixes(msg, f.withdrawals)
		for {
			p, ok, err := it.next()
			if err != nil {
				return "withdrawals", err
			}
			if !ok {
				break
			}
			e := b.NewElem(ri)
			e.Type, e.Time, e.PeerIP, e.PeerASN, e.Prefix = decode.ElemWithdrawal, t, peer, asn, p
		}
	}
	if f.announcements.kind != '[' {
		return "", nil
	}
	var a *decode.Attrs
	it, _ := newElements(msg, f.announcements)
	for {
		ann, ok, err := it.next()
		if err != nil {
			return "announcements", err
		}
		if !ok {
			return "", nil
		}
		var nh, pfx value
		m, err := newMembers(msg[:ann.end], ann.start)
		if err != nil {
			return "announcements", err
		}
		for {
			key, at, ok, err := m.next()
			if err != nil {
				return "announcements", err
			}
			if !ok {
				break
			}
			v, end, err := scanValue(msg[:ann.end], at, 3)
			if err != nil {
				return "announcements", err
			}
			m.done(end)
			switch string(key) {
			case "next_hop":
				nh = v
			case "prefixes":
				pfx = v
			}
		}
		hop, local, err := d.nextHop(msg, nh)
		if err != nil {
			return "next_hop", err
		}
		pit, err := d.prefixes(msg, pfx)
		if err != nil {
			return "prefixes", err
		}
		for {
			p, ok, err := pit.next()
			if err != nil {
				return "prefixes", err
			}
			if !ok {
				break
			}
			if a == nil {
				a = b.NewAttrs()
				if field, err := d.jsonAttrs(a, msg); err != nil {
					return field, err
				}
			}
			if p.Addr().Is4() && hop.Is4() {
				a.NextHop = hop
				a.Set(decode.AttrNextHop)
			} else {
				a.MPNextHop, a.MPNextHopLocal = hop, local
			}
			e := b.NewElem(ri)
			e.Type, e.Time, e.PeerIP, e.PeerASN, e.Prefix = decode.ElemAnnouncement, t, peer, asn, p
			e.NextHop, e.Attrs = hop, a
		}
	}
}

// prefixList iterates an array of prefix strings, skipping "eor".
type prefixList struct {
	d   *Decoder
	msg []byte
	it  elements
}

func (d *Decoder) prefixes(msg []byte, v value) (prefixList, error) {
	it, err := newElements(msg, v)
	return prefixList{d: d, msg: msg, it: it}, err
}

// next returns the next prefix; ok is false at the end.
func (l *prefixList) next() (p netip.Prefix, ok bool, err error) {
	for {
		v, ok, err := l.it.next()
		if err != nil || !ok {
			return p, false, err
		}
		p, eor, err := l.d.prefix(l.msg, v)
		if err != nil {
			return p, false, err
		}
		if !eor {
			return p, true, nil
		}
	}
}

// prefix reads a prefix string; "eor" (End-of-RIB, as bgpkit reads it)
// gives eor true.
func (d *Decoder) prefix(msg []byte, v value) (p netip.Prefix, eor bool, err error) {
	s := d.str(msg, v)
	if v.kind != '"' {
		return p, false, fmt.Errorf("%w: %w for a prefix", decode.ErrMalformed, errFieldType)
	}
	if bytes.EqualFold(s, []byte("eor")) {
		return p, true, nil
	}
	p, err = netip.ParsePrefix(string(s))
	if err != nil {
		return p, false, fmt.Errorf("%w: %v", decode.ErrMalformed, err)
	}
	return p, false, nil
}

// nextHop reads "192.0.2.1", or "2001:db8::1,fe80::1" (global and
// link-local IPv6 next hops).
func (d *Decoder) nextHop(msg []byte, v value) (hop, local netip.Addr, err error) {
	if !v.ok() {
		return hop, local, nil
	}
	s := d.str(msg, v)
	if v.kind != '"' {
		return hop, local, fmt.Errorf("%w: %w for a next hop", decode.ErrMalformed, errFieldType)
	}
	second := []byte(nil)
	if i := bytes.IndexByte(s, ','); i >= 0 {
		s, second = s[:i], bytes.TrimSpace(s[i+1:])
	}
	if hop, err = d.addr(bytes.TrimSpace(s)); err != nil {
		return hop, local, err
	}
	if len(second) > 0 {
		if local, err = d.addr(second); err != nil {
			return hop, local, err
		}
	}
	return hop, local, nil
}

// jsonAttrs fills a from "origin", "path", "community", "med" and
// "aggregator".
func (d *Decoder) jsonAttrs(a *decode.Attrs, msg []byte) (string, error) {
	f := &d.f
	if f.origin.kind == '"' {
		switch o := d.str(msg, f.origin); {
		case bytes.EqualFold(o, []byte("igp")):
			a.Origin = decode.OriginIGP
		case bytes.EqualFold(o, []byte("egp")):
			a.Origin = decode.OriginEGP
		case bytes.EqualFold(o, []byte("incomplete")), string(o) == "?":
			a.Origin = decode.OriginIncomplete
		default:
			return "origin", fmt.Errorf("%w: origin %q", decode.ErrMalformed, o)
		}
		a.Set(decode.AttrOrigin)
	}
	if f.path.kind == '[' {
		if err := d.jsonPath(a, msg); err != nil {
			return "path", err
		}
		a.Set(decode.AttrASPath)
	}
	if f.community.kind == '[' {
		it, _ := newElements(msg, f.community)
		for {
			v, ok, err := it.next()
			if err != nil {
				return "community", err
			}
			if !ok {
				break
			}
			pair, err := newElements(msg, v)
			if err != nil {
				return "community", err
			}
			var c [2]uint64
			for j := range 3 {
				v, ok, err := pair.next()
				if err != nil {
					return "community", err
				}
				if !ok != (j == 2) || (ok && v.kind != '0') {
					return "community", fmt.Errorf("%w: community is not a pair of numbers", decode.ErrMalformed)
				}
				if ok {
					if c[j], err = parseUint(msg[v.start:v.end], math.MaxUint16); err != nil {
						return "community", err
					}
				}
			}
			a.Communities = append(a.Communities, decode.Community(c[0]<<16|c[1]))
		}
		if len(a.Communities) > 0 {
			a.Set(decode.AttrCommunities)
		}
	}
	if f.med.ok() {
		v, err := parseUint(d.scalar(msg, f.med), math.MaxUint32)
		if err != nil {
			return "med", err
		}
		a.MED = uint32(v)
		a.Set(decode.AttrMED)
	}
	if f.aggr.kind == '"' {
		s := d.str(msg, f.aggr)
		i := bytes.IndexByte(s, ':')
		if i < 0 {
			return "aggregator", fmt.Errorf("%w: aggregator %q is not ASN:IP", decode.ErrMalformed, s)
		}
		asn, err := parseASN(s[:i])
		if err != nil {
			return "aggregator", err
		}
		ip, err := netip.ParseAddr(string(s[i+1:]))
		if err != nil {
			return "aggregator", fmt.Errorf("%w: %v", decode.ErrMalformed, err)
		}
		a.Aggregator = decode.Aggregator{ASN: asn, Addr: ip}
		a.Set(decode.AttrAggregator)
	}
	return "", nil
}

// jsonPath reads "path": ASNs form AS_SEQUENCE runs, a nested array is an
// AS_SET.
func (d *Decoder) jsonPath(a *decode.Attrs, msg []byte) error {
	it, _ := newElements(msg, d.f.path)
	seq := d.asns[:0]
	for {
		v, ok, err := it.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch v.kind {
		case '0':
			n, err := parseUint(msg[v.start:v.end], math.MaxUint32)
			if err != nil {
				return err
			}
			seq = append(seq, uint32(n))
		case '[':
			if len(seq) > 0 {
				a.ASPath.AppendSegment(decode.SegSequence, seq...)
				seq = seq[:0]
			}
			set, _ := newElements(msg, v)
			for {
				v, ok, err := set.next()
				if err != nil {
					return err
				}
				if !ok {
					break
				}
				if v.kind != '0' {
					return fmt.Errorf("%w: %w in an AS_SET", decode.ErrMalformed, errFieldType)
				}
				n, err := parseUint(msg[v.start:v.end], math.MaxUint32)
				if err != nil {
					return err
				}
				seq = append(seq, uint32(n))
			}
			a.ASPath.AppendSegment(decode.SegSet, seq...)
			seq = seq[:0]
		default:
			return fmt.Errorf("%w: %w in the path", decode.ErrMalformed, errFieldType)
		}
	}
	if len(seq) > 0 {
		a.ASPath.AppendSegment(decode.SegSequence, seq...)
	}
	d.asns = seq
	return nil
}
