// Command derive-mrt writes the MRT updates dump a route collector peering
// with the monitored router's peers would have written for an OpenBMP
// recording of this package (gobgp-bmp.obmp, frr-bmp.obmp): one BGP4MP
// MESSAGE_AS4 record (MESSAGE for a 2-byte session) per pre-policy Route
// Monitoring message of a global peer, carrying its UPDATE byte for byte,
// and one STATE_CHANGE_AS4 record per Peer Up (OPENCONFIRM → ESTABLISHED)
// and Peer Down (ESTABLISHED → IDLE). Post-policy, Adj-RIB-Out and Loc-RIB
// views, and the other message types, have no MRT counterpart in an updates
// dump and are left out. Record times keep the recording's spacing, moved so
// that the first Route Monitoring message is at -start (seconds since the
// epoch); a record stamped earlier than that (FRR dates the Peer Down of a
// session that never came up by an older event) is put at -start.
//
// make-dumps.sh runs it to make the demo's archive dumps:
//
//	go run ./internal/demodata/derive-mrt -start 1427846400 internal/demodata/gobgp-bmp.obmp > rrc06.mrt
//
// It is a tool for making data, not part of the binary.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// MRT type and BGP4MP subtypes (RFC 6396 §4.4), BGP FSM states (§4.4.1).
const (
	typeBGP4MP        = 16
	subStateChange4   = 5
	subMessage        = 1
	subMessage4       = 4
	stateIdle         = 1
	stateOpenConfirm  = 5
	stateEstablished  = 6
	commonHeaderLen   = 6
	peerUpDownMinimum = commonHeaderLen + openbmp.PeerHeaderLen
)

// local is what the monitored router's Peer Up said of its own end.
type local struct {
	asn  uint32
	addr netip.Addr
}

type deriver struct {
	out            *bufio.Writer
	start, first   int64 // seconds: -start, and the first Route Monitoring's
	scan           bool  // finding first: no output
	locals         map[netip.Addr]local
	records, elems int
}

func main() {
	start := flag.Int64("start", 1427846400, "time of the first record, seconds since the epoch")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: derive-mrt [-start SECONDS] RECORDING.obmp > DUMP.mrt\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err == nil {
		w := bufio.NewWriter(os.Stdout)
		var n int
		if n, err = derive(data, *start, w); err == nil {
			err = w.Flush()
		}
		fmt.Fprintf(os.Stderr, "%s: %d MRT records\n", flag.Arg(0), n)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", flag.Arg(0), err)
		os.Exit(1)
	}
}

// derive writes the dump of the OpenBMP recording data to w, its first
// Route Monitoring message at start, and returns the number of records.
func derive(data []byte, start int64, w *bufio.Writer) (int, error) {
	d := &deriver{out: w, start: start, first: -1, locals: map[netip.Addr]local{}, scan: true}
	if err := d.run(data); err != nil {
		return 0, err
	}
	if d.first < 0 {
		return 0, fmt.Errorf("no Route Monitoring message of a global peer, pre-policy")
	}
	d.scan = false
	err := d.run(data)
	return d.records, err
}

// run derives a record from every OpenBMP message of data that has one.
func (d *deriver) run(data []byte) error {
	for off := 0; off < len(data); {
		h, hl, err := openbmp.DecodeHeader(data[off:])
		if err != nil {
			return fmt.Errorf("offset %d: %w", off, err)
		}
		if off+hl+h.BMPLen > len(data) {
			return fmt.Errorf("offset %d: message cut", off)
		}
		if err := d.message(data[off+hl:off+hl+h.BMPLen], h.CollectedAt); err != nil {
			return fmt.Errorf("offset %d: %w", off+hl, err)
		}
		off += hl + h.BMPLen
	}
	return nil
}

// message derives the record of one BMP message, if it has one.
func (d *deriver) message(bmp []byte, collected int64) error {
	ch, err := openbmp.DecodeCommonHeader(bmp)
	if err != nil {
		return err
	}
	switch ch.Type {
	case openbmp.MsgRouteMonitoring, openbmp.MsgPeerUp, openbmp.MsgPeerDown:
	default:
		return nil
	}
	if len(bmp) < peerUpDownMinimum {
		return fmt.Errorf("%v of %d bytes", ch.Type, len(bmp))
	}
	ph, err := openbmp.DecodePeerHeader(bmp[commonHeaderLen:])
	if err != nil {
		return err
	}
	if ph.Type != decode.BMPPeerGlobal || ph.PostPolicy() || ph.AdjRIBOut() {
		return nil
	}
	body := bmp[peerUpDownMinimum:]
	ts := ph.Time / 1e6
	if ph.Time == 0 {
		ts = collected / 1e6
	}
	if d.scan {
		if d.first < 0 && ch.Type == openbmp.MsgRouteMonitoring {
			d.first = ts
		}
		return nil
	}
	ts = d.start + max(ts-d.first, 0)
	loc := d.locals[ph.Addr]
	switch ch.Type {
	case openbmp.MsgPeerUp:
		var up openbmp.PeerUp
		if err := openbmp.DecodePeerUp(&up, body, ph.Addr.Is6(), peerUpDownMinimum); err != nil {
			return err
		}
		loc = local{asn: up.Sent.ASN, addr: up.LocalAddr}
		d.locals[ph.Addr] = loc
		d.record(ts, subStateChange4, &ph, loc, true, []byte{0, stateOpenConfirm, 0, stateEstablished})
	case openbmp.MsgPeerDown:
		d.record(ts, subStateChange4, &ph, loc, true, []byte{0, stateEstablished, 0, stateIdle})
	case openbmp.MsgRouteMonitoring:
		if ph.AS2() {
			d.record(ts, subMessage, &ph, loc, false, body)
		} else {
			d.record(ts, subMessage4, &ph, loc, true, body)
		}
	}
	return nil
}

// record writes one BGP4MP record: the peer and local ASNs (4 or 2 bytes),
// interface index 0, the address family, the peer and local addresses,
// then payload.
func (d *deriver) record(ts int64, subtype uint16, ph *openbmp.PeerHeader, loc local, as4 bool, payload []byte) {
	peer, self := ph.Addr, loc.addr
	if !self.IsValid() || self.Is6() != peer.Is6() {
		self = netip.IPv4Unspecified()
		if peer.Is6() {
			self = netip.IPv6Unspecified()
		}
	}
	var b []byte
	if as4 {
		b = binary.BigEndian.AppendUint32(b, ph.ASN)
		b = binary.BigEndian.AppendUint32(b, loc.asn)
	} else {
		b = binary.BigEndian.AppendUint16(b, uint16(ph.ASN))
		b = binary.BigEndian.AppendUint16(b, uint16(loc.asn))
	}
	afi := uint16(1)
	if peer.Is6() {
		afi = 2
	}
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint16(b, afi)
	b = append(b, peer.AsSlice()...)
	b = append(b, self.AsSlice()...)
	b = append(b, payload...)

	var hdr [12]byte
	binary.BigEndian.PutUint32(hdr[0:], uint32(ts))
	binary.BigEndian.PutUint16(hdr[4:], typeBGP4MP)
	binary.BigEndian.PutUint16(hdr[6:], subtype)
	binary.BigEndian.PutUint32(hdr[8:], uint32(len(b)))
	d.out.Write(hdr[:])
	d.out.Write(b)
	d.records++
}
