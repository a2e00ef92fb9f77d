package integration

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// FRR's bgpd as a second BMP router (Debian package frr): r3 is monitored,
// gobgpd r4 feeds it the same routes as TestGoBGPBMP.
const frrBgpd = "/usr/lib/frr/bgpd"

var (
	frrR3    = netip.MustParseAddr("127.0.0.31")
	frrR4    = netip.MustParseAddr("127.0.0.32")
	frrR3ASN = uint32(4200000003)
	frrR4ASN = uint32(4200000004)
)

func frrConfig(bgpPort, bmpPort int) string {
	return fmt.Sprintf(`frr defaults traditional
hostname frr-r3
log stdout informational
!
router bgp %d
 bgp router-id 192.0.2.31
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor %s remote-as %d
 neighbor %s port %d
 neighbor %s update-source %s
 !
 address-family ipv4 unicast
  neighbor %s activate
  neighbor %s soft-reconfiguration inbound
 exit-address-family
 address-family ipv6 unicast
  neighbor %s activate
  neighbor %s soft-reconfiguration inbound
 exit-address-family
 !
 bmp targets collector
  bmp stats interval 1000
  bmp monitor ipv4 unicast pre-policy
  bmp monitor ipv4 unicast post-policy
  bmp monitor ipv6 unicast pre-policy
  bmp monitor ipv6 unicast post-policy
  bmp mirror
  bmp connect 127.0.0.1 port %d min-retry 100 max-retry 1000
 exit
exit
!
`, frrR3ASN, frrR4, frrR4ASN, frrR4, bgpPort, frrR4, frrR3, frrR4, frrR4, frrR4, frrR4, bmpPort)
}

func startFRR(t *testing.T, config string, bgpPort int) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bgpd.conf")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	log := &lockedWriter{w: new(bytes.Buffer)}
	cmd := exec.Command(frrBgpd, "-Z", "-S", "-n", "-l", frrR3.String(), "-p", strconv.Itoa(bgpPort), "-P", "0",
		"-f", cfg, "--vty_socket", dir, "-i", filepath.Join(dir, "bgpd.pid"), "-M", "bmp", "--log", "stdout")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start FRR bgpd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("FRR bgpd log:\n%s", log.w.String())
		}
	})
}

// TestFRRBMP monitors FRR bgpd over BMP (pre- and post-policy Adj-RIB-In,
// Route Mirroring, Statistics) while gobgpd announces and withdraws routes.
// FRR 8.4 has no Loc-RIB monitoring, and its Route Monitoring messages
// carry the AS_PATH with its own ASN prepended (attributes encoded as for an
// eBGP advertisement); Route Mirroring carries the UPDATEs exactly as
// received.
func TestFRRBMP(t *testing.T) {
	lookGoBGP(t)
	if _, err := os.Stat(frrBgpd); err != nil {
		t.Skipf("FRR not installed (apt-get install -y frr): %v", err)
	}
	if testing.Short() {
		t.Skip("starts FRR and gobgpd; skipped in -short mode")
	}
	station := newBMPStation(t, netip.MustParseAddr("127.0.0.1"))
	bgpPort := freePort(t, frrR3)
	r4cfg := strings.NewReplacer(
		fmt.Sprint(gobgpR2ASN), fmt.Sprint(frrR4ASN), fmt.Sprint(gobgpR1ASN), fmt.Sprint(frrR3ASN),
		`"`+gobgpR2.String()+`"`, `"`+frrR4.String()+`"`, `"`+gobgpR1.String()+`"`, `"`+frrR3.String()+`"`,
		`"192.0.2.2"`, `"192.0.2.32"`,
	).Replace(gobgpR2Config(bgpPort))
	r4 := startGobgpd(t, "r4", frrR4, r4cfg)
	startFRR(t, frrConfig(bgpPort, station.port()), bgpPort)
	waitEstablished(t, r4, frrR3)

	decodeAll := func(frames []bmpFrame) ([]seen, []route, error) {
		d := openbmp.NewDecoder()
		var res openbmp.Result
		var msgs []seen
		var mirrored []route
		var u decode.Update
		for i, f := range frames {
			if err := d.Decode(f.msg, &res); err != nil {
				return nil, nil, fmt.Errorf("message %d: %w", i, err)
			}
			msgs = append(msgs, render(i, &res))
			for _, m := range res.Mirroring.Messages {
				h, err := decode.DecodeHeader(m)
				if err != nil {
					return nil, nil, fmt.Errorf("message %d: mirrored BGP message: %w", i, err)
				}
				if h.Type != decode.MsgUpdate {
					continue // FRR mirrors OPEN and KEEPALIVE too
				}
				if err := decode.DecodeUpdate(&u, m[decode.HeaderLen:h.Length], &decode.Options{AS4: true}); err != nil {
					return nil, nil, fmt.Errorf("message %d: mirrored UPDATE: %w", i, err)
				}
				for _, n := range u.Announced {
					r := routeOf(n.NextHop, &u.Attrs)
					r.nextHop = n.Prefix.String() + " via " + r.nextHop
					mirrored = append(mirrored, r)
				}
			}
		}
		return msgs, mirrored, nil
	}
	checkViews := func(withdrawn bool) func([]bmpFrame) error {
		return func(frames []bmpFrame) error {
			msgs, _, err := decodeAll(frames)
			if err != nil {
				t.Fatal(err)
			}
			tabs := tablesFrom(msgs)
			want := expectedFrom(frrR4ASN, "", withdrawn)
			// FRR 8.4 encodes Route Monitoring attributes as for an
			// eBGP advertisement: its own ASN comes first in both views.
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
				if d := diffTables(got, want); d != "" {
					errs = append(errs, fmt.Errorf("%s: %s", v, d))
				}
			}
			return errors.Join(errs...)
		}
	}

	station.waitFor(t, "Peer Up", 30*time.Second, func(frames []bmpFrame) error {
		msgs, _, err := decodeAll(frames)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.msg == openbmp.MsgPeerUp && m.elems[0].PeerIP == frrR4 && m.elems[0].PeerASN == frrR4ASN && m.elems[0].NewState == decode.StateEstablished {
				return nil
			}
		}
		return errors.New("no Peer Up for r4")
	})
	for _, r := range gobgpRoutes {
		r4.mustCLI(t, r.addArgs()...)
	}
	station.waitFor(t, "announcements in pre- and post-policy", 30*time.Second, checkViews(false))
	for _, r := range gobgpRoutes {
		if r.withdrawn {
			r4.mustCLI(t, "global", "rib", "del", "-a", r.family, r.prefix)
		}
	}
	station.waitFor(t, "withdrawals", 30*time.Second, checkViews(true))
	station.waitFor(t, "a Statistics Report", 30*time.Second, func(frames []bmpFrame) error {
		for _, f := range frames {
			if f.msg[5] == byte(openbmp.MsgStatisticsReport) {
				return nil
			}
		}
		return errors.New("none yet")
	})

	frames := station.snapshot()
	_, mirrored, err := decodeAll(frames)
	if err != nil {
		t.Fatal(err)
	}
	// Route Mirroring carries the UPDATEs exactly as r4 sent them.
	want := expectedFrom(frrR4ASN, "", false)
	got := map[string]route{}
	for _, r := range mirrored {
		got[r.nextHop] = r
	}
	for p, w := range want {
		key := p.String() + " via " + w.nextHop
		g, ok := got[key]
		w.nextHop = key
		if !ok || g != w {
			t.Errorf("mirrored %s: got %+v, want %+v", p, g, w)
		}
	}
	counts := map[openbmp.MessageType]int{}
	stats := 0
	up := false
	var res openbmp.Result
	d := openbmp.NewDecoder()
	for i, f := range frames {
		if err := d.Decode(f.msg, &res); err != nil {
			t.Fatal(err)
		}
		counts[res.MsgType]++
		if res.MsgType == openbmp.MsgInitiation && (res.Initiation.SysName != "frr-r3" || !strings.HasPrefix(res.Initiation.SysDescr, "FRRouting")) {
			t.Errorf("Initiation %+v", res.Initiation)
		}
		if res.Record.Router != "frr-r3" {
			t.Errorf("message %d (%s, %+v): router %q, want the sysName frr-r3", i, res.MsgType, res.PeerDown, res.Record.Router)
		}
		// FRR reports its not-yet-established peer with a Peer Down
		// (reason 2, FSM event 0) when the BMP session starts; the session
		// must not go down after its Peer Up.
		switch res.MsgType {
		case openbmp.MsgPeerUp:
			up = true
		case openbmp.MsgPeerDown:
			if up || res.PeerDown.Reason != openbmp.DownLocalFSM || len(res.Elems) != 1 || res.Elems[0].NewState != decode.StateIdle {
				t.Errorf("message %d: Peer Down %+v after Peer Up %v", i, res.PeerDown, up)
			}
		}
		for _, s := range res.Stats {
			if s.PeerIP != frrR4 || s.PeerASN != frrR4ASN {
				t.Errorf("stat %+v", s)
			}
			stats++
		}
	}
	if counts[openbmp.MsgInitiation] != 1 || counts[openbmp.MsgPeerUp] != 1 || counts[openbmp.MsgRouteMirroring] < len(gobgpRoutes) || counts[openbmp.MsgStatisticsReport] < 1 || stats == 0 {
		t.Errorf("message counts %v, %d stats", counts, stats)
	}
	t.Logf("FRR: %d BMP messages, %v", len(frames), counts)
	if *recordGoBGP {
		out := filepath.Join("..", "internal", "demodata", "frr-bmp.obmp")
		if err := os.WriteFile(out, wrapOpenBMP(frames, frrR3, "frr"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d BMP messages to %s", len(frames), out)
	}
}
