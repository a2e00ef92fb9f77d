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

// A message as RIS Live sends it (documentation addresses): the UPDATE is
// decoded from "raw", the BGP message in hex.
func ExampleDecoder() {
	msg := []byte(`{"type":"ris_message","data":{"timestamp":1568279796.63,"peer":"192.0.2.1","peer_asn":"64496","id":"21-192-0-2-1-11188782","host":"rrc21","type":"UPDATE","path":[64496,64511],"origin":"IGP","announcements":[{"next_hop":"192.0.2.1","prefixes":["192.0.2.0/24"]}],"raw":"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF003302000000184001010040020A02020000FBF00000FBFF400304C000020118C00002"}}`)
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
	// ris-live rrc21 1568279796630000 A 192.0.2.1 64496 192.0.2.0/24 192.0.2.1 64496 64511
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
