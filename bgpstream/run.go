package bgpstream

import (
	"context"
	"errors"

	"github.com/bgp-connector/bgp-connector/decode"
)

// Sink is what Run writes a stream to: package emit/text's Writer (the
// read command), the connector's Kafka sink, or one of your own. It is
// emit.Sink's contract: Write takes what it needs from the batch before it
// returns and calls b.Finish once the batch's outputs are delivered; Flush
// waits for every delivery.
type Sink interface {
	Write(ctx context.Context, b *decode.Batch) error
	Flush(ctx context.Context) error
}

// Run writes the stream to sink, batch by batch, until the stream ends,
// ctx ends or the sink fails, then flushes the sink. Inputs that cannot be
// read to their end go to OnResourceError (or the log) and the stream goes
// on; Stats().Failed counts them. The error is the sink's (a sink may stop
// the stream on purpose, as text.Writer does with text.ErrLimit), the
// context's, or a failure of the stream itself.
func (s *Stream) Run(ctx context.Context, sink Sink) error {
	var werr error
	s.idle = func() {
		if werr == nil {
			werr = sink.Flush(ctx) // a live stream waits: let what was read out
		}
	}
	defer func() { s.idle = nil }()
	for b, err := range s.Batches(ctx) {
		if werr != nil {
			break
		}
		if err != nil {
			var re *ResourceError
			if !errors.As(err, &re) {
				werr = err
				break
			}
			if s.cfg.failed != nil {
				s.cfg.failed(err)
			} else {
				s.cfg.log.Error("input could not be read to its end", "err", err)
			}
			continue
		}
		if werr = sink.Write(ctx, b); werr != nil {
			break
		}
	}
	if ferr := sink.Flush(context.WithoutCancel(ctx)); werr == nil {
		werr = ferr
	}
	if werr == nil {
		werr = ctx.Err()
	}
	return werr
}
