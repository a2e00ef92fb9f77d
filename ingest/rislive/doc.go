// Package rislive reads RIPE RIS Live (https://ris-live.ripe.net): the JSON
// messages RIS Live sends for every BGP message its route collectors see,
// live over the websocket API or the HTTP firehose, or saved as JSON lines.
// It turns them into decode.Batches of records and elems, as the mrt and
// openbmp packages do for their formats, so that the rest of the data path
// (filter, text, Avro, Kafka) treats RIS Live like any other source.
//
// It holds:
//   - [Decoder]: one RIS Live message (a line, a websocket message or a
//     Kafka record value) → one record and its elems. The BGP message in
//     the "raw" field is decoded with decode.DecodeUpdate (4-byte ASNs, as
//     RIS Live's sessions are), so the elems equal what package mrt gives
//     for the same UPDATE; the JSON fields ("path", "announcements"...) are
//     used only when "raw" is absent. RIS_PEER_STATE becomes a state elem
//     (as libbgpstream maps it: down → IDLE, connected → CONNECT, up →
//     ESTABLISHED); OPEN, NOTIFICATION and KEEPALIVE become records without
//     elems. The field variants seen in RIS Live's history are accepted.
//   - [FileSource]: saved RIS Live JSON lines (bgpreader's
//     -d singlefile -o upd-type=ris-live), any compression.
//   - [Client]: the live feed, over the websocket API (ws:// and wss://
//     URLs) or the firehose (http:// and https://), with a ris_subscribe
//     built from a [Subscribe], ping/pong keepalive, reconnection with
//     capped backoff, and every loss reported as data.
//
// Both sources implement ingest.Source. A line that cannot be read (invalid
// or truncated JSON, a field that cannot be parsed, a line longer than the
// limit) is counted, reported as a decode.Gap whose Err is a
// [*MessageError] naming the input, line and byte offset, and skipped: it
// never stops or stalls the stream. A ris_error message is counted and
// logged. RIS Live cannot replay: when a live connection drops, the client
// reconnects and resubscribes, and what it missed is reported as a
// decode.Gap whose Err is a [*GapError] with the times on both sides.
//
// It does not filter: a [Subscribe] narrows what RIS Live sends, and the
// caller applies its full filter (package filter) to what arrives. It does
// not merge sources in time, print or encode.
package rislive
