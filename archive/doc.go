// Package archive finds, fetches and caches the public BGP archive dumps of
// RIPE RIS and RouteViews: the first stage of a read over a time window,
// before any byte is decoded.
//
// Finding: an [Index] answers "which dumps of these projects, collectors and
// types overlap these windows" ([Query]) with [Dump]s labelled with their
// project, collector, type, nominal start and duration. Implementations:
//   - [NewCAIDABroker]: the CAIDA BGPStream broker API v2 (bgpreader's
//     default data interface), with windows chunked and answers
//     de-duplicated because the public broker caps its answers;
//   - [NewBGPKITBroker]: the BGPKIT broker API v3 (/search, paged);
//   - [NewArchiveIndex]: the archives themselves, no broker: the RouteViews
//     and RIS directory layouts read from their Apache or nginx listings
//     (old table and new <pre> styles), or from a local mirror laid out the
//     same way (a path or a file:// base).
//
// A [Poller] turns an Index into a live source: it returns what exists, then
// blocks until new dumps are published, polling with libbgpstream's backoff.
//
// Fetching: a [Fetcher] opens a Dump as a stream of its raw, still
// compressed bytes, straight from HTTP (connect and idle timeouts, retries
// with capped exponential backoff, resume by Range after a dropped
// connection), from a local file, or from a cache directory shared safely by
// any number of processes: the first one downloads a file while the others
// wait for it, a file appears only complete, and a lock held by a killed
// process dies with it. [Fetcher.Prefetch] keeps the next downloads in
// flight while earlier dumps are decoded, with bounded memory and disk.
//
// Window semantics are bgpreader's. A dump covers [Start, Start+Duration)
// and is selected when that overlaps a window [Start, End] (End inclusive;
// a zero End is open: live). So a dump ending exactly at a window's start is
// not selected, and the dump whose interval holds the window's start is.
// RIB dumps are given a nominal duration of [RIBDuration] (2 min, the CAIDA
// broker's convention), so the RIB that started just before a window still
// covers its start. A RIB's records may be stamped before its nominal time
// (RouteViews and RIS begin writing a RIB around the named minute), and an
// updates file may hold records stamped a little past its end: a record
// outside the window is the merge's business (it marks it
// outside-time-interval, as bgpreader does), not the index's. [Query]
// RIBPeriod is bgpreader's -P: at most one RIB per collector per period.
//
// It is not a decoder (the bytes it returns are still compressed: package
// internal/compress detects and undoes that, package mrt frames them), not
// a merge (package bgpstream orders the records of several dumps in time),
// and it reads no live stream (RIS Live, Kafka): a stream resource the CAIDA
// broker lists is returned as a Dump with Transport "kafka" for the caller
// to hand to a Kafka reader.
package archive
