package openbmp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Kind is the framing of a file or Kafka value.
type Kind uint8

const (
	// KindUnknown is input Detect could not recognise.
	KindUnknown Kind = iota
	// KindBMP is a raw BMP byte stream as a router sends it over TCP: each
	// message's common header length gives the next message's offset.
	KindBMP
	// KindOpenBMP is a sequence of OpenBMP v1.7 binary messages (header and
	// one BMP message each), as consecutive openbmp.bmp_raw Kafka values.
	KindOpenBMP
	// KindOpenBMPText is a sequence of legacy text-header messages.
	KindOpenBMPText
	// KindLengthPrefixed is a sequence of frames, each preceded by its
	// length as a 4-byte big-endian integer; a frame is any of the above.
	KindLengthPrefixed
)

// String returns "bmp", "openbmp", "openbmp-text", "length-prefixed" or
// "unknown".
func (k Kind) String() string {
	switch k {
	case KindBMP:
		return "bmp"
	case KindOpenBMP:
		return "openbmp"
	case KindOpenBMPText:
		return "openbmp-text"
	case KindLengthPrefixed:
		return "length-prefixed"
	}
	return "unknown"
}

// BMP common header (RFC 7854 §4.1): version (1), message length (4),
// message type (1).
const commonHeaderLen = 6

// Detect returns the framing of input that starts with prefix (8 bytes are
// enough): "OBMP" is OpenBMP binary, "V: " the legacy text header, a BMP
// version byte (1 to 4) with a plausible length a raw BMP stream, and a
// 4-byte length followed by any of those a length-prefixed sequence.
func Detect(prefix []byte) Kind {
	switch {
	case bytes.HasPrefix(prefix, []byte(Magic)):
		return KindOpenBMP
	case bytes.HasPrefix(prefix, []byte("V: ")):
		return KindOpenBMPText
	case len(prefix) >= commonHeaderLen && prefix[0] >= 1 && prefix[0] <= 4 && be32(prefix[1:]) >= commonHeaderLen:
		return KindBMP
	case len(prefix) >= 8 && prefix[0] == 0:
		switch Detect(prefix[4:]) {
		case KindOpenBMP, KindOpenBMPText, KindBMP:
			return KindLengthPrefixed
		}
	}
	return KindUnknown
}

// MaxFrame is the largest frame a StreamReader accepts (16 MiB); a length
// field above it is reported as malformed rather than allocated.
const MaxFrame = 16 << 20

// StreamReader splits a file into frames that Decoder.Decode accepts. It is
// not safe for concurrent use.
type StreamReader struct {
	r    io.Reader
	kind Kind
	buf  []byte
	pos  int   // start of unread data in buf
	off  int64 // stream offset of buf[pos]
	last int64 // offset of the last frame returned
	eof  bool
	err  error

	canResync bool // err is a framing error Next may resynchronise after
	// otherVersion: the version error was another BMP version (1, 2 or 4),
	// not a damaged byte.
	otherVersion bool
	skipped      int64 // bytes skipped by Resync
	frames       int64 // frames returned
}

// NewStreamReader returns a reader of frames of the given kind from r. With
// KindUnknown the kind is detected from the first bytes.
func NewStreamReader(r io.Reader, kind Kind) *StreamReader {
	return &StreamReader{r: r, kind: kind, buf: make([]byte, 0, 64<<10)}
}

// Kind returns the framing in use (after detection, once Next was called).
func (s *StreamReader) Kind() Kind { return s.kind }

// Offset returns the byte offset in the stream of the frame last returned
// by Next (for KindLengthPrefixed, the offset of the frame after its length).
func (s *StreamReader) Offset() int64 { return s.last }

// resyncStep is how many scanned bytes Resync drops at a time, so that its
// buffer holds no more than this plus one candidate frame and the header of
// its successor.
const resyncStep = 64 << 10

// maxBuf is the buffer size any frame, or any resync candidate with its
// successor's header, fits in; the buffer grows beyond it only for a legacy
// text header whose L: field asks for more.
const maxBuf = resyncStep + 4 + MaxFrame + 16

// fill makes at least n unread bytes available, unless the input ends.
func (s *StreamReader) fill(n int) error {
	for len(s.buf)-s.pos < n && !s.eof {
		if s.pos > 0 {
			m := copy(s.buf, s.buf[s.pos:])
			s.buf = s.buf[:m]
			s.pos = 0
		}
		if cap(s.buf) == len(s.buf) {
			// Grow by doubling as data arrives, so that a bogus length near
			// the end of the input does not allocate its full size, and
			// stop doubling at maxBuf so that the largest frame does not
			// allocate twice its size.
			c := max(2*cap(s.buf), 64<<10)
			if cap(s.buf) < maxBuf && n <= maxBuf {
				c = min(c, maxBuf)
			}
			nb := make([]byte, len(s.buf), c)
			copy(nb, s.buf)
			s.buf = nb
		}
		m, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+m]
		if err == io.EOF {
			s.eof = true
		} else if err != nil {
			return err
		}
	}
	if len(s.buf)-s.pos < n {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// Next returns the next frame: one BMP message for KindBMP, an OpenBMP
// header and its BMP message for KindOpenBMP and KindOpenBMPText, the bytes
// after the length for KindLengthPrefixed. The slice is valid until the next
// call. At the end of the input it returns io.EOF.
//
// A frame cut by the end of the input returns a *DecodeError wrapping
// ErrTruncated with the frame's stream offset; the frames before it were all
// returned, and later calls return the same error. A framing field that
// cannot be valid (a bad magic, version or length) returns a *DecodeError
// with its offset; the next call resynchronises (see Resync) and goes on
// with the first valid frame after it.
func (s *StreamReader) Next() ([]byte, error) {
	if s.err != nil {
		if !s.canResync {
			return nil, s.err
		}
		s.canResync = false
		s.err = nil
		if !s.Resync() {
			if s.err == nil {
				s.err = io.EOF
			}
			return nil, s.err
		}
	}
	f, err := s.next()
	if err != nil {
		s.err = err
		s.canResync = s.resyncable(err)
	} else {
		s.frames++
	}
	return f, err
}

// resyncable reports whether a framing error leaves data worth scanning:
// not a cut at the end of the input, not an I/O error, and not another
// version before any frame (a BMP v4 or OpenBMP 1.6 stream is another
// format through and through). A first byte that is no BMP version at all
// (0, or 5 and up) is damage: the frames after it are read.
func (s *StreamReader) resyncable(err error) bool {
	var de *DecodeError
	if !errors.As(err, &de) || errors.Is(err, ErrTruncated) {
		return false
	}
	if errors.Is(err, ErrVersion) {
		return s.frames > 0 || (s.kind == KindBMP && !s.otherVersion)
	}
	return errors.Is(err, ErrMalformed)
}

// Resyncable reports whether the error Next just returned is damage that
// the next call skips (true), or ends the stream (false: a cut at the end,
// an I/O error, or input of another version).
func (s *StreamReader) Resyncable() bool { return s.err != nil && s.canResync }

// Resync skips bytes after a framing error until a frame of the reader's
// kind starts whose successor also starts a frame (or that ends exactly at
// the end of the input). A reader whose kind is still unknown (the first
// bytes were damaged) looks for a frame of any kind, and keeps the kind it
// finds. It scans up to the end of the input if need be, in
// flat memory: bytes are dropped as they are passed, and only a candidate
// frame and its successor's header are held (at most MaxFrame and a few
// bytes). It returns false when no such frame was found before the end of
// the input (or a read failed: Next then returns that error). Skipped counts
// every byte passed over, up to the end of the input when no frame was found.
// Next calls it after a framing error.
func (s *StreamReader) Resync() bool {
	rel := 1 // candidate position in the unread data; the frame at 0 was rejected
	for {
		if err := s.fill(rel + 12); err != nil && err != io.ErrUnexpectedEOF {
			s.drop(min(rel, len(s.buf)-s.pos))
			s.err = err
			return false
		}
		if len(s.buf)-s.pos <= rel {
			s.drop(len(s.buf) - s.pos)
			return false
		}
		if s.frameChainAt(rel) {
			s.drop(rel)
			return true
		}
		rel++
		if rel >= resyncStep {
			s.drop(rel)
			rel = 0
		}
	}
}

// frameChainAt reports whether a frame starts rel bytes into the unread
// data and is followed by another (see followed). With the kind unknown it
// tries each binary framing, and on success sets the kind.
func (s *StreamReader) frameChainAt(rel int) bool {
	if s.kind != KindUnknown {
		n := s.frameAt(rel)
		return n > 0 && s.followed(rel, n)
	}
	for _, k := range [...]Kind{KindOpenBMP, KindBMP, KindLengthPrefixed} {
		s.kind = k
		if n := s.frameAt(rel); n > 0 && s.followed(rel, n) {
			return true
		}
	}
	s.kind = KindUnknown
	return false
}

// followed reports whether the candidate frame of n bytes at rel is followed
// by another frame, by the end of the input, or (OpenBMP) by line ends only.
func (s *StreamReader) followed(rel, n int) bool {
	s.fill(rel + n + 12)
	rest := len(s.buf) - s.pos - (rel + n)
	switch {
	case rest == 0:
		return s.eof
	case rest < 0:
		return false
	}
	return s.frameAt(rel+n) > 0 || (s.kind == KindOpenBMP && s.eof && len(bytes.Trim(s.buf[s.pos+rel+n:], "\r\n")) == 0)
}

// drop skips n unread bytes, counting them as skipped.
func (s *StreamReader) drop(n int) {
	s.pos += n
	s.off += int64(n)
	s.skipped += int64(n)
}

// Skipped returns the number of bytes Resync passed over.
func (s *StreamReader) Skipped() int64 { return s.skipped }

// frameAt returns the length (including any length prefix) of a plausible
// frame starting rel bytes into the unread data, or 0.
func (s *StreamReader) frameAt(rel int) int {
	b := s.buf[s.pos+rel:]
	switch s.kind {
	case KindBMP:
		if len(b) < commonHeaderLen || b[0] != 3 || b[5] > byte(MsgRouteMirroring) {
			return 0
		}
		if n := int(be32(b[1:])); n >= commonHeaderLen && n <= MaxFrame {
			return n
		}
	case KindOpenBMP:
		if len(b) < 12 || string(b[:4]) != Magic || be16(b[4:]) != Version17 {
			return 0
		}
		hl := int(be16(b[6:]))
		if n := hl + int(be32(b[8:])); hl >= 40 && n <= MaxFrame {
			return n
		}
	case KindLengthPrefixed:
		if len(b) < 8 {
			return 0
		}
		if n := int(be32(b)); n >= commonHeaderLen && n <= MaxFrame && Detect(b[4:]) != KindUnknown {
			return 4 + n
		}
	}
	return 0
}

func (s *StreamReader) next() ([]byte, error) {
	if err := s.fill(1); err != nil {
		if err == io.ErrUnexpectedEOF {
			return nil, io.EOF
		}
		return nil, err
	}
	if s.kind == KindUnknown {
		s.fill(8)
		s.kind = Detect(s.buf[s.pos:])
		if s.kind == KindUnknown {
			return nil, errAt(int(s.off), "stream", fmt.Errorf("%w: not BMP, OpenBMP or length-prefixed (first bytes % x)", ErrMalformed, s.buf[s.pos:min(len(s.buf), s.pos+8)]))
		}
	}
	start := s.off
	var n int // frame length including its header
	skip := 0 // bytes before the frame (the length prefix)
	switch s.kind {
	case KindBMP:
		if err := s.fill(commonHeaderLen); err != nil {
			return nil, s.cut(start, "BMP common header", err, commonHeaderLen)
		}
		h := s.buf[s.pos:]
		if h[0] != 3 {
			s.otherVersion = h[0] == 1 || h[0] == 2 || h[0] == 4
			return nil, errAt(int(start), "BMP common header", versionError(h[0]))
		}
		n = int(be32(h[1:]))
		if n < commonHeaderLen || n > MaxFrame {
			return nil, errAt(int(start)+1, "BMP common header", fmt.Errorf("%w: message length %d", ErrMalformed, n))
		}
	case KindOpenBMP:
		// Real single-message samples end with a stray newline: ignore
		// line ends alone at the end of the input.
		if s.trailingNewlines() {
			return nil, io.EOF
		}
		if err := s.fill(8); err != nil {
			return nil, s.cut(start, "OpenBMP header", err, 8)
		}
		h := s.buf[s.pos:]
		if string(h[:4]) != Magic {
			return nil, errAt(int(start), "OpenBMP header", fmt.Errorf("%w: magic % x, want %q", ErrMalformed, h[:4], Magic))
		}
		if v := be16(h[4:]); v != Version17 {
			return nil, errAt(int(start)+4, "OpenBMP header", fmt.Errorf("%w: OpenBMP %d.%d, only 1.7 is read", ErrVersion, h[4], h[5]))
		}
		hl := int(be16(h[6:]))
		if err := s.fill(12); err != nil {
			return nil, s.cut(start, "OpenBMP header", err, 12)
		}
		n = hl + int(be32(s.buf[s.pos+8:]))
		if hl < 40 || n > MaxFrame {
			return nil, errAt(int(start)+6, "OpenBMP header", fmt.Errorf("%w: header length %d, message length %d", ErrMalformed, hl, n-hl))
		}
	case KindOpenBMPText:
		if s.trailingNewlines() {
			return nil, io.EOF
		}
		for {
			i := bytes.Index(s.buf[s.pos:], []byte("\n\n"))
			if i >= 0 {
				t, hl, err := DecodeTextHeader(s.buf[s.pos:])
				if err != nil {
					return nil, shift(err, int(start))
				}
				n = hl + t.BMPLen
				break
			}
			if len(s.buf)-s.pos > 64<<10 {
				return nil, errAt(int(start), "OpenBMP text header", fmt.Errorf("%w: no blank line in 64 KiB", ErrMalformed))
			}
			if err := s.fill(len(s.buf) - s.pos + 1); err != nil {
				return nil, s.cut(start, "OpenBMP text header", err, len(s.buf)-s.pos+1)
			}
		}
	case KindLengthPrefixed:
		if err := s.fill(4); err != nil {
			return nil, s.cut(start, "frame length", err, 4)
		}
		n = int(be32(s.buf[s.pos:]))
		if n > MaxFrame {
			return nil, errAt(int(start), "frame length", fmt.Errorf("%w: frame length %d", ErrMalformed, n))
		}
		skip = 4
	default:
		return nil, errAt(int(start), "stream", fmt.Errorf("%w: kind %d", ErrUnsupported, s.kind))
	}
	if err := s.fill(skip + n); err != nil {
		return nil, s.cut(start, s.kind.String()+" frame", err, skip+n)
	}
	f := s.buf[s.pos+skip : s.pos+skip+n]
	s.last = start + int64(skip)
	s.pos += skip + n
	s.off += int64(skip + n)
	return f, nil
}

// trailingNewlines reports whether only line-end bytes remain.
func (s *StreamReader) trailingNewlines() bool {
	if err := s.fill(8); err == nil {
		return false
	}
	rest := s.buf[s.pos:]
	return len(rest) > 0 && len(bytes.Trim(rest, "\r\n")) == 0
}

func (s *StreamReader) cut(start int64, field string, err error, need int) error {
	if err == io.ErrUnexpectedEOF {
		return truncAt(int(start), field, need, len(s.buf)-s.pos)
	}
	return errAt(int(start), field, err)
}

// shift moves a DecodeError's offset by base.
func shift(err error, base int) error {
	var de *DecodeError
	if errors.As(err, &de) {
		return &DecodeError{Offset: de.Offset + base, Field: de.Field, Err: de.Err}
	}
	return err
}
