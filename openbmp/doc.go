// Package openbmp decodes BGP Monitoring Protocol messages (BMP v3,
// RFC 7854, with RFC 8671 Adj-RIB-Out and RFC 9069 Loc-RIB) and the OpenBMP
// envelope that OpenBMP-style collectors put around each BMP message when
// they publish it on Kafka (topic openbmp.bmp_raw, binary header v1.7, or
// the legacy text header).
//
// The layers are:
//   - [Header]: the OpenBMP v1.7 binary header, decoded by [DecodeHeader]
//     and written by [Header.AppendTo];
//   - one type per BMP structure ([CommonHeader], [PeerHeader], [PeerUp],
//     [PeerDown], [Initiation], [RouteMirroring]) with its decoder
//     ([DecodeCommonHeader], [DecodePeerHeader], [DecodePeerUp]...);
//   - [Decoder]: the stateful per-router session table that turns each BMP
//     message into a [decode.Record] with elems or statistics, learning
//     capabilities from Peer Up OPENs (4-byte ASNs, ADD-PATH) so that Route
//     Monitoring decodes as the session sends it; its state is exported,
//     recorded and restored as [StateEntry] values (a compact versioned
//     binary encoding, keyed by router and peer) so that it can outlive
//     the process (the connector keeps it in a compacted Kafka topic);
//   - [StreamReader]: framing of files (a raw BMP byte stream, a sequence of
//     OpenBMP messages, or 4-byte length-prefixed frames), with byte offsets,
//     [Detect] to tell them apart, and resynchronisation after damage.
//
// Errors are *[DecodeError] values carrying the byte offset of the fault;
// match the cause with errors.Is against [ErrTruncated], [ErrMalformed],
// [ErrVersion] and [ErrUnsupported]. Nothing here panics on bad input.
//
// It is not a BMP collector (it does not listen on TCP), it does not decode
// BGP UPDATE bodies itself (package decode does) and it does not format or
// publish elems (package emit). BMP draft version 4 is recognised and
// rejected with [ErrVersion].
package openbmp
