package openbmp

import (
	"fmt"

	"github.com/bgp-connector/bgp-connector/decode"
)

// Sentinel errors, matched with errors.Is through a *DecodeError. They are
// package decode's sentinels (one set across decode, mrt and openbmp), so
// errors.Is(err, decode.ErrTruncated) holds for a cut BMP stream as for a
// cut MRT file.
var (
	// ErrTruncated means the input ended inside a structure (a cut stream or
	// a length field larger than the bytes present).
	ErrTruncated = decode.ErrTruncated
	// ErrMalformed means a field holds a value the RFC forbids.
	ErrMalformed = decode.ErrMalformed
	// ErrUnsupported means a well-formed message this package does not turn
	// into elems (e.g. an OpenBMP collector heartbeat).
	ErrUnsupported = decode.ErrUnsupported
	// ErrVersion means an OpenBMP header other than v1.7, or a BMP version
	// other than 3 (BMP v4 drafts included). It wraps ErrUnsupported.
	ErrVersion = fmt.Errorf("%w version", decode.ErrUnsupported)
)

// DecodeError is a decoding failure with the byte offset where it starts,
// counted from the start of the frame handed to the decoder (or of the
// stream, for a StreamReader).
type DecodeError struct {
	// Offset is the byte offset of the fault.
	Offset int
	// Field names what was being decoded ("OpenBMP header", "per-peer header",
	// "Peer Up"...).
	Field string
	// Err is the cause, wrapping one of the sentinels or a *decode.Error.
	Err error
}

// Error returns "openbmp: FIELD at offset N: cause".
func (e *DecodeError) Error() string {
	return fmt.Sprintf("openbmp: %s at offset %d: %v", e.Field, e.Offset, e.Err)
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

func errAt(off int, field string, err error) *DecodeError {
	return &DecodeError{Offset: off, Field: field, Err: err}
}

func truncAt(off int, field string, need, have int) *DecodeError {
	return &DecodeError{Offset: off, Field: field, Err: fmt.Errorf("%w: need %d bytes, %d present", ErrTruncated, need, have)}
}

func be16(b []byte) uint16 { _ = b[1]; return uint16(b[0])<<8 | uint16(b[1]) }

func be32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func be64(b []byte) uint64 { _ = b[7]; return uint64(be32(b))<<32 | uint64(be32(b[4:])) }
