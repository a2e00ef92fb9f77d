package connector

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// freePort returns a TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestBootstrapServersHasNoDefault checks that a configuration without
// bootstrap.servers is accepted by NewConfig (library callers pass
// WithBrokers) but that Run refuses it at once with one message naming the
// key and the in-memory alternative, instead of starting a broker.
func TestBootstrapServersHasNoDefault(t *testing.T) {
	cfg := newConfig(t)
	if cfg.Embedded || len(cfg.BootstrapServers) != 0 {
		t.Fatalf("bootstrap.servers has a default: embedded=%v %v", cfg.Embedded, cfg.BootstrapServers)
	}
	err := cfg.NeedBrokers()
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Key != "bootstrap.servers" {
		t.Fatalf("NeedBrokers: %v", err)
	}
	for _, want := range []string{"configuration: bootstrap.servers: not set", "bootstrap.servers=embedded", "in memory", "bgp-connector broker"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %s", want, err)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("message is not one line: %q", err)
	}
	c, err := New(cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Run(ctx); !errors.As(err, &ce) || ctx.Err() != nil {
		t.Fatalf("Run without brokers: %v (ctx %v)", err, ctx.Err())
	}
	if newConfig(t, "bootstrap.servers=embedded").NeedBrokers() != nil || newConfig(t, "bootstrap.servers=k:9092").NeedBrokers() != nil {
		t.Fatal("NeedBrokers rejects a set bootstrap.servers")
	}
}

// TestServeBrokerOutlivesConnectors runs the broker on its own on a fixed
// port and two connectors one after the other against it: the second one
// finds the first one's committed offsets and processes only new records.
func TestServeBrokerOutlivesConnectors(t *testing.T) {
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logBuf syncBuf
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- ServeBroker(ctx, BrokerOptions{Port: port, Partitions: 2, Topics: []string{"openbmp.bmp_raw"},
			Log: newTextLog(&logBuf), Listening: func(a string) { addrc <- a }})
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatal(err)
	}
	if addr != "127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("broker on %s, want port %d", addr, port)
	}
	if !strings.Contains(logBuf.String(), "lost when the process exits") {
		t.Errorf("the startup log does not say the broker is in memory:\n%s", logBuf.String())
	}
	vals, keys := gobgpFrames(t)
	cfg := newConfig(t, "bootstrap.servers="+addr)
	for round := 1; round <= 2; round++ {
		if err := kafkatest.Produce(ctx, []string{addr}, "openbmp.bmp_raw", vals, keys); err != nil {
			t.Fatal(err)
		}
		c, err := New(cfg, testLog(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.RunUntilDrained(ctx, uint64(len(vals)), time.Minute); err != nil {
			t.Fatal(err)
		}
		if n := c.Stats.Records.Load(); n != uint64(len(vals)) {
			t.Fatalf("connector %d processed %d records, want only the %d new ones", round, n, len(vals))
		}
		counts, _, err := kafkatest.ReadOutputs(ctx, []string{addr}, c.Topics(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if counts[schema.Announcements] != round*24 {
			t.Fatalf("after connector %d: %d announcements, want %d", round, counts[schema.Announcements], round*24)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the broker still listens after its context ended")
	}
}

func newTextLog(w *syncBuf) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
