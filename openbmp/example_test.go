package openbmp_test

import (
	"fmt"
	"io"
	"os"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// Reading a file of OpenBMP messages: frame it with a StreamReader, decode
// each frame with one Decoder (it keeps the routers' sessions), and use the
// Result before the next Decode.
func Example() {
	f, err := os.Open("../internal/demodata/gobgp-bmp.obmp")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	sr := openbmp.NewStreamReader(f, openbmp.KindUnknown)
	d := openbmp.NewDecoder()
	var res openbmp.Result
	for n := 0; n < 3; {
		frame, err := sr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := d.Decode(frame, &res); err != nil {
			fmt.Println(err)
			continue
		}
		for _, e := range res.Elems {
			if e.Type != decode.ElemAnnouncement {
				continue
			}
			fmt.Printf("%s %s router %s (%s) peer AS%d %s post-policy=%v %s path %s\n", res.Record.Collector, res.MsgType, res.Record.Router,
				res.Record.RouterIP, e.PeerASN, e.BMP.RIB(), e.BMP.PostPolicy, e.Prefix, e.Attrs.ASPath.String())
			n++
		}
	}
	// Output:
	// gobgp-lab Route Monitoring router gobgp (127.0.0.21) peer AS4200000002 adj-rib-in post-policy=false 10.1.0.0/24 path 4200000002 4200000099
	// gobgp-lab Route Monitoring router gobgp (127.0.0.21) peer AS4200000002 adj-rib-in post-policy=true 10.1.0.0/24 path 4200000002 4200000099
	// gobgp-lab Route Monitoring router gobgp (127.0.0.21) peer AS4200000001 loc-rib post-policy=false 10.1.0.0/24 path 4200000002 4200000099
}
