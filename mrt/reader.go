package mrt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
)

// MRT types (RFC 6396 §4 and Appendix B). Types 0–10 are deprecated; the
// Reader frames them like any other type.
const (
	TypeNull        uint16 = 0  // deprecated
	TypeStart       uint16 = 1  // deprecated
	TypeDie         uint16 = 2  // deprecated
	TypeIAmDead     uint16 = 3  // deprecated
	TypePeerDown    uint16 = 4  // deprecated
	TypeBGP         uint16 = 5  // deprecated; RIPE RIS 1999–2000
	TypeRIP         uint16 = 6  // deprecated
	TypeIDRP        uint16 = 7  // deprecated
	TypeRIPng       uint16 = 8  // deprecated
	TypeBGP4Plus    uint16 = 9  // deprecated
	TypeBGP4Plus01  uint16 = 10 // deprecated
	TypeOSPFv2      uint16 = 11
	TypeTableDump   uint16 = 12
	TypeTableDumpV2 uint16 = 13
	TypeBGP4MP      uint16 = 16
	TypeBGP4MPET    uint16 = 17
	TypeISIS        uint16 = 32
	TypeISISET      uint16 = 33
	TypeOSPFv3      uint16 = 48
	TypeOSPFv3ET    uint16 = 49
)

// HeaderLen is the length of the MRT common header (RFC 6396 §2).
const HeaderLen = 12

// DefaultMaxRecordLen is the default for [WithMaxRecordLen].
const DefaultMaxRecordLen = 16 << 20

// Header is the MRT common header (RFC 6396 §2):
//
//	Timestamp (4) | Type (2) | Subtype (2) | Length (4) | Message (Length)
//
// For the extended-timestamp types (BGP4MP_ET, ISIS_ET, OSPFv3_ET, RFC 6396
// §3) Microseconds is filled from the 4-byte Microsecond Timestamp field that
// starts the message; it is 0 for other types.
type Header struct {
	// Timestamp is the record time in seconds since the Unix epoch.
	Timestamp uint32
	// Type is the MRT type (TypeBGP4MP...).
	Type uint16
	// Subtype is the type-specific subtype.
	Subtype uint16
	// Length is the Length field as written: the message length, which for
	// the _ET types includes the 4-byte microsecond field.
	Length uint32
	// Microseconds is the extended timestamp of the _ET types.
	Microseconds uint32
}

// IsET reports whether the type carries the extended (microsecond) timestamp.
func IsET(t uint16) bool {
	return t == TypeBGP4MPET || t == TypeISISET || t == TypeOSPFv3ET
}

// RawRecord is one framed MRT record.
type RawRecord struct {
	Header
	// Body is the message after the common header; for the _ET types it
	// starts after the microsecond field. len(Body) == Length+LengthShort,
	// minus 4 for the _ET types. Body aliases the Reader's buffer and is
	// valid until the next call to Next.
	Body []byte
	// Offset is the byte offset of the header in the uncompressed stream.
	Offset int64
	// LengthShort is non-zero when the header's Length was that many bytes
	// short of the record actually written (the next good header followed
	// LengthShort bytes later): Body includes those bytes.
	LengthShort int
}

// AppendTo appends the record in MRT wire form (common header, the
// microsecond field for the _ET types, then Body) to dst. The Length field is
// written from the body actually held, so a record repaired by the Reader
// (LengthShort) is written with its true length.
func (r *RawRecord) AppendTo(dst []byte) []byte {
	n := len(r.Body)
	if IsET(r.Type) {
		n += 4
	}
	dst = binary.BigEndian.AppendUint32(dst, r.Timestamp)
	dst = binary.BigEndian.AppendUint16(dst, r.Type)
	dst = binary.BigEndian.AppendUint16(dst, r.Subtype)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	if IsET(r.Type) {
		dst = binary.BigEndian.AppendUint32(dst, r.Microseconds)
	}
	return append(dst, r.Body...)
}

// ReaderStats counts what a Reader has done so far.
type ReaderStats struct {
	// Records is the number of records returned by Next.
	Records int64
	// Bytes is the number of uncompressed bytes consumed (records, gaps and
	// any truncated tail).
	Bytes int64
	// CompressedBytes is the number of bytes read from the underlying
	// reader (equal to Bytes, modulo read-ahead, for uncompressed input).
	CompressedBytes int64
	// Gaps is the number of damaged regions skipped (GapErrors returned).
	Gaps int64
	// BytesSkipped is the total length of those regions.
	BytesSkipped int64
	// LengthRepairs counts records whose declared length was a few bytes
	// short and was corrected (see RawRecord.LengthShort).
	LengthRepairs int64
}

// GapError is returned by Next when a damaged region of the stream was
// skipped. It is not fatal: the caller counts it and calls Next again, which
// returns the record found at End.
type GapError struct {
	// Name is the input's name given with WithName, or "".
	Name string
	// Start and End are the uncompressed byte offsets of the skipped region
	// [Start, End).
	Start, End int64
	// Cause says what looked wrong at Start.
	Cause error
}

// Error returns "NAME: offset START: skipped N bytes to offset END: cause".
func (e *GapError) Error() string {
	return fmt.Sprintf("%soffset %d: skipped %d bytes to offset %d: %v",
		namePrefix(e.Name), e.Start, e.End-e.Start, e.End, e.Cause)
}

// Unwrap returns the cause.
func (e *GapError) Unwrap() error { return e.Cause }

// TruncatedError is returned by Next when the input ends inside a record or
// the compressed stream is damaged or truncated. It is fatal: afterwards Next
// returns io.EOF. Every complete record before Offset has been returned.
type TruncatedError struct {
	// Name is the input's name given with WithName, or "".
	Name string
	// Offset is the uncompressed offset of the incomplete record, or of the
	// point where decompression failed.
	Offset int64
	// Err is the decompressor's error, or decode.ErrTruncated when the
	// uncompressed stream simply ends inside a record.
	Err error
}

// Error returns "NAME: offset N: truncated MRT record: cause".
func (e *TruncatedError) Error() string {
	if e.Err == nil || errors.Is(e.Err, decode.ErrTruncated) {
		return fmt.Sprintf("%soffset %d: truncated MRT record: %v", namePrefix(e.Name), e.Offset, e.Err)
	}
	return fmt.Sprintf("%soffset %d: truncated MRT record: decompression failed: %v", namePrefix(e.Name), e.Offset, e.Err)
}

// Unwrap returns decode.ErrTruncated and the decompressor's error.
func (e *TruncatedError) Unwrap() []error {
	if e.Err == nil || e.Err == decode.ErrTruncated {
		return []error{decode.ErrTruncated}
	}
	return []error{decode.ErrTruncated, e.Err}
}

func namePrefix(name string) string {
	if name == "" {
		return ""
	}
	return name + ": "
}

// ReaderOpt configures NewReader.
type ReaderOpt interface{ apply(*readerCfg) }

type readerCfg struct {
	name         string
	maxRecordLen int
	maxSkew      time.Duration
	compression  string
	bzip2Workers int
	chunkSize    int
}

type optFunc func(*readerCfg)

func (f optFunc) apply(c *readerCfg) { f(c) }

// WithName names the input in errors ("FILE: offset N: ..."). Default "".
func WithName(name string) ReaderOpt { return optFunc(func(c *readerCfg) { c.name = name }) }

// WithMaxRecordLen sets the largest declared record length taken as
// plausible (default DefaultMaxRecordLen, 16 MiB). A header declaring more
// starts a resync. The Reader buffers up to about three records of this
// size while resynchronising, so it also bounds memory.
func WithMaxRecordLen(n int) ReaderOpt {
	return optFunc(func(c *readerCfg) { c.maxRecordLen = n })
}

// WithMaxTimeSkew sets how far a header's timestamp may lie from the last
// good record's for a resync point to be accepted (default 7 days). It is
// used only while resynchronising; intact records are never checked.
func WithMaxTimeSkew(d time.Duration) ReaderOpt {
	return optFunc(func(c *readerCfg) { c.maxSkew = d })
}

// WithCompression forces the decompressor ("gzip", "bzip2", "xz", "zstd",
// "none") instead of detecting it from the magic bytes.
func WithCompression(name string) ReaderOpt {
	return optFunc(func(c *readerCfg) { c.compression = name })
}

// WithBzip2Workers sets how many goroutines decode bzip2 blocks in parallel
// (default 2, or 1 when GOMAXPROCS is 1) with this package's block decoder (package internal/bzip2). 0 uses
// the standard library's sequential decoder instead.
func WithBzip2Workers(n int) ReaderOpt {
	return optFunc(func(c *readerCfg) { c.bzip2Workers = n })
}

// Bzip2Workers returns the bzip2 worker count opts resolve to (the default
// unless WithBzip2Workers is among them), for a caller that decompresses a
// non-MRT input with the same settings.
func Bzip2Workers(opts ...ReaderOpt) int {
	cfg := readerCfg{bzip2Workers: defaultBzip2Workers()}
	for _, o := range opts {
		o.apply(&cfg)
	}
	return cfg.bzip2Workers
}

func defaultBzip2Workers() int { return min(2, runtime.GOMAXPROCS(0)) }

// WithChunkSize sets the size of the buffers that carry decompressed data
// from the decompression goroutine (default 512 KiB; 4 KiB to 16 MiB).
func WithChunkSize(n int) ReaderOpt { return optFunc(func(c *readerCfg) { c.chunkSize = n }) }

// Reader frames MRT records from a possibly compressed stream. It is not
// safe for concurrent use. Call Close when done to stop its goroutines.
//
// Damaged framing. After each record the Reader peeks at the next 12 bytes;
// while they form a plausible header (a known type/subtype, or a type below
// 256 whose following headers are known; a length within WithMaxRecordLen)
// nothing else is checked, so intact files are never scanned. Otherwise:
//   - if a chain of good headers starts 1–8 bytes after the record's
//     declared end, the record is delivered with those bytes
//     (RawRecord.LengthShort; early RIPE TABLE_DUMP writers declare 4 bytes
//     less than they write);
//   - if a resync point lies inside the record, its length overran the next
//     record: the record becomes part of a gap;
//   - else the record is delivered and the bytes after it, up to the next
//     resync point, are a gap.
//
// A resync point is an offset where a known type/subtype header with a
// plausible length and a timestamp within WithMaxTimeSkew of the last good
// record starts, and the next two headers chain from it (each at the
// previous record's end or up to 8 bytes after it); or, for data from
// another time, where four such headers chain with mutually consistent
// timestamps. A gap comes back from Next as a *GapError.
type Reader struct {
	cfg         readerCfg
	compression string
	src         *pipe

	// window: win[lo:hi] holds uncompressed bytes; win[lo] is at stream
	// offset off.
	win    []byte
	lo, hi int
	off    int64
	cur    []byte // unread part of the current chunk
	curBuf []byte // the current chunk's buffer, returned to the pipe when used
	srcErr error  // io.EOF or the decompressor's error once the pipe ended
	srcEnd bool

	rec      RawRecord
	lastTS   uint32
	haveTS   bool
	resync   bool  // scanning for a resync point
	gapStart int64 // stream offset where the current gap starts
	// lastShort is the LengthShort of the last repaired record.
	lastShort int
	// pendingCause is the cause of the gap being scanned.
	pendingCause error
	done         bool
	stats        ReaderStats
}

// NewReader returns a Reader over r. The compression is detected from the
// magic bytes: gzip (incl. multi-member), bzip2 (incl. multi-stream), xz,
// zstd, else none. Decompression runs on its own goroutine(s).
func NewReader(r io.Reader, opts ...ReaderOpt) (*Reader, error) {
	cfg := readerCfg{
		maxRecordLen: DefaultMaxRecordLen,
		maxSkew:      7 * 24 * time.Hour,
		bzip2Workers: defaultBzip2Workers(),
		chunkSize:    defaultChunkSize,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	var probs []error
	if cfg.maxRecordLen < 1 || cfg.maxRecordLen > 1<<30 {
		probs = append(probs, fmt.Errorf("WithMaxRecordLen %d outside [1, %d]", cfg.maxRecordLen, 1<<30))
	}
	if cfg.maxSkew < 0 {
		probs = append(probs, fmt.Errorf("WithMaxTimeSkew %v is negative", cfg.maxSkew))
	}
	if cfg.bzip2Workers < 0 || cfg.bzip2Workers > 64 {
		probs = append(probs, fmt.Errorf("WithBzip2Workers %d outside [0, 64]", cfg.bzip2Workers))
	}
	if cfg.chunkSize < 4<<10 || cfg.chunkSize > 16<<20 {
		probs = append(probs, fmt.Errorf("WithChunkSize %d outside [%d, %d]", cfg.chunkSize, 4<<10, 16<<20))
	}
	switch cfg.compression {
	case "", "gzip", "bzip2", "xz", "zstd", "none":
	default:
		probs = append(probs, fmt.Errorf("WithCompression %q is not one of gzip, bzip2, xz, zstd, none", cfg.compression))
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("mrt: %s%w", namePrefix(cfg.name), errors.Join(probs...))
	}
	p, comp, err := openPipe(r, &cfg)
	if err != nil {
		return nil, fmt.Errorf("mrt: %soffset 0: %w", namePrefix(cfg.name), err)
	}
	return &Reader{
		cfg:         cfg,
		compression: comp,
		src:         p,
		win:         newWindow(cfg.chunkSize),
	}, nil
}

func newWindow(chunkSize int) []byte {
	if chunkSize == defaultChunkSize {
		return windowPool.Get().([]byte)
	}
	return make([]byte, 2*chunkSize)
}

// Compression returns the detected compression: "gzip", "bzip2", "xz",
// "zstd" or "none".
func (r *Reader) Compression() string { return r.compression }

// Stats returns the counters so far.
func (r *Reader) Stats() ReaderStats {
	s := r.stats
	s.CompressedBytes = r.src.compressed.Load()
	return s
}

// Close stops the decompression goroutines and releases the buffers (the
// last record's Body is invalid afterwards). It does not close the
// underlying reader. It is safe to call more than once.
func (r *Reader) Close() error {
	r.done = true
	r.src.close()
	if len(r.win) == 2*defaultChunkSize {
		windowPool.Put(r.win)
	}
	r.win, r.lo, r.hi, r.rec = nil, 0, 0, RawRecord{}
	return nil
}

// windowPool recycles default-size windows across readers.
var windowPool = sync.Pool{New: func() any { return make([]byte, 2*defaultChunkSize) }}

// Next returns the next record. It returns a *GapError (not fatal: call
// Next again) after skipping a damaged region, a *TruncatedError (fatal) when
// the input ends inside a record or decompression fails, and io.EOF at the
// clean end. The record and its Body are valid until the next call.
func (r *Reader) Next() (*RawRecord, error) {
	if r.done {
		return nil, io.EOF
	}
	if r.resync {
		return nil, r.scan()
	}
	n := r.fill(HeaderLen)
	if n == 0 {
		return nil, r.end(r.off)
	}
	if n < HeaderLen {
		return nil, r.truncated(r.off)
	}
	h := r.header(0)
	if !r.framingOK(h, 0, 2) {
		r.startResync(fmt.Errorf("implausible MRT header (type %d subtype %d length %d)", h.Type, h.Subtype, h.Length))
		return nil, r.scan()
	}
	end := HeaderLen + int(h.Length)
	n = r.fill(end + HeaderLen)
	if n < end {
		if r.srcErr == io.EOF {
			// A clean end inside a record: if a resync point lies
			// inside, the length was damaged rather than the file cut.
			if q, ok := r.search(1, n-HeaderLen+1); ok {
				g := &GapError{Name: r.cfg.name, Start: r.off, End: r.off + int64(q),
					Cause: fmt.Errorf("MRT record length %d runs past the end of the stream", h.Length)}
				r.consume(q)
				r.countGap(g)
				return nil, g
			}
		}
		return nil, r.truncated(r.off)
	}
	if k := n - end; k > 0 && k < HeaderLen && k == r.lastShort && r.srcErr == io.EOF {
		// The stream ends k bytes after the last record's declared end, and
		// the records before it were k bytes short too: same writer bug.
		rec := r.deliver(h, n)
		rec.LengthShort = k
		r.stats.LengthRepairs++
		return rec, nil
	}
	if n >= end+HeaderLen && !r.framingOK(r.header(end), end, 2) {
		// The bytes after this record are not a header: either its length
		// is wrong or damage follows it.
		// A record whose declared length is a few bytes short (early RIPE
		// TABLE_DUMP writers declare 4 bytes less than they write) is
		// followed by a chain of good headers k bytes after its declared
		// end: take those k bytes back into the record.
		for k := 1; k <= maxSkip; k++ {
			if r.fill(end+k+HeaderLen) >= end+k+HeaderLen && r.candidate(end+k, h.Timestamp, true, 2) {
				rec := r.deliver(h, end+k)
				rec.LengthShort, r.lastShort = k, k
				r.stats.LengthRepairs++
				return rec, nil
			}
		}
		nh := r.header(end)
		cause := fmt.Errorf("implausible MRT header (type %d subtype %d length %d) after the %d-byte record at offset %d",
			nh.Type, nh.Subtype, nh.Length, end, r.off)
		// A resync point inside the record means its length overran the
		// next record: drop it into the gap.
		if q, ok := r.search(1, end); ok {
			g := &GapError{Name: r.cfg.name, Start: r.off, End: r.off + int64(q), Cause: cause}
			r.consume(q)
			r.countGap(g)
			return nil, g
		}
		// Deliver this record; the gap starts after it.
		rec := r.deliver(h, end)
		r.startResync(cause)
		return rec, nil
	}
	return r.deliver(h, end), nil
}

// deliver fills r.rec with the record of n bytes at the window start and
// consumes it.
func (r *Reader) deliver(h Header, n int) *RawRecord {
	body := r.win[r.lo+HeaderLen : r.lo+n]
	if IsET(h.Type) {
		h.Microseconds = binary.BigEndian.Uint32(body)
		body = body[4:]
	}
	r.rec = RawRecord{Header: h, Body: body, Offset: r.off}
	if knownType(h.Type, h.Subtype) {
		r.lastTS, r.haveTS = h.Timestamp, true
	}
	r.consume(n)
	r.stats.Records++
	return &r.rec
}

func (r *Reader) consume(n int) {
	r.lo += n
	r.off += int64(n)
	r.stats.Bytes += int64(n)
}

func (r *Reader) countGap(g *GapError) {
	r.stats.Gaps++
	r.stats.BytesSkipped += g.End - g.Start
}

// end is reached when no byte is left at stream offset at.
func (r *Reader) end(at int64) error {
	r.done = true
	r.src.close()
	if r.srcErr != nil && r.srcErr != io.EOF {
		return &TruncatedError{Name: r.cfg.name, Offset: at, Err: r.srcErr}
	}
	return io.EOF
}

// truncated is reached when the stream ends inside the record at offset at.
func (r *Reader) truncated(at int64) error {
	rest := r.hi - r.lo
	r.consume(rest)
	r.done = true
	r.src.close()
	err := r.srcErr
	if err == nil || err == io.EOF {
		err = fmt.Errorf("%w: %d bytes left, record incomplete", decode.ErrTruncated, rest)
	}
	return &TruncatedError{Name: r.cfg.name, Offset: at, Err: err}
}

// header parses the common header at window-relative position p (which
// must hold HeaderLen bytes).
func (r *Reader) header(p int) Header {
	b := r.win[r.lo+p : r.lo+p+HeaderLen]
	return Header{
		Timestamp: binary.BigEndian.Uint32(b),
		Type:      binary.BigEndian.Uint16(b[4:]),
		Subtype:   binary.BigEndian.Uint16(b[6:]),
		Length:    binary.BigEndian.Uint32(b[8:]),
	}
}

// knownType reports whether (t, st) is a type/subtype pair defined by RFC
// 6396 (incl. deprecated BGP types 5–10), RFC 6397 or RFC 8050.
func knownType(t, st uint16) bool {
	switch t {
	case TypeBGP, TypeBGP4Plus, TypeBGP4Plus01:
		return st <= 7
	case TypeRIP, TypeIDRP, TypeRIPng, TypeOSPFv2, TypeISIS, TypeISISET, TypeOSPFv3, TypeOSPFv3ET:
		return st == 0
	case TypeTableDump:
		return st == 1 || st == 2
	case TypeTableDumpV2:
		return st >= 1 && st <= 12
	case TypeBGP4MP, TypeBGP4MPET:
		return st <= 11
	}
	return false
}

// lengthOK checks the declared length against the limit and the minimum of
// the extended-timestamp types.
func (r *Reader) lengthOK(h Header) bool {
	if h.Length > uint32(r.cfg.maxRecordLen) {
		return false
	}
	return !IsET(h.Type) || h.Length >= 4
}

// framingOK decides, in the normal path, whether header h at window
// position p starts a record: a known type with a plausible length is
// accepted at once; an unknown type below 256 only if the headers after it
// chain to a known type (or to the end of the stream) within hops records.
func (r *Reader) framingOK(h Header, p int, hops int) bool {
	if !r.lengthOK(h) {
		return false
	}
	if knownType(h.Type, h.Subtype) {
		return true
	}
	if hops == 0 || h.Type >= 256 {
		// Assigned MRT types are small; a type above 255 is most often
		// the high half of a timestamp read at the wrong offset.
		return false
	}
	e := p + HeaderLen + int(h.Length)
	n := r.fill(e + HeaderLen)
	if n == e {
		return true // ends exactly at the end of the stream
	}
	if n < e+HeaderLen {
		return false
	}
	return r.framingOK(r.header(e), e, hops-1)
}

// maxSkip is the largest number of bytes tolerated between a record's
// declared end and the next header while checking a resync candidate (early
// RIPE TABLE_DUMP files declare 4 bytes less than they write).
const maxSkip = 8

// candidate reports whether a resync may restart at window position q: a
// known type, a plausible length and a timestamp near the last good record's
// (or within 1995–2040 before any), followed by `depth` more such headers,
// each at the previous record's declared end or up to maxSkip bytes after it.
// A chain that reaches the end of the data counts as complete.
func (r *Reader) candidate(q int, ts uint32, haveTS bool, depth int) bool {
	n := r.fill(q + HeaderLen)
	if n < q+HeaderLen {
		return false
	}
	b := r.win[r.lo+q:]
	t, st := binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:])
	if !knownType(t, st) {
		return false
	}
	h := r.header(q)
	if !r.lengthOK(h) || !r.timeOK(h.Timestamp, ts, haveTS) {
		return false
	}
	if depth == 0 {
		return true
	}
	e := q + HeaderLen + int(h.Length)
	n = r.fill(e + maxSkip + HeaderLen)
	if n < e+HeaderLen {
		return n >= e // the chain reaches the end of the data
	}
	for k := 0; k <= maxSkip && e+k+HeaderLen <= n; k++ {
		if r.candidate(e+k, h.Timestamp, true, depth-1) {
			return true
		}
	}
	return false
}

// typeAt is the cheap first test of a resync candidate at window position
// q (HeaderLen bytes must be there): a known type/subtype pair.
func (r *Reader) typeAt(q int) bool {
	b := r.win[r.lo+q+4 : r.lo+q+8]
	return knownType(binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]))
}

// resyncAt reports whether a resync may restart at window position q: a
// candidate near the last good record's time chaining 2 more headers, or,
// for data from another time (e.g. concatenated dumps), any time within
// 1995–2040 chaining 3 more headers whose times agree with each other.
func (r *Reader) resyncAt(q int) bool {
	return r.candidate(q, r.lastTS, r.haveTS, 2) || (r.haveTS && r.candidate(q, 0, false, 3))
}

func (r *Reader) timeOK(t, ref uint32, haveRef bool) bool {
	if !haveRef {
		// 1995-01-01 .. 2040-01-01
		return t >= 788918400 && t < 2208988800
	}
	d := int64(t) - int64(ref)
	if d < 0 {
		d = -d
	}
	return d <= int64(r.cfg.maxSkew/time.Second)
}

// search looks for a resync point at window positions [from, to); to < 0
// means up to the end of the stream. Window bytes are kept.
func (r *Reader) search(from, to int) (int, bool) {
	for q := from; to < 0 || q < to; q++ {
		if r.fill(q+HeaderLen) < q+HeaderLen {
			return 0, false
		}
		if r.typeAt(q) && r.resyncAt(q) {
			return q, true
		}
	}
	return 0, false
}

func (r *Reader) startResync(cause error) {
	r.resync = true
	r.gapStart = r.off
	r.pendingCause = cause
}

// scan continues a resync: it searches forward from the window start
// (dropping the bytes it passes, so memory stays flat) and returns the
// GapError for the skipped region, after which Next resumes at its end.
func (r *Reader) scan() error {
	// The gap starts at the window start, which was rejected.
	q := 1
	for {
		if r.fill(q+HeaderLen) < q+HeaderLen {
			// No resync point before the end: the rest is the gap.
			r.consume(r.hi - r.lo)
			break
		}
		if r.typeAt(q) && r.resyncAt(q) {
			r.consume(q)
			break
		}
		q++
		if q >= 1<<20 {
			// Drop what was passed so the window does not grow.
			r.consume(q)
			q = 0
		}
	}
	r.resync = false
	g := &GapError{Name: r.cfg.name, Start: r.gapStart, End: r.off, Cause: r.pendingCause}
	r.pendingCause = nil
	r.countGap(g)
	return g
}

// fill makes sure the window holds at least n bytes from its start, reading
// from the decompression goroutine, and returns how many it holds (fewer
// than n only at the end of the stream).
func (r *Reader) fill(n int) int {
	if r.hi-r.lo >= n {
		return r.hi - r.lo
	}
	if n > len(r.win) {
		size := 2 * len(r.win)
		for size < n {
			size *= 2
		}
		w := make([]byte, size)
		r.hi = copy(w, r.win[r.lo:r.hi])
		r.lo = 0
		r.win = w
	} else if r.lo+n > len(r.win) {
		r.hi = copy(r.win, r.win[r.lo:r.hi])
		r.lo = 0
	}
	for r.hi-r.lo < n {
		if len(r.cur) == 0 {
			if !r.nextChunk() {
				break
			}
		}
		c := copy(r.win[r.hi:], r.cur)
		r.hi += c
		r.cur = r.cur[c:]
	}
	return r.hi - r.lo
}

// nextChunk receives the next decompressed chunk; false at the end.
func (r *Reader) nextChunk() bool {
	if r.curBuf != nil {
		r.src.release(r.curBuf)
		r.curBuf = nil
	}
	for !r.srcEnd {
		c, ok := r.src.recv()
		if !ok {
			r.srcEnd = true
			if r.srcErr == nil {
				r.srcErr = io.EOF
			}
			return false
		}
		if c.err != nil {
			r.srcErr = c.err
			r.srcEnd = true
		}
		if len(c.buf) > 0 {
			r.cur, r.curBuf = c.buf, c.buf
			return true
		}
		if c.buf != nil {
			r.src.release(c.buf)
		}
	}
	return false
}
