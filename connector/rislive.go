package connector

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/filter"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/ingest/rislive"
)

// risLiveSource is the source of input.format=ris-live: RIPE RIS Live's
// feed instead of input topics. It has no offsets: nothing is committed, a
// restart loses what RIS Live sent while the connector was down and repeats
// nothing; a drop while running is reconnected and reported as a gap.
type risLiveSource struct {
	rl *rislive.Client
}

func newRISLiveSource(cfg *Config, f *filter.Filter, c *Connector) (*risLiveSource, error) {
	cl, err := rislive.New(cfg.RISLiveURL, rislive.WithClientName(cfg.RISLiveClient),
		rislive.WithSubscribe(rislive.FromHints(f.Hints())), rislive.WithLogger(c.log))
	if err != nil {
		return nil, err
	}
	return &risLiveSource{rl: cl}, nil
}

func (s *risLiveSource) Next(ctx context.Context, b *decode.Batch) error { return s.rl.Next(ctx, b) }
func (s *risLiveSource) Close() error                                    { return s.rl.Close() }

func (s *risLiveSource) Client() *kgo.Client            { return nil }
func (s *risLiveSource) Group() *ingest.Group           { return nil }
func (s *risLiveSource) Commit(context.Context) error   { return nil }
func (s *risLiveSource) InFlight() int                  { return 0 }
func (s *risLiveSource) Held() int                      { return 1 }
func (s *risLiveSource) Shutdown(context.Context) error { return s.Close() }
