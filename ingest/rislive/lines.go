package rislive

import (
	"bytes"
	"fmt"
	"io"

	"github.com/bgp-connector/bgp-connector/decode"
)

// splitter cuts a byte stream into lines (NDJSON: the firehose and saved
// files) in a reused buffer: a line is valid until the next call. Memory is
// bounded by the line limit: a longer line is skipped to its end and
// reported once.
type splitter struct {
	r       io.Reader
	buf     []byte
	start   int   // first unread byte
	end     int   // end of the data read
	scanned int   // bytes after start known to hold no newline
	off     int64 // stream offset of buf[start]
	max     int
	err     error // sticky read error (io.EOF at the end)
}

// line is one line of the stream without its end of line; bad is set (and
// b empty) for a line that was too long, which spans [off, end).
type line struct {
	b        []byte
	off, end int64
	bad      error
}

func newSplitter(r io.Reader, maxLine int) *splitter {
	return &splitter{r: r, buf: make([]byte, min(64<<10, maxLine+1)), max: maxLine}
}

// errLineTooLong is the cause of a line over the limit.
type errLineTooLong int

func (e errLineTooLong) Error() string { return fmt.Sprintf("line longer than %d bytes", int(e)) }

func (e errLineTooLong) Unwrap() error { return decode.ErrMalformed }

// next returns the next non-blank line. At the end of the stream it
// returns a last line without newline (a truncated line, if the writer was
// cut off), then the read error: io.EOF at a clean end.
func (s *splitter) next() (line, error) {
	skipping := false
	var skipFrom int64
	for {
		if i := bytes.IndexByte(s.buf[s.start+s.scanned:s.end], '\n'); i >= 0 {
			n := s.scanned + i
			b := s.buf[s.start : s.start+n]
			l := line{b: b, off: s.off, end: s.off + int64(n) + 1}
			s.start += n + 1
			s.off += int64(n) + 1
			s.scanned = 0
			if skipping {
				return line{off: skipFrom, end: l.end, bad: errLineTooLong(s.max)}, nil
			}
			l.b = bytes.TrimRight(b, "\r")
			if len(bytes.TrimSpace(l.b)) == 0 {
				continue
			}
			return l, nil
		}
		s.scanned = s.end - s.start
		if s.err != nil {
			if skipping {
				s.off += int64(s.end - s.start)
				s.start, s.scanned = s.end, 0
				return line{off: skipFrom, end: s.off, bad: errLineTooLong(s.max)}, nil
			}
			if s.end > s.start {
				b := s.buf[s.start:s.end]
				l := line{b: b, off: s.off, end: s.off + int64(len(b))}
				s.off = l.end
				s.start, s.scanned = s.end, 0
				if len(bytes.TrimSpace(b)) > 0 {
					return l, nil
				}
			}
			return line{off: s.off, end: s.off}, s.err
		}
		if s.scanned > s.max {
			// Too long: drop what is held and skip to the next newline.
			if !skipping {
				skipping, skipFrom = true, s.off
			}
			s.off += int64(s.end - s.start)
			s.start, s.end, s.scanned = 0, 0, 0
		}
		if s.start > 0 {
			copy(s.buf, s.buf[s.start:s.end])
			s.end -= s.start
			s.start = 0
		}
		if s.end == len(s.buf) {
			// Grow up to the limit (plus the newline).
			nb := make([]byte, min(2*len(s.buf), s.max+1))
			copy(nb, s.buf[:s.end])
			s.buf = nb
		}
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.err = err
		}
	}
}
