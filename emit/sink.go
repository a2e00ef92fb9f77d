package emit

import (
	"context"

	"github.com/bgp-connector/bgp-connector/decode"
)

// Sink is the last stage of the data path (source → filter → sink): it
// delivers a batch's elems and statistics somewhere (text on a terminal,
// Avro records on Kafka topics) and reports when they are delivered.
//
// Write takes what it needs from b: when it returns, b may be reset and
// reused by the caller. Once every output derived from b is delivered (for
// Kafka: acknowledged), the sink calls b.Finish(nil), or b.Finish(err)
// with the first delivery error; that is what commits the input's position.
// Write returns an error only when the sink cannot go on (it is closed, or
// an earlier delivery failed); text.ErrLimit says the output limit is
// reached.
//
// Flush waits until every output written so far is delivered, or ctx ends,
// and returns the first delivery error.
//
// Write and Flush are called from one goroutine.
type Sink interface {
	Write(ctx context.Context, b *decode.Batch) error
	Flush(ctx context.Context) error
}
