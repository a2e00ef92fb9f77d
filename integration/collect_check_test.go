package integration

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// startConnectorIn runs the connector in this process on cfg's broker
// until the test ends.
func startConnectorIn(t *testing.T, cfg *connector.Config) *connector.Connector {
	t.Helper()
	c, err := connector.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), connector.WithBrokers(cfg.BootstrapServers...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("connector: %v", err)
		}
	})
	select {
	case <-c.Ready():
	case err := <-done:
		t.Fatalf("connector: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("connector not ready after 30 s")
	}
	return c
}

// waitDrained waits until the connector has processed n input records and
// every elem of them is acknowledged.
func waitDrained(t *testing.T, c *connector.Connector, n int) {
	t.Helper()
	waitProgress(t, "records processed", int64(n), func() int64 {
		if c.Drained(uint64(n)) {
			return int64(n)
		}
		return min(int64(c.Stats.Records.Load()), int64(n)-1)
	})
}

// progressStall is how long waitProgress lets a count stand still before
// it calls the run stuck.
const progressStall = 30 * time.Second

// waitProgress waits until count() reaches want. It fails when the count
// stops moving for progressStall (a stall or a loss), not after a fixed
// time: on a loaded machine a healthy run is slow, never stuck.
func waitProgress(t *testing.T, what string, want int64, count func() int64) {
	t.Helper()
	last, since := int64(-1), time.Now()
	for {
		n := count()
		if n >= want {
			return
		}
		if n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > progressStall {
			t.Fatalf("%s: %d of %d, no progress for %v", what, n, want, progressStall)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// outElem is one elem the connector published, read back from Avro.
type outElem struct {
	part                        int32
	off                         int64
	kind                        string // announcement, withdrawal, state
	view                        view
	prefix                      netip.Prefix
	peer                        string
	peerASN                     int64
	state                       string
	r                           route
	collector, router, routerIP string
}

// id is what outElem and a decoded elem are compared on.
func (e outElem) id() string {
	return fmt.Sprintf("%s|%s|%s|%s|%d|%s|%+v", e.kind, e.view, e.prefix, e.peer, e.peerASN, e.state, e.r)
}

// idOfDecoded renders a decoded elem as an outElem id.
func idOfDecoded(e *decode.Elem, r route) string {
	o := outElem{view: viewOf(e), peer: e.PeerIP.String(), peerASN: int64(e.PeerASN)}
	switch e.Type {
	case decode.ElemAnnouncement:
		o.kind, o.prefix, o.r = "announcement", e.Prefix, r
	case decode.ElemWithdrawal:
		o.kind, o.prefix = "withdrawal", e.Prefix
	case decode.ElemPeerState:
		o.kind, o.state = "state", strings.ToLower(e.NewState.String())
	default:
		o.kind = e.Type.String()
	}
	return o.id()
}

// connectorElems reads the connector's announcement, withdrawal and peer
// state topics and returns their elems in input order.
func connectorElems(t *testing.T, brokers []string, prefix string) []outElem {
	t.Helper()
	types := []schema.Type{schema.Announcements, schema.Withdrawals, schema.PeerStates}
	byTopic := map[string]schema.Type{}
	var topics []string
	for _, ty := range types {
		topics = append(topics, prefix+"."+ty.Suffix())
		byTopic[prefix+"."+ty.Suffix()] = ty
	}
	recs, err := kafkatest.ReadAll(context.Background(), brokers, topics...)
	if err != nil {
		t.Fatal(err)
	}
	str := func(v any) string {
		if u, ok := v.(map[string]any); ok {
			return fmt.Sprint(u["string"])
		}
		if s, ok := v.(string); ok {
			return s
		}
		return ""
	}
	var out []outElem
	for _, r := range recs {
		ty := byTopic[r.Topic]
		m := avroNative(t, r, ty)
		e := outElem{
			part: m["source_partition"].(int32), off: m["source_offset"].(int64),
			peer: str(m["peer_ip"]), peerASN: m["peer_asn"].(int64),
			collector: m["collector"].(string), router: m["router"].(string), routerIP: str(m["router_ip"]),
		}
		switch {
		case str(m["bmp_rib"]) == "loc-rib":
			e.view = viewLocRIB
		case m["bmp_post_policy"].(bool):
			e.view = viewPost
		default:
			e.view = viewPre
		}
		switch ty {
		case schema.PeerStates:
			e.kind, e.state = "state", strings.ToLower(m["new_state"].(string))
		case schema.Withdrawals:
			e.kind, e.prefix = "withdrawal", netip.MustParsePrefix(m["prefix"].(string))
		default:
			e.kind, e.prefix = "announcement", netip.MustParsePrefix(m["prefix"].(string))
			e.r = avroRoute(m)
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].part != out[j].part {
			return out[i].part < out[j].part
		}
		return out[i].off < out[j].off
	})
	return out
}

// avroRoute renders an Avro announcement as routeOf renders a decoded one.
func avroRoute(m map[string]any) route {
	r := route{nextHop: fmt.Sprint(m["next_hop"].(map[string]any)["string"])}
	var segs []string
	for _, s := range m["as_path"].([]any) {
		seg := s.(map[string]any)
		var asns []string
		for _, a := range seg["asns"].([]any) {
			asns = append(asns, strconv.FormatInt(a.(int64), 10))
		}
		if seg["type"].(int32) == 1 {
			segs = append(segs, "{"+strings.Join(asns, ",")+"}")
		} else {
			segs = append(segs, strings.Join(asns, " "))
		}
	}
	r.asPath = strings.Join(segs, " ")
	var cs, ls []string
	for _, c := range m["communities"].([]any) {
		cm := c.(map[string]any)
		cs = append(cs, fmt.Sprintf("%d:%d", uint16(cm["asn"].(int32)), uint16(cm["value"].(int32))))
	}
	for _, c := range m["large_communities"].([]any) {
		cm := c.(map[string]any)
		ls = append(ls, fmt.Sprintf("%d:%d:%d", cm["global"].(int64), cm["local1"].(int64), cm["local2"].(int64)))
	}
	slices.Sort(cs)
	slices.Sort(ls)
	r.comms, r.large = strings.Join(cs, ","), strings.Join(ls, ",")
	return r
}

// outTables applies the connector's elems in order, as tablesFrom does
// for decoded messages.
func outTables(elems []outElem) map[view]map[netip.Prefix]route {
	tabs := map[view]map[netip.Prefix]route{}
	for _, v := range allViews {
		tabs[v] = map[netip.Prefix]route{}
	}
	for _, e := range elems {
		switch e.kind {
		case "announcement":
			tabs[e.view][e.prefix] = e.r
		case "withdrawal":
			delete(tabs[e.view], e.prefix)
		case "state":
			if e.state == "idle" {
				clear(tabs[viewPre])
				clear(tabs[viewPost])
			}
		}
	}
	return tabs
}

// sameElems checks that the connector published exactly the elems that
// decoding the topic's BMP messages directly gives, as multisets.
func sameElems(t *testing.T, out []outElem, msgs []seen) {
	t.Helper()
	want := map[string]int{}
	nwant := 0
	for _, m := range msgs {
		for i := range m.elems {
			want[idOfDecoded(&m.elems[i], m.routes[i])]++
			nwant++
		}
	}
	got := map[string]int{}
	for _, e := range out {
		got[e.id()]++
	}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("elem %s: connector published %d, decoding the topic gives %d", id, got[id], n)
		}
	}
	for id, n := range got {
		if want[id] == 0 {
			t.Errorf("elem %s: connector published %d, decoding the topic gives none", id, n)
		}
	}
	if len(out) != nwant {
		t.Errorf("connector published %d elems, decoding the topic gives %d", len(out), nwant)
	}
}
