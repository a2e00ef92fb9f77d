package mrt

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Magic bytes of the supported compressed formats.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicBzip2 = []byte("BZh")
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// DetectCompression names the compression whose magic bytes start b:
// "gzip", "bzip2", "xz", "zstd", or "none".
func DetectCompression(b []byte) string {
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

// NewDecompressor returns a reader of the uncompressed bytes of r, the
// compression detected from its magic bytes (or forced with a non-empty
// name), and that name. bzip2 is decoded by bzip2Workers goroutines in
// parallel (0: the standard library's sequential decoder). Close the
// returned reader to stop its goroutines; it does not close r.
func NewDecompressor(r io.Reader, name string, bzip2Workers int) (io.ReadCloser, string, error) {
	br := bufioPool.Get().(*bufio.Reader)
	br.Reset(r)
	fail := func(err error) (io.ReadCloser, string, error) {
		br.Reset(nil)
		bufioPool.Put(br)
		return nil, name, err
	}
	if name == "" {
		magic, err := br.Peek(6)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return fail(fmt.Errorf("reading magic bytes: %w", err))
		}
		name = DetectCompression(magic)
	}
	d := &decompressor{br: br}
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
			d.Reader = bzip2.NewReader(br)
		} else {
			z := NewBzip2Reader(br, bzip2Workers)
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
	bz     *Bzip2Reader
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
			<-d.bz.splitDone // the splitter reads br on its own goroutine
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

// countingReader counts the bytes read from the underlying reader.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// chunk is a buffer of decompressed bytes; err is set on the last chunk
// (io.EOF at the clean end).
type chunk struct {
	buf []byte
	err error
}

// pipe runs the decompressor on its own goroutine and hands decompressed
// chunks to the Reader over a channel; the Reader returns each buffer for
// reuse, so the steady state allocates nothing.
type pipe struct {
	ch         chan chunk
	free       chan []byte
	stop       chan struct{}
	stopOnce   sync.Once
	compressed atomic.Int64
	dec        io.Closer
	size       int
}

const pipeDepth = 4

func openPipe(r io.Reader, cfg *readerCfg) (*pipe, string, error) {
	p := &pipe{
		ch:   make(chan chunk, pipeDepth),
		free: make(chan []byte, pipeDepth+2),
		stop: make(chan struct{}),
		size: cfg.chunkSize,
	}
	dec, name, err := NewDecompressor(countingReader{r, &p.compressed}, cfg.compression, cfg.bzip2Workers)
	if err != nil {
		return nil, name, err
	}
	p.dec = dec
	go p.run(dec)
	return p, name, nil
}

// run reads the decompressor into chunks until it ends or fails.
func (p *pipe) run(src io.Reader) {
	defer close(p.ch)
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		var buf []byte
		select {
		case buf = <-p.free:
		default:
			buf = p.newBuf()
		}
		buf = buf[:cap(buf)]
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var m int
			m, err = src.Read(buf[n:])
			n += m
		}
		select {
		case p.ch <- chunk{buf: buf[:n], err: err}:
		case <-p.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// chunkPool recycles chunk buffers of the default size across readers.
var chunkPool = sync.Pool{New: func() any { return make([]byte, defaultChunkSize) }}

const defaultChunkSize = 512 << 10

func (p *pipe) newBuf() []byte {
	if p.size == defaultChunkSize {
		return chunkPool.Get().([]byte)
	}
	return make([]byte, p.size)
}

func (p *pipe) recv() (chunk, bool) {
	c, ok := <-p.ch
	return c, ok
}

func (p *pipe) release(b []byte) {
	select {
	case p.free <- b:
	default:
	}
}

// close stops the goroutine (it exits at its next send) and the
// decompressor's own goroutines.
func (p *pipe) close() {
	p.stopOnce.Do(func() {
		close(p.stop)
		if bz, ok := p.dec.(*Bzip2Reader); ok {
			bz.Close() // safe while run is inside its Read
		}
		// Let a goroutine blocked in a send see stop, then close the
		// decompressor once run has returned.
		go func() {
			for c := range p.ch {
				p.release(c.buf)
			}
			p.dec.Close()
			if p.size == defaultChunkSize {
				for {
					select {
					case b := <-p.free:
						chunkPool.Put(b[:cap(b)])
						continue
					default:
					}
					break
				}
			}
		}()
	})
}
