package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBGPKITBrokerURL is the public BGPKIT broker (API v3).
const DefaultBGPKITBrokerURL = "https://api.bgpkit.com/v3/broker"

// BGPKITOptions configure NewBGPKITBroker.
type BGPKITOptions struct {
	// URL is the broker's base URL; queries go to URL+"/search". Default
	// DefaultBGPKITBrokerURL.
	URL string
	// PageSize is the number of items asked per page (1..1000). Default
	// 1000, the most the broker gives.
	PageSize int
	// HTTP configures requests (timeouts, retries, proxy).
	HTTP HTTPOptions
}

// BGPKITBroker is an Index over the BGPKIT broker API v3.
type BGPKITBroker struct {
	base     string
	pageSize int
	http     HTTPOptions
}

// NewBGPKITBroker returns an Index over a BGPKIT broker (API v3). The
// options are validated here; the error names the option.
func NewBGPKITBroker(o BGPKITOptions) (*BGPKITBroker, error) {
	var errs []error
	if o.URL == "" {
		o.URL = DefaultBGPKITBrokerURL
	}
	if err := checkHTTPURL("BGPKITOptions.URL", o.URL); err != nil {
		errs = append(errs, err)
	}
	if o.PageSize == 0 {
		o.PageSize = 1000
	} else if o.PageSize < 1 || o.PageSize > 1000 {
		errs = append(errs, fmt.Errorf("BGPKITOptions.PageSize: %d is not in 1..1000", o.PageSize))
	}
	h, err := o.HTTP.withDefaults("BGPKITOptions.HTTP")
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("archive: BGPKIT broker: %w", errors.Join(errs...))
	}
	return &BGPKITBroker{base: strings.TrimSuffix(o.URL, "/"), pageSize: o.PageSize, http: h}, nil
}

// bgpkitAnswer is a /search answer.
type bgpkitAnswer struct {
	Total    int             `json:"total"`
	Count    int             `json:"count"`
	Page     int             `json:"page"`
	PageSize int             `json:"page_size"`
	Error    json.RawMessage `json:"error"`
	Data     []struct {
		TsStart     string `json:"ts_start"`
		TsEnd       string `json:"ts_end"`
		CollectorID string `json:"collector_id"`
		DataType    string `json:"data_type"`
		URL         string `json:"url"`
		RoughSize   int64  `json:"rough_size"`
		ExactSize   int64  `json:"exact_size"`
	} `json:"data"`
}

// Find searches the broker, one paged search per window and project.
//
// BGPKIT returns a RIB only when it starts at or after ts_start, and an
// updates file only when it starts less than its archive's cadence before
// ts_start, so the search starts an hour early: the RIB, or the long early
// RIS updates file, that began before the window and covers its start is
// kept. The answer is then cut to the windows by the common overlap rule.
func (b *BGPKITBroker) Find(ctx context.Context, q Query) ([]Dump, error) {
	q, err := q.normalize(false)
	if err != nil {
		return nil, err
	}
	projects := q.Projects
	if len(projects) == 0 {
		projects = []string{""}
	}
	dataType := ""
	if len(q.Types) == 1 {
		dataType = map[string]string{TypeRIBs: "rib", TypeUpdates: "updates"}[q.Types[0]]
	}
	var all []Dump
	for _, w := range q.Windows {
		for _, p := range projects {
			v := url.Values{}
			v.Set("ts_start", strconv.FormatInt(w.Start.Add(-searchLead).Unix(), 10))
			if !w.End.IsZero() {
				// ts_end is exclusive; the window's end is not.
				v.Set("ts_end", strconv.FormatInt(w.End.Unix()+1, 10))
			}
			if p != "" {
				v.Set("project", map[string]string{ProjectRIS: "riperis", ProjectRouteViews: "routeviews"}[p])
			}
			if len(q.Collectors) > 0 {
				v.Set("collector_id", strings.Join(q.Collectors, ","))
			}
			if dataType != "" {
				v.Set("data_type", dataType)
			}
			ds, err := b.search(ctx, v, p)
			if err != nil {
				return nil, err
			}
			all = append(all, ds...)
		}
	}
	return finish(q, all), nil
}

// search walks the pages of one search.
func (b *BGPKITBroker) search(ctx context.Context, v url.Values, project string) ([]Dump, error) {
	var out []Dump
	v.Set("page_size", strconv.Itoa(b.pageSize))
	for page := 1; ; page++ {
		v.Set("page", strconv.Itoa(page))
		u := b.base + "/search?" + v.Encode()
		body, err := getSmall(ctx, &b.http, u, 64<<20)
		if err != nil {
			return nil, err
		}
		bad := func(format string, args ...any) error {
			return permanentError{&HTTPError{URL: u, Err: fmt.Errorf("BGPKIT broker: "+format, args...)}}
		}
		var a bgpkitAnswer
		if err := json.Unmarshal(body, &a); err != nil {
			return nil, bad("malformed answer: %v", err)
		}
		if e := strings.TrimSpace(string(a.Error)); e != "" && e != "null" {
			return nil, bad("the broker reported an error: %s", trimBody(a.Error))
		}
		for i, it := range a.Data {
			start, err1 := parseNaive(it.TsStart)
			end, err2 := parseNaive(it.TsEnd)
			typ, ok := typeName(it.DataType)
			if err1 != nil || err2 != nil || !ok || it.URL == "" || it.CollectorID == "" {
				return nil, bad("item %d (%s): invalid ts_start %q, ts_end %q, data_type %q or collector_id %q",
					i, it.URL, it.TsStart, it.TsEnd, it.DataType, it.CollectorID)
			}
			d := Dump{URL: it.URL, Collector: it.CollectorID, Type: typ, Start: start, Duration: end.Sub(start),
				Size: it.ExactSize, Format: "mrt", Transport: "http"}
			d.Project = project
			if d.Project == "" {
				d.Project = projectOfCollector(d.Collector)
			}
			if typ == TypeRIBs || d.Duration <= 0 {
				// BGPKIT gives a RIB no duration; an updates file without
				// one gets its archive's cadence.
				d.Duration = nominalDuration(d.Project, typ)
			}
			out = append(out, d)
		}
		if len(a.Data) == 0 || page*b.pageSize >= a.Total || len(a.Data) < b.pageSize {
			return out, nil
		}
	}
}

// searchLead is how long before a window a BGPKIT search starts.
const searchLead = time.Hour

// parseNaive parses the BGPKIT broker's times: naive UTC
// ("2022-01-01T00:00:00"), or with a zone (the legacy "+00:00", "Z").
func parseNaive(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05", time.RFC3339, "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q", s)
}

// projectOfCollector names the project of a collector id: RIS collectors
// are rrcNN, every other is RouteViews (the only two projects the BGPKIT
// broker indexes).
func projectOfCollector(c string) string {
	if strings.HasPrefix(c, "rrc") {
		return ProjectRIS
	}
	return ProjectRouteViews
}

// nominalDuration is the nominal duration of a dump of a project and type.
func nominalDuration(project, typ string) time.Duration {
	switch {
	case typ == TypeRIBs:
		return RIBDuration
	case project == ProjectRouteViews:
		return RouteViewsUpdatesDuration
	default:
		return RISUpdatesDuration
	}
}
