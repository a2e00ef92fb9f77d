package archive

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/archivetest"
)

func fastPoll() PollerOptions {
	return PollerOptions{Interval: 10 * time.Millisecond, MaxInterval: 40 * time.Millisecond, BackoffAfter: 2,
		ErrorWait: 5 * time.Millisecond, ErrorMaxWait: 20 * time.Millisecond, Logger: quiet}
}

// TestPollerSeesPublished polls each index while the emulator publishes a
// dump: the first Next returns what exists, the next one the new dump
// once it appears, and a further Next ends with the context.
func TestPollerSeesPublished(t *testing.T) {
	held := "/ris/" + rrc15b
	for _, tc := range []struct {
		name string
		idx  func(*archivetest.Server) Index
		win  Window
	}{
		{"archive", func(s *archivetest.Server) Index {
			ix, _ := NewArchiveIndex(ArchiveOptions{RISBase: s.RISBase(), RouteViewsBase: s.RouteViewsBase(), HTTP: fastHTTP()})
			return ix
		}, Window{ut(2010, 2, 27, 16, 0, 0), ut(2010, 2, 27, 16, 30, 0)}},
		{"caida", func(s *archivetest.Server) Index {
			// A chunk longer than the window since 2010: one request.
			ix, _ := NewCAIDABroker(BrokerOptions{URL: s.CAIDABrokerURL(), Chunk: 200_000 * time.Hour, HTTP: fastHTTP()})
			return ix
		}, Window{Start: ut(2010, 2, 27, 16, 0, 0)}},
		{"bgpkit", func(s *archivetest.Server) Index {
			ix, _ := NewBGPKITBroker(BGPKITOptions{URL: s.BGPKITURL(), HTTP: fastHTTP()})
			return ix
		}, Window{Start: ut(2010, 2, 27, 16, 0, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := archivetest.New(t, archivetest.Options{Hold: []string{held}, BrokerCap: -1})
			p, err := NewPoller(tc.idx(srv), Query{Collectors: []string{"rrc03", "rrc15"}, Windows: []Window{tc.win}}, fastPoll())
			if err != nil {
				t.Fatal(err)
			}
			ds, err := p.Next(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := labels(ds), expect(t, rrc03a, rrc15a); !sameStrings(got, want) {
				t.Fatalf("first Next:\n got  %q\n want %q", got, want)
			}
			before := srv.TotalRequests()
			time.AfterFunc(150*time.Millisecond, func() { srv.Publish(held) })
			start := time.Now()
			ds, err = p.Next(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := labels(ds), expect(t, rrc15b); !sameStrings(got, want) {
				t.Fatalf("second Next:\n got  %q\n want %q", got, want)
			}
			if time.Since(start) < 150*time.Millisecond || srv.TotalRequests()-before < 3 {
				t.Errorf("second Next returned after %s and %d requests: it did not poll", time.Since(start), srv.TotalRequests()-before)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			defer cancel()
			if ds, err := p.Next(ctx); !errors.Is(err, context.DeadlineExceeded) || len(ds) != 0 {
				t.Errorf("third Next: %v, %v", ds, err)
			}
			if tc.name == "caida" {
				last := srv.Log(caidaPath)[srv.Requests(caidaPath)-1].Query
				if last.Get("dataAddedSince") == "" || last.Get("minInitialTime") == "" || last.Get("intervals[]") == "" {
					t.Errorf("incremental poll query %v", last)
				}
				if first := srv.Log(caidaPath)[0].Query; first.Get("dataAddedSince") != "" {
					t.Errorf("first poll query %v", first)
				}
			}
		})
	}
}

// scripted is an Index that answers from a script and records the times
// it was asked.
type scripted struct {
	mu      sync.Mutex
	answers []func() ([]Dump, error)
	calls   []time.Time
}

func (s *scripted) Find(ctx context.Context, q Query) ([]Dump, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, time.Now())
	if len(s.answers) == 0 {
		return nil, nil
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a()
}

func (s *scripted) gaps() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var g []time.Duration
	for i := 1; i < len(s.calls); i++ {
		g = append(g, s.calls[i].Sub(s.calls[i-1]))
	}
	return g
}

// TestPollerBackoff checks libbgpstream's schedule, scaled down: empty
// polls at Interval, doubling after BackoffAfter of them, capped at
// MaxInterval; and failed polls retried from ErrorWait, doubling.
func TestPollerBackoff(t *testing.T) {
	idx := &scripted{}
	p, err := NewPoller(idx, Query{Windows: []Window{{Start: time.Now()}}}, fastPoll())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	if _, err := p.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	// Waits: 10, 10 (two empty polls), then 20, 40, 40, ...
	want := []time.Duration{10, 10, 20, 40, 40, 40}
	g := idx.gaps()
	if len(g) < len(want) {
		t.Fatalf("only %d polls in 400 ms: gaps %v", len(g)+1, g)
	}
	for i, w := range want {
		if g[i] < w*time.Millisecond {
			t.Errorf("gap %d: %s, want at least %s (gaps %v)", i, g[i], w*time.Millisecond, g)
		}
	}
	// Never more polls than the schedule allows: 10+10+20+40*n <= 400.
	if len(g) > 3+9 {
		t.Errorf("%d polls in 400 ms: the wait is not growing (gaps %v)", len(g)+1, g)
	}

	boom := errors.New("broker down")
	d := Dump{URL: "http://x/updates.20100227.1600.gz", Project: "ris", Collector: "rrc00", Type: "updates", Start: time.Now(), Duration: 5 * time.Minute}
	idx = &scripted{answers: []func() ([]Dump, error){
		func() ([]Dump, error) { return nil, boom },
		func() ([]Dump, error) { return nil, boom },
		func() ([]Dump, error) { return nil, boom },
		func() ([]Dump, error) { return []Dump{d}, nil },
	}}
	p, _ = NewPoller(idx, Query{Windows: []Window{{Start: time.Now().Add(-time.Hour)}}}, fastPoll())
	ds, err := p.Next(testCtx(t))
	if err != nil || len(ds) != 1 {
		t.Fatalf("after 3 failures: %v, %v", ds, err)
	}
	g = idx.gaps()
	for i, w := range []time.Duration{5, 10, 20} {
		if g[i] < w*time.Millisecond {
			t.Errorf("error gap %d: %s, want at least %s", i, g[i], w*time.Millisecond)
		}
	}

	// A permanent error is returned at once.
	idx = &scripted{answers: []func() ([]Dump, error){
		func() ([]Dump, error) {
			return nil, &HTTPError{URL: "http://x", Status: 400, Err: errors.New("HTTP 400 Bad Request")}
		},
	}}
	p, _ = NewPoller(idx, Query{Windows: []Window{{Start: time.Now()}}}, fastPoll())
	if _, err := p.Next(testCtx(t)); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("permanent error: %v", err)
	}
}

// TestPollerRIBPeriodAcrossPolls keeps bgpreader's -P state from one poll
// to the next.
func TestPollerRIBPeriodAcrossPolls(t *testing.T) {
	rib := func(h int) Dump {
		return Dump{URL: "http://x/rib." + string(rune('a'+h)), Project: "routeviews", Collector: "route-views2", Type: TypeRIBs,
			Start: ut(2014, 5, 23, h, 0, 0), Duration: RIBDuration}
	}
	idx := &scripted{answers: []func() ([]Dump, error){
		func() ([]Dump, error) { return []Dump{rib(0), rib(2)}, nil },
		func() ([]Dump, error) { return []Dump{rib(0), rib(2), rib(4)}, nil },
		func() ([]Dump, error) { return []Dump{rib(0), rib(2), rib(4), rib(6)}, nil },
	}}
	p, _ := NewPoller(idx, Query{RIBPeriod: 5 * time.Hour, Windows: []Window{{Start: ut(2014, 5, 23, 0, 0, 0)}}}, fastPoll())
	var got []string
	for len(got) < 2 {
		ds, err := p.Next(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			got = append(got, d.Start.Format("15"))
		}
	}
	if strings.Join(got, " ") != "00 06" {
		t.Errorf("RIBs %v, want 00 06", got)
	}
}
