package ingest

import (
	"context"

	"github.com/bgp-connector/bgp-connector/decode"
)

// Source is the first stage of the data path (source → filter → sink): it
// yields decode.Batches of records and their elems, each batch labelled with
// where it came from (Batch.Source, Batch.Partition and each record's
// Offset: a file and byte offset, a URL, or a topic/partition/offset).
//
// Implementations: files and archive dumps (MRT, BMP, OpenBMP, any
// compression), Kafka topics, RIS Live, BMP over TCP.
//
// Next fills b, which the caller has Reset, with the next records. It
// returns nil with records in b; io.EOF (and b empty) at the end of a
// bounded input; or another error when the source cannot go on (with the
// records before the failure already delivered by earlier calls). Damage
// that a source reads past is not an error: it comes back as b.Gaps or as
// records with a corrupted status, and is counted. A live source blocks
// until records arrive or ctx ends (then it returns ctx.Err()).
//
// A source that needs to know when a batch's outputs are delivered (to
// commit its position) sets b.Done; the last stage calls it.
//
// Next is called from one goroutine at a time; Close may be called from
// another to stop a blocked Next.
type Source interface {
	Next(ctx context.Context, b *decode.Batch) error
	Close() error
}

// Batch sizing shared by the sources: a batch is handed on when it holds
// this many records or elems, or this many bytes of attributes and raw
// values (whichever first), keeping memory flat and both cores busy.
const (
	BatchRecords = 512
	BatchElems   = 2048
)
