package connector

import (
	"strconv"
	"time"

	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

func init() {
	bmpInput = func(raw, active bool) inputFactory { return bmpFactory{raw: raw, active: active} }
}

// bmpFactory decodes OpenBMP v1.7 values (input.format=openbmp) or raw BMP
// messages (input.format=bmp) with package openbmp.
type bmpFactory struct{ raw, active bool }

func (f bmpFactory) name() string { return "openbmp.Decoder" }

func (f bmpFactory) newDecoder() inputDecoder {
	return &bmpDecoder{dec: openbmp.NewDecoder(openbmp.WithBGPStreamPeerState(f.active)), raw: f.raw}
}

type bmpDecoder struct {
	dec   *openbmp.Decoder
	raw   bool
	res   openbmp.Result
	stats []emit.Stat
}

func (d *bmpDecoder) decode(value []byte, offset int64, ts time.Time, yield yieldFunc) error {
	if err := d.dec.Decode(value, &d.res); err != nil {
		return err
	}
	rec := &d.res.Record
	rec.Offset = offset
	if d.raw && rec.Time == 0 {
		// A raw BMP value has no collection time: use the Kafka timestamp.
		rec.Time = ts.UnixMicro()
	}
	d.stats = d.stats[:0]
	for i := range d.res.Stats {
		s := &d.res.Stats[i]
		d.stats = append(d.stats, emit.Stat{
			Time: s.Time, PeerIP: s.PeerIP, PeerASN: s.PeerASN, PeerType: s.PeerType,
			PeerDistinguisher: s.PeerDistinguisher, Type: s.Type, Name: StatName(s.Type),
			AFI: s.AFI, SAFI: s.SAFI, HasFamily: s.AFI != 0, Value: s.Value,
		})
	}
	if len(d.res.Elems) > 0 || len(d.stats) > 0 {
		yield(rec, d.res.Elems, d.stats)
	}
	return nil
}

// statNames are the IANA "BMP Statistics Types" names (RFC 7854 §4.8,
// RFC 8671, RFC 9069 and later registrations).
var statNames = [...]string{
	0:  "rejected-prefixes",
	1:  "duplicate-prefix-advertisements",
	2:  "duplicate-withdraws",
	3:  "cluster-list-loop-updates",
	4:  "as-path-loop-updates",
	5:  "originator-id-loop-updates",
	6:  "as-confed-loop-updates",
	7:  "adj-rib-in-routes",
	8:  "loc-rib-routes",
	9:  "adj-rib-in-routes-per-afi-safi",
	10: "loc-rib-routes-per-afi-safi",
	11: "updates-treat-as-withdraw",
	12: "prefixes-treat-as-withdraw",
	13: "duplicate-update-messages",
	14: "adj-rib-out-pre-policy-routes",
	15: "adj-rib-out-post-policy-routes",
	16: "adj-rib-out-pre-policy-routes-per-afi-safi",
	17: "adj-rib-out-post-policy-routes-per-afi-safi",
}

// StatName returns the IANA name of a BMP statistics type, or "type-N".
func StatName(t uint16) string {
	if int(t) < len(statNames) && statNames[t] != "" {
		return statNames[t]
	}
	return "type-" + strconv.Itoa(int(t))
}
