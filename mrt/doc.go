// Package mrt is MRT (RFC 6396) framing and record → elem decoding.
//
// The framing half ([Reader], [NewReader]) turns a possibly compressed byte
// stream (gzip incl. multi-member, bzip2 incl. multi-stream, xz, zstd, or
// plain) into [RawRecord] values with their uncompressed byte offsets. It
// decompresses on its own goroutines (bzip2 blocks are decoded in parallel),
// keeps memory flat whatever the input size, and resynchronises after damaged
// framing: a skipped region comes back as a non-fatal [*GapError]; input that
// ends inside a record or a damaged compressed stream ends with a fatal
// [*TruncatedError].
//
// The decoding half (the Elementor and the per-type files) turns records into
// decode.Elem values.
//
// It is not the BGP wire format (package decode) and it does not fetch or
// list archives (package archive).
package mrt
