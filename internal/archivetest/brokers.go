package archivetest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// caidaResource is one resource of a CAIDA broker v2 answer.
type caidaResource struct {
	URL         string            `json:"url"`
	Project     string            `json:"project"`
	Collector   string            `json:"collector"`
	Type        string            `json:"type"`
	InitialTime int64             `json:"initialTime"`
	Duration    int64             `json:"duration"`
	Transport   string            `json:"transport"`
	Format      string            `json:"format"`
	Attr        map[string]string `json:"attr"`
}

// caida emulates GET /v2/data of the CAIDA broker (libbgpstream's
// bsdi_broker.c is its client): projects[], collectors[], types[],
// resourceTypes[], intervals[]=start,end (end 0: open), dataAddedSince,
// minInitialTime. A dump is returned when initialTime <= end and
// initialTime+duration >= start (so the dump ending exactly at the start is
// included, as the public broker does); the answer is capped to BrokerCap
// of archive from the earliest interval start.
func (s *Server) caida(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(msg string) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"version": 2, "time": time.Now().Unix(), "type": "data", "error": msg, "data": nil})
	}
	type interval struct{ start, end int64 }
	var ivs []interval
	for _, v := range q["intervals[]"] {
		a, b, ok := strings.Cut(v, ",")
		st, err1 := strconv.ParseInt(a, 10, 64)
		en, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			fail("invalid interval " + strconv.Quote(v))
			return
		}
		ivs = append(ivs, interval{st, en})
	}
	if len(ivs) == 0 {
		fail("at least one interval is required")
		return
	}
	num := func(k string) (int64, bool) {
		v := q.Get(k)
		if v == "" {
			return 0, true
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	since, ok1 := num("dataAddedSince")
	minInit, ok2 := num("minInitialTime")
	if !ok1 || !ok2 {
		fail("invalid dataAddedSince or minInitialTime")
		return
	}
	in := func(k, v string) bool { return len(q[k]) == 0 || slices.Contains(q[k], v) }
	earliest := ivs[0].start
	for _, iv := range ivs {
		earliest = min(earliest, iv.start)
	}

	s.mu.Lock()
	var picked []Entry
	for _, sv := range s.all() {
		e := sv.Entry
		rt := "batch"
		if e.Transport == "kafka" {
			rt = "stream"
		}
		if !sv.published || !in("projects[]", e.Project) || !in("collectors[]", e.Collector) ||
			!in("types[]", e.Type) || !in("resourceTypes[]", rt) {
			continue
		}
		it, dur := e.Start.Unix(), int64(e.Duration/time.Second)
		if since > 0 && sv.added.Unix() < since {
			continue
		}
		if minInit > 0 && it < minInit {
			continue
		}
		if s.opts.BrokerCap > 0 && rt == "batch" && it >= earliest+int64(s.opts.BrokerCap/time.Second) {
			continue
		}
		for _, iv := range ivs {
			if (iv.end == 0 || it <= iv.end) && (dur == 0 || it+dur >= iv.start) {
				picked = append(picked, e)
				break
			}
		}
	}
	s.mu.Unlock()
	SortEntries(picked)
	res := make([]caidaResource, 0, len(picked))
	for _, e := range picked {
		cr := caidaResource{Project: e.Project, Collector: e.Collector, Type: e.Type,
			InitialTime: e.Start.Unix(), Duration: int64(e.Duration / time.Second),
			Transport: "http", Format: "mrt", Attr: map[string]string{}}
		if e.Transport == "kafka" {
			cr.URL, cr.Transport, cr.Format, cr.Attr = e.ArchivePath, e.Transport, e.Format, e.Attrs
		} else {
			cr.URL = s.DumpURL(e)
		}
		res = append(res, cr)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version": 2, "time": time.Now().Unix(), "type": "data", "error": nil,
		"queryParameters": q,
		"data":            map[string]any{"resources": res},
	})
}

// bgpkitItem is one item of a BGPKIT broker v3 /search answer.
type bgpkitItem struct {
	TsStart     string `json:"ts_start"`
	TsEnd       string `json:"ts_end"`
	CollectorID string `json:"collector_id"`
	DataType    string `json:"data_type"`
	URL         string `json:"url"`
	RoughSize   int64  `json:"rough_size"`
	ExactSize   int64  `json:"exact_size"`
}

// naive is the BGPKIT broker's time format: UTC without a zone.
const naive = "2006-01-02T15:04:05"

// bgpkit emulates GET /v3/broker/search of the BGPKIT broker (bgpkit-broker
// src/cli/api.rs, src/db): ts_start/ts_end (unix seconds, RFC 3339, a date
// or naive UTC), project (riperis|ris|ripe-ris, routeviews|rv|route-views),
// collector_id (comma list), data_type (updates|update|u, rib|ribs|r),
// page (>= 1), page_size (1..1000, default 100). Window rule: a RIB is
// returned when ts >= ts_start, an updates file when ts > ts_start-300
// (RIS) or ts_start-900 (RouteViews), both when ts < ts_end.
func (s *Server) bgpkit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(msg string) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"SearchError": msg})
	}
	parseTime := func(k string) (time.Time, bool, bool) {
		v := q.Get(k)
		if v == "" {
			return time.Time{}, false, true
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(n, 0).UTC(), true, true
		}
		for _, layout := range []string{time.RFC3339, naive, "2006-01-02"} {
			if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
				return t.UTC(), true, true
			}
		}
		return time.Time{}, false, false
	}
	start, hasStart, ok1 := parseTime("ts_start")
	end, hasEnd, ok2 := parseTime("ts_end")
	if !ok1 || !ok2 {
		fail("invalid ts_start or ts_end")
		return
	}
	if hasStart && hasEnd && start.Equal(end) {
		end = end.Add(time.Second)
	}
	project := ""
	switch p := q.Get("project"); p {
	case "":
	case "riperis", "ris", "ripe-ris":
		project = "ris"
	case "routeviews", "rv", "route-views":
		project = "routeviews"
	default:
		fail("unknown project " + p)
		return
	}
	dataType := ""
	switch t := q.Get("data_type"); t {
	case "":
	case "updates", "update", "u":
		dataType = "updates"
	case "rib", "ribs", "r":
		dataType = "ribs"
	default:
		fail("unknown data_type " + t)
		return
	}
	var collectors []string
	if c := q.Get("collector_id"); c != "" {
		collectors = strings.Split(c, ",")
	}
	page, pageSize := 1, 100
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail("page must be >= 1")
			return
		}
		page = n
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail("page_size must be between 1 and 1000")
			return
		}
		pageSize = n
	}

	s.mu.Lock()
	var picked []Entry
	for _, sv := range s.entries {
		e := sv.Entry
		if !sv.published || (project != "" && e.Project != project) || (dataType != "" && e.Type != dataType) ||
			(collectors != nil && !slices.Contains(collectors, e.Collector)) {
			continue
		}
		if hasStart {
			if e.Type == "ribs" && e.Start.Before(start) {
				continue
			}
			look := 5 * time.Minute
			if e.Project == "routeviews" {
				look = 15 * time.Minute
			}
			if e.Type == "updates" && !e.Start.After(start.Add(-look)) {
				continue
			}
		}
		if hasEnd && !e.Start.Before(end) {
			continue
		}
		picked = append(picked, e)
	}
	s.mu.Unlock()
	SortEntries(picked)
	total := len(picked)
	lo := min((page-1)*pageSize, total)
	hi := min(lo+pageSize, total)
	items := make([]bgpkitItem, 0, hi-lo)
	for _, e := range picked[lo:hi] {
		typ := "updates"
		if e.Type == "ribs" {
			typ = "rib"
		}
		endT := e.End()
		if e.Type == "ribs" {
			endT = e.Start // BGPKIT gives a RIB no duration
		}
		items = append(items, bgpkitItem{TsStart: e.Start.UTC().Format(naive), TsEnd: endT.UTC().Format(naive),
			CollectorID: e.Collector, DataType: typ, URL: s.DumpURL(e),
			RoughSize: int64(len(s.Data(e.URLPath()))), ExactSize: int64(len(s.Data(e.URLPath())))})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"total": total, "count": len(items), "page": page, "page_size": pageSize, "error": nil,
		"data": items, "meta": map[string]any{"latest_update_ts": time.Now().UTC().Format(naive), "latest_update_duration": 1},
	})
}
