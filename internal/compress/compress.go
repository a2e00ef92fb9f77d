// Package compress detects the compression of an input by its magic bytes
// (gzip, bzip2, xz, zstd, or none) and returns a reader of its uncompressed
// bytes. Every input type (MRT, BMP, OpenBMP, archive downloads) goes
// through it, so that compression is handled in one place.
//
// It is not a framing layer: it knows nothing of MRT or BMP.
package compress

import (
	"bufio"
	"bytes"
	stdbzip2 "compress/bzip2"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/bgp-connector/bgp-connector/internal/bzip2"
)

// Magic bytes of the supported compressed formats.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicBzip2 = []byte("BZh")
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Detect names the compression whose magic bytes start b:
// "gzip", "bzip2", "xz", "zstd", or "none".
func Detect(b []byte) string {
	switch {
	case bytes.HasPrefix(b, magicGzip):
		return "gzip"
	case bytes.HasPrefix(b, magicBzip2) && len(b) >= 4 && b[3] >= '1' && b[3] <= '9':
		return "bzip2"
	case bytes.HasPrefix(b, magicXz):
		return "xz"
	case bytes.HasPrefix(b, magicZstd):
		return "zstd"
	}
	return "none"
}

// NewReader returns a reader of the uncompressed bytes of r, the
// compression detected from its magic bytes (or forced with a non-empty
// name), and that name. bzip2 is decoded by bzip2Workers goroutines in
// parallel (0: the standard library's sequential decoder). Close the
// returned reader to stop its goroutines; it does not close r.
func NewReader(r io.Reader, name string, bzip2Workers int) (io.ReadCloser, string, error) {
	return NewReaderSize(r, name, bzip2Workers, DefaultBufferSize)
}

// DefaultBufferSize is the input buffer of NewReader (1 MiB, pooled).
const DefaultBufferSize = 1 << 20

// NewReaderSize is NewReader with an input buffer of bufSize bytes (at
// least 4 KiB): small buffers keep memory low when thousands of inputs are
// open at once.
func NewReaderSize(r io.Reader, name string, bzip2Workers, bufSize int) (io.ReadCloser, string, error) {
	var br *bufio.Reader
	pooled := bufSize == DefaultBufferSize
	if pooled {
		br = bufioPool.Get().(*bufio.Reader)
		br.Reset(r)
	} else {
		br = bufio.NewReaderSize(r, max(bufSize, 4<<10))
	}
	fail := func(err error) (io.ReadCloser, string, error) {
		if pooled {
			br.Reset(nil)
			bufioPool.Put(br)
		}
		return nil, name, err
	}
	if name == "" {
		magic, err := br.Peek(6)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return fail(fmt.Errorf("reading magic bytes: %w", err))
		}
		name = Detect(magic)
	}
	d := &decompressor{br: br}
	if !pooled {
		d.br = nil // nothing to give back
	}
	switch name {
	case "gzip":
		z, err := gzip.NewReader(br) // multistream is on by default
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fail(fmt.Errorf("gzip header: %w", err))
		}
		d.Reader, d.closer = z, z
	case "bzip2":
		if bzip2Workers == 0 {
			d.Reader = stdbzip2.NewReader(br)
		} else {
			z := bzip2.NewReader(br, bzip2Workers)
			d.Reader, d.closer, d.bz = z, z, z
		}
	case "xz":
		z, err := xz.NewReader(br)
		if err != nil {
			return fail(fmt.Errorf("xz header: %w", err))
		}
		d.Reader = z
	case "zstd":
		// A 128 MiB window covers zstd --long=27; larger declared
		// windows are refused rather than allocated.
		z, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(128<<20))
		if err != nil {
			return fail(fmt.Errorf("zstd header: %w", err))
		}
		// The zstd decoder reads br on its own goroutine: do not reuse br.
		d.Reader, d.closer, d.br = z, zstdCloser{z}, nil
	case "none":
		d.Reader = br
	default:
		return fail(fmt.Errorf("unknown compression %q", name))
	}
	return d, name, nil
}

// bufioPool recycles the 1 MiB input buffers across readers.
var bufioPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1<<20) }}

// decompressor closes the decoder and returns its input buffer to the pool
// once nothing reads it any more.
type decompressor struct {
	io.Reader
	closer io.Closer
	bz     *bzip2.Reader
	br     *bufio.Reader
	once   sync.Once
}

// Close closes the decoder. The caller must not be inside Read.
func (d *decompressor) Close() error {
	var err error
	d.once.Do(func() {
		if d.closer != nil {
			err = d.closer.Close()
		}
		if d.bz != nil {
			<-d.bz.Stopped() // the splitter reads br on its own goroutine
		}
		if d.br != nil {
			d.br.Reset(nil)
			bufioPool.Put(d.br)
		}
	})
	return err
}

type zstdCloser struct{ *zstd.Decoder }

func (z zstdCloser) Close() error { z.Decoder.Close(); return nil }
