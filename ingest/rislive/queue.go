package rislive

import (
	"context"
	"sync"
)

// queue hands messages from a connection's goroutine to Next through two
// buffers: the reader appends to one while Next decodes the other, and they
// swap when Next has drained its own. The reader waits when its buffer is
// full (so memory stays bounded and TCP pushes back on the server), and Next
// waits when there is nothing to decode; neither allocates once the
// buffers have grown.
type queue struct {
	mu    sync.Mutex
	fill  *chunk
	limit int
	ready chan struct{} // something was put
	space chan struct{} // the reader's buffer was taken
}

// chunk is a run of messages in one buffer.
type chunk struct {
	data []byte
	msgs []qmsg
}

// qmsg is one message of a chunk (data[start:end]), or an event.
type qmsg struct {
	start, end int
	// off is the message's offset in the stream and size its length there
	// (with its newline).
	off, size int64
	// bad is set for a line the reader could not take (too long).
	bad error
	// ev is set for an event instead of a message.
	ev *event
}

// event is a connection event, in order among the messages.
type event struct {
	gap   *GapError // a reconnection after a drop
	fatal error     // the client gave up
}

func (q *queue) init(limit int) {
	q.fill = new(chunk)
	q.limit = limit
	q.ready = make(chan struct{}, 1)
	q.space = make(chan struct{}, 1)
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// put appends a copy of data as message m, waiting while the buffer is
// full (a message larger than the limit goes alone into an empty buffer).
func (q *queue) put(ctx context.Context, data []byte, m qmsg) error {
	for {
		q.mu.Lock()
		f := q.fill
		if len(f.msgs) == 0 || len(f.data)+len(data) <= q.limit {
			m.start = len(f.data)
			f.data = append(f.data, data...)
			m.end = len(f.data)
			f.msgs = append(f.msgs, m)
			q.mu.Unlock()
			notify(q.ready)
			return nil
		}
		q.mu.Unlock()
		select {
		case <-q.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// swap gives the reader the drained chunk and returns the filled one, or
// returns nil (keeping drained) when nothing was put.
func (q *queue) swap(drained *chunk) *chunk {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.fill.msgs) == 0 {
		return nil
	}
	full := q.fill
	drained.data, drained.msgs = drained.data[:0], drained.msgs[:0]
	q.fill = drained
	notify(q.space)
	return full
}
