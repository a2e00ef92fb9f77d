package text

import (
	"fmt"
	"strconv"

	"github.com/bgp-connector/bgp-connector/decode"
)

// Format is an output format.
type Format uint8

const (
	// FormatBGPReader is bgpreader's elem line (and, with Records, its
	// record line). It is the default.
	FormatBGPReader Format = iota
	// FormatBGPDump is `bgpdump -m`.
	FormatBGPDump
	// FormatJSON is one JSON object per elem (or per record with Records).
	FormatJSON
)

// String returns the name ParseFormat accepts.
func (f Format) String() string {
	switch f {
	case FormatBGPDump:
		return "bgpdump"
	case FormatJSON:
		return "json"
	}
	return "bgpreader"
}

// ParseFormat parses "bgpreader", "bgpdump" or "json".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "bgpreader", "":
		return FormatBGPReader, nil
	case "bgpdump":
		return FormatBGPDump, nil
	case "json":
		return FormatJSON, nil
	}
	return 0, fmt.Errorf("unknown format %q (want bgpreader, bgpdump or json)", s)
}

// KeepFunc decides whether an elem is printed. It is called from the
// formatting goroutine and must not keep e.
type KeepFunc func(rec *decode.Record, e *decode.Elem) bool

// Options configure a Formatter or Writer.
type Options struct {
	// Format is the output format (default bgpreader).
	Format Format
	// Records prints one line per record (bgpreader -r: type, dump
	// position, time, project, collector, router, router IP, status, dump
	// time) instead of one per elem. With FormatJSON the line is a JSON
	// object with the same fields. bgpdump has no record mode: it is
	// rejected.
	Records bool
	// Keep, when set, selects the elems printed (a filter's Match).
	Keep KeepFunc
	// Limit stops the output after this many records, like bgpreader -n
	// ("process at most N records"): the elems of those records are all
	// printed. PEER_INDEX_TABLEs and records rejected whole by a
	// pre-filter do not count. Zero means no limit.
	Limit int64
}

// Validate reports an unusable combination of options.
func (o *Options) Validate() error {
	if o.Format > FormatJSON {
		return fmt.Errorf("unknown format %d", o.Format)
	}
	if o.Records && o.Format == FormatBGPDump {
		return fmt.Errorf("format bgpdump has no record mode: use bgpreader or json with records")
	}
	if o.Limit < 0 {
		return fmt.Errorf("limit %d is negative", o.Limit)
	}
	return nil
}

// Formatter formats whole records: it adds bgpreader's dump start and end
// lines around the elems of RIB records, orders the elems of an UPDATE as
// bgpreader and bgpdump do (withdrawals then announcements, IPv4 then
// IPv6) and applies the record limit. It is not safe for concurrent use.
type Formatter struct {
	o    Options
	left int64  // records still allowed; <0 unlimited
	tail []byte // rendered attribute columns, reused within a record
	head []byte // rendered record columns (time to router IP), ditto
}

// NewFormatter returns a Formatter for o, which must be valid.
func NewFormatter(o Options) *Formatter {
	f := &Formatter{o: o, left: -1}
	if o.Limit > 0 {
		f.left = o.Limit
	}
	return f
}

// Done reports whether the limit has been reached.
func (f *Formatter) Done() bool { return f.left == 0 }

// AppendRecord appends the lines for rec and its elems and returns the
// buffer and the number of elem (or record) lines appended.
//
// TABLE_DUMP_V2 PEER_INDEX_TABLE records print nothing: like bgpreader, the
// table is an internal of the dump. Records a pre-filter rejected as a
// whole (status filtered-source) print nothing either. In elem mode with the
// bgpreader format a RIB record at the start (end) of its dump is preceded
// (followed) by a record line with dump position B (E), as bgpreader prints
// them. Every other record counts towards Options.Limit.
func (f *Formatter) AppendRecord(dst []byte, rec *decode.Record, elems []decode.Elem) ([]byte, int) {
	if f.left == 0 || isPeerIndex(rec) || rec.Status == decode.StatusFilteredSource {
		return dst, 0
	}
	if f.left > 0 {
		f.left--
	}
	if f.o.Records {
		if f.o.Format == FormatJSON {
			dst = AppendJSONRecord(dst, rec, len(elems))
		} else {
			dst = AppendBGPReaderRecord(dst, rec)
		}
		return dst, 1
	}
	// bgpreader skips invalid records whole, dump lines included.
	dumpLines := f.o.Format == FormatBGPReader && rec.Type == decode.RecordRIB && rec.Status == decode.StatusValid
	if dumpLines && rec.DumpPos == decode.DumpStart {
		dst = AppendBGPReaderRecord(dst, rec)
	}
	// One pass in decoder order, or four (W v4, W v6, A v4, A v6) when
	// an UPDATE's elems need bgpreader's and bgpdump's order.
	passes, reorder := 1, updateOrder(rec, elems)
	if reorder {
		passes = 4
	}
	n := 0
	var tailOf *decode.Attrs // Attrs rendered in f.tail (this record only)
	headDone := false        // f.head holds this record's columns
	for pass := 0; pass < passes; pass++ {
		for i := range elems {
			e := &elems[i]
			if reorder && passOf(e) != pass {
				continue
			}
			if f.o.Keep != nil && !f.o.Keep(rec, e) {
				continue
			}
			switch {
			case f.o.Format == FormatBGPDump:
				dst = AppendBGPDumpElem(dst, rec, e)
			case f.o.Format == FormatJSON:
				dst = AppendJSONElem(dst, rec, e)
			case e.Attrs != nil && (e.Type == decode.ElemAnnouncement || e.Type == decode.ElemRIB):
				// The elems of one UPDATE share their Attrs: render
				// the attribute columns once per record and Attrs.
				if e.Attrs != tailOf {
					f.tail = appendBGPReaderAttrs(f.tail[:0], e.Attrs)
					tailOf = e.Attrs
				}
				// The record columns are the same for all its elems.
				if !headDone {
					f.head = appendRecordHead(f.head[:0], rec)
					f.head = append(f.head, '|')
					headDone = true
				}
				dst = append(dst, rec.Type.Char(), '|', e.Type.Char(), '|')
				dst = append(dst, f.head...)
				dst = appendBGPReaderPeer(dst, e)
				dst = append(dst, f.tail...)
			default:
				dst = AppendBGPReaderElem(dst, rec, e)
			}
			n++
		}
	}
	if dumpLines && rec.DumpPos == decode.DumpEnd {
		dst = AppendBGPReaderRecord(dst, rec)
	}
	return dst, n
}

// isPeerIndex reports a TABLE_DUMP_V2 PEER_INDEX_TABLE record.
func isPeerIndex(rec *decode.Record) bool {
	return rec.Format == decode.FormatTableDumpV2 && rec.MRTSubtype == 1
}

// AppendJSONRecord appends a JSON object with a record's fields and its
// number of elems, and a newline.
func AppendJSONRecord(dst []byte, rec *decode.Record, elems int) []byte {
	dst = append(dst, `{"record_type":"`...)
	dst = append(dst, rec.Type.String()...)
	dst = append(dst, `","dump_pos":"`...)
	dst = append(dst, rec.DumpPos.Char())
	dst = append(dst, `","format":"`...)
	dst = append(dst, rec.Format.String()...)
	dst = append(dst, `","mrt_type":`...)
	dst = strconv.AppendUint(dst, uint64(rec.MRTType), 10)
	dst = append(dst, `,"mrt_subtype":`...)
	dst = strconv.AppendUint(dst, uint64(rec.MRTSubtype), 10)
	dst = append(dst, `,"time":`...)
	dst = appendTime(dst, rec.Time)
	dst = append(dst, `,"time_us":`...)
	dst = strconv.AppendInt(dst, rec.Time, 10)
	dst = appendJSONKeyString(dst, "project", rec.Project)
	dst = appendJSONKeyString(dst, "collector", rec.Collector)
	if rec.Router != "" {
		dst = appendJSONKeyString(dst, "router", rec.Router)
	}
	dst = appendJSONKeyAddr(dst, "router_ip", rec.RouterIP)
	dst = append(dst, `,"status":"`...)
	dst = append(dst, rec.Status.String()...)
	dst = append(dst, `","dump_time":`...)
	dst = strconv.AppendInt(dst, rec.DumpTime, 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, rec.Offset, 10)
	dst = append(dst, `,"elems":`...)
	dst = strconv.AppendInt(dst, int64(elems), 10)
	if rec.Err != nil {
		dst = append(dst, `,"error":`...)
		dst = appendJSONString(dst, rec.Err.Error())
	}
	return append(dst, "}\n"...)
}
