// Package emit turns elems into Kafka records: the Avro binary encoding of
// each output type (hand-written to the .avsc files of package schema, with
// no allocation per elem), the single-object or Confluent framing, and the
// producer side of the connector (per-type topics, keys, provenance headers,
// dead letters).
//
// It does not decode BGP data (packages mrt, openbmp), filter elems (package
// filter) or consume Kafka (package ingest). Text output formats live in
// emit/text.
package emit
