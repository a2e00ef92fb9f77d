package ingest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/compress"
	"github.com/bgp-connector/bgp-connector/mrt"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// ValueDecoder decodes Kafka record values of one input partition into a
// batch: it appends a record (with its elems and statistics) per message of
// the value, each with the record's Kafka offset as Offset. It keeps the
// state that spans values (a router's BMP sessions, a dump's peer index
// table), which is why there is one per partition.
//
// A non-nil error means the value is undecodable (a corrupted message,
// trailing bytes, a cut record): the caller takes back what was appended
// (decode.Batch.Truncate) and dead-letters the value or stops.
type ValueDecoder interface {
	AppendTo(b *decode.Batch, value []byte, offset int64, ts time.Time) error
}

// ValueFormat makes the value decoders of one input format.
type ValueFormat interface {
	// NewDecoder returns a decoder for one partition.
	NewDecoder(topic string, partition int32) ValueDecoder
	// Name names the decoder in dead letter headers (Kafka Connect's
	// __connect.errors.class.name).
	Name() string
}

// BMPValues decodes OpenBMP v1.7 values (the openbmp.bmp_raw topic of an
// OpenBMP collector), or raw BMP messages with Raw: every message of a value
// (a value may hold several back to back), with per-router session state
// per partition.
type BMPValues struct {
	// Raw reads raw BMP values (no OpenBMP header): their records take the
	// Kafka timestamp as collection time.
	Raw bool
	// Opts are the decoders' options (e.g. openbmp.WithBGPStreamPeerState).
	Opts []openbmp.DecoderOpt
}

// Name is ValueFormat's.
func (BMPValues) Name() string { return "openbmp.Decoder" }

// NewDecoder is ValueFormat's.
func (f BMPValues) NewDecoder(string, int32) ValueDecoder {
	return &bmpValues{dec: openbmp.NewDecoder(f.Opts...), raw: f.Raw}
}

type bmpValues struct {
	dec *openbmp.Decoder
	raw bool
	z   unzipper
}

func (d *bmpValues) AppendTo(b *decode.Batch, value []byte, offset int64, ts time.Time) error {
	value, err := d.z.plain(value)
	if err != nil {
		return err
	}
	first := len(b.Records)
	if err := d.dec.AppendTo(b, value, offset); err != nil {
		return err
	}
	if d.raw {
		for i := first; i < len(b.Records); i++ {
			if b.Records[i].Time == 0 {
				// A raw BMP value has no collection time: use the Kafka
				// timestamp.
				b.Records[i].Time = ts.UnixMicro()
			}
		}
	}
	return nil
}

// Decoder returns the openbmp.Decoder behind a BMP value decoder (nil for
// other decoders), for its session state.
func Decoder(d ValueDecoder) *openbmp.Decoder {
	switch v := d.(type) {
	case *bmpValues:
		return v.dec
	case *stateDecoder:
		return v.dec
	}
	return nil
}

// MRTValues decodes values holding one or more whole MRT records (an MRT
// file's records published to Kafka), with the peer index table of a
// TABLE_DUMP_V2 dump kept across values of the partition.
type MRTValues struct {
	// Project and Collector label the records (default "kafka" and "").
	Project, Collector string
	// Prefilter is the filter's push-down (nil: none).
	Prefilter mrt.Prefilter
}

// Name is ValueFormat's.
func (MRTValues) Name() string { return "mrt.Elementor" }

// NewDecoder is ValueFormat's.
func (f MRTValues) NewDecoder(string, int32) ValueDecoder {
	el := mrt.NewElementor()
	el.Project, el.Collector = "kafka", ""
	if f.Project != "" {
		el.Project = f.Project
	}
	if f.Collector != "" {
		el.Collector = f.Collector
	}
	if f.Prefilter != nil {
		el.Prefilter = f.Prefilter
	}
	return &mrtValues{el: el}
}

type mrtValues struct {
	el *mrt.Elementor
	z  unzipper
}

// MRT common header (RFC 6396 §2): timestamp (4), type (2), subtype (2),
// length (4).
const mrtHeaderLen = 12

func (d *mrtValues) AppendTo(b *decode.Batch, value []byte, offset int64, _ time.Time) error {
	value, err := d.z.plain(value)
	if err != nil {
		return err
	}
	for at := 0; at < len(value); {
		if len(value)-at < mrtHeaderLen {
			return fmt.Errorf("mrt: header at byte %d: %w: need %d bytes, %d present", at, decode.ErrTruncated, mrtHeaderLen, len(value)-at)
		}
		v := value[at:]
		raw := mrt.RawRecord{Offset: int64(at)}
		raw.Timestamp = binary.BigEndian.Uint32(v)
		raw.Type = binary.BigEndian.Uint16(v[4:])
		raw.Subtype = binary.BigEndian.Uint16(v[6:])
		raw.Length = binary.BigEndian.Uint32(v[8:])
		end := uint64(mrtHeaderLen) + uint64(raw.Length)
		if end > uint64(len(v)) {
			return fmt.Errorf("mrt: record at byte %d: %w: length %d, %d bytes present", at, decode.ErrTruncated, raw.Length, len(v)-mrtHeaderLen)
		}
		raw.Body = v[mrtHeaderLen:end]
		if mrt.IsET(raw.Type) {
			if len(raw.Body) < 4 {
				return fmt.Errorf("mrt: record at byte %d: %w: extended timestamp missing", at, decode.ErrTruncated)
			}
			raw.Microseconds = binary.BigEndian.Uint32(raw.Body)
			raw.Body = raw.Body[4:]
		}
		ri := len(b.Records)
		first := len(b.Elems)
		d.el.AppendTo(b, &raw)
		rec := &b.Records[ri]
		rec.Offset = offset
		if rec.Status == decode.StatusCorruptedRecord && len(b.Elems) == first {
			return fmt.Errorf("mrt: record at byte %d: %w", at, rec.Err)
		}
		at += int(end)
	}
	return nil
}

// MaxValue bounds a compressed Kafka value once decompressed (64 MiB): a
// compression bomb is an undecodable value, not unbounded memory.
const MaxValue = 64 << 20

// unzipper decompresses Kafka values that are compressed (gzip, bzip2, xz,
// zstd, by magic bytes), as a file of the same format would be: a producer
// may publish a whole compressed MRT dump or BMP stream as one value.
type unzipper struct{ buf []byte }

// plain returns value, decompressed when it starts with a compression
// magic. The result is valid until the next call.
func (z *unzipper) plain(value []byte) ([]byte, error) {
	comp := compress.Detect(value)
	if comp == "none" {
		return value, nil
	}
	r, _, err := compress.NewReaderSize(bytes.NewReader(value), comp, 0, 64<<10)
	if err != nil {
		return nil, fmt.Errorf("%s value at byte 0: %w", comp, err)
	}
	defer r.Close()
	z.buf = z.buf[:0]
	var chunk [32 << 10]byte
	for {
		n, err := r.Read(chunk[:])
		z.buf = append(z.buf, chunk[:n]...)
		if len(z.buf) > MaxValue {
			return nil, fmt.Errorf("%s value at byte %d of its decompressed data: %w: more than %d bytes once decompressed", comp, len(z.buf), decode.ErrMalformed, MaxValue)
		}
		if err == io.EOF {
			return z.buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s value at byte %d of its decompressed data: %w", comp, len(z.buf), err)
		}
	}
}
