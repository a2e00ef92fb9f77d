package mrt

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/bgp-connector/bgp-connector/internal/bzip2"
	"github.com/bgp-connector/bgp-connector/internal/compress"
)

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
	bufSize := compress.DefaultBufferSize
	if cfg.chunkSize < defaultChunkSize {
		bufSize = max(cfg.chunkSize, 16<<10) // small chunks: a small reader (many inputs open at once)
	}
	dec, name, err := compress.NewReaderSize(countingReader{r, &p.compressed}, cfg.compression, cfg.bzip2Workers, bufSize)
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
		if bz, ok := p.dec.(*bzip2.Reader); ok {
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
