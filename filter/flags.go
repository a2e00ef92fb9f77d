package filter

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Flags are bgpreader's filtering flags as a read command collects them.
// Build turns them into one Filter: the flags AND together, the values of
// one flag OR together (as bgpreader does), and each flag gives exactly the
// clause its filter-string term would.
type Flags struct {
	// Filter is -f: a filter string.
	Filter string
	// Projects is -p (project), Collectors -c (collector), Routers -R
	// (router), Types -t (type: ribs, updates).
	Projects, Collectors, Routers, Types []string
	// PeerASNs is -j (peer), NotPeerASNs -J (not peer), OriginASNs -a
	// (origin).
	PeerASNs, NotPeerASNs, OriginASNs []string
	// Prefixes is -k (prefix, default "more"; a value may start with a mode
	// keyword: "exact 192.0.2.0/24").
	Prefixes []string
	// Communities is -y (community, asn:value with '*').
	Communities []string
	// ASPaths is -A (aspath): each value is one regex and all must match.
	ASPaths []string
	// Windows are the -w "start[,end]" values (time): unix seconds, RFC
	// 3339 or "Y-m-d [H:M[:S]]"; without an end a window is open. Several
	// windows OR together.
	Windows []string
	// Interval is -I "N unit": only records of the last N units before now
	// (s, m, h, d, w and their long names; a bare number is seconds); the
	// window stays open at the end so that a live source keeps flowing.
	Interval string
	// Count is -n: process at most Count records (0: no limit). It is not a
	// filter: the read command applies it, and Build ignores it.
	Count int
}

// FlagError is a flag value that does not make a valid clause.
type FlagError struct {
	// Flag is the flag as typed, e.g. "-k".
	Flag string
	// Value is the offending value.
	Value string
	// Msg says what is wrong and what was expected.
	Msg string
}

// Error returns "flag -k "10.0.0.0/33": bad prefix ...".
func (e *FlagError) Error() string { return fmt.Sprintf("flag %s %q: %s", e.Flag, e.Value, e.Msg) }

// SplitList splits comma-separated flag values, as bgpreader takes them:
// "-c rrc00,rrc01" is "-c rrc00 -c rrc01". Blanks around a value and empty
// values are dropped.
func SplitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// Build returns the filter the flags describe; now anchors -I. With no flag
// set it returns a filter that matches everything. The error is a
// *SyntaxError for -f and a *FlagError for the other flags.
func (fl *Flags) Build(now time.Time) (*Filter, error) {
	var out *Filter
	if strings.TrimSpace(fl.Filter) != "" {
		f, err := Parse(fl.Filter)
		if err != nil {
			return nil, err
		}
		out = f
	}
	add := func(flag, term string, raw []string, split, negate bool) error {
		if len(raw) == 0 {
			return nil
		}
		vals := raw
		if split {
			vals = SplitList(raw)
		}
		if term == "prefix" {
			vals = splitFields(vals)
		}
		if len(vals) == 0 {
			return &FlagError{Flag: flag, Value: strings.Join(raw, ","), Msg: "empty value: expected " + lookupTerm(term).expect}
		}
		vs := make([]value, len(vals))
		for i, v := range vals {
			vs[i] = value{text: v, raw: v}
		}
		c, err := lookupTerm(term).build(vs)
		if err != nil {
			ve, ok := err.(*valueError)
			if !ok {
				return &FlagError{Flag: flag, Value: strings.Join(vals, " "), Msg: err.Error()}
			}
			v := ve.v.text
			if ve.atEnd {
				v = strings.Join(vals, " ")
			}
			return &FlagError{Flag: flag, Value: v, Msg: ve.msg}
		}
		x := leafExpr(c)
		if negate {
			x = notExpr(x)
		}
		out = And(out, newFilter(x))
		return nil
	}
	steps := []struct {
		flag, term    string
		vals          []string
		split, negate bool
	}{
		{"-p", "project", fl.Projects, true, false},
		{"-c", "collector", fl.Collectors, true, false},
		{"-R", "router", fl.Routers, true, false},
		{"-t", "type", fl.Types, true, false},
		{"-j", "peer", fl.PeerASNs, true, false},
		{"-J", "peer", fl.NotPeerASNs, true, true},
		{"-a", "origin", fl.OriginASNs, true, false},
		{"-k", "prefix", fl.Prefixes, true, false},
		{"-y", "community", fl.Communities, true, false},
	}
	for _, s := range steps {
		if err := add(s.flag, s.term, s.vals, s.split, s.negate); err != nil {
			return nil, err
		}
	}
	// -A: every regex is its own value, never split (regexes contain
	// commas), and all must match.
	if err := add("-A", "aspath", fl.ASPaths, false, false); err != nil {
		return nil, err
	}
	var wins []string
	for _, w := range fl.Windows {
		if w = strings.TrimSpace(w); w != "" {
			wins = append(wins, w)
		}
	}
	if err := add("-w", "time", wins, false, false); err != nil {
		return nil, err
	}
	if iv := strings.TrimSpace(fl.Interval); iv != "" {
		d, err := parseInterval(iv)
		if err != nil {
			return nil, &FlagError{Flag: "-I", Value: iv, Msg: err.Error()}
		}
		start := now.Add(-d).Unix()
		if err := add("-I", "time", []string{strconv.FormatInt(start, 10)}, false, false); err != nil {
			return nil, err
		}
	}
	if out == nil {
		return &Filter{}, nil
	}
	return out, nil
}

// splitFields splits values on spaces, so "-k 'exact 192.0.2.0/24'" reads
// like the filter string "prefix exact 192.0.2.0/24".
func splitFields(vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

var intervalUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
}

// parseInterval reads bgpreader's "N unit" (the space is optional; a bare
// number is seconds).
func parseInterval(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	if unit == "" {
		unit = "s" // a bare number counts seconds
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	d, ok := intervalUnits[unit]
	if i == 0 || err != nil || !ok {
		return 0, fmt.Errorf("bad interval: expected \"N unit\" with unit s, m, h, d or w (e.g. \"30 m\", \"1 day\")")
	}
	if n > int64(100*365*24*time.Hour/d) {
		return 0, fmt.Errorf("bad interval: longer than 100 years")
	}
	return time.Duration(n) * d, nil
}
