// Package text prints records and elems as the text formats users of
// CAIDA's bgpreader and RIPE's bgpdump already parse, and as JSON lines.
//
// Formatters append to a caller's buffer and allocate nothing per elem:
//   - [AppendBGPReaderElem] and [AppendBGPReaderRecord]: bgpreader's
//     16-column elem line and 9-column record line (libbgpstream v2.3.0);
//   - [AppendBGPDumpElem]: `bgpdump -m` (bgpdump 1.6.2), quirks included;
//   - [AppendJSONElem]: one JSON object per elem with every field the
//     decoder knows (large and extended communities, ADD-PATH path id, BMP
//     context...), which the two tools above cannot show.
//
// [Formatter] formats whole records: bgpreader's dump lines, the elem order
// both tools use within an UPDATE, the record limit (-n). [Writer] runs a
// Formatter on its own goroutine: a decoder hands it filled
// [decode.Batch]es, it filters, formats and writes them in order, and hands
// the batches back for reuse.
//
// The package does not decode (see packages decode, mrt and openbmp), does
// not parse filter expressions (package filter) and does not encode Avro
// (package emit).
package text
