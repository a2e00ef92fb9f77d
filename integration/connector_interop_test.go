package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// TestInteropKcatAndRegistry runs the connector with the Confluent wire
// format against franz-go's srfake (an httptest fake of the Schema Registry
// REST API: no real registry runs on these machines), then reads an output
// topic with Debian's kcat from the embedded broker, and resolves the schema
// id of each record through the fake registry's REST API with plain HTTP,
// decoding the datum with goavro from the schema text the registry returns.
func TestInteropKcatAndRegistry(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (apt-get install -y kcat)")
	}
	fakeRegistry := srfake.New()
	defer fakeRegistry.Close()

	vals, keys, err := kafkatest.ReadFrames(filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp"))
	if err != nil {
		t.Fatal(err)
	}
	const topic = "openbmp.bmp_raw"
	cluster, addr, err := connector.StartEmbedded(0, 2, topic)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	produceAt(t, addr, topic, vals, keys)
	s, _ := connector.SetSettings([]string{"value.format=avro-confluent", "schema.registry.url=" + fakeRegistry.URL()})
	cfg, err := connector.NewConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connector.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), connector.WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunUntilDrained(context.Background(), uint64(len(vals)), time.Minute); err != nil {
		t.Fatal(err)
	}
	out := c.Topics()[schema.Announcements]
	ours, err := kafkatest.ReadAll(context.Background(), []string{addr}, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(ours) == 0 {
		t.Fatal("no announcements produced")
	}

	// kcat: one line per record, partition, offset, key and the value in hex
	// is not a kcat format, so read values raw, length-delimited by %S.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, "-b", addr, "-C", "-t", out, "-o", "beginning", "-e", "-q",
		"-f", "%p %o %S %k %h\n%s\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, stderr.String())
	}
	type kcatRec struct {
		part, off int64
		key       string
		headers   string
		value     []byte
	}
	var recs []kcatRec
	for len(raw) > 0 {
		nl := bytes.IndexByte(raw, '\n')
		if nl < 0 {
			t.Fatalf("kcat output ends mid-record: %q", raw)
		}
		var r kcatRec
		var size int
		f := strings.SplitN(string(raw[:nl]), " ", 5)
		if len(f) != 5 {
			t.Fatalf("kcat line %q", raw[:nl])
		}
		fmt.Sscan(f[0]+" "+f[1]+" "+f[2], &r.part, &r.off, &size)
		r.key, r.headers = f[3], f[4]
		raw = raw[nl+1:]
		r.value = raw[:size]
		raw = raw[size+1:]
		recs = append(recs, r)
	}
	if len(recs) != len(ours) {
		t.Fatalf("kcat read %d records from %s, franz-go %d", len(recs), out, len(ours))
	}
	codecs := map[int]*goavro.Codec{}
	for _, r := range recs {
		if !strings.Contains(r.headers, "bgp.source.topic="+topic) {
			t.Errorf("%d@%d: kcat shows headers %q without the source topic", r.part, r.off, r.headers)
		}
		if len(r.value) < 5 || r.value[0] != 0 {
			t.Fatalf("%d@%d: not Confluent framed: % x", r.part, r.off, r.value[:min(8, len(r.value))])
		}
		id := int(binary.BigEndian.Uint32(r.value[1:5]))
		codec := codecs[id]
		if codec == nil {
			resp, err := http.Get(fmt.Sprintf("%s/schemas/ids/%d", fakeRegistry.URL(), id))
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Schema string `json:"schema"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("schema id %d does not resolve: HTTP %d %v", id, resp.StatusCode, err)
			}
			if codec, err = goavro.NewCodec(body.Schema); err != nil {
				t.Fatal(err)
			}
			codecs[id] = codec
		}
		native, rest, err := codec.NativeFromBinary(r.value[5:])
		if err != nil || len(rest) != 0 {
			t.Fatalf("%d@%d: datum does not decode with schema %d: %v (%d bytes left)", r.part, r.off, id, err, len(rest))
		}
		if p := native.(map[string]any)["prefix"].(string); p != r.key {
			t.Errorf("%d@%d: key %q, prefix %q (key.field=prefix)", r.part, r.off, r.key, p)
		}
	}
	if len(codecs) != 1 {
		t.Errorf("%d schema ids on one topic, want 1", len(codecs))
	}
	// The subject follows the topic name strategy.
	resp, err := http.Get(fakeRegistry.URL() + "/subjects/" + out + "-value/versions/latest")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("subject %s-value not registered: %v %v", out, resp.StatusCode, err)
	}
	resp.Body.Close()
}
