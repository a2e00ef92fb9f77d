package mrt

import (
	"errors"
	"io"

	"github.com/bgp-connector/bgp-connector/decode"
)

// Scanner reads an MRT stream into decode.Batches: records and elems, with
// the gaps skipped in damaged input as data (decode.Batch.Gaps). It stacks a Reader
// (framing, decompression, resynchronisation) and an Elementor (record to
// elems), and marks the first and last record of the stream with the dump
// positions start and end, as bgpreader does for a dump file.
type Scanner struct {
	// MaxBytes ends a batch once the records in it hold this many bytes
	// (default 4 MiB): a batch of large records (16 MiB TABLE_DUMP_V2
	// records with long AS paths) stays a few records, so memory follows
	// the input's size, not its record count.
	MaxBytes int

	r       *Reader
	el      *Elementor
	pending *RawRecord // read ahead, not yet decoded
	started bool
	done    bool
	err     error // fatal error to return once pending records are delivered
}

// NewScanner returns a Scanner over r. The Elementor labels and pre-filters
// records; opts configure the Reader.
func NewScanner(r io.Reader, el *Elementor, opts ...ReaderOpt) (*Scanner, error) {
	rd, err := NewReader(r, opts...)
	if err != nil {
		return nil, err
	}
	if el == nil {
		el = NewElementor()
	}
	return &Scanner{r: rd, el: el, MaxBytes: 4 << 20}, nil
}

// Reader returns the underlying Reader (for its statistics).
func (s *Scanner) Reader() *Reader { return s.r }

// Close stops the Reader's decompression goroutines and returns its
// buffers; call it when abandoning a stream before its end (Fill does it
// itself at the end). It is safe to call more than once.
func (s *Scanner) Close() error { return s.r.Close() }

// Elementor returns the Scanner's Elementor.
func (s *Scanner) Elementor() *Elementor { return s.el }

// next returns the next raw record, adding the gaps passed on the way to b.
// It returns nil at the end of the stream, with s.err set to a fatal error
// if there was one.
func (s *Scanner) next(b *decode.Batch) *RawRecord {
	for {
		raw, err := s.r.Next()
		if err == nil {
			return raw
		}
		var gap *GapError
		if errors.As(err, &gap) {
			b.AddGap(gap.Start, gap.End, gap)
			continue
		}
		if !errors.Is(err, io.EOF) {
			s.err = err
		}
		s.r.Close()
		return nil
	}
}

// Fill appends records and their elems to b until it holds at least
// maxElems elems or maxRecords records or MaxBytes bytes of records, or the
// stream ends. It returns
// io.EOF once the stream is exhausted and b received nothing; a fatal read
// error (such as *TruncatedError) is returned after every complete record
// before it has been delivered. Gaps are not errors: they appear in b.Gaps
// (each with its *GapError), placed before the record read after them.
func (s *Scanner) Fill(b *decode.Batch, maxElems, maxRecords int) error {
	if s.done {
		if s.err != nil {
			err := s.err
			s.err = nil
			return err
		}
		return io.EOF
	}
	start := len(b.Records)
	bytes := 0
	for len(b.Elems) < maxElems && len(b.Records)-start < maxRecords && (s.MaxBytes <= 0 || bytes < s.MaxBytes) {
		raw := s.pending
		s.pending = nil
		if raw == nil {
			raw = s.next(b)
			if raw == nil {
				s.done = true
				break
			}
		}
		ri := len(b.Records)
		bytes += len(raw.Body)
		s.el.AppendTo(b, raw)
		if !s.started {
			b.Records[ri].DumpPos = decode.DumpStart
			s.started = true
		}
		// Read ahead so the last record of the stream can be marked.
		s.pending = s.next(b)
		if s.pending == nil {
			s.done = true
			if b.Records[ri].DumpPos != decode.DumpStart {
				b.Records[ri].DumpPos = decode.DumpEnd
			}
			break
		}
	}
	if len(b.Records) == start {
		if s.err != nil {
			err := s.err
			s.err = nil
			return err
		}
		return io.EOF
	}
	return nil
}
