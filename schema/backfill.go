package schema

import (
	"fmt"
	"sync"

	"github.com/linkedin/goavro/v2"
)

// BackfillFile is the schema of the backfill topic's work items: one archive
// dump per value, with the labels and windows to apply (see
// ingest.WorkItem). It is not an output type: it has no topic suffix and is
// not among Types.
const BackfillFile = "backfill.avsc"

// BackfillText returns the work item schema's JSON text as stored in
// backfill.avsc.
func BackfillText() string {
	b, err := files.ReadFile(BackfillFile)
	if err != nil {
		return "" // unreachable: embedded at build time
	}
	return string(b)
}

var backfillCodec = sync.OnceValues(func() (*goavro.Codec, error) {
	c, err := goavro.NewCodec(BackfillText())
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", BackfillFile, err)
	}
	return c, nil
})

// BackfillCodec returns the goavro codec of the work item schema, parsed
// once: the backfill command encodes items with it and the connector decodes
// them (Avro single-object encoding).
func BackfillCodec() (*goavro.Codec, error) { return backfillCodec() }
