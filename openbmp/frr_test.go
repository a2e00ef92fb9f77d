package openbmp

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// TestFRRCapture decodes the recorded FRR capture
// (internal/demodata/frr-bmp.obmp, see its README): Route Mirroring carries
// r4's UPDATEs unchanged, which must hold the five announced prefixes and
// the two withdrawn ones.
func TestFRRCapture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "internal", "demodata", "frr-bmp.obmp"))
	if err != nil {
		t.Fatal(err)
	}
	sr := NewStreamReader(bytes.NewReader(b), KindUnknown)
	d := NewDecoder()
	var res Result
	var u decode.Update
	counts := map[MessageType]int{}
	var announced, withdrawn []string
	for {
		f, err := sr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Decode(f, &res); err != nil {
			t.Fatalf("offset %d: %v", sr.Offset(), err)
		}
		counts[res.MsgType]++
		if res.Record.Router != "frr" || res.Record.Collector != "gobgp-lab" || res.Record.RouterIP.String() != "127.0.0.31" {
			t.Errorf("record %+v", res.Record)
		}
		for _, m := range res.Mirroring.Messages {
			h, err := decode.DecodeHeader(m)
			if err != nil {
				t.Fatal(err)
			}
			if h.Type != decode.MsgUpdate {
				continue
			}
			if err := decode.DecodeUpdate(&u, m[decode.HeaderLen:h.Length], &decode.Options{AS4: true}); err != nil {
				t.Fatal(err)
			}
			for _, n := range u.Announced {
				announced = append(announced, n.Prefix.String())
				if got := u.Attrs.ASPath.String(); got[:10] != "4200000004" {
					t.Errorf("mirrored %s AS path %q, want r4's ASN first", n.Prefix, got)
				}
			}
			for _, n := range u.Withdrawn {
				withdrawn = append(withdrawn, n.Prefix.String())
			}
		}
	}
	slices.Sort(announced)
	slices.Sort(withdrawn)
	if want := []string{"10.1.0.0/24", "10.2.0.0/16", "198.51.100.0/24", "2001:db8:1::/48", "2001:db8:2::/48"}; !slices.Equal(announced, want) {
		t.Errorf("mirrored announcements %v, want %v", announced, want)
	}
	if want := []string{"10.2.0.0/16", "2001:db8:2::/48"}; !slices.Equal(withdrawn, want) {
		t.Errorf("mirrored withdrawals %v, want %v", withdrawn, want)
	}
	if counts[MsgRouteMirroring] < 7 || counts[MsgInitiation] != 1 || counts[MsgPeerUp] != 1 || counts[MsgStatisticsReport] < 1 {
		t.Errorf("counts %v", countsString(counts))
	}
}
