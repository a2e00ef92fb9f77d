package integration

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
)

// dlqInput returns the gobgpd recording with two records damaged: an
// OpenBMP header claiming version 1.6, and a message cut 10 bytes short.
func dlqInput(t *testing.T) (values [][]byte, bad map[int]string) {
	t.Helper()
	vals, _, err := kafkatest.ReadFrames(filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) < 10 {
		t.Fatalf("recording has %d messages", len(vals))
	}
	v5 := append([]byte(nil), vals[5]...)
	v5[5] = 6 // minor version 6
	vals[5] = v5
	vals[8] = append([]byte(nil), vals[8][:len(vals[8])-10]...)
	return vals, map[int]string{5: "version", 8: "truncated"}
}

// runInProcess runs the connector until n input records are drained (or it
// fails).
func runInProcess(t *testing.T, addr string, n uint64, sets ...string) (*connector.Connector, error) {
	t.Helper()
	s, err := connector.SetSettings(sets)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := connector.NewConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connector.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), connector.WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return c, c.RunUntilDrained(ctx, n, 20*time.Second)
}

// TestDeadLetters checks that with errors.tolerance=all each damaged record
// lands on the dead letter topic, unchanged, with Kafka Connect's context
// headers, and that the records after it are processed.
func TestDeadLetters(t *testing.T) {
	values, bad := dlqInput(t)
	const topic = "openbmp.bmp_raw"
	cluster, addr, err := connector.StartEmbedded(0, 1, topic)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	keys := make([][]byte, len(values))
	for i := range keys {
		keys[i] = []byte{'k', byte(i)}
	}
	pos := produceAt(t, addr, topic, values, keys)
	s, _ := connector.SetSettings([]string{"name=dlq-test", "errors.tolerance=all", "errors.deadletterqueue.topic.name=bgp.dlq"})
	cfg, _ := connector.NewConfig(s)
	c, err := connector.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), connector.WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunUntilDrained(context.Background(), uint64(len(values)), time.Minute); err != nil {
		t.Fatal(err)
	}
	dl, err := kafkatest.ReadAll(context.Background(), []string{addr}, "bgp.dlq")
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(dl), len(bad))
	}
	j := 0
	for i := range values {
		what, ok := bad[i]
		if !ok {
			continue
		}
		r := dl[j]
		j++
		if !bytes.Equal(r.Value, values[i]) || !bytes.Equal(r.Key, keys[i]) {
			t.Errorf("dead letter %d: key/value differ from the input record", i)
		}
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		for k, want := range map[string]string{
			emit.HeaderErrTopic:     topic,
			emit.HeaderErrPartition: "0",
			emit.HeaderErrOffset:    itoa(pos[i].Offset),
			emit.HeaderErrConnector: "dlq-test",
			emit.HeaderErrTask:      "0",
			emit.HeaderErrStage:     "VALUE_CONVERTER",
			emit.HeaderErrClass:     "openbmp.Decoder",
			emit.HeaderErrExClass:   "*openbmp.DecodeError",
		} {
			if h[k] != want {
				t.Errorf("dead letter of record %d (%s): header %s = %q, want %q", i, what, k, h[k], want)
			}
		}
		if msg := h[emit.HeaderErrExMessage]; !strings.Contains(msg, what) && !strings.Contains(msg, "version") {
			t.Errorf("dead letter of record %d: message %q does not name the cause %q", i, msg, what)
		}
		if h[emit.HeaderErrExStacktrace] == "" {
			t.Errorf("dead letter of record %d: no cause chain", i)
		}
	}
	// The records after each damaged one were processed: the peer-down at
	// the end of the recording is there, and every good record's elems.
	got := outputIDs(t, addr, "bgp.elems")
	var after bool
	for id := range got {
		var p connPos
		fmtSscan(id, &p)
		if p.Offset > pos[8].Offset {
			after = true
		}
	}
	if !after {
		t.Error("no output from records after the damaged ones")
	}
	if n := c.Stats.DeadLetters.Load(); n != 2 {
		t.Errorf("dead letter counter %d, want 2", n)
	}
}

// TestToleranceNone checks that without tolerance the task stops at the
// first damaged record with an error naming its position, and commits
// nothing past it.
func TestToleranceNone(t *testing.T) {
	values, _ := dlqInput(t)
	const topic = "openbmp.bmp_raw"
	cluster, addr, err := connector.StartEmbedded(0, 1, topic)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	pos := produceAt(t, addr, topic, values, nil)
	c, err := runInProcess(t, addr, uint64(len(values)), "group.id=strict", "offset.flush.interval.ms=10")
	if err == nil {
		t.Fatal("the connector went on past an undecodable record")
	}
	if st := c.Status(); st.Connector.State != "FAILED" || st.Tasks[0].State != "FAILED" || !strings.Contains(st.Tasks[0].Trace, "offset "+itoa(pos[5].Offset)) {
		t.Errorf("status after the failure: %+v", st)
	}
	want := "openbmp.bmp_raw/0 offset " + itoa(pos[5].Offset) + ": openbmp:"
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name %q", err, want)
	}
	// Everything before it completed and is committed on the way out;
	// nothing at or past it.
	if c := committed(t, addr, "strict", topic)[0]; c != pos[5].Offset {
		t.Fatalf("committed %d, want %d (the damaged record's offset)", c, pos[5].Offset)
	}
	// Its outputs: nothing from the damaged record or after it.
	for id := range outputIDs(t, addr, "bgp.elems") {
		var p connPos
		fmtSscan(id, &p)
		if p.Offset >= pos[5].Offset {
			t.Errorf("output %s from at or after the damaged record", id)
		}
	}
}

// TestDeadLettersWithoutContext checks that
// errors.deadletterqueue.context.headers.enable=false keeps only the input
// record's own headers.
func TestDeadLettersWithoutContext(t *testing.T) {
	values, bad := dlqInput(t)
	cluster, addr, err := connector.StartEmbedded(0, 1, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		r := &kgo.Record{Topic: "openbmp.bmp_raw", Value: v, Headers: []kgo.RecordHeader{{Key: "collector", Value: []byte("c1")}}}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	if _, err := runInProcess(t, addr, uint64(len(values)), "errors.tolerance=all", "errors.deadletterqueue.topic.name=dlq", "errors.deadletterqueue.context.headers.enable=false"); err != nil {
		t.Fatal(err)
	}
	dl, err := kafkatest.ReadAll(context.Background(), []string{addr}, "dlq")
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(dl), len(bad))
	}
	for _, r := range dl {
		if len(r.Headers) != 1 || r.Headers[0].Key != "collector" {
			t.Errorf("dead letter headers %v, want only the input's", r.Headers)
		}
	}
}

// TestToleranceAllWithoutDLQ counts and skips damaged records.
func TestToleranceAllWithoutDLQ(t *testing.T) {
	values, bad := dlqInput(t)
	cluster, addr, err := connector.StartEmbedded(0, 1, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	produceAt(t, addr, "openbmp.bmp_raw", values, nil)
	s, _ := connector.SetSettings([]string{"errors.tolerance=all"})
	cfg, _ := connector.NewConfig(s)
	c, _ := connector.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), connector.WithBrokers(addr))
	if err := c.RunUntilDrained(context.Background(), uint64(len(values)), time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := c.Stats.Skipped.Load(); n != uint64(len(bad)) {
		t.Fatalf("skipped %d, want %d", n, len(bad))
	}
}
