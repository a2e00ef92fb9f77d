package decode

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrTruncated means the input ended inside a structure.
	ErrTruncated = errors.New("truncated")
	// ErrMalformed means a field holds a value the RFC forbids.
	ErrMalformed = errors.New("malformed")
	// ErrUnsupported means a well-formed structure this package does not
	// decode (e.g. VPNv4 NLRI); it is reported, never fatal.
	ErrUnsupported = errors.New("unsupported")
)

// Error is a decoding error with its location in the decoded message and the
// RFC 7606 handling it calls for.
type Error struct {
	// Offset is the byte offset in the decoded slice where the fault begins.
	Offset int
	// Field names what was being decoded ("AS_PATH", "MP_REACH_NLRI", "NLRI").
	Field string
	// Action is the RFC 7606 handling level.
	Action ErrorAction
	// Err is the cause, usually wrapping ErrTruncated, ErrMalformed or
	// ErrUnsupported.
	Err error
}

// Error returns "FIELD at offset N: cause (action)".
func (e *Error) Error() string {
	return fmt.Sprintf("%s at offset %d: %v (%s)", e.Field, e.Offset, e.Err, e.Action)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
