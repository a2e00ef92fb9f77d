package filter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
)

// window is a closed time interval in microseconds since the Unix epoch.
type window struct{ start, end int64 }

const openEnd = math.MaxInt64

// timeLayouts are the written forms of a time point besides unix seconds:
// RFC 3339, and bgpreader's "Y-m-d [H:M[:S]]" in UTC (with a space or a T).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05",
	"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

// parseTimePoint reads unix seconds (optionally with a fraction), RFC 3339,
// "2006-01-02T15:04:05" or "2006-01-02 15:04[:05]" (UTC) or "2006-01-02"
// (UTC midnight). It returns
// microseconds and whether the value was given to whole seconds.
func parseTimePoint(s string) (int64, bool, bool) {
	if s == "" {
		return 0, false, false
	}
	if s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-:T") {
		sec, frac, hasFrac := strings.Cut(s, ".")
		n, err := strconv.ParseInt(sec, 10, 64)
		if err != nil || n > math.MaxInt64/1000000-1 {
			return 0, false, false
		}
		us := n * 1e6
		if !hasFrac {
			return us, true, true
		}
		if frac == "" || len(frac) > 6 {
			return 0, false, false
		}
		f, err := strconv.ParseInt((frac + "000000")[:6], 10, 64)
		if err != nil || frac[0] == '+' || frac[0] == '-' {
			return 0, false, false
		}
		return us + f, f == 0, true
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1970 || t.Year() > 9999 {
				return 0, false, false
			}
			return t.UnixMicro(), t.Nanosecond() < 1000, true
		}
	}
	return 0, false, false
}

// parseWindow reads "start[,end]". A whole-second end includes that whole
// second, as BGPStream compares seconds.
func parseWindow(s string) (window, string, bool) {
	a, b, hasEnd := strings.Cut(s, ",")
	start, _, ok := parseTimePoint(strings.TrimSpace(a))
	if !ok {
		return window{}, "start", false
	}
	w := window{start: start, end: openEnd}
	if hasEnd && strings.TrimSpace(b) != "" {
		end, whole, ok := parseTimePoint(strings.TrimSpace(b))
		if !ok {
			return window{}, "end", false
		}
		if whole {
			end += 999999
		}
		w.end = end
	}
	return w, "", true
}

func appendTimePoint(dst []byte, us int64) []byte {
	dst = strconv.AppendInt(dst, us/1e6, 10)
	if f := us % 1e6; f != 0 {
		dst = append(dst, '.')
		s := strconv.FormatInt(f+1e6, 10)[1:]
		dst = append(dst, strings.TrimRight(s, "0")...)
	}
	return dst
}

func (w window) appendText(dst []byte) []byte {
	dst = appendTimePoint(dst, w.start)
	if w.end != openEnd {
		dst = append(dst, ',')
		end := w.end
		if end%1e6 == 999999 {
			end -= 999999
		}
		dst = appendTimePoint(dst, end)
	}
	return dst
}

type timeClause struct {
	wins []window
}

func buildTime(vals []value) (clause, error) {
	c := &timeClause{}
	for _, v := range vals {
		w, which, ok := parseWindow(v.text)
		if !ok {
			return nil, badValue(v, "bad time window %q (bad %s): expected start[,end] as unix seconds (1427846400), RFC 3339 (2015-04-01T00:00:00Z) or a date (2015-04-01)", v.text, which)
		}
		if w.end < w.start {
			return nil, badValue(v, "bad time window %q: the end is before the start", v.text)
		}
		c.wins = append(c.wins, w)
	}
	return c, nil
}

func (c *timeClause) test(t int64) bool {
	for _, w := range c.wins {
		if t >= w.start && t <= w.end {
			return true
		}
	}
	return false
}

func (c *timeClause) match(r *decode.Record, e *decode.Elem, _ *scratch) bool {
	if r != nil {
		return c.test(r.Time)
	}
	return c.test(e.Time)
}
func (c *timeClause) probe(p probe) tri {
	if p.ask == askRecord {
		return triOf(c.test(p.r.Time))
	}
	return unknown
}
func (c *timeClause) questions() question { return askRecord }
func (c *timeClause) needsScratch() bool  { return false }
func (c *timeClause) cost() int           { return 1 }
func (c *timeClause) appendText(dst []byte) []byte {
	dst = append(dst, "time"...)
	for _, w := range c.wins {
		dst = append(dst, ' ')
		dst = w.appendText(dst)
	}
	return dst
}

// Window is a time window of bgpreader's -w: records from Start to End
// inclusive (End is the last microsecond of the second given); a zero End
// means the window is open (live).
type Window struct{ Start, End time.Time }

// ParseWindow reads bgpreader's -w value "start[,end]": unix seconds, RFC
// 3339, or "Y-m-d [H:M[:S]]" in UTC; without an end the window is open.
func ParseWindow(s string) (Window, error) {
	w, which, ok := parseWindow(strings.TrimSpace(s))
	if !ok {
		return Window{}, fmt.Errorf("bad time window %q (bad %s): expected start[,end] as unix seconds (1427846400), RFC 3339 (2015-04-01T00:00:00Z) or \"2015-04-01 00:00\"", s, which)
	}
	if w.end < w.start {
		return Window{}, fmt.Errorf("bad time window %q: the end is before the start", s)
	}
	out := Window{Start: time.UnixMicro(w.start).UTC()}
	if w.end != openEnd {
		out.End = time.UnixMicro(w.end).UTC()
	}
	return out, nil
}
