package bgpstream

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/ingest/rislive"
)

func init() {
	// Saved RIS Live JSON lines: -d singlefile -o upd-type=ris-live, or
	// files with InputFormat("ris-live").
	formatOpeners["ris-live"] = func(ctx context.Context, path string, o ingest.FileOptions) (ingest.Source, error) {
		opts := []rislive.Opt{rislive.WithProject(o.Project)}
		if path == "-" {
			return rislive.NewFileSource(os.Stdin, "-", opts...)
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		src, err := rislive.NewFileSource(f, path, opts...)
		if err != nil {
			f.Close()
			return nil, err
		}
		return &closingSource{inner: src, c: f}, nil
	}
	register(&diSpec{
		info: DataInterfaceInfo{Name: "ris-live", Description: "Follow RIPE RIS Live (websocket or HTTP firehose): BGP messages of the RIS collectors as they arrive",
			Options: []OptionInfo{
				{Name: "url", Description: "ws:// or wss:// for the websocket API, http:// or https:// for the firehose (default " + rislive.DefaultURL + ")"},
				{Name: "client", Description: "client name sent to RIS Live (default bgp-connector)"},
			}},
		make: newRISLiveDI,
	})
}

// risLiveDI is one RIS Live feed: a stream resource that never ends. What
// the filter requires of every elem (collectors, peers, prefixes, elem
// types) is asked of RIS Live in the subscription; the whole filter is
// still applied to what arrives.
type risLiveDI struct{ res *resource }

func newRISLiveDI(s *Stream, o map[string][]string) (dataInterface, error) {
	url := last(o, "url")
	client := last(o, "client")
	if client == "" {
		client = "bgp-connector"
	}
	sub := rislive.FromHints(s.filter.Hints())
	if _, err := rislive.New(url, rislive.WithClientName(client), rislive.WithSubscribe(sub)); err != nil {
		return nil, err
	}
	r := &resource{Name: url, Project: "ris-live", Type: decode.RecordUpdate, Format: "ris-live"}
	if r.Name == "" {
		r.Name = rislive.DefaultURL
	}
	r.open = func(context.Context, bool) (ingest.Source, error) {
		return rislive.New(url, rislive.WithClientName(client), rislive.WithSubscribe(sub),
			rislive.WithProject("ris-live"), rislive.WithLogger(s.cfg.log))
	}
	return &static{res: []*resource{r}}, nil
}

// risLiveValues decodes Kafka values holding RIS Live messages (-d kafka
// -o data-type=ris-live).
type risLiveValues struct{ project string }

func (v risLiveValues) Name() string { return "rislive.Decoder" }

func (v risLiveValues) NewDecoder(string, int32) ingest.ValueDecoder {
	return &risLiveValueDecoder{d: rislive.NewDecoder(rislive.WithProject(v.project))}
}

type risLiveValueDecoder struct{ d *rislive.Decoder }

func (d *risLiveValueDecoder) AppendTo(b *decode.Batch, value []byte, offset int64, _ time.Time) error {
	err := d.d.Decode(b, value, offset)
	var se *rislive.ServerError
	if errors.As(err, &se) {
		return nil // a server notice, not data
	}
	return err
}
