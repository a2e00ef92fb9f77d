package openbmp

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/bgp-connector/bgp-connector/decode"
)

// StateEntry is one entry of a Decoder's session state, the unit in which
// the state is exported, recorded and restored: either a router's
// Initiation (Router, SysName), or one peer session of a router (Router,
// HasPeer, Peer, Session). Entries are independent: each has its own key
// (AppendKey), and a set of entries, the last one per key winning and
// deleted ones dropped, is a Decoder's whole state — which is what a
// compacted Kafka changelog keeps.
type StateEntry struct {
	// Router is the router the entry belongs to.
	Router RouterKey
	// HasPeer says the entry is a peer session (Peer, Session); otherwise
	// it is the router's Initiation (SysName).
	HasPeer bool
	// Peer identifies the session.
	Peer PeerKey
	// Session is what the session's Peer Up taught.
	Session Session
	// SysName is the Initiation's sysName ("" when it had none).
	SysName string
	// Deleted says the entry is gone (a changelog tombstone): Peer Down
	// deletes a session; Termination deletes the router's Initiation and
	// sessions; a new Initiation, and eviction (WithMaxSessions), delete
	// sessions. Only Router, HasPeer and Peer are meaningful then.
	Deleted bool
}

// StateVersion is the version byte that starts every encoded StateEntry
// (AppendBinary). A decoder of this version rejects other versions.
const StateVersion = 1

// Kinds of encoded entries.
const (
	entryRouter  = 1
	entrySession = 2
)

// Option flag bits of an encoded session.
const (
	optAS4        = 1 << 0
	optAddPathAll = 1 << 1
)

// maxSysName bounds the sysName of an encoded entry: a BMP information TLV
// holds at most 65535 bytes.
const maxSysName = 65535

// AppendKey appends the entry's key, which identifies the entry across
// changes: the router key in hex, and for a session
// "/<peer type>/<distinguisher>/<peer address>" ("-" for no address), e.g.
// "5d41402abc4b2a76b9719d911017c592/0/0/192.0.2.2". It is text, so that a
// changelog reads well with kcat.
func (e *StateEntry) AppendKey(dst []byte) []byte {
	dst = hex.AppendEncode(dst, e.Router[:])
	if !e.HasPeer {
		return dst
	}
	dst = append(dst, '/')
	dst = strconv.AppendUint(dst, uint64(e.Peer.Type), 10)
	dst = append(dst, '/')
	dst = strconv.AppendUint(dst, e.Peer.Distinguisher, 10)
	dst = append(dst, '/')
	if !e.Peer.Addr.IsValid() {
		return append(dst, '-')
	}
	return e.Peer.Addr.AppendTo(dst)
}

// AppendBinary appends the entry's encoding (encoding.BinaryAppender): a
// compact, versioned binary form holding the entry's key fields too, so
// that a value decodes on its own. A deleted entry has no encoding (a
// changelog tombstone has no value): AppendBinary returns an error for it.
//
//	version (1) = StateVersion
//	kind (1): 1 router, 2 session
//	router key (16)
//	router:  sysName length (uvarint), sysName
//	session: peer type (1), distinguisher (8), address length (1: 0, 4
//	         or 16), address, In flags (1: bit 0 AS4, bit 1 AddPathAll),
//	         In AddPath (1), Out flags (1), Out AddPath (1), peer ASN (4)
//
// Integers are big-endian.
func (e *StateEntry) AppendBinary(dst []byte) ([]byte, error) {
	if e.Deleted {
		return dst, fmt.Errorf("openbmp: a deleted state entry has no encoding (it is a tombstone)")
	}
	if len(e.SysName) > maxSysName {
		return dst, fmt.Errorf("openbmp: state entry sysName of %d bytes, at most %d", len(e.SysName), maxSysName)
	}
	dst = append(dst, StateVersion)
	if !e.HasPeer {
		dst = append(dst, entryRouter)
		dst = append(dst, e.Router[:]...)
		dst = binary.AppendUvarint(dst, uint64(len(e.SysName)))
		return append(dst, e.SysName...), nil
	}
	dst = append(dst, entrySession)
	dst = append(dst, e.Router[:]...)
	dst = append(dst, byte(e.Peer.Type))
	dst = binary.BigEndian.AppendUint64(dst, e.Peer.Distinguisher)
	switch a := e.Peer.Addr; {
	case a.Is4():
		b := a.As4()
		dst = append(append(dst, 4), b[:]...)
	case a.Is6():
		b := a.As16()
		dst = append(append(dst, 16), b[:]...)
	default:
		dst = append(dst, 0)
	}
	dst = appendOptions(dst, &e.Session.In)
	dst = appendOptions(dst, &e.Session.Out)
	return binary.BigEndian.AppendUint32(dst, e.Session.ASN), nil
}

func appendOptions(dst []byte, o *decode.Options) []byte {
	var f byte
	if o.AS4 {
		f |= optAS4
	}
	if o.AddPathAll {
		f |= optAddPathAll
	}
	return append(dst, f, o.AddPath)
}

// UnmarshalBinary decodes an entry that AppendBinary encoded
// (encoding.BinaryUnmarshaler), replacing e. It rejects other versions
// (ErrVersion), unknown kinds and flag bits (ErrMalformed), and cut or
// overlong input (ErrTruncated, ErrMalformed); errors are *DecodeError
// values with the byte offset. It never panics.
func (e *StateEntry) UnmarshalBinary(b []byte) error {
	*e = StateEntry{}
	const head = 2 + len(RouterKey{})
	if len(b) < 1 {
		return truncAt(0, "state entry version", 1, 0)
	}
	if b[0] != StateVersion {
		return errAt(0, "state entry version", fmt.Errorf("%w %d (this decoder reads %d)", ErrVersion, b[0], StateVersion))
	}
	if len(b) < head {
		return truncAt(0, "state entry header", head, len(b))
	}
	e.Router = RouterKey(b[2:head])
	p := head
	switch b[1] {
	case entryRouter:
		n, w := binary.Uvarint(b[p:])
		if w <= 0 {
			return errAt(p, "state entry sysName length", fmt.Errorf("%w: bad uvarint", ErrMalformed))
		}
		p += w
		if n > maxSysName {
			return errAt(p-w, "state entry sysName length", fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, n, maxSysName))
		}
		if uint64(len(b)-p) < n {
			return truncAt(p, "state entry sysName", int(n), len(b)-p)
		}
		e.SysName = string(b[p : p+int(n)])
		p += int(n)
	case entrySession:
		e.HasPeer = true
		if len(b)-p < 10 {
			return truncAt(p, "state entry peer", 10, len(b)-p)
		}
		e.Peer.Type = decode.BMPPeerType(b[p])
		e.Peer.Distinguisher = be64(b[p+1:])
		n := int(b[p+9])
		p += 10
		switch n {
		case 0, 4, 16:
		default:
			return errAt(p-1, "state entry peer address length", fmt.Errorf("%w: %d, want 0, 4 or 16", ErrMalformed, n))
		}
		const tail = 4 + 4 // options and ASN
		if len(b)-p < n+tail {
			return truncAt(p, "state entry session", n+tail, len(b)-p)
		}
		switch n {
		case 4:
			e.Peer.Addr = netip.AddrFrom4([4]byte(b[p:]))
		case 16:
			e.Peer.Addr = netip.AddrFrom16([16]byte(b[p:]))
		}
		p += n
		for _, o := range [2]*decode.Options{&e.Session.In, &e.Session.Out} {
			f := b[p]
			if f&^(optAS4|optAddPathAll) != 0 {
				return errAt(p, "state entry session options", fmt.Errorf("%w: unknown flag bits %#02x", ErrMalformed, f))
			}
			o.AS4, o.AddPathAll, o.AddPath = f&optAS4 != 0, f&optAddPathAll != 0, b[p+1]
			p += 2
		}
		e.Session.ASN = be32(b[p:])
		p += 4
	default:
		return errAt(1, "state entry kind", fmt.Errorf("%w: kind %d", ErrMalformed, b[1]))
	}
	if p != len(b) {
		return errAt(p, "state entry", fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b)-p))
	}
	return nil
}

// RecordChanges turns the recording of state changes on or off (default
// off). While on, every change a Decode makes to the session state — the
// entries an Initiation, Peer Up, Peer Down, Termination, DropRouter or an
// eviction set or delete — is kept until AppendChanges takes it. Route
// Monitoring, Statistics and Route Mirroring change nothing, so recording
// costs nothing on the hot path.
func (d *Decoder) RecordChanges(on bool) {
	d.track = on
	if !on {
		d.changes = d.changes[:0]
	}
}

// AppendChanges appends the changes recorded since the last call, in the
// order they happened, to dst and forgets them. Applying them in order to
// a copy of the state (ImportState, or a changelog keyed by AppendKey)
// keeps the copy equal to the Decoder's state.
func (d *Decoder) AppendChanges(dst []StateEntry) []StateEntry {
	dst = append(dst, d.changes...)
	clear(d.changes)
	d.changes = d.changes[:0]
	return dst
}

// HasChanges reports whether changes are recorded and not yet taken.
func (d *Decoder) HasChanges() bool { return len(d.changes) > 0 }

// ExportState appends the Decoder's whole session state to dst, one entry
// per router Initiation and per peer session, sorted by router, then
// Initiation before sessions, then peer.
func (d *Decoder) ExportState(dst []StateEntry) []StateEntry {
	first := len(dst)
	for k, r := range d.routers {
		if r.init {
			dst = append(dst, StateEntry{Router: k, SysName: r.sysName})
		}
		for pk, s := range r.sessions {
			dst = append(dst, StateEntry{Router: k, HasPeer: true, Peer: pk, Session: *s})
		}
	}
	slices.SortFunc(dst[first:], compareEntries)
	return dst
}

func compareEntries(a, b StateEntry) int {
	if c := bytes.Compare(a.Router[:], b.Router[:]); c != 0 {
		return c
	}
	if a.HasPeer != b.HasPeer {
		if a.HasPeer {
			return 1
		}
		return -1
	}
	return cmp.Or(cmp.Compare(a.Peer.Type, b.Peer.Type), cmp.Compare(a.Peer.Distinguisher, b.Peer.Distinguisher), a.Peer.Addr.Compare(b.Peer.Addr))
}

// ImportState applies entries, in order, to the Decoder's state: each sets
// or (Deleted) removes the router Initiation or peer session it names, as
// if the message that made it had been decoded. It records no changes.
// Importing what ExportState (or a changelog of AppendChanges) gave into a
// new Decoder yields one that decodes the rest of the stream as the
// original would.
func (d *Decoder) ImportState(entries []StateEntry) {
	track := d.track
	d.track = false
	defer func() { d.track = track }()
	for i := range entries {
		d.apply(&entries[i])
	}
}

func (d *Decoder) apply(e *StateEntry) {
	if e.Deleted {
		r := d.routers[e.Router]
		if r == nil {
			return
		}
		if e.HasPeer {
			if _, ok := r.sessions[e.Peer]; ok {
				delete(r.sessions, e.Peer)
				d.sessions--
			}
		} else {
			r.sysName, r.init = "", false
		}
		if !r.init && len(r.sessions) == 0 {
			d.DropRouter(e.Router)
		}
		return
	}
	r := d.router(e.Router, true)
	if !e.HasPeer {
		r.sysName, r.init = e.SysName, true
		return
	}
	s := r.sessions[e.Peer]
	if s == nil {
		if d.sessions >= d.cfg.maxSessions {
			d.evict(e.Router, r)
		}
		s = new(Session)
		r.sessions[e.Peer] = s
		d.sessions++
	}
	*s = e.Session
}

// Reset forgets the whole session state (and any recorded changes), as a
// new Decoder with the same options.
func (d *Decoder) Reset() {
	clear(d.routers)
	d.sessions = 0
	d.last = nil
	d.changes = d.changes[:0]
}

// noteRouter records that router k's Initiation entry is now r's.
func (d *Decoder) noteRouter(k RouterKey, r *routerState) {
	if d.track {
		d.changes = append(d.changes, StateEntry{Router: k, SysName: r.sysName})
	}
}

// noteSession records that session pk of router k is now s (nil: deleted).
func (d *Decoder) noteSession(k RouterKey, pk PeerKey, s *Session) {
	if !d.track {
		return
	}
	e := StateEntry{Router: k, HasPeer: true, Peer: pk, Deleted: s == nil}
	if s != nil {
		e.Session = *s
	}
	d.changes = append(d.changes, e)
}

// noteDropped records the deletion of every session of router k (r), and
// of its Initiation entry too when router.
func (d *Decoder) noteDropped(k RouterKey, r *routerState, router bool) {
	if !d.track {
		return
	}
	first := len(d.changes)
	for pk := range r.sessions {
		d.changes = append(d.changes, StateEntry{Router: k, HasPeer: true, Peer: pk, Deleted: true})
	}
	slices.SortFunc(d.changes[first:], compareEntries) // deterministic order
	if router && r.init {
		d.changes = append(d.changes, StateEntry{Router: k, Deleted: true})
	}
}
