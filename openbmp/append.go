package openbmp

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/bgp-connector/bgp-connector/decode"
)

// AppendTo decodes every message of value — one OpenBMP message (binary or
// text header) or raw BMP message, or several of them back to back, as one
// Kafka record value may hold — and appends a record per message, with its
// elems and statistics, to b. Everything appended is owned by b. Each
// record's Offset is offset (the Kafka offset of the value, or the stream
// offset of a frame).
//
// Line ends alone after the last message are ignored (real OpenBMP samples
// end with one). A message that does not decode is appended as a record
// with status corrupted-record (or unsupported) and its error, and AppendTo
// returns that *DecodeError, whose Offset counts from the start of value;
// other bytes that are not a message (trailing junk) also make it return an
// error. Nothing is dropped silently: the caller dead-letters or reports the
// value.
func (d *Decoder) AppendTo(b *decode.Batch, value []byte, offset int64) error {
	var firstErr error
	for at := 0; at < len(value); {
		rest := value[at:]
		if at > 0 && len(bytes.Trim(rest, "\r\n")) == 0 {
			break
		}
		err := d.Decode(rest, &d.scratch)
		res := &d.scratch
		res.Record.Offset = offset
		ri := b.AddRecord(&res.Record)
		b.AddElems(ri, res.Elems)
		for i := range res.Stats {
			b.AddStat(ri, &res.Stats[i])
		}
		if err != nil {
			err = shift(err, at)
			b.Records[ri].Err = err
			if firstErr == nil {
				firstErr = err
			}
		}
		if res.n <= 0 {
			// The message's length is unknown: nothing after it can be
			// framed.
			if err == nil {
				err = errAt(at, "frame", fmt.Errorf("%w: message length unknown", ErrMalformed))
			}
			if firstErr == nil {
				firstErr = err
			}
			break
		}
		at += res.n
	}
	return firstErr
}

// Scanner reads a BMP stream (raw BMP as a router sends it, a sequence of
// OpenBMP messages, or length-prefixed frames such as `kcat -f '%R%s'`
// writes) into decode.Batches, as mrt.Scanner does for MRT: a damaged frame
// is skipped and reported as a gap (decode.Batch.Gaps) and reading resumes
// at the next valid frame; a stream cut inside a frame ends with a fatal
// *DecodeError wrapping ErrTruncated after every complete frame before it.
// A stream in which no frame is found at all ends cleanly with Frames() 0 and
// StreamReader().Skipped() > 0: the caller decides (ingest.FileSource
// reports it as an error). BMP has no dumps: every record is an update
// record.
type Scanner struct {
	sr  *StreamReader
	dec *Decoder

	frames  int64
	done    bool
	err     error // fatal error, returned once the records are delivered
	lastErr error
	// pending gap: a framing error seen, waiting for the frame after it.
	gapErr   error
	gapStart int64
	gapSkip  int64 // StreamReader.Skipped() when the gap began

	// Corrupted counts frames that framed but did not decode.
	Corrupted int64
}

// NewScanner returns a Scanner over the frames of r (of the given kind;
// KindUnknown detects it) decoded by dec.
func NewScanner(r io.Reader, kind Kind, dec *Decoder) *Scanner {
	if dec == nil {
		dec = NewDecoder()
	}
	return &Scanner{sr: NewStreamReader(r, kind), dec: dec}
}

// StreamReader returns the underlying frame reader (for Skipped and Kind).
func (s *Scanner) StreamReader() *StreamReader { return s.sr }

// Frames returns the number of frames read.
func (s *Scanner) Frames() int64 { return s.frames }

// Fill appends records to b until it holds at least maxElems elems or
// maxRecords records, or the stream ends. It returns io.EOF once the stream
// is exhausted and b received nothing, and a fatal error after every record
// before it has been delivered.
func (s *Scanner) Fill(b *decode.Batch, maxElems, maxRecords int) error {
	start := len(b.Records)
	for !s.done && len(b.Elems) < maxElems && len(b.Records)-start < maxRecords {
		frame, err := s.sr.Next()
		if err != nil {
			s.framingError(b, err)
			continue
		}
		s.frames++
		off := s.sr.Offset()
		s.closeGap(b, off)
		if derr := s.dec.AppendTo(b, frame, off); derr != nil {
			s.Corrupted++
		}
	}
	if len(b.Records) == start && len(b.Gaps) == 0 {
		if s.err != nil {
			err := s.err
			s.err = nil
			return err
		}
		return io.EOF
	}
	return nil
}

// framingError handles an error from StreamReader.Next: the end of the
// stream, a fatal cut, or damage to resynchronise after.
func (s *Scanner) framingError(b *decode.Batch, err error) {
	if err == io.EOF {
		s.closeGap(b, -1)
		s.done = true
		return
	}
	// A cut at the end, an I/O error, or a stream of another version (see
	// StreamReader.Resyncable) is fatal; damage is a gap.
	if err == s.lastErr || !s.sr.Resyncable() {
		s.closeGap(b, -1)
		s.err, s.done = err, true
		return
	}
	s.lastErr = err
	if s.gapErr == nil {
		s.gapErr, s.gapSkip = err, s.sr.Skipped()
		s.gapStart = -1
		var de *DecodeError
		if errors.As(err, &de) {
			s.gapStart = int64(de.Offset)
		}
	}
}

// closeGap records the pending gap, if any, as ending at end (the offset
// of the frame after it), or, with end < 0, at the end of what was skipped.
func (s *Scanner) closeGap(b *decode.Batch, end int64) {
	if s.gapErr == nil {
		return
	}
	skipped := s.sr.Skipped() - s.gapSkip
	start := s.gapStart
	if end >= 0 {
		start = end - skipped // the skip began at the damaged frame's start
	} else {
		start = max(start, 0)
		end = start + skipped
	}
	b.AddGap(start, end, s.gapErr)
	s.gapErr = nil
}
