package connector

import (
	"encoding/json"

	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMissingInputTopic checks that an input topic that does not exist is
// reported by name and waited for (BGPStream blocks silently), and that its
// records are consumed once it exists.
func TestMissingInputTopic(t *testing.T) {
	cluster, addr, err := StartEmbedded(0, 1) // no topic seeded
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	var logBuf syncBuf
	log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := newConfig(t, "topics=late.topic", "metrics.listen=127.0.0.1:0")
	c, err := New(cfg, log, WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	waitFor(t, "the missing topic warning", 20*time.Second, func() bool {
		return strings.Contains(logBuf.String(), "input topic does not exist") && strings.Contains(logBuf.String(), "late.topic")
	})
	vals, keys, err := kafkatest.ReadFrames("../internal/demodata/gobgp-bmp.obmp")
	if err != nil {
		t.Fatal(err)
	}
	adm, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, 2, 1, nil, "late.topic"); err != nil {
		t.Fatal(err)
	}
	adm.Close()
	if err := kafkatest.Produce(ctx, []string{addr}, "late.topic", vals, keys); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "records of the late topic", 60*time.Second, func() bool { return c.Drained(uint64(len(vals))) })

	// The metrics endpoint counts them.
	resp, err := http.Get("http://" + c.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "bgp_connector_input_records_total " + itoa(len(vals)) + "\n"
	if !strings.Contains(string(body), want) {
		t.Errorf("metrics lack %q:\n%s", want, body)
	}
	// (client_golang writes labels sorted by name.)
	if !strings.Contains(string(body), `bgp_connector_output_records_total{topic="bgp.elems.announcements",type="announcements"}`) {
		t.Errorf("metrics lack per-topic output counters:\n%s", body)
	}
	// The Kafka Connect status document.
	resp, err = http.Get("http://" + c.MetricsAddr() + "/connectors/bgp-connector/status")
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.Name != "bgp-connector" || st.Type != "source" || st.Connector.State != "RUNNING" ||
		len(st.Tasks) != 1 || st.Tasks[0].State != "RUNNING" || st.Tasks[0].ID != 0 {
		t.Errorf("status %+v, %v", st, err)
	}
	resp, err = http.Get("http://" + c.MetricsAddr() + "/connectors/other/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status of an unknown connector: HTTP %d", resp.StatusCode)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// TestRegexWithoutMatch checks that a topics.regex matching no topic is
// reported, not a silent wait, and that a matching topic created later is
// consumed.
func TestRegexWithoutMatch(t *testing.T) {
	cluster, addr, err := StartEmbedded(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	var logBuf syncBuf
	log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := New(newConfig(t, `topics.regex=routeviews\..*\.bmp_raw`), log, WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	waitFor(t, "the no-match warning", 20*time.Second, func() bool {
		return strings.Contains(logBuf.String(), "no topic matches topics.regex")
	})
	vals, keys, err := kafkatest.ReadFrames("../internal/demodata/gobgp-bmp.obmp")
	if err != nil {
		t.Fatal(err)
	}
	adm, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, 1, 1, nil, "routeviews.amsix.bmp_raw"); err != nil {
		t.Fatal(err)
	}
	adm.Close()
	if err := kafkatest.Produce(ctx, []string{addr}, "routeviews.amsix.bmp_raw", vals, keys); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "records of the matching topic", 60*time.Second, func() bool { return c.Drained(uint64(len(vals))) })
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
