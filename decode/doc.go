// Package decode is the BGP wire format (RFC 4271 and its extensions) and the
// elem model shared by every source of BGP data in bgp-connector.
//
// It holds:
//   - the record and elem model ([Record], [Elem], [Attrs]) that every source
//     (MRT files, BMP, OpenBMP) produces and every sink (text formats, Avro)
//     consumes;
//   - the decoder for BGP messages: UPDATE with all path attributes
//     ([DecodeUpdate]), and the header of OPEN, NOTIFICATION, KEEPALIVE and
//     ROUTE-REFRESH ([DecodeHeader], [DecodeOpen]).
//
// It is not a framing layer for MRT or BMP (see packages mrt and openbmp), it
// does not filter (package filter) and it does not print or encode (package
// emit). Decoders reuse the caller's destination values and never retain the
// input slice unless a field's doc says so.
package decode
