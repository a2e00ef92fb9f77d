package integration

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// waitTopic polls the collector's topic until cond accepts its BMP
// messages.
func waitTopic(t *testing.T, brokers []string, topic, what string, timeout time.Duration, cond func([]bmpFrame) error) []bmpFrame {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		frames, _ := topicFrames(t, brokers, topic)
		last := cond(frames)
		if last == nil {
			return frames
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (%d BMP messages on %s): %v", timeout, what, len(frames), topic, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lastInitiation returns the index of the last Initiation message.
func lastInitiation(frames []bmpFrame) int {
	at := -1
	for i, f := range frames {
		if openbmp.MessageType(f.msg[5]) == openbmp.MsgInitiation {
			at = i
		}
	}
	return at
}

// TestCollectGoBGP: gobgpd monitors its peer over BMP into the collector;
// the connector turns openbmp.bmp_raw into elems. Then the router is killed
// and started again: its new session (Initiation, Peer Up again) carries
// the whole table again. Throughout, the topic holds exactly the BMP stream
// the router sent (the checks of TestGoBGPBMP pass on it), and the
// connector's elems equal both the routes injected and what decoding the
// topic directly gives.
func TestCollectGoBGP(t *testing.T) {
	lookGoBGP(t)
	if testing.Short() {
		t.Skip("starts gobgpd daemons; skipped in -short mode")
	}
	cluster, addr, err := connector.StartEmbedded(0, 3, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := []string{addr}
	cfg := collectConfig(t, addr, "collect.router.group="+gobgpRouterGroup, "offset.flush.interval.ms=50", "consumer.fetch.max.wait.ms=20", "linger.ms=1")
	col, _ := startCollector(t, cfg)
	conn := startConnectorIn(t, cfg)
	topic := col.Topic()

	bgpPort := freePort(t, gobgpR1)
	r2 := startGobgpd(t, "r2", gobgpR2, gobgpR2Config(bgpPort))
	r1 := startGobgpd(t, "r1", gobgpR1, gobgpR1Config(bgpPort, col.Addr().Port))
	waitEstablished(t, r1, gobgpR2)
	check := newGoBGPChecker(t)
	waitTopic(t, brokers, topic, "Initiation and Peer Up", 30*time.Second, check.peerUp(1))
	for _, r := range gobgpRoutes {
		r2.mustCLI(t, r.addArgs()...)
	}
	waitTopic(t, brokers, topic, "all announcements in every view", 30*time.Second, check.tables(false))
	for _, r := range gobgpRoutes {
		if r.withdrawn {
			r2.mustCLI(t, "global", "rib", "del", "-a", r.family, r.prefix)
		}
	}
	first := waitTopic(t, brokers, topic, "withdrawals in every view", 30*time.Second, check.tables(true))

	// The router dies without a word (no Termination, no Peer Down) and
	// comes back.
	router := netip.MustParseAddr("127.0.0.1") // gobgpd's BMP client connects from 127.0.0.1
	r1.cmd.Process.Kill()
	r1.cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for st := collectRouter(col, router); st.Connected || st.Sessions != 1; st = collectRouter(col, router) {
		if time.Now().After(deadline) {
			t.Fatalf("collector still sees the killed router's session: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r1b := startGobgpd(t, "r1b", gobgpR1, gobgpR1Config(bgpPort, col.Addr().Port))
	waitEstablished(t, r1b, gobgpR2)
	frames := waitTopic(t, brokers, topic, "the new session's Peer Up and table", 60*time.Second, func(frames []bmpFrame) error {
		if err := check.peerUp(2)(frames); err != nil {
			return err
		}
		at := lastInitiation(frames)
		if at < len(first) {
			return errors.New("no Initiation of a second session yet")
		}
		tabs := tablesFrom(check.decode(frames[at:]))
		var errs []error
		for _, v := range allViews {
			if d := diffTables(tabs[v], expected(v, true)); d != "" {
				errs = append(errs, fmt.Errorf("%s: %s", v, d))
			}
		}
		return errors.Join(errs...)
	})
	second := lastInitiation(frames)
	if lastInitiation(frames[:second]) != 0 || second < len(first) {
		t.Fatalf("Initiations at 0 and %d, want the second after the first session's %d messages", second, len(first))
	}
	for i := range first {
		if string(first[i].msg) != string(frames[i].msg) {
			t.Fatalf("message %d of the first session changed on the topic", i)
		}
	}
	st := collectRouter(col, router)
	if st.Sessions != 2 || !st.Connected || st.Messages != uint64(len(frames)) || st.Damaged != 0 || st.Skipped != 0 {
		t.Errorf("collector stats %+v, want 2 sessions and %d messages", st, len(frames))
	}

	// The connector: its elems are exactly those of the topic's messages;
	// each session's table is the injected routes.
	_, recs := topicFrames(t, brokers, topic)
	waitDrained(t, conn, len(recs))
	out := connectorElems(t, brokers, cfg.OutputTopicPrefix)
	msgs := check.decode(frames)
	sameElems(t, out, msgs)
	split := recs[second].Offset
	var before, after []outElem
	ups := 0
	for _, e := range out {
		if e.part != recs[second].Partition {
			t.Fatalf("elem from partition %d: the router's messages are on %d", e.part, recs[second].Partition)
		}
		if e.off < split {
			before = append(before, e)
		} else {
			after = append(after, e)
		}
		if e.kind == "state" && e.state == "established" && e.peer == gobgpR2.String() {
			ups++
		}
		if e.collector != collectAdminID || e.router != gobgpRouterGroup || e.routerIP != router.String() {
			t.Fatalf("elem labels collector %q router %q router_ip %q", e.collector, e.router, e.routerIP)
		}
	}
	for name, part := range map[string][]outElem{"first session": before, "second session": after} {
		tabs := outTables(part)
		for _, v := range allViews {
			if d := diffTables(tabs[v], expected(v, true)); d != "" {
				t.Errorf("connector, %s, %s: %s", name, v, d)
			}
		}
	}
	anns := 0
	for _, e := range out {
		if e.kind == "announcement" {
			anns++
		}
	}
	if ups != 2 || anns < 3*(2*len(gobgpRoutes)-2) {
		t.Errorf("connector: %d Peer Up elems of r2 (want 2), %d announcements", ups, anns)
	}
	t.Logf("%d BMP messages in two sessions -> %d elems (%d announcements); collector %+v", len(frames), len(out), anns, st)
}
