package decode

import (
	"errors"
	"fmt"
	"net/netip"
)

// DecodeUpdate decodes the body of an UPDATE message (the bytes after the
// 19-byte header, RFC 4271 §4.3) into dst, reusing dst's storage.
//
// Path attribute faults follow RFC 7606: they are recorded in
// dst.Attrs.Errors with their action, the faulty attribute is discarded, and
// under treat-as-withdraw the announced prefixes move to dst.Withdrawn. A
// non-nil error is returned only when the message cannot be framed (the
// session-reset level); dst then holds what was decoded before the fault,
// and a fault in the NLRI field is also recorded in dst.Attrs.
// AS4_PATH and AS4_AGGREGATOR are merged per RFC 6793 §4.2.3 when o.AS4 is
// false. dst.Attrs.Unknown values alias body; nothing else does.
func DecodeUpdate(dst *Update, body []byte, o *Options) error {
	dst.Reset()
	if len(body) < 4 {
		return &Error{Offset: 0, Field: "UPDATE", Action: ActionSessionReset, Err: fmt.Errorf("%w: %d bytes, need 4", ErrTruncated, len(body))}
	}
	wlen := int(be16(body))
	if 2+wlen+2 > len(body) {
		return &Error{Offset: 0, Field: "withdrawn routes length", Action: ActionSessionReset,
			Err: fmt.Errorf("%w: %d bytes declared, %d present", ErrMalformed, wlen, len(body)-4)}
	}
	var err error
	v4 := Family{AFIIPv4, SAFIUnicast}
	dst.Withdrawn, err = appendPrefixes(dst.Withdrawn, body[2:2+wlen], v4, o.HasAddPath(v4), netip.Addr{}, 2, "withdrawn routes")
	if err != nil {
		return err
	}
	aoff := 2 + wlen
	alen := int(be16(body[aoff:]))
	if aoff+2+alen > len(body) {
		return &Error{Offset: aoff, Field: "total path attribute length", Action: ActionSessionReset,
			Err: fmt.Errorf("%w: %d bytes declared, %d present", ErrMalformed, alen, len(body)-aoff-2)}
	}
	nlri := body[aoff+2+alen:]
	if err := decodeAttrs(&dst.Attrs, body[aoff+2:aoff+2+alen], aoff+2, o, dst, false); err != nil {
		return err
	}
	a := &dst.Attrs
	if len(nlri) > 0 {
		dst.Announced, err = appendPrefixes(dst.Announced, nlri, v4, o.HasAddPath(v4), a.NextHop, aoff+2+alen, "NLRI")
		if err != nil {
			// The prefixes before the fault are kept, marked with the
			// error, so a caller may still report them.
			a.Errors = append(a.Errors, err.(*Error))
			a.Action = ActionSessionReset
			return err
		}
		// RFC 7606 §3 (d): NLRI present but a mandatory attribute missing
		// is treat-as-withdraw.
		if !a.Has(AttrOrigin) || !a.Has(AttrASPath) || (!a.Has(AttrNextHop) && a.Action < ActionTreatAsWithdraw) {
			missing := "ORIGIN"
			switch {
			case !a.Has(AttrOrigin):
			case !a.Has(AttrASPath):
				missing = "AS_PATH"
			default:
				missing = "NEXT_HOP"
			}
			a.addError(aoff, "path attributes", ActionTreatAsWithdraw, fmt.Errorf("%w: mandatory attribute %s missing", ErrMalformed, missing))
		}
	}
	if a.Action >= ActionTreatAsWithdraw && len(dst.Announced) > 0 {
		dst.Withdrawn = append(dst.Withdrawn, dst.Announced...)
		dst.Announced = dst.Announced[:0]
	}
	if wlen == 0 && alen == 0 && len(nlri) == 0 {
		dst.EndOfRIB = true
	}
	return nil
}

// DecodeAttrs decodes a path attribute list (as stored in MRT RIB entries)
// into dst. The MP_REACH_NLRI attribute may be in the abbreviated form of
// RFC 6396 §4.3.4 (next hop only) or in the full form; its next hop goes to
// dst.MPNextHop and any NLRI it carries are ignored. Faults are recorded as in
// DecodeUpdate; a non-nil error means the list could not be framed.
func DecodeAttrs(dst *Attrs, b []byte, o *Options) error {
	dst.Reset()
	return decodeAttrs(dst, b, 0, o, nil, true)
}

func (a *Attrs) addError(off int, field string, act ErrorAction, err error) {
	a.Errors = append(a.Errors, &Error{Offset: off, Field: field, Action: act, Err: err})
	if act > a.Action {
		a.Action = act
	}
}

// addMPError records a fault inside MP_REACH_NLRI or MP_UNREACH_NLRI: RFC 7606
// §7.11 calls for AFI/SAFI disable (or session reset); a passive reader keeps
// the other families.
func (a *Attrs) addMPError(off int, field string, err error) {
	var de *Error
	if errors.As(err, &de) {
		de.Action = ActionAFISAFIDisable
		a.Errors = append(a.Errors, de)
		a.Action = max(a.Action, ActionAFISAFIDisable)
		return
	}
	a.addError(off, field, ActionAFISAFIDisable, err)
}

// flagExtLen is the Extended Length bit of the attribute flags (RFC 4271 §4.3).
const flagExtLen = 0x10

var attrNames = [...]string{
	AttrOrigin: "ORIGIN", AttrASPath: "AS_PATH", AttrNextHop: "NEXT_HOP", AttrMED: "MULTI_EXIT_DISC",
	AttrLocalPref: "LOCAL_PREF", AttrAtomicAggregate: "ATOMIC_AGGREGATE", AttrAggregator: "AGGREGATOR",
	AttrCommunities: "COMMUNITIES", AttrOriginatorID: "ORIGINATOR_ID", AttrClusterList: "CLUSTER_LIST",
	AttrMPReach: "MP_REACH_NLRI", AttrMPUnreach: "MP_UNREACH_NLRI", AttrExtCommunities: "EXTENDED_COMMUNITIES",
	AttrAS4Path: "AS4_PATH", AttrAS4Aggregator: "AS4_AGGREGATOR", AttrLargeCommunities: "LARGE_COMMUNITY",
	AttrOnlyToCustomer: "ONLY_TO_CUSTOMER",
}

// String returns the attribute's RFC name or "ATTR(n)".
func (t AttrType) String() string {
	if int(t) < len(attrNames) && attrNames[t] != "" {
		return attrNames[t]
	}
	return fmt.Sprintf("ATTR(%d)", uint8(t))
}

// decodeAttrs walks the attribute list. base is b's offset in the message,
// for error offsets. u receives MP_REACH/MP_UNREACH NLRI; rib says the list
// comes from an MRT RIB entry (abbreviated MP_REACH allowed, NLRI ignored).
func decodeAttrs(a *Attrs, b []byte, base int, o *Options, u *Update, rib bool) error {
	var as4path []byte
	as4Off := 0
	var as4agg Aggregator
	hasAS4Agg := false
	for p := 0; p < len(b); {
		if len(b)-p < 3 {
			// RFC 7606 §4: can't parse the attribute header: treat-as-withdraw
			// and stop.
			a.addError(base+p, "path attribute header", ActionTreatAsWithdraw, fmt.Errorf("%w: %d bytes left", ErrTruncated, len(b)-p))
			break
		}
		flags, typ := b[p], AttrType(b[p+1])
		hl, l := 3, 0
		if flags&flagExtLen != 0 {
			if len(b)-p < 4 {
				a.addError(base+p, typ.String(), ActionTreatAsWithdraw, fmt.Errorf("%w: extended length cut", ErrTruncated))
				break
			}
			hl, l = 4, int(be16(b[p+2:]))
		} else {
			l = int(b[p+2])
		}
		if p+hl+l > len(b) {
			a.addError(base+p, typ.String(), ActionTreatAsWithdraw, fmt.Errorf("%w: length %d, %d bytes left", ErrTruncated, l, len(b)-p-hl))
			break
		}
		v := b[p+hl : p+hl+l]
		off := base + p
		p += hl + l
		// RFC 7606 §3 (g): a repeated attribute other than MP_REACH/UNREACH
		// keeps the first occurrence.
		if typ != AttrMPReach && typ != AttrMPUnreach && a.Has(typ) {
			a.addError(off, typ.String(), ActionAttributeDiscard, fmt.Errorf("%w: repeated attribute", ErrMalformed))
			continue
		}
		switch typ {
		case AttrOrigin:
			if l != 1 || v[0] > 2 {
				a.addError(off, "ORIGIN", ActionTreatAsWithdraw, fmt.Errorf("%w: length %d", ErrMalformed, l))
				continue
			}
			a.Origin = Origin(v[0])
		case AttrASPath:
			if err := decodeASPath(&a.ASPath, v, o.AS4); err != nil {
				// RFC 7606 §7.2: malformed AS_PATH is treat-as-withdraw.
				a.ASPath.Reset()
				a.addError(off, "AS_PATH", ActionTreatAsWithdraw, err)
				continue
			}
		case AttrNextHop:
			if l != 4 {
				a.addError(off, "NEXT_HOP", ActionTreatAsWithdraw, fmt.Errorf("%w: length %d, want 4", ErrMalformed, l))
				continue
			}
			a.NextHop = netip.AddrFrom4([4]byte(v))
		case AttrMED, AttrLocalPref, AttrOnlyToCustomer:
			if l != 4 {
				// RFC 7606 §7.4/§7.5 (LOCAL_PREF from eBGP is discarded, but
				// a passive reader cannot tell): treat-as-withdraw; OTC per
				// RFC 9234 §5.
				a.addError(off, typ.String(), ActionTreatAsWithdraw, fmt.Errorf("%w: length %d, want 4", ErrMalformed, l))
				continue
			}
			switch typ {
			case AttrMED:
				a.MED = be32(v)
			case AttrLocalPref:
				a.LocalPref = be32(v)
			default:
				a.OnlyToCustomer = be32(v)
			}
		case AttrAtomicAggregate:
			if l != 0 {
				a.addError(off, "ATOMIC_AGGREGATE", ActionAttributeDiscard, fmt.Errorf("%w: length %d, want 0", ErrMalformed, l))
				continue
			}
			a.AtomicAggregate = true
		case AttrAggregator:
			switch {
			case l == 8 && o.AS4:
				a.Aggregator = Aggregator{ASN: be32(v), Addr: netip.AddrFrom4([4]byte(v[4:]))}
			case l == 6 && !o.AS4:
				a.Aggregator = Aggregator{ASN: uint32(be16(v)), Addr: netip.AddrFrom4([4]byte(v[2:]))}
			case l == 8: // a 4-byte aggregator on a 2-byte session: accept what the length says
				a.Aggregator = Aggregator{ASN: be32(v), Addr: netip.AddrFrom4([4]byte(v[4:]))}
			case l == 6:
				a.Aggregator = Aggregator{ASN: uint32(be16(v)), Addr: netip.AddrFrom4([4]byte(v[2:]))}
			default:
				a.addError(off, "AGGREGATOR", ActionAttributeDiscard, fmt.Errorf("%w: length %d", ErrMalformed, l))
				continue
			}
		case AttrCommunities:
			if l%4 != 0 {
				a.addError(off, "COMMUNITIES", ActionTreatAsWithdraw, fmt.Errorf("%w: length %d not a multiple of 4", ErrMalformed, l))
				continue
			}
			for i := 0; i < l; i += 4 {
				a.Communities = append(a.Communities, Community(be32(v[i:])))
			}
		case AttrOriginatorID:
			if l != 4 {
				a.addError(off, "ORIGINATOR_ID", ActionTreatAsWithdraw, fmt.Errorf("%w: length %d, want 4", ErrMalformed, l))
				continue
			}
			a.OriginatorID = netip.AddrFrom4([4]byte(v))
		case AttrClusterList:
			if l%4 != 0 {
				a.addError(off, "CLUSTER_LIST", ActionTreatAsWithdraw, fmt.Errorf("%w: length %d not a multiple of 4", ErrMalformed, l))
				continue
			}
			for i := 0; i < l; i += 4 {
				a.ClusterList = append(a.ClusterList, netip.AddrFrom4([4]byte(v[i:])))
			}
		case AttrMPReach:
			if err := decodeMPReach(a, v, off, o, u, rib); err != nil {
				a.addMPError(off, "MP_REACH_NLRI", err)
				continue
			}
		case AttrMPUnreach:
			if err := decodeMPUnreach(a, v, off, o, u); err != nil {
				a.addMPError(off, "MP_UNREACH_NLRI", err)
				continue
			}
		case AttrExtCommunities:
			if l%8 != 0 {
				a.addError(off, "EXTENDED_COMMUNITIES", ActionTreatAsWithdraw, fmt.Errorf("%w: length %d not a multiple of 8", ErrMalformed, l))
				continue
			}
			for i := 0; i < l; i += 8 {
				a.ExtCommunities = append(a.ExtCommunities, ExtCommunity(v[i:i+8]))
			}
		case AttrLargeCommunities:
			if l%12 != 0 {
				a.addError(off, "LARGE_COMMUNITY", ActionTreatAsWithdraw, fmt.Errorf("%w: length %d not a multiple of 12", ErrMalformed, l))
				continue
			}
			for i := 0; i < l; i += 12 {
				a.LargeCommunities = append(a.LargeCommunities, LargeCommunity{be32(v[i:]), be32(v[i+4:]), be32(v[i+8:])})
			}
		case AttrAS4Path:
			as4path, as4Off = v, off
		case AttrAS4Aggregator:
			if l != 8 {
				a.addError(off, "AS4_AGGREGATOR", ActionAttributeDiscard, fmt.Errorf("%w: length %d, want 8", ErrMalformed, l))
				continue
			}
			as4agg, hasAS4Agg = Aggregator{ASN: be32(v), Addr: netip.AddrFrom4([4]byte(v[4:]))}, true
		default:
			a.Unknown = append(a.Unknown, RawAttr{Flags: flags, Type: typ, Value: v})
		}
		a.Set(typ)
	}
	if !o.AS4 {
		mergeAS4(a, as4path, as4Off, as4agg, hasAS4Agg)
	}
	return nil
}

// mergeAS4 applies RFC 6793 §4.2.3 on a session where the speaker is a
// 2-byte ("OLD") speaker: AS4_AGGREGATOR replaces an AGGREGATOR of AS_TRANS,
// and AS4_PATH replaces the trailing part of AS_PATH when it is not longer
// than AS_PATH. When AGGREGATOR is present and not AS_TRANS, both AS4_
// attributes are ignored.
func mergeAS4(a *Attrs, as4path []byte, off int, agg Aggregator, hasAgg bool) {
	if a.Has(AttrAggregator) && a.Aggregator.ASN != ASTrans {
		return
	}
	if hasAgg && a.Has(AttrAggregator) {
		a.Aggregator = agg
	}
	if as4path == nil || !a.Has(AttrASPath) {
		return
	}
	p4 := &a.scratch4
	p4.Reset()
	if err := decodeASPath(p4, as4path, true); err != nil {
		// RFC 6793 §6: a malformed AS4_PATH is discarded (attribute discard).
		a.addError(off, "AS4_PATH", ActionAttributeDiscard, err)
		return
	}
	// Confederation segments in AS4_PATH are discarded (RFC 6793 §6).
	n2, n4 := a.ASPath.Len(), p4.Len()
	if n2 < n4 {
		return
	}
	// Keep the first n2-n4 path-length units of AS_PATH, then append AS4_PATH.
	keep := n2 - n4
	out := &a.scratchOut
	out.Reset()
	for i := 0; i < a.ASPath.NumSegments() && keep > 0; i++ {
		typ, asns := a.ASPath.Segment(i)
		switch typ {
		case SegSequence:
			if len(asns) > keep {
				asns = asns[:keep]
			}
			keep -= len(asns)
		case SegSet:
			keep--
		}
		out.AppendSegment(typ, asns...)
	}
	for i := 0; i < p4.NumSegments(); i++ {
		typ, asns := p4.Segment(i)
		if typ == SegConfedSeq || typ == SegConfedSet {
			continue
		}
		// A sequence continuing a sequence stays one segment.
		if typ == SegSequence && len(out.segs) > 0 && out.segs[len(out.segs)-1].typ == SegSequence {
			out.asns = append(out.asns, asns...)
			out.segs[len(out.segs)-1].end = uint32(len(out.asns))
			continue
		}
		out.AppendSegment(typ, asns...)
	}
	a.ASPath.CopyFrom(out)
}

// decodeASPath decodes AS_PATH or AS4_PATH segments (RFC 4271 §4.3).
func decodeASPath(p *ASPath, v []byte, as4 bool) error {
	w := 2
	if as4 {
		w = 4
	}
	for i := 0; i < len(v); {
		if len(v)-i < 2 {
			return fmt.Errorf("%w: segment header cut at %d", ErrTruncated, i)
		}
		typ, n := v[i], int(v[i+1])
		i += 2
		if typ < SegSet || typ > SegConfedSet {
			return fmt.Errorf("%w: segment type %d", ErrMalformed, typ)
		}
		if n == 0 {
			return fmt.Errorf("%w: empty segment", ErrMalformed)
		}
		if i+n*w > len(v) {
			return fmt.Errorf("%w: segment of %d ASNs needs %d bytes, %d left", ErrTruncated, n, n*w, len(v)-i)
		}
		start := uint32(len(p.asns))
		if as4 {
			for j := 0; j < n; j++ {
				p.asns = append(p.asns, be32(v[i+4*j:]))
			}
		} else {
			for j := 0; j < n; j++ {
				p.asns = append(p.asns, uint32(be16(v[i+2*j:])))
			}
		}
		i += n * w
		p.segs = append(p.segs, segment{typ: typ, start: start, end: uint32(len(p.asns))})
	}
	return nil
}

// decodeNextHop reads an MP_REACH next hop of length l for family f.
func decodeNextHop(a *Attrs, nh []byte) {
	switch len(nh) {
	case 4:
		a.MPNextHop = netip.AddrFrom4([4]byte(nh))
	case 16:
		a.MPNextHop = netip.AddrFrom16([16]byte(nh))
	case 32:
		a.MPNextHop = netip.AddrFrom16([16]byte(nh))
		a.MPNextHopLocal = netip.AddrFrom16([16]byte(nh[16:]))
	case 12: // VPN: 8-byte RD then IPv4
		a.MPNextHop = netip.AddrFrom4([4]byte(nh[8:]))
	case 24, 48: // VPN IPv6
		a.MPNextHop = netip.AddrFrom16([16]byte(nh[8:]))
	}
}

func decodeMPReach(a *Attrs, v []byte, off int, o *Options, u *Update, rib bool) error {
	// RFC 6396 §4.3.4: in TABLE_DUMP_V2 RIB entries only the next hop
	// length and next hop are written. Some writers use the full form; the
	// abbreviated one is recognised by its first byte equalling the rest.
	if rib && len(v) >= 1 && int(v[0]) == len(v)-1 {
		decodeNextHop(a, v[1:])
		return nil
	}
	if len(v) < 5 {
		return fmt.Errorf("%w: %d bytes, need 5", ErrTruncated, len(v))
	}
	f := Family{AFI: be16(v), SAFI: v[2]}
	nhl := int(v[3])
	if 4+nhl+1 > len(v) {
		return fmt.Errorf("%w: next hop length %d, %d bytes left", ErrTruncated, nhl, len(v)-4)
	}
	decodeNextHop(a, v[4:4+nhl])
	if rib || u == nil {
		return nil
	}
	nlri := v[4+nhl+1:] // skip the reserved octet
	if !f.Supported() {
		u.Unsupported = append(u.Unsupported, f)
		return nil
	}
	var err error
	u.Announced, err = appendPrefixes(u.Announced, nlri, f, o.HasAddPath(f), a.MPNextHop, off+4+nhl+1, "MP_REACH_NLRI")
	return err
}

func decodeMPUnreach(a *Attrs, v []byte, off int, o *Options, u *Update) error {
	if len(v) < 3 {
		return fmt.Errorf("%w: %d bytes, need 3", ErrTruncated, len(v))
	}
	if u == nil {
		return nil
	}
	f := Family{AFI: be16(v), SAFI: v[2]}
	if !f.Supported() {
		u.Unsupported = append(u.Unsupported, f)
		return nil
	}
	if len(v) == 3 {
		u.EndOfRIB = true
	}
	var err error
	u.Withdrawn, err = appendPrefixes(u.Withdrawn, v[3:], f, o.HasAddPath(f), netip.Addr{}, off+3, "MP_UNREACH_NLRI")
	return err
}

// appendPrefixes decodes a sequence of (path id,) length, prefix NLRI
// (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3).
func appendPrefixes(dst []NLRI, b []byte, f Family, addPath bool, nh netip.Addr, base int, field string) ([]NLRI, error) {
	maxBits := 32
	if f.AFI == AFIIPv6 {
		maxBits = 128
	}
	mc := f.SAFI == SAFIMulticast
	for i := 0; i < len(b); {
		n := NLRI{NextHop: nh, Multicast: mc}
		if addPath {
			if len(b)-i < 4 {
				return dst, &Error{Offset: base + i, Field: field, Action: ActionSessionReset, Err: fmt.Errorf("%w: path identifier cut", ErrTruncated)}
			}
			n.PathID, n.HasPathID = be32(b[i:]), true
			i += 4
		}
		if i >= len(b) {
			return dst, &Error{Offset: base + i, Field: field, Action: ActionSessionReset, Err: fmt.Errorf("%w: prefix length missing", ErrTruncated)}
		}
		bits := int(b[i])
		if bits > maxBits {
			return dst, &Error{Offset: base + i, Field: field, Action: ActionSessionReset, Err: fmt.Errorf("%w: prefix length %d exceeds %d", ErrMalformed, bits, maxBits)}
		}
		nb := (bits + 7) / 8
		if i+1+nb > len(b) {
			return dst, &Error{Offset: base + i, Field: field, Action: ActionSessionReset, Err: fmt.Errorf("%w: /%d prefix needs %d bytes, %d left", ErrTruncated, bits, nb, len(b)-i-1)}
		}
		if maxBits == 32 {
			var a [4]byte
			copy(a[:], b[i+1:i+1+nb])
			n.Prefix = netip.PrefixFrom(netip.AddrFrom4(a), bits)
		} else {
			var a [16]byte
			copy(a[:], b[i+1:i+1+nb])
			n.Prefix = netip.PrefixFrom(netip.AddrFrom16(a), bits)
		}
		i += 1 + nb
		dst = append(dst, n)
	}
	return dst, nil
}

// DecodePrefix decodes one prefix in NLRI encoding (length octet then the
// significant bytes) at the start of b, for address family afi. It returns
// the prefix and the bytes consumed. Used by MRT RIB records.
func DecodePrefix(b []byte, afi uint16) (netip.Prefix, int, error) {
	maxBits := 32
	if afi == AFIIPv6 {
		maxBits = 128
	}
	if len(b) < 1 {
		return netip.Prefix{}, 0, fmt.Errorf("%w: prefix length missing", ErrTruncated)
	}
	bits := int(b[0])
	if bits > maxBits {
		return netip.Prefix{}, 0, fmt.Errorf("%w: prefix length %d exceeds %d", ErrMalformed, bits, maxBits)
	}
	nb := (bits + 7) / 8
	if 1+nb > len(b) {
		return netip.Prefix{}, 0, fmt.Errorf("%w: /%d prefix needs %d bytes, %d left", ErrTruncated, bits, nb, len(b)-1)
	}
	if maxBits == 32 {
		var a [4]byte
		copy(a[:], b[1:1+nb])
		return netip.PrefixFrom(netip.AddrFrom4(a), bits), 1 + nb, nil
	}
	var a [16]byte
	copy(a[:], b[1:1+nb])
	return netip.PrefixFrom(netip.AddrFrom16(a), bits), 1 + nb, nil
}

// DecodeUpdateAddPathFallback is DecodeUpdate for UPDATEs whose writer may
// have put ADD-PATH NLRI where the session (or the MRT subtype) says there
// are none, as BIRD does: when the plain reading fails or calls for
// AFI/SAFI-disable and o asks for no ADD-PATH, the body is read again with
// path identifiers on every family, and that reading is kept if it is
// clean. Otherwise dst holds the plain reading and its error (the prefixes
// decoded before a framing fault included).
func DecodeUpdateAddPathFallback(dst *Update, b []byte, o *Options) error {
	err := DecodeUpdate(dst, b, o)
	if (err == nil && dst.Attrs.Action < ActionAFISAFIDisable) || o.AddPathAll || o.AddPath != 0 {
		return err
	}
	alt := *o
	alt.AddPathAll = true
	if DecodeUpdate(dst, b, &alt) == nil && dst.Attrs.Action < ActionAFISAFIDisable {
		return nil
	}
	return DecodeUpdate(dst, b, o)
}
