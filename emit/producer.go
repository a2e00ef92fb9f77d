package emit

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/schema"
)

// Completion counts the outputs of one input record: Add before each
// produce, Promise called by the producer when it is acknowledged. The
// ingest side's Pending implements it.
type Completion interface {
	Add(n int32)
	Promise(r *kgo.Record, err error)
}

// KeyField selects the output record key.
type KeyField uint8

// Key choices (config key.field).
const (
	KeyPrefix KeyField = iota // the prefix (a peer address for S elems)
	KeyPeer                   // the peer address
	KeyRouter                 // the BMP router address (collector for MRT)
	KeyNone                   // no key
)

// ParseKeyField maps "prefix", "peer", "router", "none" to a KeyField.
func ParseKeyField(s string) (KeyField, error) {
	switch s {
	case "prefix":
		return KeyPrefix, nil
	case "peer":
		return KeyPeer, nil
	case "router":
		return KeyRouter, nil
	case "none":
		return KeyNone, nil
	}
	return 0, fmt.Errorf("key.field %q: use one of prefix, peer, router, none", s)
}

// Headers carrying the input position on every output record.
const (
	HeaderSourceTopic     = "bgp.source.topic"
	HeaderSourcePartition = "bgp.source.partition"
	HeaderSourceOffset    = "bgp.source.offset"
)

// Dead letter context headers, as Kafka Connect names them.
const (
	HeaderErrTopic        = "__connect.errors.topic"
	HeaderErrPartition    = "__connect.errors.partition"
	HeaderErrOffset       = "__connect.errors.offset"
	HeaderErrConnector    = "__connect.errors.connector.name"
	HeaderErrTask         = "__connect.errors.task.id"
	HeaderErrStage        = "__connect.errors.stage"
	HeaderErrClass        = "__connect.errors.class.name"
	HeaderErrExClass      = "__connect.errors.exception.class.name"
	HeaderErrExMessage    = "__connect.errors.exception.message"
	HeaderErrExStacktrace = "__connect.errors.exception.stacktrace"
)

// Options configure a Writer.
type Options struct {
	// Topics maps each output type to its topic.
	Topics [schema.NumTypes]string
	// Framing prefixes each datum.
	Framing *Framing
	// Key selects the record key.
	Key KeyField
	// DLQTopic receives undecodable input records ("" = none).
	DLQTopic string
	// DLQContextHeaders adds the __connect.errors.* headers.
	DLQContextHeaders bool
	// Connector names the connector in dead letter headers.
	Connector string
}

// Writer encodes elems, stats and dead letters into Kafka records and
// produces them with a shared franz-go client (idempotent, acks=all). One
// Writer serves one task goroutine: it is not safe for concurrent use, but
// several Writers may share a client. Records are carved from slabs so that
// an elem costs no allocation of its own once the slabs are warm.
type Writer struct {
	cl  *kgo.Client
	opt Options

	arena []byte
	recs  []kgo.Record
	hdrs  []kgo.RecordHeader

	// Produced counts records produced per output type.
	Produced [schema.NumTypes]uint64
	// DeadLetters counts records sent to the dead letter topic.
	DeadLetters uint64
}

const (
	arenaSize = 1 << 20
	recSlab   = 1024
)

// Options returns the options the Writer was built with.
func (w *Writer) Options() Options { return w.opt }

// NewWriter returns a Writer producing through cl.
func NewWriter(cl *kgo.Client, opt Options) *Writer {
	return &Writer{cl: cl, opt: opt}
}

// Input is the input record outputs derive from, with its provenance
// headers built once and shared by every output of the record.
type Input struct {
	Src     Source
	headers []kgo.RecordHeader
	c       Completion
	promise func(*kgo.Record, error)
}

// Begin prepares the outputs of one input record; c completes them.
func (w *Writer) Begin(in *Input, src Source, c Completion) {
	w.beginWith(in, src, c, c.Promise) // a method value allocates: bound once per record
}

// beginWith is Begin with c's promise already bound (a sink binds it once
// per completion object, not per record).
func (w *Writer) beginWith(in *Input, src Source, c Completion, promise func(*kgo.Record, error)) {
	in.Src, in.c = src, c
	in.promise = promise
	if len(w.hdrs)+3 > cap(w.hdrs) {
		w.hdrs = make([]kgo.RecordHeader, 0, 3*256)
	}
	start := len(w.hdrs)
	w.room()
	at := len(w.arena)
	w.arena = strconv.AppendInt(w.arena, int64(src.Partition), 10)
	p := w.carve(at)
	at = len(w.arena)
	w.arena = strconv.AppendInt(w.arena, src.Offset, 10)
	o := w.carve(at)
	at = len(w.arena)
	w.arena = append(w.arena, src.Topic...)
	t := w.carve(at)
	w.hdrs = append(w.hdrs,
		kgo.RecordHeader{Key: HeaderSourceTopic, Value: t},
		kgo.RecordHeader{Key: HeaderSourcePartition, Value: p},
		kgo.RecordHeader{Key: HeaderSourceOffset, Value: o})
	in.headers = w.hdrs[start:len(w.hdrs):len(w.hdrs)]
}

// room makes sure the arena has room for a typical datum; a full arena is
// replaced, never overwritten, so slices carved from it stay valid.
func (w *Writer) room() {
	if cap(w.arena)-len(w.arena) < 4096 {
		w.arena = make([]byte, 0, arenaSize)
	}
}

// carve returns the arena bytes appended since start, capped so that later
// appends cannot reach them. A datum larger than the room left makes append
// move the arena: records already carved keep the old array.
func (w *Writer) carve(start int) []byte {
	return w.arena[start:len(w.arena):len(w.arena)]
}

func (w *Writer) record() *kgo.Record {
	if len(w.recs) == 0 {
		w.recs = make([]kgo.Record, recSlab)
	}
	r := &w.recs[0]
	w.recs = w.recs[1:]
	return r
}

// Elem encodes and produces one elem of the input record.
func (w *Writer) Elem(ctx context.Context, in *Input, rec *decode.Record, el *decode.Elem) {
	t := TypeOf(el.Type)
	r := w.record()
	r.Topic = w.opt.Topics[t]
	r.Headers = in.headers
	w.room()
	start := len(w.arena)
	w.arena = w.opt.Framing.AppendHeader(w.arena, t)
	w.arena = AppendElem(w.arena, rec, el, &in.Src)
	r.Value = w.carve(start)
	r.Key = w.key(rec, el)
	w.Produced[t]++
	in.c.Add(1)
	w.cl.Produce(ctx, r, in.promise)
}

// Stat encodes and produces one BMP statistic of the input record.
func (w *Writer) Stat(ctx context.Context, in *Input, rec *decode.Record, st *decode.Stat) {
	r := w.record()
	r.Topic = w.opt.Topics[schema.Stats]
	r.Headers = in.headers
	w.room()
	start := len(w.arena)
	w.arena = w.opt.Framing.AppendHeader(w.arena, schema.Stats)
	w.arena = AppendStat(w.arena, rec, st, &in.Src)
	r.Value = w.carve(start)
	switch w.opt.Key {
	case KeyNone:
		r.Key = nil
	case KeyRouter:
		r.Key = w.addrKey(rec.RouterIP, rec.Collector)
	default:
		r.Key = w.addrKey(st.PeerIP, "")
	}
	w.Produced[schema.Stats]++
	in.c.Add(1)
	w.cl.Produce(ctx, r, in.promise)
}

func (w *Writer) key(rec *decode.Record, el *decode.Elem) []byte {
	switch w.opt.Key {
	case KeyNone:
		return nil
	case KeyPeer:
		return w.addrKey(el.PeerIP, "")
	case KeyRouter:
		return w.addrKey(rec.RouterIP, rec.Collector)
	}
	if el.Prefix.IsValid() {
		w.room()
		start := len(w.arena)
		w.arena = el.Prefix.AppendTo(w.arena)
		return w.carve(start)
	}
	return w.addrKey(el.PeerIP, "")
}

// addrKey returns the address as text, or fallback when it is invalid.
func (w *Writer) addrKey(a netip.Addr, fallback string) []byte {
	w.room()
	start := len(w.arena)
	switch {
	case a.IsValid():
		w.arena = a.AppendTo(w.arena)
	case fallback != "":
		w.arena = append(w.arena, fallback...)
	default:
		return nil
	}
	return w.carve(start)
}

// DeadLetter produces the input record unchanged to the dead letter topic,
// with Connect's __connect.errors.* headers when enabled. stage and class
// name where the failure happened (e.g. "VALUE_CONVERTER", "openbmp.Decoder").
// It returns false when no dead letter topic is configured.
func (w *Writer) DeadLetter(ctx context.Context, in *Input, orig *kgo.Record, task int, stage, class string, cause error) bool {
	if w.opt.DLQTopic == "" {
		return false
	}
	r := &kgo.Record{Topic: w.opt.DLQTopic, Key: orig.Key, Value: orig.Value}
	r.Headers = append(r.Headers, orig.Headers...)
	if w.opt.DLQContextHeaders {
		var chain []string
		for e := cause; e != nil; e = errors.Unwrap(e) {
			chain = append(chain, fmt.Sprintf("%T: %v", e, e))
		}
		h := func(k, v string) { r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)}) }
		h(HeaderErrTopic, orig.Topic)
		h(HeaderErrPartition, strconv.Itoa(int(orig.Partition)))
		h(HeaderErrOffset, strconv.FormatInt(orig.Offset, 10))
		h(HeaderErrConnector, w.opt.Connector)
		h(HeaderErrTask, strconv.Itoa(task))
		h(HeaderErrStage, stage)
		h(HeaderErrClass, class)
		h(HeaderErrExClass, fmt.Sprintf("%T", cause))
		h(HeaderErrExMessage, cause.Error())
		h(HeaderErrExStacktrace, strings.Join(chain, "\ncaused by: "))
	}
	w.DeadLetters++
	in.c.Add(1)
	w.cl.Produce(ctx, r, in.promise)
	return true
}

// ProducerOpts returns the producer options of the connector: idempotent
// writes with acks=all (franz-go's defaults, stated here so that they stay),
// the compression codec, linger and buffering for throughput.
func ProducerOpts(compression string, linger time.Duration) []kgo.Opt {
	var codec kgo.CompressionCodec
	switch compression {
	case "gzip":
		codec = kgo.GzipCompression()
	case "snappy":
		codec = kgo.SnappyCompression()
	case "lz4":
		codec = kgo.Lz4Compression()
	case "zstd":
		codec = kgo.ZstdCompression()
	default:
		codec = kgo.NoCompression()
	}
	return []kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(linger),
		kgo.MaxBufferedRecords(200_000),
		kgo.MaxBufferedBytes(256 << 20),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
	}
}
