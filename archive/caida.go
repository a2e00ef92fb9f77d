package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultCAIDABrokerURL is the public CAIDA BGPStream broker (API v2).
const DefaultCAIDABrokerURL = "https://broker.bgpstream.caida.org/v2"

// BrokerOptions configure NewCAIDABroker.
type BrokerOptions struct {
	// URL is the broker's base URL; queries go to URL+"/data". Default
	// DefaultCAIDABrokerURL (bgpreader -o url=).
	URL string
	// Params are extra query parameters, "key=value" each, appended to
	// every query as given (bgpreader -o param=, repeatable).
	Params []string
	// Chunk is the longest stretch of a window asked in one request. The
	// public broker silently answers less than 2 h of archive per request,
	// so a longer window is split into chunks and the answers merged and
	// de-duplicated by URL. Default 1 h.
	Chunk time.Duration
	// Streams also asks for stream resources (resourceTypes[]=stream:
	// Kafka BMP and RIS Live feeds); they come back as Dumps with
	// Transport "kafka". Default: batch files only.
	Streams bool
	// HTTP configures requests (timeouts, retries, proxy).
	HTTP HTTPOptions
}

// CAIDABroker is an Index over the CAIDA broker API v2.
type CAIDABroker struct {
	base   string
	params url.Values
	chunk  time.Duration
	stream bool
	http   HTTPOptions
}

// NewCAIDABroker returns an Index over a CAIDA broker (API v2). The
// options are validated here; the error names the option.
func NewCAIDABroker(o BrokerOptions) (*CAIDABroker, error) {
	var errs []error
	if o.URL == "" {
		o.URL = DefaultCAIDABrokerURL
	}
	if err := checkHTTPURL("BrokerOptions.URL", o.URL); err != nil {
		errs = append(errs, err)
	}
	params := url.Values{}
	for _, p := range o.Params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			errs = append(errs, fmt.Errorf("BrokerOptions.Params: %q is not key=value", p))
			continue
		}
		params.Add(k, v)
	}
	if o.Chunk < 0 {
		errs = append(errs, fmt.Errorf("BrokerOptions.Chunk: negative (%s)", o.Chunk))
	} else if o.Chunk == 0 {
		o.Chunk = time.Hour
	} else if o.Chunk < time.Second {
		errs = append(errs, fmt.Errorf("BrokerOptions.Chunk: %s is shorter than 1 s", o.Chunk))
	}
	h, err := o.HTTP.withDefaults("BrokerOptions.HTTP")
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("archive: CAIDA broker: %w", errors.Join(errs...))
	}
	return &CAIDABroker{base: strings.TrimSuffix(o.URL, "/"), params: params, chunk: o.Chunk, stream: o.Streams, http: h}, nil
}

// Find asks the broker for every dump overlapping the query's windows,
// chunk by chunk.
func (b *CAIDABroker) Find(ctx context.Context, q Query) ([]Dump, error) {
	ds, _, err := b.FindAdded(ctx, q, time.Time{})
	return ds, err
}

// FindAdded is Find limited to the resources the broker added at or after
// since (dataAddedSince; zero: all). asOf is the broker's time of the
// first answer, to pass as since on the next poll.
func (b *CAIDABroker) FindAdded(ctx context.Context, q Query, since time.Time) ([]Dump, time.Time, error) {
	q, err := q.normalize(true)
	if err != nil {
		return nil, time.Time{}, err
	}
	var all []Dump
	var asOf time.Time
	for _, w := range q.Windows {
		end := w.End
		if end.IsZero() {
			// Chunk an open window up to now; the last chunk stays open.
			end = time.Now()
		}
		for cs := w.Start; ; {
			// Chunked even when polling with dataAddedSince: the public
			// broker's cap may apply to the interval before the filter.
			ce := cs.Add(b.chunk)
			last := !ce.Before(end)
			iv := Window{Start: cs, End: ce}
			if last {
				iv.End = w.End // the window's own end, or open
			}
			ds, t, err := b.query(ctx, q, iv, since)
			if err != nil {
				return nil, time.Time{}, err
			}
			if asOf.IsZero() || t.Before(asOf) {
				asOf = t
			}
			all = append(all, ds...)
			if last {
				break
			}
			cs = ce
		}
	}
	return finish(q, all), asOf, nil
}

// caidaAnswer is the broker's JSON answer.
type caidaAnswer struct {
	Version json.RawMessage `json:"version"`
	Time    int64           `json:"time"`
	Type    string          `json:"type"`
	Error   json.RawMessage `json:"error"`
	Data    *struct {
		Resources []caidaResource `json:"resources"`
	} `json:"data"`
}

type caidaResource struct {
	URL         string    `json:"url"`
	Project     string    `json:"project"`
	Collector   string    `json:"collector"`
	Type        string    `json:"type"`
	InitialTime int64     `json:"initialTime"`
	Duration    int64     `json:"duration"`
	Transport   string    `json:"transport"`
	Format      string    `json:"format"`
	Attr        caidaAttr `json:"attr"`
}

// caidaAttr is the "attr" of a resource: an object of strings, or the
// empty array older brokers send.
type caidaAttr map[string]string

func (a *caidaAttr) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil {
			return err
		}
		if len(arr) > 0 {
			return fmt.Errorf("attr: want an object, got a non-empty array")
		}
		*a = nil
		return nil
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*a = m
	return nil
}

// query asks for one interval.
func (b *CAIDABroker) query(ctx context.Context, q Query, iv Window, since time.Time) ([]Dump, time.Time, error) {
	v := url.Values{}
	for _, p := range q.Projects {
		v.Add("projects[]", p)
	}
	for _, c := range q.Collectors {
		v.Add("collectors[]", c)
	}
	for _, t := range q.Types {
		v.Add("types[]", t)
	}
	if !b.stream {
		v.Add("resourceTypes[]", "batch")
	}
	for k, vs := range b.params {
		for _, x := range vs {
			v.Add(k, x)
		}
	}
	end := int64(0)
	if !iv.End.IsZero() {
		end = iv.End.Unix()
	}
	v.Add("intervals[]", strconv.FormatInt(iv.Start.Unix(), 10)+","+strconv.FormatInt(end, 10))
	if !since.IsZero() {
		v.Add("dataAddedSince", strconv.FormatInt(since.Unix(), 10))
		v.Add("minInitialTime", strconv.FormatInt(iv.Start.Unix(), 10))
	}
	u := b.base + "/data?" + v.Encode()
	body, err := getSmall(ctx, &b.http, u, 256<<20)
	if err != nil {
		return nil, time.Time{}, err
	}
	return parseCAIDA(u, body)
}

// parseCAIDA decodes and checks an answer (libbgpstream's process_json).
func parseCAIDA(u string, body []byte) ([]Dump, time.Time, error) {
	bad := func(format string, args ...any) ([]Dump, time.Time, error) {
		return nil, time.Time{}, permanentError{&HTTPError{URL: u, Err: fmt.Errorf("CAIDA broker: "+format, args...)}}
	}
	var a caidaAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return bad("malformed answer: %v", err)
	}
	if e := bytes.TrimSpace(a.Error); len(e) > 0 && !bytes.Equal(e, []byte("null")) {
		return bad("the broker reported an error: %s", trimBody(e))
	}
	if ver := strings.Trim(string(a.Version), `" `); ver != "2" {
		return bad("unsupported API version %s (want 2)", string(a.Version))
	}
	if a.Type != "data" {
		return bad("answer type %q (want data)", a.Type)
	}
	if a.Time == 0 {
		return bad("answer has no time")
	}
	if a.Data == nil {
		return bad("answer has no data")
	}
	out := make([]Dump, 0, len(a.Data.Resources))
	for i, r := range a.Data.Resources {
		typ, ok := typeName(r.Type)
		switch {
		case r.URL == "" || r.Project == "" || r.Collector == "":
			return bad("resource %d: missing url, project or collector", i)
		case !ok:
			return bad("resource %d (%s): invalid type %q", i, r.URL, r.Type)
		case r.InitialTime <= 0 || r.Duration < 0:
			return bad("resource %d (%s): invalid initialTime %d or duration %d", i, r.URL, r.InitialTime, r.Duration)
		}
		switch r.Transport {
		case "file", "http", "kafka":
		default:
			return bad("resource %d (%s): invalid transport %q", i, r.URL, r.Transport)
		}
		switch r.Format {
		case "mrt", "bmp", "ris-live":
		default:
			return bad("resource %d (%s): invalid format %q", i, r.URL, r.Format)
		}
		if r.Transport == "kafka" && r.Attr["kafka-topics"] == "" {
			return bad("resource %d (%s): a kafka resource without kafka-topics", i, r.URL)
		}
		d := Dump{URL: r.URL, Project: r.Project, Collector: r.Collector, Type: typ,
			Start: time.Unix(r.InitialTime, 0).UTC(), Duration: time.Duration(r.Duration) * time.Second,
			Format: r.Format, Transport: r.Transport}
		if len(r.Attr) > 0 {
			d.Attrs = map[string]string(r.Attr)
		}
		out = append(out, d)
	}
	return out, time.Unix(a.Time, 0).UTC(), nil
}
