// Package bzip2 is a parallel bzip2 decoder: blocks are found at bit
// granularity, decoded by several goroutines and handed back in order, with
// every block and stream CRC checked. It is shared by the MRT reader and the
// archive fetcher.
//
// It is not an encoder, and it does not detect compression formats (package
// internal/compress does).
package bzip2

import (
	"bytes"
	stdbzip2 "compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// Parallel bzip2 decoding.
//
// A bzip2 file is one or more streams: "BZh" + level digit, then blocks,
// each starting with the 48-bit magic 0x314159265359 and its 32-bit CRC,
// then the 48-bit end-of-stream magic 0x177245385090 and the 32-bit stream
// CRC (each block CRC folded in: crc = crc<<1 | crc>>31 ^ blockCRC), padded
// to a byte. Blocks are not byte aligned but are independent, so a splitter
// finds the magics at bit granularity, workers decode blocks concurrently
// and Read hands the outputs back in order.
//
// A worker decodes a block with this package's block decoder
// (bzip2_block.go), which checks the block CRC and that the block ends
// exactly at the next magic. On any error it decodes the block again with
// the standard library, fed a re-synthesised one-block stream: "BZh"+level,
// the block's bits re-aligned to a byte, the end-of-stream magic and the
// stream CRC (for one block, the block CRC). Read folds the block CRCs and
// checks each stream CRC.
//
// Memory is bounded by bytes, not by the data: a worker keeps a block's
// output decoded only up to maxBlockOut; a block that expands further (RLE1
// lets 900 kB become 45.9 MB, so a 1.5 KB file can hold 2 GiB of zeros) is
// held in its pre-RLE1 form, at most 900 kB, after its CRC was checked over
// the whole expansion, and Read expands it into the caller's buffer. So
// every block in flight holds at most maxBlockOut bytes of output, and the
// number of blocks in flight is bounded by the channels (about two per
// worker).
//
// The magic can in principle occur inside compressed data (2^-48 per bit).
// A block cut at such a false magic fails to decode; Read then decodes it
// joined to the next segment. Every block CRC and every stream CRC is
// verified, so a wrong split can never yield wrong output silently.

const (
	bzBlockMagic = 0x314159265359
	bzEOSMagic   = 0x177245385090
	bzMask48     = 1<<48 - 1
)

// bzCand[b] is true when byte b can be the second byte of a magic at some
// bit shift; it prefilters the bit-granular search.
var bzCand = func() (t [256]bool) {
	for sh := 0; sh < 8; sh++ {
		t[byte(uint64(bzBlockMagic)>>(32+sh))] = true
		t[byte(uint64(bzEOSMagic)>>(32+sh))] = true
	}
	return t
}()

// maxBlockOut is the most output a worker holds decoded for one block
// (2 MiB; blocks of real files expand to about 1 MB).
const maxBlockOut = 2 << 20

type bzJobKind uint8

// bzForm is what a decoded block's out holds.
type bzForm uint8

const (
	bzFormPlain bzForm = iota // the decoded bytes
	bzFormRLE1                // the bytes before RLE1 decoding, CRC checked
	bzFormStd                 // a one-block stream the standard library decodes, checked
)

const (
	bzJobBlock bzJobKind = iota
	bzJobStreamEnd
	bzJobError
)

// bzJob is one unit of the ordered output: a block to decode, the end of a
// stream (with its stored CRC) or a fatal error.
type bzJob struct {
	kind   bzJobKind
	src    []byte // compressed bytes holding the block's bits
	bitOff uint   // first bit of the block magic in src[0] (0 = MSB)
	nbits  int64  // bits from the block magic to the next magic
	level  byte
	crc    uint32 // block CRC from the block header; stream CRC for bzJobStreamEnd
	// nextIsBlock: the segment ended at a block magic (which may be false).
	nextIsBlock bool
	off         int64 // compressed byte offset of the segment
	out         []byte
	form        bzForm // what out holds
	err         error
	done        chan struct{}
}

// Reader decodes a bzip2 file (incl. concatenated streams) with
// several goroutines decoding blocks in parallel. Its output equals
// compress/bzip2's, except that a block failing its CRC is withheld whole
// (compress/bzip2 hands out its bytes before noticing). Errors give the
// compressed byte offset of the block. Use NewReader; Close stops the
// goroutines.
type Reader struct {
	r       io.Reader
	workers int
	jobs    chan *bzJob
	order   chan *bzJob
	stop    chan struct{}
	once    sync.Once
	// splitDone is closed when the splitter has stopped reading r.
	splitDone chan struct{}
	outFree   chan []byte
	srcFree   chan []byte

	cur    []byte
	lazy   io.Reader // expands the current block when it is not held decoded
	exp    rle1
	curJob *bzJob
	held   *bzJob
	crc    uint32
	err    error
}

// NewReader returns a reader of the decompressed bytes of the bzip2
// data in r, decoded by `workers` goroutines (at least 1).
func NewReader(r io.Reader, workers int) *Reader {
	return newReader(r, workers, true)
}

// newReader lets benchmarks choose the block decoder: native (this
// package's) or the standard library's.
func newReader(r io.Reader, workers int, native bool) *Reader {
	if workers < 1 {
		workers = 1
	}
	z := &Reader{
		r:         r,
		workers:   workers,
		jobs:      make(chan *bzJob),
		order:     make(chan *bzJob, workers+1),
		stop:      make(chan struct{}),
		splitDone: make(chan struct{}),
		outFree:   make(chan []byte, 2*workers+4),
		srcFree:   make(chan []byte, 2*workers+4),
	}
	go z.split()
	for i := 0; i < workers; i++ {
		if native {
			go z.runNative()
			continue
		}
		w := &bzWorker{z: z, scratch: make([]byte, 64<<10)}
		go w.run()
	}
	return z
}

// Stopped is closed once the reader no longer reads its input (after Close,
// an error or the end of the input), so that the input's buffer can be
// reused.
func (z *Reader) Stopped() <-chan struct{} { return z.splitDone }

// Close stops the goroutines. It does not close the underlying reader.
func (z *Reader) Close() error {
	z.once.Do(func() { close(z.stop) })
	return nil
}

// Read implements io.Reader. Errors name the compressed byte offset.
func (z *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if len(z.cur) > 0 {
			n := copy(p, z.cur)
			z.cur = z.cur[n:]
			return n, nil
		}
		if z.lazy != nil {
			n, err := z.lazy.Read(p)
			if n > 0 {
				return n, nil
			}
			if err == nil {
				continue
			}
			z.lazy = nil
			if err != io.EOF {
				// The worker decoded this block whole: not expected.
				z.err = fmt.Errorf("bzip2: block at compressed byte %d: %w", z.curJob.off, err)
			}
			continue
		}
		if z.err != nil {
			return 0, z.err
		}
		z.advance()
	}
}

// Read implements io.Reader over expand (p is not empty).
func (x *rle1) Read(p []byte) (int, error) {
	if n := x.expand(p); n > 0 {
		return n, nil
	}
	return 0, io.EOF
}

func (z *Reader) nextJob() *bzJob {
	if j := z.held; j != nil {
		z.held = nil
		return j
	}
	select {
	case j, ok := <-z.order:
		if !ok {
			return nil
		}
		return j
	case <-z.stop:
		return nil
	}
}

func (z *Reader) wait(j *bzJob) bool {
	select {
	case <-j.done:
		return true
	case <-z.stop:
		return false
	}
}

// advance moves to the next job in order and sets z.cur or z.err.
func (z *Reader) advance() {
	if j := z.curJob; j != nil {
		z.recycle(j)
		z.curJob = nil
	}
	j := z.nextJob()
	if j == nil {
		z.err = io.EOF
		select {
		case <-z.stop:
			z.err = errors.New("bzip2: reader closed")
		default:
		}
		return
	}
	switch j.kind {
	case bzJobError:
		z.err = j.err
		return
	case bzJobStreamEnd:
		if z.crc != j.crc {
			z.err = fmt.Errorf("bzip2: stream checksum mismatch at compressed byte %d (stored %08x, computed %08x)", j.off, j.crc, z.crc)
		}
		z.crc = 0
		return
	}
	if !z.wait(j) {
		z.err = errors.New("bzip2: reader closed")
		return
	}
	if j.err != nil && j.nextIsBlock {
		// Perhaps a false magic cut the block: decode it joined to the
		// next segment.
		if nx := z.nextJob(); nx != nil {
			if nx.kind == bzJobBlock && z.wait(nx) {
				out, err := decodeJoined(j, nx)
				if err == nil {
					z.recycle(nx)
					z.recycle(j)
					j.out, j.form, j.err, j.nextIsBlock = out, bzFormPlain, nil, nx.nextIsBlock
				}
			}
			if j.err != nil {
				z.held = nx
			}
		}
	}
	if j.err != nil {
		z.err = fmt.Errorf("bzip2: block at compressed byte %d: %w", j.off, j.err)
		return
	}
	z.crc = (z.crc<<1 | z.crc>>31) ^ j.crc
	z.curJob = j
	switch j.form {
	case bzFormRLE1:
		z.exp = rle1{pre: j.out, last: -1}
		z.lazy = &z.exp
	case bzFormStd:
		z.lazy = stdbzip2.NewReader(bytes.NewReader(j.out))
	default:
		z.cur = j.out
	}
}

func (z *Reader) recycle(j *bzJob) {
	if j.out != nil && cap(j.out) <= 2*maxBlockOut {
		select {
		case z.outFree <- j.out[:0]:
		default:
			putBuf(&bzOutPool, j.out)
		}
	}
	if j.src != nil {
		select {
		case z.srcFree <- j.src[:0]:
		default:
		}
	}
	j.out, j.src = nil, nil
}

// emit queues a job for Read and, for blocks, for the workers.
func (z *Reader) emit(j *bzJob) bool {
	select {
	case z.order <- j:
	case <-z.stop:
		return false
	}
	if j.kind != bzJobBlock {
		return true
	}
	select {
	case z.jobs <- j:
		return true
	case <-z.stop:
		return false
	}
}

func (z *Reader) fail(err error) {
	z.emit(&bzJob{kind: bzJobError, err: err})
}

// split finds the streams and blocks in the compressed input and emits them
// in order.
func (z *Reader) split() {
	defer close(z.order)
	defer close(z.jobs)
	s := &bitScanner{r: z.r, buf: getBuf(&bzScanPool)[:0]}
	defer func() { putBuf(&bzScanPool, s.buf) }()
	defer close(z.splitDone)
	pos := int64(0) // byte offset of the next stream header
	split, fakeNext := false, false
	for streams := 0; ; streams++ {
		if !s.ensure(pos + 1) {
			switch {
			case s.err != nil:
				z.fail(fmt.Errorf("bzip2: reading compressed byte %d: %w", pos, s.err))
			case streams == 0:
				z.fail(fmt.Errorf("bzip2: empty input: %w", io.ErrUnexpectedEOF))
			}
			return
		}
		if !s.ensure(pos + 4) {
			z.fail(s.truncErr(pos, "stream header"))
			return
		}
		h := s.bytes(pos, 4)
		if h[0] != 'B' || h[1] != 'Z' || h[2] != 'h' || h[3] < '1' || h[3] > '9' {
			z.fail(fmt.Errorf("bzip2: bad stream header % x at compressed byte %d", h, pos))
			return
		}
		level := h[3]
		bit := (pos + 4) * 8
		for {
			if !s.ensure((bit + 48 + 7) / 8) {
				z.fail(s.truncErr(bit/8, "block magic"))
				return
			}
			m := s.bits(bit, 48)
			if m == bzEOSMagic {
				if !s.ensure((bit + 80 + 7) / 8) {
					z.fail(s.truncErr(bit/8, "stream CRC"))
					return
				}
				crc := uint32(s.bits(bit+48, 32))
				if !z.emit(&bzJob{kind: bzJobStreamEnd, crc: crc, off: bit / 8}) {
					return
				}
				pos = (bit + 80 + 7) / 8
				s.discard(pos)
				break
			}
			if m != bzBlockMagic {
				z.fail(fmt.Errorf("bzip2: bad block magic %012x at compressed byte %d", m, bit/8))
				return
			}
			nxt, ok := s.find(bit + 48)
			if !ok {
				z.fail(s.truncErr(bit/8, "block"))
				return
			}
			if bzTestSplit > 0 && !split && bit+bzTestSplit < nxt {
				// Test hook: act as if a block magic sat inside the block.
				nxt, split, fakeNext = bit+bzTestSplit, true, true
			}
			if !s.ensure((bit + 80 + 7) / 8) {
				z.fail(s.truncErr(bit/8, "block CRC"))
				return
			}
			j := &bzJob{
				kind:        bzJobBlock,
				bitOff:      uint(bit % 8),
				nbits:       nxt - bit,
				level:       level,
				crc:         uint32(s.bits(bit+48, 32)),
				nextIsBlock: fakeNext || s.bits(nxt, 48) == bzBlockMagic,
				off:         bit / 8,
				done:        make(chan struct{}),
			}
			var src []byte
			select {
			case src = <-z.srcFree:
			default:
			}
			j.src = append(src[:0], s.bytes(bit/8, int((nxt+7)/8-bit/8))...)
			if !z.emit(j) {
				return
			}
			s.discard(nxt / 8)
			bit = nxt
			if fakeNext {
				// The fake segment: from the fake magic to the real one.
				fakeNext = false
				nxt, _ = s.find(bit + 48)
				j := &bzJob{kind: bzJobBlock, bitOff: uint(bit % 8), nbits: nxt - bit, level: level,
					crc: uint32(s.bits(bit+48, 32)), nextIsBlock: s.bits(nxt, 48) == bzBlockMagic,
					off: bit / 8, done: make(chan struct{})}
				j.src = append([]byte(nil), s.bytes(bit/8, int((nxt+7)/8-bit/8))...)
				if !z.emit(j) {
					return
				}
				s.discard(nxt / 8)
				bit = nxt
			}
		}
	}
}

// Buffers and block decoders are pooled across readers: a bzip2 reader
// needs about 10 MB per worker, too much to allocate per file.
var (
	bzDecoderPool = sync.Pool{New: func() any { return new(bzBlockDecoder) }}
	bzScanPool    = sync.Pool{New: func() any { return make([]byte, 1<<20) }}
	bzOutPool     = sync.Pool{New: func() any { return make([]byte, 1<<20) }}
)

// getBuf and putBuf keep []byte in a sync.Pool (by pointer-free boxing of
// the slice header; the pool's New sets the size).
func getBuf(p *sync.Pool) []byte {
	if b, ok := p.Get().([]byte); ok {
		return b[:cap(b)]
	}
	return nil
}

func putBuf(p *sync.Pool, b []byte) {
	if cap(b) >= 1<<20 && cap(b) <= 2*maxBlockOut {
		p.Put(b[:cap(b)])
	}
}

// bzTestStdOnly makes the workers decode every block with the standard
// library, as they do a block the native decoder rejects (tests only).
var bzTestStdOnly bool

// bzTestSplit, when positive, makes the splitter cut the first block this
// many bits after its magic, as a false magic would (tests only).
var bzTestSplit int64

// bitScanner buffers the compressed input for the splitter; positions are
// absolute (bytes or bits from the start of the input).
type bitScanner struct {
	r    io.Reader
	buf  []byte // bytes from absolute offset base
	base int64
	eof  bool
	err  error
}

func (s *bitScanner) truncErr(at int64, what string) error {
	if s.err != nil {
		return fmt.Errorf("bzip2: reading %s at compressed byte %d: %w", what, at, s.err)
	}
	return fmt.Errorf("bzip2: compressed data ends inside the %s at compressed byte %d: %w", what, at, io.ErrUnexpectedEOF)
}

// more reads more input; false at the end.
func (s *bitScanner) more() bool {
	for !s.eof {
		if cap(s.buf)-len(s.buf) < 64<<10 {
			nb := make([]byte, len(s.buf), 2*cap(s.buf)+64<<10)
			copy(nb, s.buf)
			s.buf = nb
		}
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.err = err
			}
		}
		if n > 0 {
			return true
		}
	}
	return false
}

// ensure makes the bytes before absolute offset end available.
func (s *bitScanner) ensure(end int64) bool {
	for s.base+int64(len(s.buf)) < end {
		if !s.more() {
			return false
		}
	}
	return true
}

func (s *bitScanner) bytes(at int64, n int) []byte {
	i := int(at - s.base)
	return s.buf[i : i+n]
}

// bits returns n ≤ 56 bits at absolute bit position at (MSB first); the
// bytes must be available.
func (s *bitScanner) bits(at int64, n uint) uint64 {
	i := int(at/8 - s.base)
	sh := uint(at % 8)
	var w uint64
	for k := 0; k < 8; k++ {
		w <<= 8
		if i+k < len(s.buf) {
			w |= uint64(s.buf[i+k])
		}
	}
	return (w << sh) >> (64 - n)
}

// discard drops the bytes before absolute offset at.
func (s *bitScanner) discard(at int64) {
	i := int(at - s.base)
	if i <= 0 {
		return
	}
	if i > len(s.buf) {
		i = len(s.buf)
	}
	n := copy(s.buf, s.buf[i:])
	s.buf = s.buf[:n]
	s.base += int64(i)
}

// find returns the absolute bit position of the first block or
// end-of-stream magic at or after bit from; false if the input ends first.
func (s *bitScanner) find(from int64) (int64, bool) {
	for {
		rel := from - s.base*8
		b := s.buf
		i := int(rel / 8)
		for ; i+8 <= len(b); i++ {
			if !bzCand[b[i+1]] {
				continue
			}
			w := binary.BigEndian.Uint64(b[i:])
			for sh := 0; sh < 8; sh++ {
				p := int64(i)*8 + int64(sh)
				if p < rel {
					continue
				}
				v := (w >> (16 - sh)) & bzMask48
				if v == bzBlockMagic || v == bzEOSMagic {
					return s.base*8 + p, true
				}
			}
		}
		if next := s.base*8 + int64(i)*8; next > from {
			from = next
		}
		if !s.more() {
			// Check the last positions (fewer than 8 bytes left).
			for p := from; p+48 <= (s.base+int64(len(s.buf)))*8; p++ {
				if v := s.bits(p, 48); v == bzBlockMagic || v == bzEOSMagic {
					return p, true
				}
			}
			return 0, false
		}
	}
}

// bitWriter appends bits MSB first.
type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc uint // bits in acc (< 8 between calls)
}

func (w *bitWriter) writeBits(v uint64, n uint) {
	for n > 0 {
		k := n
		if k > 32 {
			k = 32
		}
		n -= k
		w.acc = w.acc<<k | (v>>n)&(1<<k-1)
		w.nacc += k
		for w.nacc >= 8 {
			w.nacc -= 8
			w.buf = append(w.buf, byte(w.acc>>w.nacc))
		}
	}
}

// appendBits appends nbits bits of src starting at bit off of src[0].
func (w *bitWriter) appendBits(src []byte, off uint, nbits int64) {
	full := nbits / 8
	if w.nacc == 0 {
		// Aligned writer: shift whole bytes across.
		if off == 0 {
			w.buf = append(w.buf, src[:full]...)
		} else {
			for i := int64(0); i < full; i++ {
				w.buf = append(w.buf, src[i]<<off|src[i+1]>>(8-off))
			}
		}
	} else {
		for i := int64(0); i < full; i++ {
			b := src[i] << off
			if off != 0 {
				b |= src[i+1] >> (8 - off)
			}
			w.writeBits(uint64(b), 8)
		}
	}
	if rest := uint(nbits % 8); rest != 0 {
		b := uint16(src[full]) << 8
		if int64(len(src)) > full+1 {
			b |= uint16(src[full+1])
		}
		w.writeBits(uint64(b<<off>>(16-rest)), rest)
	}
}

// flush pads the last byte with zeros.
func (w *bitWriter) flush() {
	if w.nacc > 0 {
		w.buf = append(w.buf, byte(w.acc<<(8-w.nacc)))
		w.nacc = 0
	}
}

// synthesize builds a one-block bzip2 stream from the segments' bits (more
// than one segment when a false magic split a block).
func synthesize(dst []byte, segs ...*bzJob) []byte {
	w := bitWriter{buf: append(dst[:0], 'B', 'Z', 'h', segs[0].level)}
	for _, j := range segs {
		w.appendBits(j.src, j.bitOff, j.nbits)
	}
	w.writeBits(bzEOSMagic, 48)
	w.writeBits(uint64(segs[0].crc), 32)
	w.flush()
	return w.buf
}

// decodeJoined decodes the block formed by the bits of a and b.
func decodeJoined(a, b *bzJob) ([]byte, error) {
	synth := synthesize(nil, a, b)
	return io.ReadAll(stdbzip2.NewReader(bytes.NewReader(synth)))
}

// runNative is a worker decoding blocks with bzBlockDecoder, falling back
// to the standard library when it reports an error.
func (z *Reader) runNative() {
	d := bzDecoderPool.Get().(*bzBlockDecoder)
	defer bzDecoderPool.Put(d)
	var synth []byte
	for {
		var j *bzJob
		select {
		case jj, ok := <-z.jobs:
			if !ok {
				return
			}
			j = jj
		case <-z.stop:
			return
		}
		var out []byte
		select {
		case out = <-z.outFree:
		default:
			out = getBuf(&bzOutPool)[:0]
		}
		pre, crc, err := d.decodePre(j.src, j.bitOff, j.nbits, j.level)
		if bzTestStdOnly {
			err = errBzBlock
		}
		if err == nil {
			out, j.form, err = expandBlock(out[:0], pre, crc)
		}
		if err != nil {
			synth = synthesize(synth, j)
			out, j.form, err = stdBlock(out[:0], synth)
		}
		j.out, j.err = out, err
		close(j.done)
	}
}

// expandBlock undoes RLE1 on a block's pre bytes into out when the result
// fits in maxBlockOut, and checks the block CRC. A block that expands
// further is checked over its whole expansion (out serving as scratch) and
// returned as a copy of pre, to be expanded as it is read.
func expandBlock(out, pre []byte, want uint32) ([]byte, bzForm, error) {
	x := rle1{pre: pre, last: -1}
	for !x.done() {
		if len(out) == cap(out) {
			if cap(out) >= maxBlockOut {
				break
			}
			out = slices.Grow(out, min(cap(out)+64<<10, maxBlockOut-cap(out)))
		}
		out = out[:len(out)+x.expand(out[len(out):cap(out)])]
	}
	if x.done() {
		if got := bzCRC(out); got != want {
			return out[:0], bzFormPlain, crcErr(got, want)
		}
		return out, bzFormPlain, nil
	}
	c := bzCRCUpdate(^uint32(0), out)
	for {
		n := x.expand(out[:cap(out)])
		if n == 0 {
			break
		}
		c = bzCRCUpdate(c, out[:n])
	}
	if got := ^c; got != want {
		return out[:0], bzFormPlain, crcErr(got, want)
	}
	return append(out[:0], pre...), bzFormRLE1, nil
}

// stdBlock decodes a synthesised one-block stream with the standard
// library into out when it fits in maxBlockOut; a bigger block is decoded
// through (which checks its CRC) and returned as a copy of the stream, for
// Read to decode again as it is read.
func stdBlock(out, synth []byte) ([]byte, bzForm, error) {
	r := stdbzip2.NewReader(bytes.NewReader(synth))
	for len(out) < maxBlockOut {
		if len(out) == cap(out) {
			out = slices.Grow(out, min(cap(out)+64<<10, maxBlockOut-len(out)))
		}
		n, err := r.Read(out[len(out):min(cap(out), maxBlockOut)])
		out = out[:len(out)+n]
		if err == io.EOF {
			return out, bzFormPlain, nil
		}
		if err != nil {
			return out, bzFormPlain, err
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return out, bzFormPlain, err
	}
	return append(out[:0], synth...), bzFormStd, nil
}

// bzWorker decodes blocks with one long-lived standard-library decoder fed
// with synthesised one-block streams through ReadByte, so that the decoder
// keeps its 3.6 MB work array across blocks. It is the non-native worker,
// kept to measure and test the native decoder against.
type bzWorker struct {
	z       *Reader
	job     *bzJob // block being decoded
	synth   []byte
	pos     int
	scratch []byte
	closed  bool
}

// ReadByte feeds the decoder. At the end of a synthesised stream the
// decoder asks for the next stream's first byte: if the block produced
// output it is complete (the decoder has checked its CRC, the end magic and
// the stream CRC) and the next block is fetched; if not, the decoder is
// still inside the block, which is then cut short: fail it.
func (w *bzWorker) ReadByte() (byte, error) {
	if w.pos < len(w.synth) {
		b := w.synth[w.pos]
		w.pos++
		return b, nil
	}
	if w.job != nil {
		if len(w.job.out) == 0 {
			return 0, io.ErrUnexpectedEOF
		}
		w.finish(nil)
	}
	if !w.next() {
		return 0, io.EOF
	}
	b := w.synth[0]
	w.pos = 1
	return b, nil
}

// Read implements io.Reader over ReadByte (the decoder only uses ReadByte).
func (w *bzWorker) Read(p []byte) (int, error) {
	for i := range p {
		b, err := w.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = b
	}
	return len(p), nil
}

func (w *bzWorker) next() bool {
	if w.closed {
		return false
	}
	select {
	case j, ok := <-w.z.jobs:
		if !ok {
			w.closed = true
			return false
		}
		w.job = j
	case <-w.z.stop:
		w.closed = true
		return false
	}
	var out []byte
	select {
	case out = <-w.z.outFree:
	default:
		out = make([]byte, 0, 1<<20)
	}
	w.job.out = out[:0]
	w.synth = synthesize(w.synth, w.job)
	w.pos = 0
	return true
}

func (w *bzWorker) finish(err error) {
	j := w.job
	w.job = nil
	j.err = err
	close(j.done)
}

func (w *bzWorker) run() {
	for !w.closed {
		dec := stdbzip2.NewReader(w)
		for {
			n, err := dec.Read(w.scratch)
			if n > 0 && w.job != nil {
				w.job.out = append(w.job.out, w.scratch[:n]...)
			}
			if err != nil {
				if w.job != nil {
					if err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					w.finish(err)
				}
				// The decoder is spent: skip the rest of this stream and
				// start a new decoder on the next job.
				w.synth, w.pos = w.synth[:0], 0
				break
			}
		}
	}
}
