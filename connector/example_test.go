package connector_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// A connector on the embedded broker, fed the bundled gobgpd recording.
func ExampleConnector_RunUntilDrained() {
	cluster, addr, err := connector.StartEmbedded(0, 3, "openbmp.bmp_raw")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cluster.Close()
	values, keys, _ := kafkatest.ReadFrames("../internal/demodata/gobgp-bmp.obmp")
	ctx := context.Background()
	kafkatest.Produce(ctx, []string{addr}, "openbmp.bmp_raw", values, keys)

	cfg, _ := connector.NewConfig() // defaults: openbmp.bmp_raw in, bgp.elems.* out
	c, err := connector.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), connector.WithBrokers(addr))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.RunUntilDrained(ctx, uint64(len(values)), time.Minute); err != nil {
		fmt.Println(err)
		return
	}
	counts, _, _ := kafkatest.ReadOutputs(ctx, []string{addr}, c.Topics(), 0)
	for _, t := range schema.Types() {
		fmt.Println(c.Topics()[t], counts[t])
	}
	// Output:
	// bgp.elems.ribs 0
	// bgp.elems.announcements 24
	// bgp.elems.withdrawals 12
	// bgp.elems.peerstates 3
	// bgp.elems.stats 0
}
