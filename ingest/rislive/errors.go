package rislive

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinels, matched with errors.Is.
var (
	// ErrSlowConsumer is the cause of a connection that RIS Live closed
	// because the client fell behind ("Closing connection after being
	// behind by more than 134217728 bytes over 10 s"): whatever reads the
	// batches did not keep up with the feed. It is the Cause of the
	// GapError that follows, and counted in Stats.SlowConsumer.
	ErrSlowConsumer = errors.New("RIS Live closed the connection: the client fell behind (too slow)")
	// ErrNoPong is the cause of a websocket connection closed by the client
	// after too many pings went unanswered.
	ErrNoPong = errors.New("no pong from RIS Live")
	// ErrIdle is the cause of a firehose connection closed by the client
	// after no data arrived for the idle timeout.
	ErrIdle = errors.New("no data from RIS Live")
	// ErrClosed is returned by Client.Next after Close.
	ErrClosed = errors.New("rislive: client closed")
)

// MessageError is a RIS Live message that could not be read: the Err of the
// decode.Gap a source adds when it skips a line, and the Err of a record
// whose BGP message is corrupted. Err wraps decode.ErrMalformed or
// decode.ErrTruncated.
type MessageError struct {
	// Source names the input (file name or URL); empty from a bare Decoder.
	Source string
	// Line is the 1-based number of the line or message in its input (0
	// when not known).
	Line int64
	// Offset is the byte offset of the message in its input.
	Offset int64
	// Field names what was wrong: "JSON", "timestamp", "peer", "raw"...
	Field string
	// Err is the cause.
	Err error
}

// Error returns "SOURCE: line L, offset N: RIS Live FIELD: cause".
func (e *MessageError) Error() string {
	var sb strings.Builder
	if e.Source != "" {
		sb.WriteString(e.Source)
		sb.WriteString(": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&sb, "line %d, ", e.Line)
	}
	fmt.Fprintf(&sb, "offset %d: RIS Live %s: %v", e.Offset, e.Field, e.Err)
	return sb.String()
}

// Unwrap returns the cause.
func (e *MessageError) Unwrap() error { return e.Err }

// ServerError is a ris_error message: RIS Live telling the client that a
// request was wrong (a bad subscription) or that it is closing the
// connection. Decoder.Decode returns it; the sources count and log it and go
// on.
type ServerError struct {
	// Message is the server's text.
	Message string
}

// Error returns "RIS Live error: MESSAGE".
func (e *ServerError) Error() string { return "RIS Live error: " + e.Message }

// SlowConsumer reports whether this is the error RIS Live sends before it
// closes the connection of a client that fell behind.
func (e *ServerError) SlowConsumer() bool { return isSlowConsumer(e.Message) }

// Is makes errors.Is(err, ErrSlowConsumer) true for the slow-consumer
// message.
func (e *ServerError) Is(target error) bool { return target == ErrSlowConsumer && e.SlowConsumer() }

func isSlowConsumer(msg string) bool {
	return strings.Contains(msg, "behind by more than") || strings.Contains(strings.ToLower(msg), "too slow")
}

// GapError is the Err of the decode.Gap a Client adds where a connection
// dropped: the messages RIS Live sent between the two connections are lost,
// because RIS Live cannot replay. The gap is placed before the first record
// of the new connection (its Start and End are both the stream offset there:
// no input bytes were skipped).
type GapError struct {
	// From is the time of the last record before the drop, and To the time
	// of the first record after the reconnection (zero when not known):
	// what RIS Live saw between them is missing.
	From, To time.Time
	// Disconnected and Reconnected are the wall-clock times of the drop and
	// of the new connection.
	Disconnected, Reconnected time.Time
	// Cause is why the connection ended: ErrSlowConsumer, ErrNoPong,
	// ErrIdle, io.EOF (the server ended the stream) or a network error.
	Cause error
}

// Error returns "RIS Live gap from FROM to TO (...): cause".
func (e *GapError) Error() string {
	from, to := "?", "?"
	if !e.From.IsZero() {
		from = e.From.UTC().Format(time.RFC3339Nano)
	}
	if !e.To.IsZero() {
		to = e.To.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("RIS Live gap from %s to %s (disconnected %s, reconnected %s; RIS Live cannot replay): %v",
		from, to, e.Disconnected.UTC().Format(time.RFC3339), e.Reconnected.UTC().Format(time.RFC3339), e.Cause)
}

// Unwrap returns the cause.
func (e *GapError) Unwrap() error { return e.Cause }

// DialError is a connection attempt that failed with an HTTP status: the
// websocket handshake or the firehose request was refused.
type DialError struct {
	// URL is the address dialled.
	URL string
	// Status is the HTTP status code (0 when the request got no response).
	Status int
	// Err is the cause.
	Err error
}

// Error returns "URL: HTTP STATUS: cause".
func (e *DialError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s: HTTP %d: %v", e.URL, e.Status, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.URL, e.Err)
}

// Unwrap returns the cause.
func (e *DialError) Unwrap() error { return e.Err }

// Permanent reports whether retrying cannot help: a 4xx status other than
// 408 (timeout) and 429 (too many requests).
func (e *DialError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 429
}
