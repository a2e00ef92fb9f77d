package integration

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var recordGoBGP = flag.Bool("gobgp.record", false, "rewrite internal/demodata/gobgp-bmp.obmp from this run of TestGoBGPBMP")

// The two routers: r1 is monitored over BMP, r2 originates routes.
var (
	gobgpR1     = netip.MustParseAddr("127.0.0.21")
	gobgpR2     = netip.MustParseAddr("127.0.0.22")
	gobgpR1ASN  = uint32(4200000001)
	gobgpR2ASN  = uint32(4200000002)
	gobgpTagged = "65001:999" // community r1's import policy adds (post-policy, Loc-RIB)
)

// injected is one route announced by r2 with the gobgp CLI.
type injected struct {
	family    string // "ipv4" or "ipv6"
	prefix    string
	nextHop   string
	path      []uint32 // AS path as given to the CLI (r2 prepends its own ASN)
	comms     []string
	large     []string
	withdrawn bool // withdrawn in the second phase
}

var gobgpRoutes = []injected{
	{family: "ipv4", prefix: "10.1.0.0/24", nextHop: "192.0.2.2", path: []uint32{4200000099}, comms: []string{"65000:1", "65000:2"}, large: []string{"4200000002:1:2"}},
	{family: "ipv4", prefix: "10.2.0.0/16", nextHop: "192.0.2.2", path: []uint32{64512, 4200000100}, comms: []string{"4200:100"}, large: []string{"4200000002:10:20", "4200000002:30:40"}, withdrawn: true},
	{family: "ipv4", prefix: "198.51.100.0/24", nextHop: "192.0.2.3"},
	{family: "ipv6", prefix: "2001:db8:1::/48", nextHop: "2001:db8::2", path: []uint32{4200000099}, comms: []string{"65000:3"}, large: []string{"4200000002:3:4"}},
	{family: "ipv6", prefix: "2001:db8:2::/48", nextHop: "2001:db8::2", comms: []string{"65000:4"}, withdrawn: true},
}

func (r injected) addArgs() []string {
	args := []string{"global", "rib", "add", "-a", r.family, r.prefix, "nexthop", r.nextHop}
	if len(r.path) > 0 {
		s := make([]string, len(r.path))
		for i, a := range r.path {
			s[i] = fmt.Sprint(a)
		}
		args = append(args, "aspath", strings.Join(s, " "))
	}
	if len(r.comms) > 0 {
		args = append(args, "community", strings.Join(r.comms, ","))
	}
	if len(r.large) > 0 {
		args = append(args, "large-community", strings.Join(r.large, ","))
	}
	return args
}

func gobgpR1Config(bgpPort, bmpPort int) string {
	return fmt.Sprintf(`[global.config]
  as = %d
  router-id = "192.0.2.1"
  port = %d
  local-address-list = ["%s"]
[global.apply-policy.config]
  import-policy-list = ["tag"]
  default-import-policy = "accept-route"

[[policy-definitions]]
  name = "tag"
  [[policy-definitions.statements]]
    name = "add-community"
    [policy-definitions.statements.actions]
      route-disposition = "accept-route"
    [policy-definitions.statements.actions.bgp-actions.set-community]
      options = "add"
      [policy-definitions.statements.actions.bgp-actions.set-community.set-community-method]
        communities-list = ["%s"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "%s"
    peer-as = %d
  [neighbors.transport.config]
    remote-port = %d
    local-address = "%s"
  [neighbors.timers.config]
    connect-retry = 1
    idle-hold-time-after-reset = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"

[[bmp-servers]]
  [bmp-servers.config]
    address = "127.0.0.1"
    port = %d
    route-monitoring-policy = "all"
    statistics-timeout = 15
`, gobgpR1ASN, bgpPort, gobgpR1, gobgpTagged, gobgpR2, gobgpR2ASN, bgpPort, gobgpR1, bmpPort)
}

func gobgpR2Config(bgpPort int) string {
	return fmt.Sprintf(`[global.config]
  as = %d
  router-id = "192.0.2.2"
  port = %d
  local-address-list = ["%s"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "%s"
    peer-as = %d
  [neighbors.transport.config]
    remote-port = %d
    local-address = "%s"
  [neighbors.timers.config]
    connect-retry = 1
    idle-hold-time-after-reset = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`, gobgpR2ASN, bgpPort, gobgpR2, gobgpR1, gobgpR1ASN, bgpPort, gobgpR2)
}

// TestGoBGPBMP runs two gobgpd routers, monitors one over BMP (pre-policy,
// post-policy and Loc-RIB), drives the other with the gobgp CLI, and checks
// that the decoded elems are what was injected. With -gobgp.record it
// rewrites internal/demodata/gobgp-bmp.obmp from the captured BMP stream.
func TestGoBGPBMP(t *testing.T) {
	lookGoBGP(t)
	if testing.Short() {
		t.Skip("starts two gobgpd daemons; skipped in -short mode")
	}
	station := newBMPStation(t, netip.MustParseAddr("127.0.0.1"))
	bgpPort := freePort(t, gobgpR1)
	r2 := startGobgpd(t, "r2", gobgpR2, gobgpR2Config(bgpPort))
	r1 := startGobgpd(t, "r1", gobgpR1, gobgpR1Config(bgpPort, station.port()))

	waitEstablished(t, r1, gobgpR2)
	check := newGoBGPChecker(t)
	station.waitFor(t, "Initiation and Peer Up", 30*time.Second, check.peerUp(1))

	// Phase 1: announce every route.
	for _, r := range gobgpRoutes {
		r2.mustCLI(t, r.addArgs()...)
	}
	station.waitFor(t, "all announcements in pre-policy, post-policy and Loc-RIB", 30*time.Second, check.tables(false))

	// Phase 2: withdraw some.
	for _, r := range gobgpRoutes {
		if r.withdrawn {
			r2.mustCLI(t, "global", "rib", "del", "-a", r.family, r.prefix)
		}
	}
	station.waitFor(t, "withdrawals in every view", 30*time.Second, check.tables(true))

	// Phase 3: reset the session; the router reports Peer Down, Peer Up
	// and the remaining routes again.
	n := len(station.snapshot())
	r1.mustCLI(t, "neighbor", gobgpR2.String(), "reset")
	station.waitFor(t, "Peer Down", 30*time.Second, check.peerDown(n))
	waitEstablished(t, r1, gobgpR2)
	station.waitFor(t, "second Peer Up", 60*time.Second, check.peerUp(2))
	station.waitFor(t, "re-announcement after the reset", 30*time.Second, check.readvertised(n))

	// The capture ends here: what r1 sends while shutting down (a few
	// withdrawals, cut short) differs from run to run.
	frames := station.snapshot()
	r1.stop(t)
	station.waitFor(t, "end of the BMP session", 10*time.Second, func([]bmpFrame) error {
		if !station.closed() {
			return errors.New("connection open")
		}
		return nil
	})

	check.final(frames)
	if *recordGoBGP {
		out := filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp")
		if err := os.WriteFile(out, wrapOpenBMP(frames, gobgpR1, gobgpRouterGroup), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d BMP messages to %s", len(frames), out)
	}
}

// waitEstablished waits until r reports the neighbor as established.
func waitEstablished(t *testing.T, r *gobgpRouter, peer netip.Addr) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := r.cli("neighbor")
		if err == nil {
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, peer.String()+" ") && strings.Contains(l, "Establ") {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: neighbor %s not established: %s %v", r.name, peer, out, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
