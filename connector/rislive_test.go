package connector

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/ingest/rislive"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/internal/rislivetest"
	"github.com/bgp-connector/bgp-connector/schema"
)

// TestRISLiveInput runs the connector with input.format=ris-live against a
// fake RIS Live replaying a real RIS updates file as RIS Live messages: the
// output topics hold exactly the elems those messages decode to (the same
// Avro as the other inputs), the filter applies, and the subscription asks
// RIS Live for the filter's collector.
func TestRISLiveInput(t *testing.T) {
	var lines bytes.Buffer
	if _, err := rislivetest.Derive(bytes.NewReader(corpus.Read(t, "libbgpstream/ris.rrc06.updates.1427846400.gz")), &lines,
		rislivetest.DeriveOptions{Host: "rrc06"}); err != nil {
		t.Fatal(err)
	}
	var msgs [][]byte
	for _, l := range bytes.Split(bytes.TrimSpace(lines.Bytes()), []byte("\n")) {
		msgs = append(msgs, l)
	}
	// What the messages decode to, through the filter (announcements).
	want := map[string]int{}
	d := rislive.NewDecoder()
	for i, m := range msgs {
		var b decode.Batch
		if err := d.Decode(&b, m, int64(i)); err != nil {
			t.Fatal(err)
		}
		for _, e := range b.Elems {
			if e.Type == decode.ElemAnnouncement {
				want[e.Prefix.String()+" "+e.PeerIP.String()]++
			}
		}
	}
	srv := rislivetest.NewServer(msgs)
	defer srv.Close()
	cluster, addr, err := StartEmbedded(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cfg := newConfig(t, "input.format=ris-live", "ris-live.url=ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/ws/",
		"filter=collector rrc06 and elemtype announcements")
	c, err := New(cfg, testLog(t), WithBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := 0
	for _, v := range want {
		n += v
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	for c.Stats.Elems[schema.Announcements].Load() < uint64(n) {
		select {
		case err := <-errc:
			t.Fatalf("connector stopped: %v", err)
		case <-ctx.Done():
			t.Fatalf("%d of %d announcements after a minute", c.Stats.Elems[schema.Announcements].Load(), n)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	<-errc
	topics := c.Topics()
	recs, err := kafkatest.ReadAll(context.Background(), []string{addr}, topics[:]...)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := schema.Announcements.Codec()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range recs {
		if r.Topic != topics[schema.Announcements] {
			t.Fatalf("a record on %s: the filter keeps announcements only", r.Topic)
		}
		v, _, err := codec.NativeFromSingle(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		native := v.(map[string]any)
		if native["collector"] != "rrc06" || native["project"] != "ris-live" {
			t.Fatalf("labels %v / %v", native["project"], native["collector"])
		}
		got[unionString(native["prefix"])+" "+unionString(native["peer_ip"])]++
	}
	if len(got) != len(want) {
		t.Fatalf("%d distinct announcements published, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s published %d times, want %d", k, got[k], v)
		}
	}
	var asked string
	for _, sub := range srv.Subscriptions() {
		for _, m := range sub.Subscribe {
			asked += string(m)
		}
	}
	if !strings.Contains(asked, `"host":"rrc06"`) || !strings.Contains(asked, `"require":"announcements"`) {
		t.Errorf("subscriptions %s do not ask for rrc06", asked)
	}
}

// unionString unwraps an Avro union value {"string": s}.
func unionString(v any) string {
	if m, ok := v.(map[string]any); ok {
		for _, u := range m {
			return fmt.Sprint(u)
		}
	}
	return fmt.Sprint(v)
}
