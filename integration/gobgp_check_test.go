package integration

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// A view is one of the three RIBs r1 reports over BMP.
type view string

const (
	viewPre    view = "adj-rib-in pre-policy"
	viewPost   view = "adj-rib-in post-policy"
	viewLocRIB view = "loc-rib"
)

var allViews = []view{viewPre, viewPost, viewLocRIB}

// route is a decoded route in the form the test compares.
type route struct {
	nextHop, asPath, comms, large string
}

// seen is one decoded message with what the test needs from it (Attrs are
// only valid until the next Decode, so they are rendered at once).
type seen struct {
	frame  int
	msg    openbmp.MessageType
	rec    decode.Record
	elems  []decode.Elem
	routes []route // parallel to elems for A elems
	down   openbmp.PeerDown
	sys    string
}

// gobgpChecker decodes the captured BMP stream with openbmp.Decoder and
// compares it with gobgpRoutes.
type gobgpChecker struct{ t *testing.T }

func newGoBGPChecker(t *testing.T) *gobgpChecker { return &gobgpChecker{t: t} }

func decodeFrames(frames []bmpFrame) ([]seen, error) {
	d := openbmp.NewDecoder(openbmp.WithCollector(gobgpAdminID), openbmp.WithRouter("r1", gobgpR1))
	var res openbmp.Result
	out := make([]seen, 0, len(frames))
	for i, f := range frames {
		if err := d.Decode(f.msg, &res); err != nil {
			return out, fmt.Errorf("message %d: %w", i, err)
		}
		out = append(out, render(i, &res))
	}
	return out, nil
}

func render(i int, res *openbmp.Result) seen {
	s := seen{frame: i, msg: res.MsgType, rec: res.Record, elems: slices.Clone(res.Elems), down: res.PeerDown, sys: res.Initiation.SysName}
	s.rec.Err = nil
	for _, e := range res.Elems {
		var r route
		if e.Type == decode.ElemAnnouncement {
			r = routeOf(e.NextHop, e.Attrs)
		}
		s.routes = append(s.routes, r)
	}
	return s
}

// routeOf renders a route's next hop and attributes for comparison.
func routeOf(nh netip.Addr, a *decode.Attrs) route {
	r := route{nextHop: nh.String(), asPath: a.ASPath.String()}
	var cs []string
	for _, c := range a.Communities {
		cs = append(cs, string(c.AppendText(nil)))
	}
	slices.Sort(cs)
	r.comms = strings.Join(cs, ",")
	var ls []string
	for _, c := range a.LargeCommunities {
		ls = append(ls, string(c.AppendText(nil)))
	}
	slices.Sort(ls)
	r.large = strings.Join(ls, ",")
	return r
}

func viewOf(e *decode.Elem) view {
	switch {
	case e.BMP.PeerType == decode.BMPPeerLocRIB:
		return viewLocRIB
	case e.BMP.PostPolicy:
		return viewPost
	}
	return viewPre
}

// tablesFrom applies the A and W elems of msgs in order; a Peer Down of r2
// empties r2's Adj-RIB-In views (RFC 7854 §4.9: the peer's routes are gone).
func tablesFrom(msgs []seen) map[view]map[netip.Prefix]route {
	tabs := map[view]map[netip.Prefix]route{}
	for _, v := range allViews {
		tabs[v] = map[netip.Prefix]route{}
	}
	for _, m := range msgs {
		for i := range m.elems {
			e := &m.elems[i]
			switch e.Type {
			case decode.ElemAnnouncement:
				tabs[viewOf(e)][e.Prefix] = m.routes[i]
			case decode.ElemWithdrawal:
				delete(tabs[viewOf(e)], e.Prefix)
			case decode.ElemPeerState:
				if e.NewState == decode.StateIdle {
					clear(tabs[viewPre])
					clear(tabs[viewPost])
				}
			}
		}
	}
	return tabs
}

// expected returns the table every view must hold: the injected routes,
// without the withdrawn ones if withdrawn. r2 prepends its ASN; r1's import
// policy adds gobgpTagged after the pre-policy view.
func expected(v view, withdrawn bool) map[netip.Prefix]route {
	tag := ""
	if v != viewPre {
		tag = gobgpTagged
	}
	return expectedFrom(gobgpR2ASN, tag, withdrawn)
}

// expectedFrom returns gobgpRoutes as announced by a gobgpd speaker of AS
// origin (which prepends its ASN), with community tag added if not empty.
func expectedFrom(origin uint32, tag string, withdrawn bool) map[netip.Prefix]route {
	m := map[netip.Prefix]route{}
	for _, r := range gobgpRoutes {
		if withdrawn && r.withdrawn {
			continue
		}
		path := strconv.FormatUint(uint64(origin), 10)
		for _, a := range r.path {
			path += " " + strconv.FormatUint(uint64(a), 10)
		}
		comms := slices.Clone(r.comms)
		if tag != "" {
			comms = append(comms, tag)
		}
		slices.Sort(comms)
		large := slices.Clone(r.large)
		slices.Sort(large)
		m[netip.MustParsePrefix(r.prefix)] = route{nextHop: r.nextHop, asPath: path, comms: strings.Join(comms, ","), large: strings.Join(large, ",")}
	}
	return m
}

func diffTables(got, want map[netip.Prefix]route) string {
	var b strings.Builder
	for p, w := range want {
		if g, ok := got[p]; !ok {
			fmt.Fprintf(&b, "missing %s %+v; ", p, w)
		} else if g != w {
			fmt.Fprintf(&b, "%s: got %+v want %+v; ", p, g, w)
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			fmt.Fprintf(&b, "unexpected %s %+v; ", p, g)
		}
	}
	return b.String()
}

func (c *gobgpChecker) decode(frames []bmpFrame) []seen {
	msgs, err := decodeFrames(frames)
	if err != nil {
		c.t.Fatalf("decoding gobgpd's BMP: %v", err)
	}
	return msgs
}

// peerUp is satisfied once n Peer Up messages for r2 decoded into
// ESTABLISHED state elems.
func (c *gobgpChecker) peerUp(n int) func([]bmpFrame) error {
	return func(frames []bmpFrame) error {
		got := 0
		for _, m := range c.decode(frames) {
			for _, e := range m.elems {
				if e.Type == decode.ElemPeerState && e.NewState == decode.StateEstablished && e.PeerIP == gobgpR2 && e.PeerASN == gobgpR2ASN {
					got++
				}
			}
		}
		if got < n {
			return fmt.Errorf("%d Peer Up elems, want %d", got, n)
		}
		return nil
	}
}

// tables is satisfied when every view holds the expected routes.
func (c *gobgpChecker) tables(withdrawn bool) func([]bmpFrame) error {
	return func(frames []bmpFrame) error {
		tabs := tablesFrom(c.decode(frames))
		var errs []error
		for _, v := range allViews {
			if d := diffTables(tabs[v], expected(v, withdrawn)); d != "" {
				errs = append(errs, fmt.Errorf("%s: %s", v, d))
			}
		}
		return errors.Join(errs...)
	}
}

// peerDown is satisfied by a Peer Down of r2 after frame from, decoded as
// an IDLE state elem with the administrative-reset NOTIFICATION r1 sent.
func (c *gobgpChecker) peerDown(from int) func([]bmpFrame) error {
	return func(frames []bmpFrame) error {
		for _, m := range c.decode(frames)[from:] {
			if m.msg != openbmp.MsgPeerDown {
				continue
			}
			if len(m.elems) != 1 || m.elems[0].NewState != decode.StateIdle || m.elems[0].PeerIP != gobgpR2 {
				c.t.Fatalf("Peer Down elems %+v", m.elems)
			}
			// r1 sends Cease (6) / Administrative Reset (4) (RFC 4486), but
			// gobgpd reports reason 4 (remote closed) when r2's close wins
			// the race.
			switch m.down.Reason {
			case openbmp.DownLocalNotification:
				if !m.down.HasNotification || m.down.Notification.Code != 6 || m.down.Notification.Subcode != 4 {
					c.t.Fatalf("Peer Down reason 1 with notification %+v, want cease/administrative reset", m.down.Notification)
				}
			case openbmp.DownRemoteNoData:
				if m.down.HasNotification || len(m.down.Data) != 0 {
					c.t.Fatalf("Peer Down reason 4 with data %+v", m.down)
				}
			default:
				c.t.Fatalf("Peer Down reason %d, want 1 or 4", m.down.Reason)
			}
			c.t.Logf("Peer Down reason %d", m.down.Reason)
			return nil
		}
		return errors.New("no Peer Down yet")
	}
}

// readvertised is satisfied when, after frame from, r2's remaining routes
// were announced again in every view after the new Peer Up.
func (c *gobgpChecker) readvertised(from int) func([]bmpFrame) error {
	return func(frames []bmpFrame) error {
		msgs := c.decode(frames)
		up := -1
		for i := from; i < len(msgs); i++ {
			if msgs[i].msg == openbmp.MsgPeerUp {
				up = i
			}
		}
		if up < 0 {
			return errors.New("no Peer Up after the reset")
		}
		tabs := tablesFrom(msgs[up:])
		var errs []error
		for _, v := range allViews {
			if d := diffTables(tabs[v], expected(v, true)); d != "" {
				errs = append(errs, fmt.Errorf("%s: %s", v, d))
			}
		}
		return errors.Join(errs...)
	}
}

// final checks the whole capture: message counts, record labels, the
// per-elem BMP context, and that the OpenBMP-wrapped form decodes to the
// same elems with the header's labels.
func (c *gobgpChecker) final(frames []bmpFrame) {
	t := c.t
	msgs := c.decode(frames)
	counts := map[openbmp.MessageType]int{}
	elems := 0
	for _, m := range msgs {
		counts[m.msg]++
		elems += len(m.elems)
		if m.msg == openbmp.MsgInitiation && m.sys != "GoBGP" {
			t.Errorf("Initiation sysName %q, want GoBGP", m.sys)
		}
		if m.rec.RouterIP != gobgpR1 || m.rec.Collector != gobgpAdminID || m.rec.Router != "GoBGP" || m.rec.Format != decode.FormatBMP {
			t.Errorf("message %d record %+v", m.frame, m.rec)
		}
		for _, e := range m.elems {
			if !e.BMP.Present || e.Time == 0 {
				t.Errorf("message %d elem without BMP context or time: %+v", m.frame, e)
			}
			switch viewOf(&e) {
			case viewLocRIB:
				// gobgpd sends no Peer Up for its Loc-RIB instance, and
				// peer AS 0 in the withdrawals that follow a Peer Down.
				if (e.Type == decode.ElemAnnouncement && e.PeerASN != gobgpR1ASN) || !e.BMP.NoPeerUp || e.BMP.RIB() != "loc-rib" {
					t.Errorf("Loc-RIB elem %+v", e)
				}
			default:
				if e.PeerIP != gobgpR2 || e.PeerASN != gobgpR2ASN || e.BMP.NoPeerUp || e.BMP.RIB() != "adj-rib-in" {
					t.Errorf("Adj-RIB-In elem %+v", e)
				}
			}
		}
	}
	if counts[openbmp.MsgInitiation] != 1 || counts[openbmp.MsgPeerUp] != 2 || counts[openbmp.MsgPeerDown] != 1 || counts[openbmp.MsgRouteMonitoring] < 3*(len(gobgpRoutes)+2+3) {
		t.Errorf("message counts %v", counts)
	}
	// The same stream in OpenBMP frames, as the recorded capture holds it.
	wrapped := wrapOpenBMP(frames, gobgpR1, gobgpRouterGroup)
	sr := openbmp.NewStreamReader(bytes.NewReader(wrapped), openbmp.KindUnknown)
	d := openbmp.NewDecoder()
	var res openbmp.Result
	n, welems := 0, 0
	for {
		f, err := sr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Decode(f, &res); err != nil {
			t.Fatal(err)
		}
		if res.Record.Collector != gobgpAdminID || res.Record.Router != gobgpRouterGroup || res.Record.RouterIP != gobgpR1 || res.Record.Time != frames[n].at.UnixMicro() {
			t.Errorf("OpenBMP message %d record %+v", n, res.Record)
		}
		n++
		welems += len(res.Elems)
	}
	if sr.Kind() != openbmp.KindOpenBMP || n != len(frames) || welems != elems {
		t.Errorf("OpenBMP form: kind %s, %d messages %d elems; raw: %d messages %d elems", sr.Kind(), n, welems, len(frames), elems)
	}
}
