package integration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/ingest/bmptcp"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// collectAdminID is the admin id of the collectors the tests start.
const collectAdminID = "collect-test"

// collectConfig returns a configuration for a collector (and connector)
// on the broker at addr.
func collectConfig(t testing.TB, addr string, sets ...string) *connector.Config {
	t.Helper()
	all := append([]string{"bootstrap.servers=" + addr, "collect.admin.id=" + collectAdminID, "collect.listen=127.0.0.1:0"}, sets...)
	s, err := connector.SetSettings(all)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := connector.NewConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startCollector runs a collector until the test ends (or stop is called)
// and returns it once it accepts routers.
func startCollector(t testing.TB, cfg *connector.Config, opts ...connector.CollectOption) (c *connector.Collector, stop func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	c, err := connector.NewCollector(cfg, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case <-c.Ready():
	case err := <-done:
		t.Fatalf("collector: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("collector not ready after 30 s")
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("collector: %v", err)
		}
	}
	t.Cleanup(stop)
	return c, stop
}

// collectRouter returns the collector's counters of router a.
func collectRouter(c *connector.Collector, a netip.Addr) bmptcp.RouterStats {
	for _, r := range c.Routers() {
		if r.Router == a {
			return r
		}
	}
	return bmptcp.RouterStats{}
}

// dialBMP connects to the collector from loopback address from, as a
// router would.
func dialBMP(t testing.TB, from netip.Addr, addr *net.TCPAddr) *net.TCPConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from.AsSlice()}}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// bmpMessages splits a BMP stream into its whole messages.
func bmpMessages(t testing.TB, stream []byte) [][]byte {
	t.Helper()
	sr := openbmp.NewStreamReader(bytes.NewReader(stream), openbmp.KindBMP)
	var out [][]byte
	for {
		f, err := sr.Next()
		if err == io.EOF || errors.Is(err, openbmp.ErrTruncated) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(f))
	}
}

// topicFrames reads topic from the start to its end and returns each
// record's BMP message as a frame (with the header's collection time), in
// partition and offset order, with the records.
func topicFrames(t testing.TB, brokers []string, topic string) ([]bmpFrame, []*kgo.Record) {
	t.Helper()
	recs, err := kafkatest.ReadAll(context.Background(), brokers, topic)
	if err != nil {
		t.Fatal(err)
	}
	frames := make([]bmpFrame, 0, len(recs))
	for _, r := range recs {
		h, hl, err := openbmp.DecodeHeader(r.Value)
		if err != nil {
			t.Fatalf("%s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
		}
		frames = append(frames, bmpFrame{at: time.UnixMicro(h.CollectedAt), msg: r.Value[hl : hl+h.BMPLen]})
	}
	return frames, recs
}
