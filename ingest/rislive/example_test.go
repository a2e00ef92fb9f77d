package rislive_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/signal"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/ingest/rislive"
)

// A message as RIS Live sends it (libbgpstream's sample of 2019): the
// UPDATE is decoded from "raw".
func ExampleDecoder() {
	msg := []byte(`{"type":"ris_message","data":{"timestamp":1553627987.89,"peer":"72.22.223.9","peer_asn":"11708","id":"72.22.223.9-1553627987.89-1829343","raw":"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF005B020000004040010100400232020C00002DBC00007D61000005130000CC6000040361000403610004036100040361000403610000CF01000418C1000418C14003044816DF09172DA1C0","host":"rrc00","type":"UPDATE","path":[11708,32097,1299,52320,263009,263009,263009,263009,263009,52993,268481,268481],"origin":"igp","announcements":[{"next_hop":"72.22.223.9","prefixes":["45.161.192.0/23"]}]}}`)
	d := rislive.NewDecoder()
	var b decode.Batch
	b.Reset()
	if err := d.Decode(&b, msg, 0); err != nil {
		fmt.Println(err)
		return
	}
	r := &b.Records[0]
	for _, e := range b.Elems {
		fmt.Println(r.Project, r.Collector, r.Time, string(e.Type.Char()), e.PeerIP, e.PeerASN, e.Prefix, e.NextHop, e.Attrs.ASPath.String())
	}
	// Output:
	// ris-live rrc00 1553627987890000 A 72.22.223.9 11708 45.161.192.0/23 72.22.223.9 11708 32097 1299 52320 263009 263009 263009 263009 263009 52993 268481 268481
}

// Reading the live feed of one collector until Ctrl-C. The subscription
// only narrows what RIS Live sends; a filter would still be applied to
// each batch.
func ExampleNew() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := rislive.New(rislive.DefaultURL,
		rislive.WithClientName("my-monitor"),
		rislive.WithSubscribe(rislive.Subscribe{
			Collectors: []string{"rrc00"},
			Prefixes:   []rislive.PrefixMatch{{Prefix: netip.MustParsePrefix("193.0.0.0/16"), More: true}},
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	var b decode.Batch
	for {
		b.Reset()
		if err := c.Next(ctx, &b); err != nil {
			if !errors.Is(err, context.Canceled) {
				fmt.Println(err)
			}
			break
		}
		for _, g := range b.Gaps {
			fmt.Println("lost:", g.Err) // a drop (*rislive.GapError) or a bad line
		}
		fmt.Println(len(b.Records), "records,", len(b.Elems), "elems")
	}
	fmt.Printf("%+v\n", c.Stats())
}
