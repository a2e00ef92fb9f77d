package bgpstream

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/bgp-connector/bgp-connector/emit/text"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
)

// lines returns the stream's elems as bgpreader lines.
func lines(t *testing.T, s *Stream) []string {
	t.Helper()
	var out []string
	f := text.NewFormatter(text.Options{})
	for b, err := range s.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		j := 0
		for ri := range b.Records {
			from, to := b.RecordElems(int32(ri), j)
			j = to
			buf, _ := f.AppendRecord(nil, &b.Records[ri], b.Elems[from:to])
			for _, l := range strings.Split(strings.TrimSuffix(string(buf), "\n"), "\n") {
				if l != "" {
					out = append(out, l)
				}
			}
		}
	}
	return out
}

// TestKafkaDataInterface reads OpenBMP records from the embedded broker
// with -d kafka: the same elems as reading the file they came from, labelled
// with the project and the collector a RouteViews topic name carries, and
// the read stops at the end with stop-at-end.
func TestKafkaDataInterface(t *testing.T) {
	const file = "../internal/demodata/gobgp-bmp.obmp"
	vals, keys, err := kafkatest.ReadFrames(file)
	if err != nil {
		t.Fatal(err)
	}
	topic := "routeviews.amsix.ams.61955.bmp_raw"
	cl, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topic, "other.bmp_raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	addr := cl.ListenAddrs()[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// One router per partition keeps each router's messages in order.
	if err := kafkatest.Produce(ctx, []string{addr}, topic, vals, keys); err != nil {
		t.Fatal(err)
	}
	fs, err := New(Files(file), Labels("routeviews-stream", ""))
	if err != nil {
		t.Fatal(err)
	}
	// The file's records carry the OpenBMP admin id as collector; from a
	// RouteViews topic they carry the topic's collector.
	var want []string
	for _, l := range lines(t, fs) {
		f := strings.Split(l, "|")
		f[4] = "amsix.ams"
		want = append(want, strings.Join(f, "|"))
	}
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"topic", []Option{DataInterface("kafka"), DataInterfaceOption("kafka", "brokers", addr),
			DataInterfaceOption("kafka", "topic", topic), DataInterfaceOption("kafka", "project", "routeviews-stream")}},
		{"preset", []Option{DataInterface("kafka"), Projects("routeviews-stream"), DataInterfaceOption("kafka", "brokers", addr)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append(tc.opts, DataInterfaceOption("kafka", "offset", "earliest"), DataInterfaceOption("kafka", "stop-at-end", "true"))
			s, err := New(opts...)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan []string)
			go func() { done <- lines(t, s) }()
			var got []string
			select {
			case got = <-done:
			case <-ctx.Done():
				t.Fatal("stop-at-end did not stop")
			}
			// Kafka keeps order per partition: compare as multisets.
			a, b := slices.Clone(got), slices.Clone(want)
			slices.Sort(a)
			slices.Sort(b)
			if len(want) < 10 || !slices.Equal(a, b) {
				t.Fatalf("%d lines from Kafka, %d from the file\nfirst: %s", len(got), len(want), fmt.Sprint(got[:min(3, len(got))]))
			}
		})
	}
}
