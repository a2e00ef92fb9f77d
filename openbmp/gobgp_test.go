package openbmp

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// TestGoBGPCapture decodes the recorded gobgpd capture
// (internal/demodata/gobgp-bmp.obmp, see its README) and checks the facts the
// README states: labels, message types, and the routes left in each view.
func TestGoBGPCapture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp"))
	if err != nil {
		t.Fatal(err)
	}
	sr := NewStreamReader(bytes.NewReader(b), KindUnknown)
	d := NewDecoder()
	var res Result
	counts := map[MessageType]int{}
	final := map[string]map[string]bool{}
	for {
		f, err := sr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Decode(f, &res); err != nil {
			t.Fatalf("at offset %d: %v", sr.Offset(), err)
		}
		counts[res.MsgType]++
		if res.Record.Collector != "gobgp-lab" || res.Record.Router != "gobgp" || res.Record.RouterIP.String() != "127.0.0.21" {
			t.Errorf("record %+v", res.Record)
		}
		for _, e := range res.Elems {
			v := e.BMP.RIB()
			if e.BMP.PostPolicy {
				v += "-post"
			}
			if final[v] == nil {
				final[v] = map[string]bool{}
			}
			switch e.Type {
			case decode.ElemAnnouncement:
				final[v][e.Prefix.String()] = true
			case decode.ElemWithdrawal:
				delete(final[v], e.Prefix.String())
			}
		}
	}
	if sr.Kind() != KindOpenBMP || counts[MsgInitiation] != 1 || counts[MsgPeerUp] != 2 || counts[MsgPeerDown] != 1 || counts[MsgRouteMonitoring] < 30 {
		t.Errorf("kind %s counts %v", sr.Kind(), countsString(counts))
	}
	// After the withdrawals and the reset, r2's three remaining routes are in
	// every view.
	for _, v := range []string{"adj-rib-in", "adj-rib-in-post", "loc-rib"} {
		got := final[v]
		if len(got) != 3 || !got["10.1.0.0/24"] || !got["198.51.100.0/24"] || !got["2001:db8:1::/48"] {
			t.Errorf("%s holds %v", v, got)
		}
	}
}
