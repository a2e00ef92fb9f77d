package text

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/bgp-connector/bgp-connector/decode"
)

// ErrLimit is returned by Writer.Write once Options.Limit records have been
// printed: the producer should stop reading.
var ErrLimit = errors.New("output limit reached")

// Stats count what a Writer printed.
type Stats struct {
	// Records is the number of records received; Elems the number of elems
	// received and Lines the number of elem (or record) lines printed.
	Records, Elems, Lines int64
	// Bytes is the number of bytes written.
	Bytes int64
}

// Writer formats batches on its own goroutine and writes them, in the order
// received, to an io.Writer. The producer (a decoder) takes an empty batch
// with Batch, fills it and hands it over with Write; the batch comes back to
// the pool once printed, so memory stays bounded by the pool: a few batches
// and one output buffer.
//
// Batch and Write must be called from one goroutine; Close once at the end.
type Writer struct {
	w    io.Writer
	f    *Formatter
	in   chan *decode.Batch
	free chan *decode.Batch
	done chan struct{}

	stopped atomic.Bool // limit reached or write failed
	mu      sync.Mutex
	err     error
	stats   Stats
	buf     []byte
}

// Writer sizing: batches in flight and output flush threshold.
const (
	writerBatches = 3
	flushAt       = 256 << 10
)

// NewWriter starts a Writer printing to w. o must be valid (see
// Options.Validate).
func NewWriter(w io.Writer, o Options) *Writer {
	wr := &Writer{
		w:    w,
		f:    NewFormatter(o),
		in:   make(chan *decode.Batch, writerBatches),
		free: make(chan *decode.Batch, writerBatches),
		done: make(chan struct{}),
		buf:  make([]byte, 0, flushAt+64<<10),
	}
	for i := 0; i < writerBatches; i++ {
		wr.free <- new(decode.Batch)
	}
	go wr.run()
	return wr
}

// Batch returns an empty batch to fill, waiting for one to be printed if
// all are in use.
func (w *Writer) Batch() *decode.Batch {
	b := <-w.free
	b.Reset()
	return b
}

// Write hands b over for printing. It returns ErrLimit once the limit is
// reached and the write error once writing failed; b is taken in any case.
func (w *Writer) Write(b *decode.Batch) error {
	if w.stopped.Load() {
		w.free <- b
		return w.Err()
	}
	w.in <- b
	return nil
}

// Err returns ErrLimit, a write error, or nil.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close waits for every batch handed over to be printed, flushes, and
// returns the counts and the first write error (ErrLimit is not an error
// here).
func (w *Writer) Close() (Stats, error) {
	close(w.in)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.err
	if errors.Is(err, ErrLimit) {
		err = nil
	}
	return w.stats, err
}

func (w *Writer) run() {
	defer close(w.done)
	for b := range w.in {
		if !w.stopped.Load() {
			w.format(b)
		}
		w.free <- b
	}
	if !w.stopped.Load() || errors.Is(w.Err(), ErrLimit) {
		w.flush()
	}
}

// format prints one batch, flushing the buffer when it grows large.
func (w *Writer) format(b *decode.Batch) {
	var lines int64
	j := 0
	for ri := range b.Records {
		start := j
		for j < len(b.Elems) && int(b.ElemRecord[j]) == ri {
			j++
		}
		var n int
		w.buf, n = w.f.AppendRecord(w.buf, &b.Records[ri], b.Elems[start:j])
		lines += int64(n)
		if len(w.buf) >= flushAt {
			if !w.flush() {
				return
			}
		}
		if w.f.Done() {
			break
		}
	}
	w.mu.Lock()
	w.stats.Records += int64(len(b.Records))
	w.stats.Elems += int64(len(b.Elems))
	w.stats.Lines += lines
	if w.f.Done() && w.err == nil {
		w.err = ErrLimit
		w.stopped.Store(true)
	}
	w.mu.Unlock()
}

// flush writes the buffer; it reports false after a write error.
func (w *Writer) flush() bool {
	if len(w.buf) == 0 {
		return true
	}
	n, err := w.w.Write(w.buf)
	w.mu.Lock()
	w.stats.Bytes += int64(n)
	if err != nil && (w.err == nil || errors.Is(w.err, ErrLimit)) {
		w.err = err
		w.stopped.Store(true)
	}
	w.mu.Unlock()
	w.buf = w.buf[:0]
	return err == nil
}
