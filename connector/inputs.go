package connector

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// yieldFunc receives one decoded record with its elems and stats; they are
// valid only during the call.
type yieldFunc func(rec *decode.Record, elems []decode.Elem, stats []decode.Stat)

// inputDecoder decodes one input record value. One decoder serves one input
// partition, so its state (BMP sessions, the MRT peer index table) follows
// the partition. A non-nil error means the value is undecodable: it goes to
// the dead letter topic or stops the task.
type inputDecoder interface {
	decode(value []byte, offset int64, ts time.Time, yield yieldFunc) error
}

// inputFactory makes the decoders of one input format.
type inputFactory interface {
	newDecoder() inputDecoder
	// name is the decoder named in dead letter headers.
	name() string
}

func newInputFactory(cfg *Config) (inputFactory, error) {
	switch cfg.InputFormat {
	case "openbmp", "bmp":
		if bmpInput == nil {
			return nil, fmt.Errorf("%q input is not built in", cfg.InputFormat)
		}
		return bmpInput(cfg.InputFormat == "bmp", cfg.PeerUpState == "active"), nil
	case "mrt":
		return mrtFactory{}, nil
	}
	return nil, fmt.Errorf("%q is not one of openbmp, bmp, mrt", cfg.InputFormat)
}

// bmpInput makes the openbmp/bmp factory (inputs_bmp.go).
var bmpInput func(raw, active bool) inputFactory

// elemFilter is the parsed filter ("" = none).
type elemFilter struct{ f *filter.Filter }

type elemMatcher interface {
	Match(r *decode.Record, e *decode.Elem) bool
}

func newFilter(expr string) (elemFilter, error) {
	if expr == "" {
		return elemFilter{}, nil
	}
	f, err := filter.Parse(expr)
	if err != nil {
		return elemFilter{}, err
	}
	return elemFilter{f}, nil
}

func (f elemFilter) matcher() elemMatcher {
	if f.f == nil {
		return nil
	}
	return f.f.NewMatcher()
}

// mrtFactory decodes values holding one or more whole MRT records.
type mrtFactory struct{}

func (mrtFactory) name() string { return "mrt.Elementor" }

func (mrtFactory) newDecoder() inputDecoder {
	el := mrt.NewElementor()
	el.Project, el.Collector = "kafka", ""
	return &mrtDecoder{el: el}
}

type mrtDecoder struct {
	el    *mrt.Elementor
	elems []decode.Elem
	rec   decode.Record
}

// MRT common header (RFC 6396 §2): timestamp (4), type (2), subtype (2),
// length (4).
const mrtHeaderLen = 12

func (d *mrtDecoder) decode(value []byte, offset int64, _ time.Time, yield yieldFunc) error {
	for at := 0; at < len(value); {
		if len(value)-at < mrtHeaderLen {
			return fmt.Errorf("mrt: header at byte %d: %w: need %d bytes, %d present", at, decode.ErrTruncated, mrtHeaderLen, len(value)-at)
		}
		b := value[at:]
		raw := mrt.RawRecord{Offset: int64(at)}
		raw.Timestamp = binary.BigEndian.Uint32(b)
		raw.Type = binary.BigEndian.Uint16(b[4:])
		raw.Subtype = binary.BigEndian.Uint16(b[6:])
		raw.Length = binary.BigEndian.Uint32(b[8:])
		end := uint64(mrtHeaderLen) + uint64(raw.Length)
		if end > uint64(len(b)) {
			return fmt.Errorf("mrt: record at byte %d: %w: length %d, %d bytes present", at, decode.ErrTruncated, raw.Length, len(b)-mrtHeaderLen)
		}
		raw.Body = b[mrtHeaderLen:end]
		if mrt.IsET(raw.Type) {
			if len(raw.Body) < 4 {
				return fmt.Errorf("mrt: record at byte %d: %w: extended timestamp missing", at, decode.ErrTruncated)
			}
			raw.Microseconds = binary.BigEndian.Uint32(raw.Body)
			raw.Body = raw.Body[4:]
		}
		var err error
		d.elems, err = d.el.Elems(&d.rec, &raw, d.elems[:0])
		if err != nil {
			return fmt.Errorf("mrt: record at byte %d: %w", at, err)
		}
		if d.rec.Status == decode.StatusCorruptedRecord && len(d.elems) == 0 {
			return fmt.Errorf("mrt: record at byte %d: %w", at, d.rec.Err)
		}
		d.rec.Offset = offset
		if len(d.elems) > 0 {
			yield(&d.rec, d.elems, nil)
		}
		at += int(end)
	}
	return nil
}
