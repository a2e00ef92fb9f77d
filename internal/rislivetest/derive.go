// Package rislivetest is test support for package rislive: a fake RIS Live
// server ([Server]: the real one cannot be reached from the tests) that
// replays RIS Live JSON lines over the websocket API and the firehose, and
// [Derive], which writes real RIS MRT update records as the RIS Live
// messages RIS Live would have sent for them, so that tests replay long,
// real streams whose elems can be checked against package mrt.
//
// It is not a RIS Live implementation: it does not filter by subscription
// (it records what was asked), and it is not imported outside tests and the
// derive-ris-live program.
package rislivetest

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strconv"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// DeriveOptions say how Derive writes its messages.
type DeriveOptions struct {
	// Host is the "host" field ("rrc06", or "rrc06.ripe.net" as RIS Live
	// writes it since 2022).
	Host string
	// OmitRaw leaves out "raw", so that a reader must use the JSON fields.
	OmitRaw bool
	// Style2019 writes "origin" in lower case and leaves out empty arrays,
	// as RIS Live did in 2019; the default is the 2022+ style (upper case,
	// empty "path", "community" and "announcements" on withdrawals).
	Style2019 bool
}

// DeriveStats counts what Derive wrote.
type DeriveStats struct {
	// Records is the number of MRT records read.
	Records int
	// Lines is the number of lines written: one per BGP4MP(_ET)
	// MESSAGE_AS4 record, in order.
	Lines int
	// Updates, Keepalives, Opens, Notifications count the lines by type.
	Updates, Keepalives, Opens, Notifications int
}

// Derive reads an MRT updates file (any compression) and writes one RIS
// Live JSON line per BGP4MP or BGP4MP_ET MESSAGE_AS4 record, in order: a
// ris_message of the BGP message's type with "raw" (the BGP message in hex,
// marker included), "host", "peer", "peer_asn", "id" and "timestamp" from
// the record, and for an UPDATE the JSON fields RIS Live adds ("path",
// "community", "origin", "med", "aggregator", "announcements",
// "withdrawals"), computed with decode.DecodeUpdate. Other records are
// skipped, so line i is the i-th MESSAGE_AS4 record.
func Derive(r io.Reader, w io.Writer, o DeriveOptions) (DeriveStats, error) {
	var st DeriveStats
	rd, err := mrt.NewReader(r)
	if err != nil {
		return st, err
	}
	defer rd.Close()
	var (
		buf []byte
		upd decode.Update
	)
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			if _, ok := err.(*mrt.GapError); ok {
				continue
			}
			return st, err
		}
		st.Records++
		if (rec.Type != mrt.TypeBGP4MP && rec.Type != mrt.TypeBGP4MPET) || rec.Subtype != mrt.BGP4MPMessageAS4 {
			continue
		}
		buf, err = appendMessage(buf[:0], rec, &upd, o, st.Lines, &st)
		if err != nil {
			return st, fmt.Errorf("MRT record at offset %d: %w", rec.Offset, err)
		}
		st.Lines++
		if _, err := w.Write(buf); err != nil {
			return st, err
		}
	}
}

// appendMessage writes one record as a RIS Live line.
func appendMessage(dst []byte, rec *mrt.RawRecord, upd *decode.Update, o DeriveOptions, seq int, st *DeriveStats) ([]byte, error) {
	// BGP4MP_MESSAGE_AS4 (RFC 6396 §4.4.3): Peer AS (4) | Local AS (4) |
	// Interface Index (2) | AFI (2) | Peer IP | Local IP | BGP message.
	b := rec.Body
	if len(b) < 12 {
		return dst, fmt.Errorf("BGP4MP header truncated")
	}
	peerASN := binary.BigEndian.Uint32(b)
	alen := 4
	if binary.BigEndian.Uint16(b[10:]) == decode.AFIIPv6 {
		alen = 16
	}
	if len(b) < 12+2*alen {
		return dst, fmt.Errorf("BGP4MP addresses truncated")
	}
	peer, _ := netip.AddrFromSlice(b[12 : 12+alen])
	msg := b[12+2*alen:]
	h, err := decode.DecodeHeader(msg)
	if err != nil {
		return dst, err
	}
	msg = msg[:h.Length]

	ts := strconv.FormatUint(uint64(rec.Timestamp), 10)
	if rec.Microseconds%10000 == 0 {
		ts += fmt.Sprintf(".%02d", rec.Microseconds/10000)
	} else {
		ts += fmt.Sprintf(".%06d", rec.Microseconds)
	}
	dst = append(dst, `{"type":"ris_message","data":{"timestamp":`...)
	dst = append(dst, ts...)
	dst = append(dst, `,"peer":"`...)
	dst = peer.AppendTo(dst)
	dst = append(dst, `","peer_asn":"`...)
	dst = strconv.AppendUint(dst, uint64(peerASN), 10)
	dst = append(dst, `","id":"`...)
	dst = peer.AppendTo(dst)
	dst = append(dst, '-')
	dst = append(dst, ts...)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, int64(seq), 10)
	dst = append(dst, `","host":"`...)
	dst = append(dst, o.Host...)
	dst = append(dst, `","type":"`...)
	dst = append(dst, h.Type.String()...)
	dst = append(dst, '"')
	switch h.Type {
	case decode.MsgUpdate:
		st.Updates++
		if err := decode.DecodeUpdate(upd, msg[decode.HeaderLen:], &decode.Options{AS4: true}); err != nil {
			return dst, err
		}
		dst = appendUpdateFields(dst, upd, o)
	case decode.MsgKeepalive:
		st.Keepalives++
	case decode.MsgOpen:
		st.Opens++
	case decode.MsgNotification:
		st.Notifications++
	}
	if !o.OmitRaw {
		dst = append(dst, `,"raw":"`...)
		n := len(dst)
		dst = hex.AppendEncode(dst, msg)
		for i := n; i < len(dst); i++ { // RIS Live writes upper case
			if c := dst[i]; c >= 'a' && c <= 'f' {
				dst[i] = c - 'a' + 'A'
			}
		}
		dst = append(dst, '"')
	}
	return append(dst, "}}\n"...), nil
}

// appendUpdateFields writes the JSON fields RIS Live derives from an UPDATE.
func appendUpdateFields(dst []byte, u *decode.Update, o DeriveOptions) []byte {
	a := &u.Attrs
	announce := len(u.Announced) > 0
	if announce || !o.Style2019 {
		dst = append(dst, `,"path":[`...)
		if announce {
			for i := range a.ASPath.NumSegments() {
				typ, asns := a.ASPath.Segment(i)
				if i > 0 {
					dst = append(dst, ',')
				}
				if typ == decode.SegSet {
					dst = append(dst, '[')
				}
				for j, asn := range asns {
					if j > 0 {
						dst = append(dst, ',')
					}
					dst = strconv.AppendUint(dst, uint64(asn), 10)
				}
				if typ == decode.SegSet {
					dst = append(dst, ']')
				}
			}
		}
		dst = append(dst, `],"community":[`...)
		if announce {
			for i, c := range a.Communities {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = fmt.Appendf(dst, "[%d,%d]", c.ASN(), c.Value())
			}
		}
		dst = append(dst, ']')
	}
	if announce {
		origin := a.Origin.String()
		if o.Style2019 {
			origin = map[decode.Origin]string{decode.OriginIGP: "igp", decode.OriginEGP: "egp", decode.OriginIncomplete: "incomplete"}[a.Origin]
		}
		dst = append(dst, `,"origin":"`...)
		dst = append(dst, origin...)
		dst = append(dst, '"')
		if a.Has(decode.AttrMED) {
			dst = append(dst, `,"med":`...)
			dst = strconv.AppendUint(dst, uint64(a.MED), 10)
		}
		if a.Has(decode.AttrAggregator) {
			dst = fmt.Appendf(dst, `,"aggregator":"%d:%s"`, a.Aggregator.ASN, a.Aggregator.Addr)
		}
	}
	if announce || !o.Style2019 {
		dst = append(dst, `,"announcements":[`...)
		// One group per next hop, in order of first appearance.
		var hops []netip.Addr
		for _, n := range u.Announced {
			found := false
			for _, h := range hops {
				found = found || h == n.NextHop
			}
			if !found {
				hops = append(hops, n.NextHop)
			}
		}
		for i, h := range hops {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"next_hop":"`...)
			dst = h.AppendTo(dst)
			if h.Is6() && a.MPNextHopLocal.IsValid() && h == a.MPNextHop {
				dst = append(dst, ',')
				dst = a.MPNextHopLocal.AppendTo(dst)
			}
			dst = append(dst, `","prefixes":[`...)
			first := true
			for _, n := range u.Announced {
				if n.NextHop != h {
					continue
				}
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = append(dst, '"')
				dst = n.Prefix.AppendTo(dst)
				dst = append(dst, '"')
			}
			dst = append(dst, "]}"...)
		}
		dst = append(dst, ']')
	}
	if len(u.Withdrawn) > 0 || !o.Style2019 {
		dst = append(dst, `,"withdrawals":[`...)
		for i, n := range u.Withdrawn {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = n.Prefix.AppendTo(dst)
			dst = append(dst, '"')
		}
		dst = append(dst, ']')
	}
	if u.EndOfRIB && !o.Style2019 {
		// bgpkit reads a prefix "eor" as End-of-RIB.
		dst = append(dst[:len(dst)-1], `"eor"]`...)
	}
	return dst
}
