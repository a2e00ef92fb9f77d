package text

import (
	"context"
	"errors"
	"io"

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

// Writer is the text sink of the data path (it implements emit.Sink): it
// formats each batch into an output buffer, in the order received, and
// writes the buffer to an io.Writer whenever it grows past 256 KiB, so
// memory stays one buffer whatever the input. Write is synchronous: when
// it returns the batch may be reused (the caller decodes on another
// goroutine to keep both cores busy). A Writer is not safe for concurrent
// use.
//
// Gaps in the input (decode.Batch.Gaps) print nothing: they are data for
// the caller to report (the read command warns on stderr), not records.
type Writer struct {
	w     io.Writer
	f     *Formatter
	err   error
	stats Stats
	buf   []byte
}

// flushAt is the output buffer's flush threshold.
const flushAt = 256 << 10

// NewWriter returns a Writer printing to w. o must be valid (see
// Options.Validate).
func NewWriter(w io.Writer, o Options) *Writer {
	return &Writer{w: w, f: NewFormatter(o), buf: make([]byte, 0, flushAt+64<<10)}
}

// Write formats b's records and elems. It returns ErrLimit once the limit
// is reached (the rest of b is not printed) and the write error once
// writing failed. It calls b.Finish(nil) once b is formatted: text output
// has nothing to acknowledge.
func (w *Writer) Write(_ context.Context, b *decode.Batch) error {
	defer b.Finish(nil)
	if w.err != nil {
		return w.err
	}
	var lines int64
	j := 0
	for ri := range b.Records {
		rec := &b.Records[ri]
		start := j
		for j < len(b.Elems) && int(b.ElemRecord[j]) == ri {
			j++
		}
		var n int
		w.buf, n = w.f.AppendRecord(w.buf, rec, b.Elems[start:j])
		lines += int64(n)
		if len(w.buf) >= flushAt && !w.flush() {
			break
		}
		if w.f.Done() {
			break
		}
	}
	w.stats.Records += int64(len(b.Records))
	w.stats.Elems += int64(len(b.Elems))
	w.stats.Lines += lines
	if w.err == nil && w.f.Done() {
		w.err = ErrLimit
	}
	return w.err
}

// Flush writes the buffered output. It returns the first write error.
func (w *Writer) Flush(context.Context) error {
	w.flush()
	if errors.Is(w.err, ErrLimit) {
		return nil
	}
	return w.err
}

// Err returns ErrLimit, a write error, or nil.
func (w *Writer) Err() error { return w.err }

// Stats returns what the Writer printed so far.
func (w *Writer) Stats() Stats { return w.stats }

// Close flushes and returns the counts and the first write error (ErrLimit
// is not an error here).
func (w *Writer) Close() (Stats, error) {
	err := w.Flush(context.Background())
	return w.stats, err
}

// flush writes the buffer; it reports false after a write error.
func (w *Writer) flush() bool {
	if len(w.buf) == 0 {
		return w.err == nil || errors.Is(w.err, ErrLimit)
	}
	if w.err != nil && !errors.Is(w.err, ErrLimit) {
		w.buf = w.buf[:0]
		return false
	}
	n, err := w.w.Write(w.buf)
	w.stats.Bytes += int64(n)
	w.buf = w.buf[:0]
	if err != nil {
		w.err = err
		return false
	}
	return true
}
