package rislive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/rislivetest"
)

// fast are the client options the tests use: quick reconnection and
// keepalive, no log noise.
func fast(extra ...Opt) []Opt {
	return append([]Opt{quiet(), WithBackoff(5*time.Millisecond, 50*time.Millisecond), WithPing(time.Second, time.Second, 3)}, extra...)
}

// collected is what a test read from a client.
type collected struct {
	keys    map[string]int
	records int
	gaps    []decode.Gap
}

// collect reads from c until want records arrived (or fails after the
// timeout: a stall).
func collect(t *testing.T, c *Client, want int, timeout time.Duration) collected {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	got := collected{keys: map[string]int{}}
	var b decode.Batch
	for got.records < want {
		b.Reset()
		if err := c.Next(ctx, &b); err != nil {
			t.Fatalf("after %d of %d records: %v (stats %+v)", got.records, want, err, c.Stats())
		}
		if b.Source != c.URL() || b.Partition != -1 {
			t.Fatalf("batch source %q partition %d", b.Source, b.Partition)
		}
		for i := range b.Elems {
			got.keys[elemKey(&b.Elems[i])]++
		}
		got.records += len(b.Records)
		got.gaps = append(got.gaps, b.Gaps...)
	}
	return got
}

// replay is a derived real stream with damage put in, ready to serve.
type replay struct {
	lines [][]byte
	rec   []int // for each line, its MRT record, or -1 for a line put in
	mrt   []mrtRecord
	bad   int // lines that cannot be read
	errs  int // ris_error lines
}

func makeReplay(t *testing.T) replay {
	derived := derive(t, bgpdumpFile, rislivetest.DeriveOptions{Host: "rrc06.ripe.net"})
	r := replay{mrt: mrtRecords(t, bgpdumpFile, elemKey)}
	for i, l := range derived {
		switch i {
		case 1000:
			r.add([]byte(`{"type":"ris_message","data":{"timestamp":`), -1) // truncated JSON
			r.bad++
		case 2000:
			r.add([]byte(`{"type":"ris_error","data":{"message":"Unknown subscription parameter: pathx"}}`), -1)
			r.errs++
		case 4000:
			r.add([]byte(`{"type":"ris_rrc_list","data":["rrc00","rrc01"]}`), -1)
		case 7000:
			r.add([]byte(`{"type":"ris_message","data":{"timestamp":1470931200.00,"peer":"not-an-address","peer_asn":"1","host":"rrc06","type":"UPDATE"}}`), -1)
			r.bad++
		}
		r.add(l, i)
	}
	return r
}

func (r *replay) add(l []byte, rec int) {
	r.lines = append(r.lines, l)
	r.rec = append(r.rec, rec)
}

// TestReplay replays a real RIS stream (updates.20160811.1600 of RIS,
// 17,384 messages) through the fake RIS Live's websocket API and firehose,
// with damaged lines, mid-stream drops and slow-consumer closes. The elems
// equal package mrt's for the MRT file's records, minus exactly what the
// drops cut; each cut is reported as a gap with the times on both sides.
func TestReplay(t *testing.T) {
	r := makeReplay(t)
	type ev = rislivetest.Event
	for _, tc := range []struct {
		name     string
		firehose bool
		events   []ev
		slow     int // events that are slow-consumer closes
		halfLine bool
	}{
		{name: "websocket", events: []ev{
			{At: 3000, Kind: rislivetest.Drop, Skip: 40},
			{At: 8000, Kind: rislivetest.SlowConsumer, Skip: 500},
			{At: 12000, Kind: rislivetest.SlowConsumerCloseFrame, Skip: 25},
			{At: 15000, Kind: rislivetest.Drop},
		}, slow: 2},
		{name: "firehose", firehose: true, events: []ev{
			{At: 3000, Kind: rislivetest.Drop, Skip: 40},
			{At: 6000, Kind: rislivetest.DropMidLine, Skip: 10},
			{At: 8000, Kind: rislivetest.SlowConsumer, Skip: 500},
			{At: 15000, Kind: rislivetest.Drop},
		}, slow: 1, halfLine: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := rislivetest.NewServer(r.lines)
			srv.Events = tc.events
			defer srv.Close()
			url := srv.WSURL()
			if tc.firehose {
				url = srv.FirehoseURL()
			}
			c, err := New(url, fast(WithClientName("rislive-test"),
				WithSubscribe(Subscribe{Collectors: []string{"rrc06"}}))...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			// What the client must get: every line not cut.
			cut := func(i int) bool {
				for _, e := range tc.events {
					if i >= e.At && i < e.At+e.Skip {
						return true
					}
				}
				return false
			}
			want := map[string]int{}
			records := 0
			for i, rec := range r.rec {
				if rec >= 0 && !cut(i) {
					records++
					for _, k := range r.mrt[rec].keys {
						want[k]++
					}
				}
			}
			got := collect(t, c, records, 60*time.Second)
			if got.records != records {
				t.Errorf("%d records, want %d", got.records, records)
			}
			if d := diffMultisets(got.keys, want); d != "" {
				t.Errorf("elems differ from package mrt's minus the cuts:%s", d)
			}

			// The server's record of the cuts agrees with the events.
			cuts := srv.Cuts()
			for i, e := range tc.events {
				if e.Skip > 0 && !containsCut(cuts, rislivetest.Cut{From: e.At, To: e.At + e.Skip}) {
					t.Errorf("event %d: server cuts %v", i, cuts)
				}
			}
			// One gap per drop, between the last record before and the
			// first after.
			var drops []*GapError
			for _, g := range got.gaps {
				var ge *GapError
				if errors.As(g.Err, &ge) {
					drops = append(drops, ge)
					if g.Start != g.End {
						t.Errorf("drop gap spans bytes: %+v", g)
					}
				}
			}
			if len(drops) != len(tc.events) {
				t.Fatalf("%d drop gaps, want %d: %v", len(drops), len(tc.events), got.gaps)
			}
			slow := 0
			for i, e := range tc.events {
				g := drops[i]
				from := time.UnixMicro(r.mrt[r.rec[e.At-1]].time)
				to := time.UnixMicro(r.mrt[r.rec[e.At+e.Skip]].time)
				if !g.From.Equal(from) || !g.To.Equal(to) || g.Reconnected.Before(g.Disconnected) || g.Cause == nil {
					t.Errorf("gap %d: %v; want from %v to %v", i, g, from, to)
				}
				isSlow := e.Kind == rislivetest.SlowConsumer || e.Kind == rislivetest.SlowConsumerCloseFrame
				if errors.Is(g, ErrSlowConsumer) != isSlow {
					t.Errorf("gap %d (%v): cause %v", i, e.Kind, g.Cause)
				}
				if isSlow {
					slow++
				}
			}
			st := c.Stats()
			bad := r.bad
			if tc.halfLine {
				bad++ // the line the drop cut in half
			}
			serverErrs := r.errs
			for _, e := range tc.events {
				if e.Kind == rislivetest.SlowConsumer || (tc.firehose && e.Kind == rislivetest.SlowConsumerCloseFrame) {
					serverErrs++
				}
			}
			if st.Reconnects != int64(len(tc.events)) || st.Gaps != st.Reconnects || st.Connects != st.Reconnects+1 ||
				st.SlowConsumer != int64(tc.slow) || st.BadLines != int64(bad) || st.ServerErrors != int64(serverErrs) ||
				st.Records != int64(records) || st.Ignored != 1 {
				t.Errorf("stats %+v; want %d reconnects, %d slow, %d bad, %d server errors", st, len(tc.events), tc.slow, bad, serverErrs)
			}
			if got := len(got.gaps) - len(drops); got != bad {
				t.Errorf("%d bad-line gaps, want %d", got, bad)
			}

			// Every connection named the client and subscribed again.
			subs := srv.Subscriptions()
			if len(subs) != len(tc.events)+1 {
				t.Fatalf("%d connections, want %d", len(subs), len(tc.events)+1)
			}
			for i, s := range subs {
				if s.Client != "rislive-test" || s.Firehose != tc.firehose || len(s.Subscribe) != 1 ||
					!jsonEqual(t, s.Subscribe[0], map[bool]string{
						false: `{"host":"rrc06","socketOptions":{"includeRaw":true}}`,
						true:  `{"host":"rrc06"}`,
					}[tc.firehose]) {
					t.Errorf("connection %d: %+v", i, s)
				}
			}
		})
	}
}

func containsCut(cuts []rislivetest.Cut, c rislivetest.Cut) bool {
	for _, x := range cuts {
		if x == c {
			return true
		}
	}
	return false
}

// jsonEqual compares JSON texts as values.
func jsonEqual(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON\n got %s\nwant %s", got, want)
		return false
	}
	return true
}

// TestSubscribe checks the ris_subscribe messages built from a request,
// as the fake server received them.
func TestSubscribe(t *testing.T) {
	req := Subscribe{
		Collectors: []string{"rrc21", "rrc00", "rrc00"},
		Peers:      []netip.Addr{netip.MustParseAddr("2001:db8::1")},
		Prefixes: []PrefixMatch{
			{Prefix: netip.MustParsePrefix("192.0.2.0/24"), More: true},
			{Prefix: netip.MustParsePrefix("198.51.100.7/24"), More: true},
			{Prefix: netip.MustParsePrefix("203.0.113.0/24")},
		},
		ElemTypes: []decode.ElemType{decode.ElemAnnouncement},
	}
	// 2 hosts × 1 peer × 1 type × 2 prefix match kinds.
	var want []string
	for _, h := range []string{"rrc00", "rrc21"} {
		common := `"host":"` + h + `","peer":"2001:db8::1","type":"UPDATE","require":"announcements","socketOptions":{"includeRaw":true}`
		want = append(want,
			`{`+common+`,"prefix":["192.0.2.0/24","198.51.100.0/24"],"moreSpecific":true,"lessSpecific":false}`,
			`{`+common+`,"prefix":"203.0.113.0/24","moreSpecific":false,"lessSpecific":false}`)
	}
	srv := rislivetest.NewServer(nil)
	defer srv.Close()
	c, err := New(srv.WSURL(), fast(WithSubscribe(req))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var b decode.Batch
	_ = c.Next(ctx, &b) // connects; nothing to read
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Subscriptions()) == 0 || len(srv.Subscriptions()[0].Subscribe) < len(want) {
		if time.Now().After(deadline) {
			t.Fatalf("server received %+v", srv.Subscriptions())
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := srv.Subscriptions()[0]
	if len(got.Subscribe) != len(want) || got.Client != DefaultClientName {
		t.Fatalf("received %+v", got)
	}
	for i := range want {
		jsonEqual(t, got.Subscribe[i], want[i])
	}

	// The firehose takes one subscription: the request widened.
	if h, _ := json.Marshal(req.Firehose()); !jsonEqual(t, h,
		`{"type":"UPDATE","require":"announcements","peer":"2001:db8::1","prefix":["192.0.2.0/24","198.51.100.0/24","203.0.113.0/24"],"moreSpecific":true,"lessSpecific":false}`) {
		t.Error("firehose subscription")
	}
	// Types: A+W → UPDATE; W → withdrawals; S → RIS_PEER_STATE; A+S → two.
	for types, want := range map[string][]string{
		"AW": {`{"type":"UPDATE","socketOptions":{"includeRaw":true}}`},
		"W":  {`{"type":"UPDATE","require":"withdrawals","socketOptions":{"includeRaw":true}}`},
		"S":  {`{"type":"RIS_PEER_STATE","socketOptions":{"includeRaw":true}}`},
		"AS": {`{"type":"UPDATE","require":"announcements","socketOptions":{"includeRaw":true}}`, `{"type":"RIS_PEER_STATE","socketOptions":{"includeRaw":true}}`},
		"":   {`{"socketOptions":{"includeRaw":true}}`},
	} {
		var s Subscribe
		for _, c := range types {
			s.ElemTypes = append(s.ElemTypes, map[rune]decode.ElemType{'A': decode.ElemAnnouncement, 'W': decode.ElemWithdrawal, 'S': decode.ElemPeerState}[c])
		}
		subs := s.Subscriptions()
		if len(subs) != len(want) {
			t.Errorf("%s: %d subscriptions", types, len(subs))
			continue
		}
		for i := range subs {
			m, _ := json.Marshal(subs[i])
			jsonEqual(t, m, want[i])
		}
	}
	// Too many combinations are widened to at most MaxSubscriptions.
	var many Subscribe
	for i := range 10 {
		many.Collectors = append(many.Collectors, fmt.Sprintf("rrc%02d", i))
		many.Peers = append(many.Peers, netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
	}
	if subs := many.Subscriptions(); len(subs) != 10 || subs[0].Peer != "" || subs[0].Host != "rrc00" {
		t.Errorf("widened: %d subscriptions, first %+v", len(subs), subs[0])
	}
	m, _ := (Subscription{Host: "rrc00"}).MarshalMessage()
	if string(m) != `{"type":"ris_subscribe","data":{"host":"rrc00"}}` {
		t.Errorf("message %s", m)
	}
}

// TestKeepalive: a connection that goes silent and stops answering (a dead
// peer) is closed — by the missed pongs on the websocket, by the idle
// timeout on the firehose — and the client reconnects and reads on,
// losing nothing the server did not cut.
func TestKeepalive(t *testing.T) {
	var lines [][]byte
	for i := range 300 {
		lines = append(lines, []byte(strings.Replace(synthUpdate, "1568279796.63", fmt.Sprint(1568279796+i), 1)))
	}
	for _, tc := range []struct {
		name     string
		firehose bool
		cause    error
	}{{"websocket", false, ErrNoPong}, {"firehose", true, ErrIdle}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := rislivetest.NewServer(lines)
			srv.Events = []rislivetest.Event{{At: 150, Kind: rislivetest.Stall}}
			defer srv.Close()
			url := srv.WSURL()
			if tc.firehose {
				url = srv.FirehoseURL()
			}
			c, err := New(url, fast(WithPing(50*time.Millisecond, 100*time.Millisecond, 2), WithIdleTimeout(200*time.Millisecond))...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			records := len(lines)
			got := collect(t, c, records, 20*time.Second)
			var drops []*GapError
			for _, g := range got.gaps {
				var ge *GapError
				if errors.As(g.Err, &ge) {
					drops = append(drops, ge)
				}
			}
			st := c.Stats()
			if got.records != records || len(drops) != 1 || !errors.Is(drops[0], tc.cause) || st.Reconnects != 1 {
				t.Fatalf("%d records (want %d), drops %v, stats %+v", got.records, records, drops, st)
			}
			// The gap lies between the messages of the two connections.
			if from, to := time.Unix(1568279796+149, 0), time.Unix(1568279796+150, 0); !drops[0].From.Equal(from) || !drops[0].To.Equal(to) {
				t.Errorf("gap %v, want from %v to %v", drops[0], from, to)
			}
			if !tc.firehose && st.MissedPongs != 2 {
				t.Errorf("missed pongs %d, want 2", st.MissedPongs)
			}
		})
	}
}

// TestBackoff: refused connections are retried with a delay that doubles
// up to the cap and never beyond it; a 4xx refusal is final.
func TestBackoff(t *testing.T) {
	c, err := New("", WithBackoff(100*time.Millisecond, 2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 40; n++ {
		d := c.backoff(n)
		lo := min(100*time.Millisecond<<min(n-1, 20), 2*time.Second) / 2
		if d > 2*time.Second || d < lo {
			t.Errorf("backoff(%d) = %v, want in [%v, 2s]", n, d, lo)
		}
	}

	srv := rislivetest.NewServer([][]byte{[]byte(`{"type":"ris_message","data":{"timestamp":1,"peer":"192.0.2.1","peer_asn":"1","host":"rrc00","type":"KEEPALIVE"}}`)})
	srv.Reject = 6
	defer srv.Close()
	const cap = 40 * time.Millisecond
	c, err = New(srv.WSURL(), quiet(), WithBackoff(5*time.Millisecond, cap))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := collect(t, c, 1, 10*time.Second)
	at := srv.Attempts()
	if got.records != 1 || len(at) != 7 || c.Stats().ConnectFailures != 6 {
		t.Fatalf("%d records, %d attempts, stats %+v", got.records, len(at), c.Stats())
	}
	for i := 1; i < len(at); i++ {
		// The delay never exceeds the cap (plus scheduling slack on a busy
		// machine), and reaches at least half of it once doubled enough.
		d := at[i].Sub(at[i-1])
		if d > cap+250*time.Millisecond || (i >= 4 && d < cap/2) {
			t.Errorf("attempt %d after %v (cap %v)", i, d, cap)
		}
	}

	srv403 := rislivetest.NewServer(nil)
	srv403.Reject, srv403.Status = 1, http.StatusForbidden
	defer srv403.Close()
	c, err = New(srv403.FirehoseURL(), quiet(), WithBackoff(5*time.Millisecond, cap))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var b decode.Batch
	err = c.Next(ctx, &b)
	var de *DialError
	if !errors.As(err, &de) || de.Status != http.StatusForbidden || !de.Permanent() || !strings.Contains(err.Error(), srv403.URL) {
		t.Errorf("Next after a 403: %v", err)
	}

	// WithMaxAttempts gives up on retryable failures too.
	srv503 := rislivetest.NewServer(nil)
	srv503.Reject = 100
	defer srv503.Close()
	c, err = New(srv503.WSURL(), quiet(), WithBackoff(time.Millisecond, 2*time.Millisecond), WithMaxAttempts(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Next(ctx, &b); !errors.As(err, &de) || de.Status != http.StatusServiceUnavailable || len(srv503.Attempts()) != 3 {
		t.Errorf("Next after 3 refusals: %v, %d attempts", err, len(srv503.Attempts()))
	}
}

// TestCancel: Next returns promptly when its context ends or the client is
// closed, on an idle connection and while reconnecting.
func TestCancel(t *testing.T) {
	srv := rislivetest.NewServer(nil)
	defer srv.Close()
	down := rislivetest.NewServer(nil)
	down.Reject = 1 << 30
	defer down.Close()
	for _, url := range []string{srv.WSURL(), srv.FirehoseURL(), down.WSURL()} {
		c, err := New(url, quiet(), WithBackoff(time.Second, time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		var b decode.Batch
		start := time.Now()
		err = c.Next(ctx, &b)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
			t.Errorf("%s: Next returned %v after %v", url, err, time.Since(start))
		}
		done := make(chan error, 1)
		go func() { done <- c.Next(context.Background(), &b) }()
		time.Sleep(20 * time.Millisecond)
		start = time.Now()
		c.Close()
		select {
		case err := <-done:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s: Next after Close: %v", url, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: Next still blocked after Close", url)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: Close took %v", url, d)
		}
	}
	if _, err := New("ftp://ris-live.ripe.net/"); err == nil {
		t.Error("ftp URL accepted")
	}
	c, _ := New("")
	if c.URL() != DefaultURL+"?client="+DefaultClientName {
		t.Errorf("default URL %s", c.URL())
	}
	c, _ = New("https://ris-live.ripe.net/v1/stream/", WithClientName("me"))
	if c.URL() != "https://ris-live.ripe.net/v1/stream/?client=me&format=json" {
		t.Errorf("firehose URL %s", c.URL())
	}
}
