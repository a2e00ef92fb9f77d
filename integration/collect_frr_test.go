package integration

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// TestCollectFRR: FRR's bgpd (-M bmp) monitors a gobgpd peer into the
// collector; the connector's elems equal what decoding the topic gives,
// its pre- and post-policy tables hold the routes gobgpd was given (after
// the withdrawals), and its stats topic holds FRR's Statistics Reports.
func TestCollectFRR(t *testing.T) {
	lookGoBGP(t)
	if _, err := os.Stat(frrBgpd); err != nil {
		t.Skipf("FRR not installed (apt-get install -y frr): %v", err)
	}
	if testing.Short() {
		t.Skip("starts FRR and gobgpd; skipped in -short mode")
	}
	cluster, addr, err := connector.StartEmbedded(0, 3, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := []string{addr}
	cfg := collectConfig(t, addr, "offset.flush.interval.ms=50", "consumer.fetch.max.wait.ms=20", "linger.ms=1")
	col, stopCollector := startCollector(t, cfg)
	conn := startConnectorIn(t, cfg)
	topic := col.Topic()

	bgpPort := freePort(t, frrR3)
	r4cfg := strings.NewReplacer(
		fmt.Sprint(gobgpR2ASN), fmt.Sprint(frrR4ASN), fmt.Sprint(gobgpR1ASN), fmt.Sprint(frrR3ASN),
		`"`+gobgpR2.String()+`"`, `"`+frrR4.String()+`"`, `"`+gobgpR1.String()+`"`, `"`+frrR3.String()+`"`,
		`"192.0.2.2"`, `"192.0.2.32"`,
	).Replace(gobgpR2Config(bgpPort))
	r4 := startGobgpd(t, "r4", frrR4, r4cfg)
	startFRR(t, frrConfig(bgpPort, col.Addr().Port), bgpPort)
	waitEstablished(t, r4, frrR3)

	decodeAll := func(frames []bmpFrame) []seen {
		d := openbmp.NewDecoder()
		var res openbmp.Result
		var msgs []seen
		for i, f := range frames {
			if err := d.Decode(f.msg, &res); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			msgs = append(msgs, render(i, &res))
		}
		return msgs
	}
	// FRR encodes Route Monitoring as for an eBGP advertisement: its own
	// ASN first.
	strip := func(tabs map[view]map[netip.Prefix]route) []error {
		var errs []error
		for _, v := range []view{viewPre, viewPost} {
			got := map[netip.Prefix]route{}
			for p, r := range tabs[v] {
				if !strings.HasPrefix(r.asPath, fmt.Sprint(frrR3ASN)+" ") {
					errs = append(errs, fmt.Errorf("%s: %s AS path %q does not start with FRR's ASN", v, p, r.asPath))
				}
				r.asPath = strings.TrimPrefix(r.asPath, fmt.Sprint(frrR3ASN)+" ")
				got[p] = r
			}
			if d := diffTables(got, expectedFrom(frrR4ASN, "", true)); d != "" {
				errs = append(errs, fmt.Errorf("%s: %s", v, d))
			}
		}
		return errs
	}
	for _, r := range gobgpRoutes {
		r4.mustCLI(t, r.addArgs()...)
	}
	waitTopic(t, brokers, topic, "announcements", 30*time.Second, func(frames []bmpFrame) error {
		tabs := tablesFrom(decodeAll(frames))
		if len(tabs[viewPost]) < len(gobgpRoutes) {
			return fmt.Errorf("%d of %d routes post-policy", len(tabs[viewPost]), len(gobgpRoutes))
		}
		return nil
	})
	for _, r := range gobgpRoutes {
		if r.withdrawn {
			r4.mustCLI(t, "global", "rib", "del", "-a", r.family, r.prefix)
		}
	}
	waitTopic(t, brokers, topic, "withdrawals and a Statistics Report", 30*time.Second, func(frames []bmpFrame) error {
		if errs := strip(tablesFrom(decodeAll(frames))); len(errs) > 0 {
			return errors.Join(errs...)
		}
		for _, f := range frames {
			if openbmp.MessageType(f.msg[5]) == openbmp.MsgStatisticsReport {
				return nil
			}
		}
		return errors.New("no Statistics Report yet")
	})

	// Stop the collector (FRR would go on sending Statistics Reports), then
	// compare everything the topic holds with what the connector made of it.
	stopCollector()
	frames, recs := topicFrames(t, brokers, topic)
	waitDrained(t, conn, len(recs))
	msgs := decodeAll(frames)
	out := connectorElems(t, brokers, cfg.OutputTopicPrefix)
	sameElems(t, out, msgs)
	if errs := strip(outTables(out)); len(errs) > 0 {
		t.Errorf("connector tables: %v", errors.Join(errs...))
	}
	// Statistics: as many stats records as the reports carry counters.
	wantStats := 0
	d := openbmp.NewDecoder()
	var res openbmp.Result
	for _, f := range frames {
		if err := d.Decode(f.msg, &res); err != nil {
			t.Fatal(err)
		}
		wantStats += len(res.Stats)
	}
	stats, err := kafkatest.ReadAll(context.Background(), brokers, cfg.TopicFor("stats"))
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != wantStats || wantStats == 0 {
		t.Errorf("%d stats records, the Statistics Reports carry %d counters", len(stats), wantStats)
	}
	for _, e := range out {
		if e.collector != collectAdminID || e.router != "frr-r3" || e.routerIP != "127.0.0.1" {
			t.Fatalf("elem labels collector %q router %q router_ip %q (want the sysName as router)", e.collector, e.router, e.routerIP)
		}
	}
	st := collectRouter(col, netip.MustParseAddr("127.0.0.1"))
	if st.Sessions != 1 || st.Messages != uint64(len(frames)) || st.Damaged != 0 || col.Stats.Produced.Load() != uint64(len(frames)) {
		t.Errorf("collector stats %+v", st)
	}
	t.Logf("FRR: %d BMP messages -> %d elems, %d stats", len(frames), len(out), len(stats))
}
