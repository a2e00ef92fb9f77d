package emit

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/schema"
)

// KafkaSink is the Kafka sink of the data path (an emit.Sink): each elem
// and BMP statistic of a batch becomes one Avro record on its type's topic
// (with the provenance headers of its input record), produced through a
// franz-go client (idempotent, acks=all). The batch's Done is called once
// every one of its records is acknowledged, with the first produce error:
// that is what lets the source commit the input. Write encodes
// synchronously (the batch can be reused when it returns); acknowledgements
// come later, on the client's goroutines.
//
// A KafkaSink serves one goroutine; several may share a client.
type KafkaSink struct {
	w     *Writer
	in    Input
	count *[schema.NumTypes]atomic.Uint64
}

// NewKafkaSink returns a sink producing through cl. count, when not nil,
// is incremented per record produced, by output type.
func NewKafkaSink(cl *kgo.Client, o Options, count *[schema.NumTypes]atomic.Uint64) *KafkaSink {
	return &KafkaSink{w: NewWriter(cl, o), count: count}
}

// Writer returns the sink's record writer.
func (s *KafkaSink) Writer() *Writer { return s.w }

// Write produces b's elems and statistics.
func (s *KafkaSink) Write(ctx context.Context, b *decode.Batch) error {
	bc := completionPool.Get().(*batchCompletion)
	bc.done = b.Done
	b.Done = nil
	bc.n.Store(1) // held while producing
	j, k := 0, 0
	for ri := range b.Records {
		rec := &b.Records[ri]
		ej, sk := j, k
		for ej < len(b.ElemRecord) && int(b.ElemRecord[ej]) == ri {
			ej++
		}
		for sk < len(b.StatRecord) && int(b.StatRecord[sk]) == ri {
			sk++
		}
		if ej == j && sk == k {
			continue
		}
		s.w.beginWith(&s.in, Source{Topic: b.Source, Partition: b.Partition, Offset: rec.Offset}, bc, bc.promise)
		for ; j < ej; j++ {
			el := &b.Elems[j]
			s.w.Elem(ctx, &s.in, rec, el)
			if s.count != nil {
				s.count[TypeOf(el.Type)].Add(1)
			}
		}
		for ; k < sk; k++ {
			s.w.Stat(ctx, &s.in, rec, &b.Stats[k])
			if s.count != nil {
				s.count[schema.Stats].Add(1)
			}
		}
	}
	bc.Promise(nil, nil) // release the hold
	return nil
}

// Flush waits until every record produced is acknowledged (or ctx ends).
func (s *KafkaSink) Flush(ctx context.Context) error { return s.w.cl.Flush(ctx) }

// DeadLetter produces an undecodable input record to the dead letter topic
// (see Writer.DeadLetter) and calls done once it is acknowledged. It has the
// shape ingest.KafkaOptions.DeadLetter wants, given the task and the name of
// the decoder.
func (s *KafkaSink) DeadLetter(task int, class string) func(ctx context.Context, r *kgo.Record, cause error, done func(error)) {
	return func(ctx context.Context, r *kgo.Record, cause error, done func(error)) {
		c := &funcCompletion{done: done}
		var in Input
		s.w.beginWith(&in, Source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}, c, c.Promise)
		if !s.w.DeadLetter(ctx, &in, r, task, "VALUE_CONVERTER", class, cause) {
			done(nil)
		}
	}
}

// batchCompletion counts a batch's records in flight and calls the
// batch's Done when the last one is acknowledged.
type batchCompletion struct {
	n       atomic.Int32
	err     atomic.Pointer[error]
	done    func(error)
	promise func(*kgo.Record, error) // bc.Promise, bound once
}

var completionPool sync.Pool

func init() {
	completionPool.New = func() any {
		bc := new(batchCompletion)
		bc.promise = bc.Promise
		return bc
	}
}

// Add counts n more records in flight.
func (c *batchCompletion) Add(n int32) { c.n.Add(n) }

// Promise completes one record (a franz-go produce promise).
func (c *batchCompletion) Promise(_ *kgo.Record, err error) {
	if err != nil {
		c.err.CompareAndSwap(nil, &err)
	}
	if c.n.Add(-1) != 0 {
		return
	}
	var first error
	if p := c.err.Swap(nil); p != nil {
		first = *p
	}
	done := c.done
	c.done = nil
	completionPool.Put(c)
	if done != nil {
		done(first)
	}
}

// funcCompletion calls done when its one record is acknowledged.
type funcCompletion struct{ done func(error) }

func (c *funcCompletion) Add(int32)                        {}
func (c *funcCompletion) Promise(_ *kgo.Record, err error) { c.done(err) }
