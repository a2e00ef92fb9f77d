// Package ingest is the input side of the data path: the sources that
// yield batches of records with their position.
//
//   - KafkaSource: the connector's consumer-group source of raw input
//     topics (OpenBMP, BMP, MRT values), which hands records with their
//     topic/partition/offset on and commits an offset only once every
//     output derived from the records before it has been acknowledged
//     ([Tracker], [Group]).
//   - FileSource: one file or stream of MRT, BMP or OpenBMP data, any
//     compression.
//   - BackfillSource: the connector's archive backfill. Its consumer group
//     reads work items (WorkItem: one archive dump each, with the windows to
//     apply) from the backfill topic, and Next streams each item's dump
//     through a FileSource as many batches; the item's offset is committed
//     once all of them are acknowledged.
//   - StateLog: keeps the BMP session state of the value decoders in a
//     compacted changelog topic, so that a restarted or reassigned task
//     decodes as an uninterrupted one.
//
// # Archive backfill: dedup, checkpoints, exactly once
//
// The progress of every dump lives in a compacted state topic keyed by the
// dump's URL (BackfillState, JSON; StateView reads it into memory). A task
// writes a checkpoint there while it reads a dump — the uncompressed byte
// offset up to which every record's elems are acknowledged, and the elems
// published — and the dump's completion (done, or failed with its cause)
// before the work item's offset is committed. So a dump is read once however
// often it is queued: a task skips an item whose dump is done or failed, and
// the backfill command does not queue it again. A task that takes an item
// over resumes at its checkpoint: it decompresses the dump from its start (a
// compressed stream cannot be entered in the middle) but publishes only the
// records at or after the checkpoint's offset. Clean stops and revocations
// write a final checkpoint, so nothing is published twice; after a crash at
// most one checkpoint interval of elems is, because a task never publishes
// more than that past its last durable checkpoint, and those are counted.
// In exactly-once mode each transaction holds one checkpoint interval of a
// dump's elems with the checkpoint that records them, the last one the
// dump's completion: see BackfillSource for the trade-off against one
// transaction per dump.
//
// It does not decode BGP data (packages openbmp, mrt), filter, encode or
// produce (package emit); package connector wires those together.
package ingest
