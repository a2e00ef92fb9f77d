package bzip2

import (
	"errors"
	"fmt"
)

// A bzip2 block decoder (format as written by bzip2 1.0: Huffman-coded
// MTF/RLE2 symbols, inverse Burrows–Wheeler transform, RLE1), faster than
// compress/bzip2's: table-driven Huffman decoding, an RLE1 loop that appends
// runs at once, and a slicing-by-8 CRC. Its output is checked against the
// block CRC; the workers fall back to the standard library on any error, so
// a bug here can cost speed but not correctness.

var errBzBlock = errors.New("bzip2: invalid block")

func bzErr(what string) error { return fmt.Errorf("%w: %s", errBzBlock, what) }

const (
	bzMaxGroups   = 6
	bzMaxAlpha    = 258
	bzMaxCodeLen  = 20
	bzGroupSize   = 50
	bzMaxSelector = 18002 // bzip2 1.0.8 caps the selector count here
	bzFastBits    = 10
)

// bzBits reads bits MSB first from a byte slice, starting at a bit offset.
type bzBits struct {
	src   []byte
	pos   int    // next byte to load
	buf   uint64 // bits left-aligned
	n     uint   // valid bits in buf
	extra int    // zero bytes supplied past the end
}

func (b *bzBits) init(src []byte, off uint) {
	*b = bzBits{src: src}
	b.refill()
	b.buf <<= off
	b.n -= off
}

func (b *bzBits) refill() {
	for b.n <= 56 {
		var c byte
		if b.pos < len(b.src) {
			c = b.src[b.pos]
			b.pos++
		} else {
			b.extra++
		}
		b.buf |= uint64(c) << (56 - b.n)
		b.n += 8
	}
}

// read returns n ≤ 32 bits.
func (b *bzBits) read(n uint) uint32 {
	if b.n < n {
		b.refill()
	}
	v := uint32(b.buf >> (64 - n))
	b.buf <<= n
	b.n -= n
	return v
}

func (b *bzBits) bit() bool { return b.read(1) == 1 }

// consumed returns the number of bits read so far from the start of src.
func (b *bzBits) consumed() int64 {
	return int64(b.pos+b.extra)*8 - int64(b.n)
}

// bzHuff is one canonical Huffman table.
type bzHuff struct {
	fast      [1 << bzFastBits]uint16 // sym<<5 | len; 0 = not in the table
	count     [bzMaxCodeLen + 1]uint32
	firstCode [bzMaxCodeLen + 1]uint32
	firstIdx  [bzMaxCodeLen + 1]uint32
	perm      [bzMaxAlpha]uint16
	maxLen    uint
}

func (h *bzHuff) build(lens []uint8) error {
	h.count = [bzMaxCodeLen + 1]uint32{}
	h.maxLen = 0
	for _, l := range lens {
		h.count[l]++
		if uint(l) > h.maxLen {
			h.maxLen = uint(l)
		}
	}
	code, idx := uint32(0), uint32(0)
	for l := 1; l <= bzMaxCodeLen; l++ {
		h.firstCode[l] = code
		h.firstIdx[l] = idx
		code += h.count[l]
		if code > 1<<l {
			return bzErr("oversubscribed Huffman code")
		}
		code <<= 1
		idx += h.count[l]
	}
	var next [bzMaxCodeLen + 1]uint32
	copy(next[:], h.firstIdx[:])
	for s, l := range lens {
		h.perm[next[l]] = uint16(s)
		next[l]++
	}
	h.fast = [1 << bzFastBits]uint16{}
	for l := 1; l <= bzFastBits; l++ {
		for i := uint32(0); i < h.count[l]; i++ {
			c := h.firstCode[l] + i
			sym := h.perm[h.firstIdx[l]+i]
			e := sym<<5 | uint16(l)
			lo := c << (bzFastBits - l)
			hi := (c + 1) << (bzFastBits - l)
			for j := lo; j < hi; j++ {
				h.fast[j] = e
			}
		}
	}
	return nil
}

func (h *bzHuff) decode(b *bzBits) (uint16, error) {
	if b.n < bzMaxCodeLen {
		b.refill()
	}
	if e := h.fast[b.buf>>(64-bzFastBits)]; e != 0 {
		l := uint(e & 31)
		b.buf <<= l
		b.n -= l
		return e >> 5, nil
	}
	v := uint32(b.buf >> (64 - bzMaxCodeLen))
	for l := uint(bzFastBits + 1); l <= h.maxLen; l++ {
		c := v >> (bzMaxCodeLen - l)
		if d := c - h.firstCode[l]; d < h.count[l] {
			b.buf <<= l
			b.n -= l
			return h.perm[h.firstIdx[l]+d], nil
		}
	}
	return 0, bzErr("bad Huffman code")
}

// bzBlockDecoder decodes blocks; it keeps its arrays between blocks.
type bzBlockDecoder struct {
	tt        []uint32
	lf        []uint32 // LF mapping and byte, for the backward walk
	pre       []byte   // block bytes before RLE1 decoding
	selectors []uint8
	trees     [bzMaxGroups]bzHuff
	lens      [bzMaxAlpha]uint8
}

// decode appends the decoded block held in nbits bits of src (from bit
// off of src[0], starting with the block magic) to dst.
func (d *bzBlockDecoder) decode(dst []byte, src []byte, off uint, nbits int64, level byte) ([]byte, error) {
	pre, wantCRC, err := d.decodePre(src, off, nbits, level)
	if err != nil {
		return dst, err
	}
	start := len(dst)
	x := rle1{pre: pre, last: -1}
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n := x.expand(dst[len(dst):cap(dst)])
		if n == 0 {
			break
		}
		dst = dst[:len(dst)+n]
	}
	if got := bzCRC(dst[start:]); got != wantCRC {
		return dst[:start], crcErr(got, wantCRC)
	}
	return dst, nil
}

func crcErr(got, want uint32) error {
	return bzErr(fmt.Sprintf("block checksum mismatch (computed %08x, stored %08x)", got, want))
}

// decodePre decodes a block up to its RLE1 stage: it returns the block's
// bytes before RLE1 decoding (at most the level's block size, 900 kB for
// level 9; valid until the next call) and the block CRC stored in its
// header, which the RLE1-decoded bytes must match.
func (d *bzBlockDecoder) decodePre(src []byte, off uint, nbits int64, level byte) ([]byte, uint32, error) {
	var br bzBits
	br.init(src, off)
	if m := uint64(br.read(24))<<24 | uint64(br.read(24)); m != bzBlockMagic {
		return nil, 0, bzErr("no block magic")
	}
	wantCRC := br.read(32)
	if br.bit() {
		return nil, 0, bzErr("randomised block")
	}
	origPtr := int(br.read(24))

	// Symbol map: 16 ranges of 16 byte values.
	var unseq [256]byte
	nInUse := 0
	ranges := br.read(16)
	for i := 0; i < 16; i++ {
		if ranges&(0x8000>>i) == 0 {
			continue
		}
		bits := br.read(16)
		for j := 0; j < 16; j++ {
			if bits&(0x8000>>j) != 0 {
				unseq[nInUse] = byte(i*16 + j)
				nInUse++
			}
		}
	}
	if nInUse == 0 {
		return nil, 0, bzErr("no symbols")
	}
	alpha := nInUse + 2

	nGroups := int(br.read(3))
	if nGroups < 2 || nGroups > bzMaxGroups {
		return nil, 0, bzErr("bad Huffman group count")
	}
	nSel := int(br.read(15))
	if nSel < 1 {
		return nil, 0, bzErr("no selectors")
	}
	if cap(d.selectors) < nSel {
		d.selectors = make([]uint8, nSel)
	}
	sel := d.selectors[:nSel]
	var mtfG [bzMaxGroups]uint8
	for i := range mtfG {
		mtfG[i] = uint8(i)
	}
	for i := 0; i < nSel; i++ {
		j := 0
		for br.bit() {
			j++
			if j >= nGroups {
				return nil, 0, bzErr("bad selector")
			}
		}
		v := mtfG[j]
		copy(mtfG[1:j+1], mtfG[:j])
		mtfG[0] = v
		sel[i] = v
	}
	if nSel > bzMaxSelector {
		sel = sel[:bzMaxSelector]
	}
	for t := 0; t < nGroups; t++ {
		l := int(br.read(5))
		for s := 0; s < alpha; s++ {
			for {
				if l < 1 || l > bzMaxCodeLen {
					return nil, 0, bzErr("bad code length")
				}
				if !br.bit() {
					break
				}
				if br.bit() {
					l--
				} else {
					l++
				}
			}
			d.lens[s] = uint8(l)
		}
		if err := d.trees[t].build(d.lens[:alpha]); err != nil {
			return nil, 0, err
		}
	}

	// Huffman → RUNA/RUNB and MTF → bytes in tt, counting each byte value.
	blockSize := 100000 * int(level-'0')
	if cap(d.tt) < blockSize {
		d.tt = make([]uint32, blockSize)
	}
	tt := d.tt[:blockSize]
	var c [256]uint32
	var mtf [256]byte
	for i := range mtf {
		mtf[i] = byte(i)
	}
	eob := uint16(nInUse + 1)
	n := 0
	run, runBit := 0, 0
	group, left := -1, 0
	var tree *bzHuff
	for {
		if left == 0 {
			group++
			if group >= len(sel) {
				return nil, 0, bzErr("ran out of selectors")
			}
			tree = &d.trees[sel[group]]
			left = bzGroupSize
		}
		left--
		sym, err := tree.decode(&br)
		if err != nil {
			return nil, 0, err
		}
		if sym <= 1 { // RUNA, RUNB
			if runBit > 20 {
				return nil, 0, bzErr("run too long")
			}
			run += (int(sym) + 1) << runBit
			runBit++
			continue
		}
		if run > 0 {
			if run > blockSize-n {
				return nil, 0, bzErr("run past the block size")
			}
			b := unseq[mtf[0]]
			c[b] += uint32(run)
			for k := n; k < n+run; k++ {
				tt[k] = uint32(b)
			}
			n += run
			run, runBit = 0, 0
		}
		if sym == eob {
			break
		}
		if int(sym) > nInUse {
			return nil, 0, bzErr("bad symbol")
		}
		if n >= blockSize {
			return nil, 0, bzErr("block too long")
		}
		i := int(sym - 1)
		v := mtf[i]
		if i < 16 {
			for k := i; k > 0; k-- {
				mtf[k] = mtf[k-1]
			}
		} else {
			copy(mtf[1:i+1], mtf[:i])
		}
		mtf[0] = v
		b := unseq[v]
		c[b]++
		tt[n] = uint32(b)
		n++
	}
	if br.consumed() != nbits+int64(off) {
		return nil, 0, bzErr("block does not end at the next magic")
	}
	if origPtr >= n {
		return nil, 0, bzErr("origPtr out of range")
	}

	// Inverse BWT. With L the block's bytes (tt's low byte) and F its
	// sorted column, each row i gets next[f] = i for its F position f, and
	// prev[i] = f (the LF mapping). The output is the cycle of next from
	// next[origPtr], which ends at origPtr: walk it from both ends at once,
	// forwards with next and backwards with prev, so that two independent
	// cache misses are in flight instead of one.
	sum := uint32(0)
	for i := range c {
		sum, c[i] = sum+c[i], sum
	}
	tt = tt[:n]
	if cap(d.pre) < n {
		d.pre = make([]byte, blockSize)
	}
	pre := d.pre[:n]
	if bzOneChain {
		for i := range tt {
			b := tt[i] & 0xff
			tt[c[b]] |= uint32(i) << 8
			c[b]++
		}
		pf := tt[origPtr] >> 8
		for k := range pre {
			e := tt[pf]
			pre[k] = byte(e)
			pf = e >> 8
		}
	} else {
		if cap(d.lf) < n {
			d.lf = make([]uint32, blockSize)
		}
		lf := d.lf[:n]
		for i := range tt {
			b := tt[i] & 0xff
			f := c[b]
			c[b]++
			tt[f] |= uint32(i) << 8
			lf[i] = f<<8 | b
		}
		h := n / 2
		pf, pb := tt[origPtr]>>8, uint32(origPtr)
		for k := 0; k < h; k++ {
			ef, eb := tt[pf], lf[pb]
			pre[k], pre[n-1-k] = byte(ef), byte(eb)
			pf, pb = ef>>8, eb>>8
		}
		if n-h > h {
			pre[h] = byte(lf[pb])
		}
	}

	return pre, wantCRC, nil
}

// rle1 undoes bzip2's first run-length encoding incrementally: after 4
// equal bytes, the next byte counts further copies of that byte. A block of
// 900 kB expands to at most 45.9 MB this way, so that the decoder can hold
// a block in this form and expand it as it is read.
type rle1 struct {
	pre     []byte
	i       int  // next byte of pre
	last    int  // the byte seen last, -1 after a count
	same    int  // how many times last was seen in a row (4: a count follows)
	run     int  // copies of runByte still owed from a count
	runByte byte // the byte a count repeats
}

// expand writes the next bytes of the block into p and returns how many (0
// only when the block is done or p is empty).
func (x *rle1) expand(p []byte) int {
	n := 0
	if x.run > 0 {
		n = x.fill(p)
	}
	pre, i, last, same := x.pre, x.i, x.last, x.same
	for n < len(p) && i < len(pre) {
		b := pre[i]
		i++
		if same == 4 {
			x.run, x.runByte = int(b), byte(last)
			last, same = -1, 0
			n += x.fill(p[n:])
			continue
		}
		if int(b) == last {
			same++
		} else {
			last, same = int(b), 1
		}
		p[n] = b
		n++
	}
	x.i, x.last, x.same = i, last, same
	return n
}

// done reports whether the whole block was expanded.
func (x *rle1) done() bool { return x.i == len(x.pre) && x.run == 0 }

// fill writes up to x.run copies of x.runByte into p.
func (x *rle1) fill(p []byte) int {
	k := min(x.run, len(p))
	b := x.runByte
	for j := range p[:k] {
		p[j] = b
	}
	x.run -= k
	return k
}

// bzOneChain makes the inverse BWT walk one chain (benchmark comparison).
var bzOneChain = false

// bzCRCTab is the slicing-by-8 table of bzip2's CRC-32 (polynomial
// 0x04C11DB7, MSB first).
var bzCRCTab = func() (t [8][256]uint32) {
	for i := range t[0] {
		c := uint32(i) << 24
		for j := 0; j < 8; j++ {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		t[0][i] = c
	}
	for k := 1; k < 8; k++ {
		for i := range t[k] {
			p := t[k-1][i]
			t[k][i] = p<<8 ^ t[0][p>>24]
		}
	}
	return t
}()

// bzCRC returns the bzip2 CRC of p.
func bzCRC(p []byte) uint32 { return ^bzCRCUpdate(^uint32(0), p) }

// bzCRCUpdate extends a running CRC (start with ^0, invert at the end) with p.
func bzCRCUpdate(c uint32, p []byte) uint32 {
	t := &bzCRCTab
	for len(p) >= 8 {
		c ^= uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
		c = t[7][c>>24] ^ t[6][c>>16&0xff] ^ t[5][c>>8&0xff] ^ t[4][c&0xff] ^
			t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]]
		p = p[8:]
	}
	for _, b := range p {
		c = t[0][byte(c>>24)^b] ^ c<<8
	}
	return c
}
