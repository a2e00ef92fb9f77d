package integration

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tckafka "github.com/testcontainers/testcontainers-go/modules/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/emit"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
	"github.com/bgp-connector/bgp-connector/schema"
)

// TestRealKafka runs the connector against a real Apache Kafka broker in a
// container (testcontainers-go): the gobgpd recording in, every output
// counted against a direct decode, every input offset committed. It skips,
// saying why, where no Docker daemon is reachable (as on the development
// machines of this project).
func TestRealKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("container test skipped in -short mode")
	}
	testcontainers.SkipIfProviderIsNotHealthy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	kc, err := tckafka.Run(ctx, "confluentinc/confluent-local:7.5.0", tckafka.WithClusterID("bgp-connector-test"))
	if err != nil {
		t.Fatalf("starting Kafka: %v", err)
	}
	t.Cleanup(func() { testcontainers.TerminateContainer(kc) })
	brokers, err := kc.Brokers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const topic = "openbmp.bmp_raw"
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	vals, keys, err := kafkatest.ReadFrames(filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := kafkatest.Produce(ctx, brokers, topic, vals, keys); err != nil {
		t.Fatal(err)
	}
	s, _ := connector.SetSettings([]string{"bootstrap.servers=" + strings.Join(brokers, ","), "topic.creation.default.replication.factor=1", "group.id=tc"})
	cfg, err := connector.NewConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connector.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunUntilDrained(ctx, uint64(len(vals)), 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	want := map[schema.Type]int{}
	d := openbmp.NewDecoder()
	var res openbmp.Result
	for _, v := range vals {
		if d.Decode(v, &res) == nil {
			for _, e := range res.Elems {
				want[emit.TypeOf(e.Type)]++
			}
		}
	}
	counts, _, err := kafkatest.ReadOutputs(ctx, brokers, c.Topics(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ty := range schema.Types() {
		if counts[ty] != want[ty] {
			t.Errorf("%s: %d records on real Kafka, direct decode %d", ty, counts[ty], want[ty])
		}
	}
	ends := endOffsets(t, brokers[0], topic)[topic]
	got := committed(t, brokers[0], "tc", topic)
	for p, e := range ends {
		if got[p] != e {
			t.Errorf("partition %d: committed %d, end %d", p, got[p], e)
		}
	}
}
