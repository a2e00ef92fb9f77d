package rislive

import "sync/atomic"

// Stats counts what a Decoder, FileSource or Client has done so far. The
// sources' Stats may be read from any goroutine while Next runs.
type Stats struct {
	// Messages is the number of messages read (lines, websocket messages).
	Messages int64
	// Bytes is the number of message bytes read.
	Bytes int64
	// Records and Elems are the records and elems produced.
	Records, Elems int64
	// BadLines counts the messages skipped because they could not be read
	// (invalid or truncated JSON, a missing or unreadable timestamp, peer or
	// type, a line over the size limit); each is also a decode.Gap.
	BadLines int64
	// Corrupted counts the records whose BGP message did not decode
	// (status corrupted-record, with the elems before the damage).
	Corrupted int64
	// Unsupported counts the ris_message records of an unknown type
	// (status unsupported).
	Unsupported int64
	// ServerErrors counts ris_error messages.
	ServerErrors int64
	// Ignored counts the messages that carry no BGP data (pong,
	// ris_subscribe_ok, ris_rrc_list) or have an unknown envelope type.
	Ignored int64
	// SlowConsumer counts the connections RIS Live closed because the
	// client fell behind.
	SlowConsumer int64
	// Connects counts the connections made; Reconnects those after a
	// drop; ConnectFailures the attempts that failed.
	Connects, Reconnects, ConnectFailures int64
	// Gaps counts the drops reported as GapErrors.
	Gaps int64
	// MissedPongs counts the pings that went unanswered.
	MissedPongs int64
}

type counters struct {
	messages, bytes, records, elems             atomic.Int64
	badLines, corrupted, unsupported, serverErr atomic.Int64
	ignored, slow, connects, reconnects         atomic.Int64
	connectFailures, gaps, missedPongs          atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Messages: c.messages.Load(), Bytes: c.bytes.Load(),
		Records: c.records.Load(), Elems: c.elems.Load(),
		BadLines: c.badLines.Load(), Corrupted: c.corrupted.Load(), Unsupported: c.unsupported.Load(),
		ServerErrors: c.serverErr.Load(), Ignored: c.ignored.Load(), SlowConsumer: c.slow.Load(),
		Connects: c.connects.Load(), Reconnects: c.reconnects.Load(), ConnectFailures: c.connectFailures.Load(),
		Gaps: c.gaps.Load(), MissedPongs: c.missedPongs.Load(),
	}
}
