// Package ingest is the input side of the data path: the sources that
// yield batches of records with their position. Today that is the Kafka
// consumer-group source, which hands raw input records with their
// topic/partition/offset to the connector and commits an offset only once
// every output derived from the records before it has been acknowledged
// ([Tracker]). A [StateLog] keeps the BMP session state of the value
// decoders in a compacted changelog topic, so that a restarted or
// reassigned task decodes as an uninterrupted one.
//
// It does not decode BGP data (packages openbmp, mrt), filter, encode or
// produce (package emit); package connector wires those together.
package ingest
