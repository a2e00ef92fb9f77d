package connector

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
	"github.com/bgp-connector/bgp-connector/schema"
)

// scrape fetches /metrics and parses it.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// value returns the value of the series of family name whose labels
// include every pair of labels, and whether it exists.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.Metric {
		have := map[string]string{}
		for _, lp := range m.Label {
			have[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: HTTP %d, body is not JSON (%v): %s", url, resp.StatusCode, err, body)
	}
	return resp.StatusCode
}

// TestMetricsAndReadiness runs the connector with metrics on, three tasks
// for two partitions (one task is a standby member), real gobgpd frames and
// one undecodable record, and checks the scrape: our labelled counters,
// consumer lag per held partition going to 0 once committed, franz-go's
// kprom series, produce latency, runtime metrics; and /readyz.
func TestMetricsAndReadiness(t *testing.T) {
	vals, keys := gobgpFrames(t)
	bad := []byte("\x03\x00\x00\x00 not an OpenBMP message")
	var res openbmp.Result
	badErr := openbmp.NewDecoder().Decode(bad, &res)
	if badErr == nil {
		t.Fatal("the bad record decodes")
	}
	wantKind := "other"
	for i, s := range []error{decode.ErrTruncated, decode.ErrMalformed, decode.ErrUnsupported} {
		if errors.Is(badErr, s) {
			wantKind = errorKinds[i]
		}
	}
	cluster, addr, err := StartEmbedded(0, 2, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := New(newConfig(t, "metrics.listen=127.0.0.1:0", "tasks.max=3", "errors.tolerance=all",
		"errors.deadletterqueue.topic.name=bgp.dlq", "offset.flush.interval.ms=50"), testLog(t), WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	waitFor(t, "the metrics endpoint", 20*time.Second, func() bool { return c.MetricsAddr() != "" })
	base := "http://" + c.MetricsAddr()

	// Ready once every task has its assignment: two hold a partition, the
	// third is a standby member with none.
	var rd Readiness
	waitFor(t, "readiness", 30*time.Second, func() bool { return getJSON(t, base+"/readyz", &rd) == http.StatusOK })
	if !rd.Ready || rd.Kafka != "ok" || len(rd.Tasks) != 3 {
		t.Fatalf("readiness %+v", rd)
	}
	held := 0
	for _, tr := range rd.Tasks {
		if !tr.Joined || tr.State != "RUNNING" {
			t.Errorf("ready with task %+v", tr)
		}
		held += tr.Partitions
	}
	if held != 2 {
		t.Errorf("tasks hold %d partitions, want 2: %+v", held, rd.Tasks)
	}

	if err := kafkatest.Produce(ctx, []string{addr}, "openbmp.bmp_raw", append(vals, bad), append(keys, keys[0])); err != nil {
		t.Fatal(err)
	}
	n := uint64(len(vals) + 1)
	waitFor(t, "the input drained", 30*time.Second, func() bool { return c.Drained(n) })
	var mfs map[string]*dto.MetricFamily
	waitFor(t, "zero lag once committed", 20*time.Second, func() bool {
		mfs = scrape(t, c.MetricsAddr())
		l0, ok0 := value(mfs, "bgp_connector_consumer_lag", "topic", "openbmp.bmp_raw", "partition", "0")
		l1, ok1 := value(mfs, "bgp_connector_consumer_lag", "topic", "openbmp.bmp_raw", "partition", "1")
		return ok0 && ok1 && l0 == 0 && l1 == 0
	})
	want := kafkatest.DecodedOutputs(vals)
	total := 0
	for _, ty := range schema.Types() {
		got, ok := value(mfs, "bgp_connector_output_records_total", "type", ty.Suffix(), "topic", c.Topics()[ty])
		if !ok || int(got) != want[ty] {
			t.Errorf("output_records_total{type=%s}: %v (present %v), want %d", ty.Suffix(), got, ok, want[ty])
		}
		total += want[ty]
	}
	for _, m := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bgp_connector_input_records_total", nil, float64(n)},
		{"bgp_connector_dead_letters_total", []string{"topic", "bgp.dlq"}, 1},
		{"bgp_connector_decode_errors_total", []string{"kind", wantKind}, 1},
		{"bgp_connector_tasks", []string{"state", "RUNNING"}, 3},
		{"bgp_connector_produce_latency_seconds", nil, float64(total + 1)}, // + the dead letter
		{"bgp_connector_produce_errors_total", nil, -1},                    // absent: no failure
	} {
		got, ok := value(mfs, m.name, m.labels...)
		if m.want < 0 {
			if ok {
				t.Errorf("%s present: %v", m.name, got)
			}
			continue
		}
		if !ok || got != m.want {
			t.Errorf("%s%v = %v (present %v), want %v", m.name, m.labels, got, ok, m.want)
		}
	}
	for _, name := range []string{"bgp_connector_commits_total", "bgp_connector_kafka_connects_total",
		"bgp_connector_kafka_produce_records_total", "bgp_connector_kafka_fetch_records_total", "go_goroutines", "process_resident_memory_bytes"} {
		if v, ok := value(mfs, name); !ok || v <= 0 {
			t.Errorf("%s = %v (present %v), want > 0", name, v, ok)
		}
	}
	if _, ok := value(mfs, "bgp_connector_kafka_buffered_produce_records_total", "client", "producer"); !ok {
		t.Error("no buffered produce records series for the producer")
	}
	if _, ok := value(mfs, "bgp_connector_kafka_buffered_fetch_records_total", "client", "task-2"); !ok {
		t.Error("no kprom series for task-2")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestEndpointsAreReadOnly checks that nothing on the metrics address
// accepts a write, that an unknown connector's status is a JSON 404 (even
// for a name with quotes), and the states before the tasks start.
func TestEndpointsAreReadOnly(t *testing.T) {
	cluster, addr, err := StartEmbedded(0, 1, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	c, err := New(newConfig(t, "metrics.listen=127.0.0.1:0"), testLog(t), WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	if rd := c.Readiness(context.Background()); rd.Ready || !strings.Contains(rd.Reason, "starting") {
		t.Errorf("readiness before Run: %+v", rd)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-errc
	}()
	<-c.Ready()
	base := "http://" + c.MetricsAddr()
	for _, path := range []string{"/metrics", "/healthz", "/readyz", "/connectors/bgp-connector/status"} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			req, _ := http.NewRequest(method, base+path, strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: HTTP %d, want 405", method, path, resp.StatusCode)
			}
		}
	}
	for _, name := range []string{"other", `a"b\c`} {
		var e struct {
			ErrorCode int    `json:"error_code"`
			Message   string `json:"message"`
		}
		code := getJSON(t, base+"/connectors/"+strings.NewReplacer(`"`, "%22", `\`, "%5C").Replace(name)+"/status", &e)
		if code != http.StatusNotFound || e.ErrorCode != 404 || e.Message != "Connector "+name+" not found" {
			t.Errorf("status of %q: HTTP %d %+v", name, code, e)
		}
	}
}

// BenchmarkProduceHook measures what metrics add to each output record: the
// produce latency observation franz-go calls once per record.
func BenchmarkProduceHook(b *testing.B) {
	c, err := New(newConfig(b, "metrics.listen=127.0.0.1:0"), testLog(b))
	if err != nil {
		b.Fatal(err)
	}
	h := produceHook{c.obs}
	r := &kgo.Record{Topic: "bgp.elems.announcements", Timestamp: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		h.OnProduceRecordUnbuffered(r, nil)
	}
}
