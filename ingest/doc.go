// Package ingest is the input side of the connector: its configuration
// (a Kafka Connect style .properties file, see [Config]) and the Kafka
// consumer-group source that hands batches of raw input records, with their
// topic/partition/offset, to the pipeline and commits an offset only once
// every output derived from the records before it has been acknowledged.
//
// It does not decode BGP data (packages openbmp, mrt), filter, encode or
// produce (package emit); package ingest/pipeline wires those together.
package ingest
