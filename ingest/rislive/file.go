package rislive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/internal/compress"
)

// FileSource reads saved RIS Live JSON lines (one message per line, as the
// firehose sends them and as bgpreader's -o upd-type=ris-live reads them),
// compressed or not. It implements ingest.Source: each batch's Source is
// the name given, each record's Offset the byte offset of its line in the
// uncompressed input.
//
// A line that cannot be read is skipped and reported as a decode.Gap
// (Start and End: the line's byte range; Err: a *MessageError with the
// name, line number and offset); the lines after it are read as usual, so
// a damaged or truncated file never stops or stalls the stream.
type FileSource struct {
	name  string
	rc    io.ReadCloser
	sp    *splitter
	dec   *Decoder
	c     counters
	rep   reporter
	line  int64
	err   error // sticky: io.EOF or the read error
	limit int
}

// NewFileSource returns a source reading RIS Live JSON lines from r, named
// name in batches and errors. The compression (gzip, bzip2, xz, zstd or
// none) is detected from the magic bytes. It uses WithProject, WithLogger
// and WithMaxMessage.
func NewFileSource(r io.Reader, name string, opts ...Opt) (*FileSource, error) {
	cfg := newConfig(opts)
	rc, _, err := compress.NewReader(r, "", 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f := &FileSource{name: name, rc: rc, sp: newSplitter(rc, cfg.maxMessage), limit: cfg.maxMessage}
	f.dec = newDecoder(cfg, &f.c)
	f.rep = reporter{name: name, log: cfg.logger, c: &f.c}
	return f, nil
}

// Next fills b with the next records (up to ingest.BatchRecords records or
// ingest.BatchElems elems). It returns io.EOF at the end of the input, and
// an error naming the input and offset when reading fails (a truncated
// compressed stream), after the records before it.
func (f *FileSource) Next(ctx context.Context, b *decode.Batch) error {
	b.Source, b.Partition = f.name, -1
	for n := 0; f.err == nil && len(b.Records) < ingest.BatchRecords && len(b.Elems) < ingest.BatchElems; n++ {
		if n&63 == 0 && ctx.Err() != nil {
			if len(b.Records) > 0 || len(b.Gaps) > 0 {
				return nil
			}
			return ctx.Err()
		}
		l, err := f.sp.next()
		if err != nil {
			if err == io.EOF {
				f.err = io.EOF
			} else {
				f.err = fmt.Errorf("%s: offset %d: %w", f.name, l.off, err)
			}
			break
		}
		f.line++
		f.rep.message(f.dec, b, l.b, l.off, l.end, f.line, l.bad)
	}
	if len(b.Records) > 0 || len(b.Gaps) > 0 {
		return nil
	}
	return f.err
}

// Stats returns the source's counters.
func (f *FileSource) Stats() Stats { return f.c.snapshot() }

// Close stops the decompressor. It does not close the reader given to
// NewFileSource.
func (f *FileSource) Close() error { return f.rc.Close() }

// reporter decodes messages for a source and reports what cannot be
// decoded: bad lines as gaps, ris_error messages in the log.
type reporter struct {
	name string
	log  *slog.Logger
	c    *counters
	nbad int64
	// gapFirst, when set, is called before a bad line's gap is added (the
	// client places a pending drop gap first).
	gapFirst func(b *decode.Batch)
}

// message decodes one message of an input (bad: the reader could not even
// take it) and returns the *ServerError it was, if any.
func (r *reporter) message(dec *Decoder, b *decode.Batch, msg []byte, off, end, line int64, bad error) *ServerError {
	var err error
	if bad != nil {
		r.c.messages.Add(1)
		r.c.badLines.Add(1)
		err = &MessageError{Offset: off, Field: "line", Err: bad}
	} else if err = dec.Decode(b, msg, off); err == nil {
		return nil
	}
	var se *ServerError
	if errors.As(err, &se) {
		if se.SlowConsumer() {
			r.log.Error("RIS Live is closing the connection because this client fell behind: the consumer is too slow; messages will be lost until it reconnects",
				"source", r.name, "line", line, "message", se.Message)
		} else {
			r.log.Warn("RIS Live error message", "source", r.name, "line", line, "message", se.Message)
		}
		return se
	}
	me, ok := err.(*MessageError)
	if !ok {
		me = &MessageError{Offset: off, Field: "JSON", Err: err}
	}
	me.Source, me.Line = r.name, line
	if r.gapFirst != nil {
		r.gapFirst(b)
	}
	b.AddGap(off, end, me)
	r.nbad++
	if r.nbad <= 10 || r.nbad%1000 == 0 {
		r.log.Warn("RIS Live: skipping a message that cannot be read", "err", me, "bad_lines", r.nbad)
	}
	return nil
}
