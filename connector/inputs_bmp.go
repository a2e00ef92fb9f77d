package connector

import (
	"time"

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
	dec *openbmp.Decoder
	raw bool
	res openbmp.Result
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
	if len(d.res.Elems) > 0 || len(d.res.Stats) > 0 {
		yield(rec, d.res.Elems, d.res.Stats)
	}
	return nil
}
