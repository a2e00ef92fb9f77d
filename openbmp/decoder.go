package openbmp

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/bgp-connector/bgp-connector/decode"
)

// DecoderOpt configures a Decoder.
type DecoderOpt interface{ apply(*config) }

type config struct {
	project, collector, router string
	routerIP                   netip.Addr
	peerUpActive               bool
	maxSessions                int
}

type optFunc func(*config)

func (f optFunc) apply(c *config) { f(c) }

// WithProject sets Record.Project for every record. Default "openbmp".
func WithProject(p string) DecoderOpt { return optFunc(func(c *config) { c.project = p }) }

// WithCollector sets Record.Collector for messages without an OpenBMP
// header (raw BMP). Messages with an OpenBMP header use its admin id.
// Default empty.
func WithCollector(name string) DecoderOpt {
	return optFunc(func(c *config) { c.collector = name })
}

// WithRouter sets the router name and address of messages without an
// OpenBMP header (a raw BMP file holds one router's stream). The name is
// replaced by the Initiation's sysName when one was seen. Default: empty
// name and no address.
func WithRouter(name string, ip netip.Addr) DecoderOpt {
	return optFunc(func(c *config) { c.router, c.routerIP = name, ip })
}

// WithBGPStreamPeerState makes Peer Up produce a peer-state elem with new
// state ACTIVE, as bgpreader does, instead of ESTABLISHED (the state the
// session is in when a router sends Peer Up). Default false.
func WithBGPStreamPeerState(on bool) DecoderOpt {
	return optFunc(func(c *config) { c.peerUpActive = on })
}

// WithMaxSessions bounds the number of peer sessions remembered across all
// routers, and the number of routers. When a Peer Up (or a new router)
// would exceed it, the least recently used router is forgotten (its later
// Route Monitoring decodes with defaults and is marked NoPeerUp); finding it
// scans the routers. Default 100000.
func WithMaxSessions(n int) DecoderOpt {
	return optFunc(func(c *config) { c.maxSessions = max(n, 1) })
}

// RouterKey identifies a monitored router in the session table: the
// OpenBMP router hash, or, when the hash is zero, the router IP in 16-byte
// form. Raw BMP without a header uses the zero key.
type RouterKey [16]byte

// KeyOf returns the router key of an OpenBMP header.
func KeyOf(h *Header) RouterKey {
	if h.RouterHash != ([16]byte{}) {
		return RouterKey(h.RouterHash)
	}
	if h.RouterIP.IsValid() {
		return RouterKey(h.RouterIP.As16())
	}
	return RouterKey{}
}

// PeerKey identifies a peer session of a router in the session table: the
// per-peer header's peer type, distinguisher and address.
type PeerKey struct {
	Type          decode.BMPPeerType
	Distinguisher uint64
	Addr          netip.Addr
}

// Session is what a Peer Up taught about one peer: how to decode the
// UPDATEs of its Route Monitoring.
type Session struct {
	// In decodes UPDATEs the peer sent (Adj-RIB-In, Loc-RIB), Out those
	// the router sent it (Adj-RIB-Out, RFC 8671).
	In, Out decode.Options
	// ASN is the peer ASN of the Peer Up's per-peer header.
	ASN uint32
}

type routerState struct {
	sysName  string
	init     bool // an Initiation was seen (sysName is its)
	sessions map[PeerKey]*Session
	used     uint64
}

// Decoder turns BMP messages into records, elems and statistics, keeping
// per-router session state learnt from Initiation, Peer Up, Peer Down and
// Termination. It is not safe for concurrent use; use one Decoder per
// goroutine (for Kafka, one per partition).
//
// Session state is keyed by router ([RouterKey]) and peer (peer type,
// distinguisher, address). A Peer Up sets the options for the families its
// OPENs name: 4-byte ASNs when both OPENs carry the capability (RFC 6793),
// and ADD-PATH per AFI/SAFI (RFC 7911) in the direction of the route:
// Adj-RIB-In routes were sent by the peer, Adj-RIB-Out routes (O flag) by
// the router. The A flag, when set, forces 2-byte ASNs. Peer Down forgets
// the peer, Initiation and Termination forget the router.
//
// Route Monitoring for a peer without a Peer Up (a stream joined
// mid-session, or gobgpd's Loc-RIB) decodes with defaults: 4-byte ASNs
// unless the A flag is set, no ADD-PATH; its elems have BMPInfo.NoPeerUp
// set.
//
// The session state outlives a process through [StateEntry] values: a
// router's Initiation and each peer session is one entry with a key
// ([StateEntry.AppendKey]) and a versioned binary encoding.
// [Decoder.RecordChanges] records every entry a message sets or deletes
// ([Decoder.AppendChanges] takes them), [Decoder.ExportState] lists the
// whole state and [Decoder.ImportState] restores it, so that a Decoder
// restored from a compacted changelog of the changes decodes the rest of a
// stream exactly as the uninterrupted one (the connector keeps such a
// changelog in Kafka). Only Initiation, Peer Up, Peer Down, Termination
// and eviction change the state; Route Monitoring records nothing.
//
// Elems: Route Monitoring gives W elems (withdrawn routes and
// MP_UNREACH_NLRI) then A elems; Peer Up an S elem with new state
// ESTABLISHED (ACTIVE with WithBGPStreamPeerState); Peer Down an S elem with
// new state IDLE. Statistics Reports give Stats, Initiation, Termination and
// Route Mirroring give a record with their details in the Result.
type Decoder struct {
	cfg      config
	routers  map[RouterKey]*routerState
	sessions int
	clock    uint64
	lastKey  RouterKey
	last     *routerState
	strings  interner
	scratch  Result // AppendTo's

	track   bool         // record state changes (RecordChanges)
	changes []StateEntry // recorded, not yet taken by AppendChanges
}

// NewDecoder returns a Decoder with the given options.
func NewDecoder(opts ...DecoderOpt) *Decoder {
	d := &Decoder{cfg: config{project: "openbmp", maxSessions: 100000}, routers: map[RouterKey]*routerState{}, strings: interner{}}
	for _, o := range opts {
		o.apply(&d.cfg)
	}
	return d
}

// DropRouter forgets a router's Initiation and sessions (e.g. when a Kafka
// partition carrying it is revoked). With RecordChanges on, it records
// their deletion.
func (d *Decoder) DropRouter(k RouterKey) {
	if r, ok := d.routers[k]; ok {
		d.noteDropped(k, r, true)
		d.sessions -= len(r.sessions)
		delete(d.routers, k)
	}
	if d.last != nil && d.lastKey == k {
		d.last = nil
	}
}

// Sessions returns the number of peer sessions remembered.
func (d *Decoder) Sessions() int { return d.sessions }

func (d *Decoder) router(k RouterKey, create bool) *routerState {
	d.clock++
	if d.last != nil && d.lastKey == k {
		d.last.used = d.clock
		return d.last
	}
	r := d.routers[k]
	if r == nil {
		if !create {
			return nil
		}
		if len(d.routers) >= d.cfg.maxSessions {
			d.evict(RouterKey{}, nil)
		}
		r = &routerState{sessions: map[PeerKey]*Session{}}
		d.routers[k] = r
	}
	r.used = d.clock
	d.lastKey, d.last = k, r
	return r
}

// evict drops the least recently used router other than keep (which may be
// nil; kk is its key).
func (d *Decoder) evict(kk RouterKey, keep *routerState) {
	var victim RouterKey
	var vr *routerState
	for k, r := range d.routers {
		if r != keep && (vr == nil || r.used < vr.used) {
			victim, vr = k, r
		}
	}
	if vr == nil {
		// Only keep is left: drop its oldest sessions wholesale.
		d.noteDropped(kk, keep, false)
		d.sessions -= len(keep.sessions)
		clear(keep.sessions)
		return
	}
	d.DropRouter(victim)
}

// Result is everything decoded from one message. Decode resets and reuses
// it; Elems' Attrs point into the Result and stay valid until the next
// Decode into it. Slices and TLV values alias the frame passed to Decode.
type Result struct {
	// Record is the record for the message.
	Record decode.Record
	// MsgType is the BMP message type (MsgNone for an OpenBMP collector
	// message).
	MsgType MessageType
	// Header is the OpenBMP header, valid if HasHeader.
	Header    Header
	HasHeader bool
	// Key is the router key the message was attributed to.
	Key RouterKey
	// Peer is the per-peer header of Route Monitoring, Statistics, Peer
	// Up/Down and Route Mirroring messages.
	Peer PeerHeader
	// Elems are the elems: A and W for Route Monitoring, one S for Peer Up
	// and Peer Down.
	Elems []decode.Elem
	// Stats are the counters of a Statistics Report.
	Stats []decode.Stat
	// Unsupported lists the address families of Route Monitoring NLRI that
	// do not decode into elems (VPN, EVPN, SR...).
	Unsupported []decode.Family
	// Update is the decoded UPDATE of a Route Monitoring message. It and
	// the fields below are set for their message type and zero otherwise.
	Update decode.Update
	// Initiation holds an Initiation's or a Termination's TLVs.
	Initiation Initiation
	// PeerUp and PeerDown hold the details of those messages.
	PeerUp   PeerUp
	PeerDown PeerDown
	// Mirroring holds a Route Mirroring message.
	Mirroring RouteMirroring

	// n is the length of the frame's first message (header included), once
	// known: bytes after it belong to the next message.
	n int
}

func (r *Result) reset() {
	// Clear the details of the previous message, keeping slice storage.
	switch r.MsgType {
	case MsgRouteMonitoring:
		r.Update.Reset()
	case MsgPeerUp:
		p := &r.PeerUp
		*p = PeerUp{TLVs: p.TLVs[:0],
			Sent:     decode.Open{Families: p.Sent.Families[:0], Capabilities: p.Sent.Capabilities[:0]},
			Received: decode.Open{Families: p.Received.Families[:0], Capabilities: p.Received.Capabilities[:0]}}
	case MsgPeerDown:
		r.PeerDown = PeerDown{TLVs: r.PeerDown.TLVs[:0]}
	case MsgInitiation, MsgTermination:
		r.Initiation = Initiation{TLVs: r.Initiation.TLVs[:0]}
	case MsgRouteMirroring:
		r.Mirroring = RouteMirroring{Messages: r.Mirroring.Messages[:0], Codes: r.Mirroring.Codes[:0]}
	}
	r.Record = decode.Record{}
	r.MsgType = MsgNone
	r.HasHeader = false
	r.Key = RouterKey{}
	r.Peer = PeerHeader{}
	r.Elems = r.Elems[:0]
	r.Stats = r.Stats[:0]
	r.Unsupported = r.Unsupported[:0]
	r.n = 0
}

// Decode decodes one frame into res: an OpenBMP v1.7 binary message
// ("OBMP" header and one BMP message; bytes after the BMP message are
// ignored), a legacy text-header message ("V: 1.7..."), or a raw BMP
// message. On error it returns a *DecodeError whose Offset counts from the
// start of frame, and res.Record has Status StatusCorruptedRecord (or
// StatusUnsupported for BMP v4 and other versions) with Err set to the same
// error; the caller can go on with the next frame.
func (d *Decoder) Decode(frame []byte, res *Result) error {
	res.reset()
	res.Record.Type = decode.RecordUpdate
	res.Record.Format = decode.FormatBMP
	res.Record.Project = d.cfg.project
	res.Record.Collector = d.cfg.collector
	res.Record.Router = d.cfg.router
	res.Record.RouterIP = d.cfg.routerIP
	err := d.decode(frame, res)
	if err != nil {
		res.Record.Status = decode.StatusCorruptedRecord
		if isVersion(err) {
			res.Record.Status = decode.StatusUnsupported
		}
		res.Record.Err = err
	}
	return err
}

func isVersion(err error) bool { return errors.Is(err, ErrVersion) }

func (d *Decoder) decode(frame []byte, res *Result) error {
	base := 0
	bmp := frame
	switch {
	case len(frame) >= 4 && string(frame[:4]) == Magic:
		hl, err := decodeHeaderInto(&res.Header, frame, d.strings)
		if err != nil {
			return err
		}
		res.HasHeader = true
		h := &res.Header
		res.n = hl + h.BMPLen
		res.Record.Time = h.CollectedAt
		res.Record.Collector = h.AdminID
		res.Key = KeyOf(h)
		if h.Flags&FlagRouterMessage != 0 {
			res.Record.Router = h.RouterGroup
			res.Record.RouterIP = h.RouterIP
		}
		if h.ObjectType != ObjectBMPRaw {
			res.Record.Status = decode.StatusUnsupported
			res.Record.Err = errAt(13, "OpenBMP header", fmt.Errorf("%w: object type %d (not BMP_RAW)", ErrUnsupported, h.ObjectType))
			return nil
		}
		if len(frame)-hl < h.BMPLen {
			return truncAt(hl, "BMP message (OpenBMP message length)", h.BMPLen, len(frame)-hl)
		}
		base, bmp = hl, frame[hl:hl+h.BMPLen]
	case len(frame) >= 3 && string(frame[:3]) == "V: ":
		t, hl, err := DecodeTextHeader(frame)
		if err != nil {
			return err
		}
		if len(frame)-hl < t.BMPLen {
			return truncAt(hl, "BMP message (text header L)", t.BMPLen, len(frame)-hl)
		}
		res.Record.RouterIP = t.RouterIP
		if t.RouterHash != ([16]byte{}) {
			res.Key = RouterKey(t.RouterHash)
		} else if t.RouterIP.IsValid() {
			res.Key = RouterKey(t.RouterIP.As16())
		}
		base, bmp = hl, frame[hl:hl+t.BMPLen]
		res.n = hl + t.BMPLen
	}
	if base == 0 && len(bmp) > 0 && (bmp[0] < 1 || bmp[0] > 4) {
		return errAt(0, "frame", fmt.Errorf("%w: not an OpenBMP, OpenBMP text or BMP message (first bytes % x)", ErrMalformed, bmp[:min(len(bmp), 8)]))
	}
	ch, err := DecodeCommonHeader(bmp)
	if err != nil {
		return shift(err, base)
	}
	res.MsgType = ch.Type
	bmp = bmp[:ch.Length]
	if base == 0 {
		res.n = ch.Length
	}
	p := commonHeaderLen
	if ch.Type.hasPeerHeader() {
		ph, err := DecodePeerHeader(bmp[p:])
		if err != nil {
			return shift(err, base+p)
		}
		res.Peer = ph
		if !res.HasHeader && ph.Time != 0 {
			res.Record.Time = ph.Time
		}
		p += PeerHeaderLen
	}
	body := bmp[p:]
	off := base + p
	switch ch.Type {
	case MsgRouteMonitoring:
		return d.routeMonitoring(res, body, off)
	case MsgStatisticsReport:
		if r := d.router(res.Key, false); r != nil {
			d.setRouterName(res, r)
		}
		ph := &res.Peer
		proto := decode.Stat{RouterIP: res.Record.RouterIP, PeerIP: ph.Addr, PeerASN: ph.ASN, PeerType: ph.Type,
			PeerDistinguisher: ph.Distinguisher, Time: ph.Time}
		res.Stats, err = appendStats(res.Stats, body, off, proto)
		return err
	case MsgPeerDown:
		if err := DecodePeerDown(&res.PeerDown, body, off); err != nil {
			return err
		}
		if r := d.router(res.Key, false); r != nil {
			d.setRouterName(res, r)
			k := PeerKey{res.Peer.Type, res.Peer.Distinguisher, res.Peer.Addr}
			if _, ok := r.sessions[k]; ok {
				delete(r.sessions, k)
				d.sessions--
				d.noteSession(res.Key, k, nil)
			}
		}
		d.stateElem(res, decode.StateIdle)
		return nil
	case MsgPeerUp:
		ph := &res.Peer
		if err := DecodePeerUp(&res.PeerUp, body, ph.Type != decode.BMPPeerLocRIB && ph.Flags&PeerFlagV != 0, off); err != nil {
			return err
		}
		r := d.router(res.Key, true)
		d.setRouterName(res, r)
		k := PeerKey{ph.Type, ph.Distinguisher, ph.Addr}
		s := r.sessions[k]
		if s == nil {
			if d.sessions >= d.cfg.maxSessions {
				d.evict(res.Key, r)
			}
			s = new(Session)
			r.sessions[k] = s
			d.sessions++
		}
		// RFC 7854 §4.10: Sent OPEN is the one the monitored router sent;
		// Route Monitoring of Adj-RIB-In carries UPDATEs the peer sent.
		// A Peer Up for a peer already known updates the families its OPENs
		// name and keeps the others: Loc-RIB instances (RFC 9069) are
		// reported with one Peer Up per address family.
		mask := familyMask(&res.PeerUp.Sent) | familyMask(&res.PeerUp.Received)
		in := decode.SessionOptions(&res.PeerUp.Received, &res.PeerUp.Sent)
		out := decode.SessionOptions(&res.PeerUp.Sent, &res.PeerUp.Received)
		s.In.AS4, s.Out.AS4 = in.AS4, out.AS4
		s.In.AddPath = s.In.AddPath&^mask | in.AddPath&mask
		s.Out.AddPath = s.Out.AddPath&^mask | out.AddPath&mask
		s.ASN = ph.ASN
		d.noteSession(res.Key, k, s)
		st := decode.StateEstablished
		if d.cfg.peerUpActive {
			st = decode.StateActive
		}
		d.stateElem(res, st)
		return nil
	case MsgInitiation:
		if err := res.Initiation.decode(body, off, false); err != nil {
			return err
		}
		// A new BMP session: what earlier sessions taught no longer holds.
		if r := d.router(res.Key, false); r != nil {
			d.noteDropped(res.Key, r, false)
			d.sessions -= len(r.sessions)
			clear(r.sessions)
		}
		r := d.router(res.Key, true)
		r.sysName, r.init = res.Initiation.SysName, true
		d.noteRouter(res.Key, r)
		d.setRouterName(res, r)
		return nil
	case MsgTermination:
		if err := res.Initiation.decode(body, off, true); err != nil {
			return err
		}
		if r := d.router(res.Key, false); r != nil {
			d.setRouterName(res, r)
		}
		d.DropRouter(res.Key)
		return nil
	case MsgRouteMirroring:
		if r := d.router(res.Key, false); r != nil {
			d.setRouterName(res, r)
		}
		return DecodeRouteMirroring(&res.Mirroring, body, off)
	}
	return errAt(base+5, "BMP common header", fmt.Errorf("%w: message type %d", ErrMalformed, ch.Type))
}

// familyMask returns the AddPath bits of the families an OPEN negotiates
// (IPv4 unicast when it has no multiprotocol capability, RFC 4760 §8).
func familyMask(o *decode.Open) uint8 {
	if len(o.Families) == 0 {
		return decode.AddPathBit(decode.Family{AFI: decode.AFIIPv4, SAFI: decode.SAFIUnicast})
	}
	var m uint8
	for _, f := range o.Families {
		m |= decode.AddPathBit(f)
	}
	return m
}

// setRouterName uses the Initiation's sysName when no router group names
// the router.
func (d *Decoder) setRouterName(res *Result, r *routerState) {
	if res.Record.Router == "" || (!res.HasHeader && r.sysName != "") {
		if r.sysName != "" {
			res.Record.Router = r.sysName
		}
	}
}

func (d *Decoder) stateElem(res *Result, st decode.PeerState) {
	ph := &res.Peer
	e := decode.Elem{Type: decode.ElemPeerState, Time: ph.Time, PeerIP: ph.Addr, PeerASN: ph.ASN,
		NewState: st, BMP: ph.Info()}
	if e.Time == 0 {
		e.Time = res.Record.Time
	}
	res.Elems = append(res.Elems, e)
}

func (d *Decoder) routeMonitoring(res *Result, body []byte, off int) error {
	ph := &res.Peer
	var opts decode.Options
	noPeerUp := true
	if r := d.router(res.Key, false); r != nil {
		d.setRouterName(res, r)
		if s := r.sessions[PeerKey{ph.Type, ph.Distinguisher, ph.Addr}]; s != nil {
			noPeerUp = false
			if ph.AdjRIBOut() {
				opts = s.Out
			} else {
				opts = s.In
			}
		}
	}
	if noPeerUp {
		// Documented default: the A flag decides the AS_PATH width, no
		// ADD-PATH.
		opts.AS4 = !ph.AS2()
	} else if ph.AS2() {
		opts.AS4 = false
	}
	h, err := decode.DecodeHeader(body)
	if err != nil {
		return errAt(off, "Route Monitoring BGP message", err)
	}
	if h.Type != decode.MsgUpdate {
		return errAt(off+18, "Route Monitoring BGP message", fmt.Errorf("%w: BGP message type %s, want UPDATE", ErrMalformed, h.Type))
	}
	u := &res.Update
	if err := decode.DecodeUpdate(u, body[decode.HeaderLen:h.Length], &opts); err != nil {
		if de, ok := err.(*decode.Error); ok {
			return errAt(off+decode.HeaderLen+de.Offset, "Route Monitoring UPDATE", err)
		}
		return errAt(off+decode.HeaderLen, "Route Monitoring UPDATE", err)
	}
	res.Unsupported = append(res.Unsupported, u.Unsupported...)
	info := ph.Info()
	info.NoPeerUp = noPeerUp
	t := ph.Time
	if t == 0 {
		t = res.Record.Time
	}
	n := len(res.Elems)
	res.Elems = growElems(res.Elems, len(u.Withdrawn)+len(u.Announced))
	es := res.Elems[n:]
	i := 0
	for j := range u.Withdrawn {
		w := &u.Withdrawn[j]
		es[i] = decode.Elem{Type: decode.ElemWithdrawal, Time: t, PeerIP: ph.Addr, PeerASN: ph.ASN,
			Prefix: w.Prefix, PathID: w.PathID, HasPathID: w.HasPathID, BMP: info}
		i++
	}
	for j := range u.Announced {
		a := &u.Announced[j]
		es[i] = decode.Elem{Type: decode.ElemAnnouncement, Time: t, PeerIP: ph.Addr, PeerASN: ph.ASN,
			Prefix: a.Prefix, PathID: a.PathID, HasPathID: a.HasPathID, NextHop: a.NextHop, Attrs: &u.Attrs, BMP: info}
		i++
	}
	return nil
}

func growElems(s []decode.Elem, n int) []decode.Elem {
	if cap(s)-len(s) < n {
		ns := make([]decode.Elem, len(s), len(s)+n+cap(s))
		copy(ns, s)
		s = ns
	}
	return s[:len(s)+n]
}
