package emit

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/schema"
)

// counter is a Completion that records every produce result.
type counter struct {
	mu   sync.Mutex
	n    int32
	errs []error
	recs []*kgo.Record
}

func (c *counter) Add(n int32) { c.mu.Lock(); c.n += n; c.mu.Unlock() }

func (c *counter) Promise(r *kgo.Record, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	c.recs = append(c.recs, r)
	if err != nil {
		c.errs = append(c.errs, err)
	}
}

func testWriter(t *testing.T, key KeyField) (*Writer, *kgo.Client) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.AllowAutoTopicCreation()}, ProducerOpts("lz4", time.Millisecond)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	f, err := SingleObject()
	if err != nil {
		t.Fatal(err)
	}
	var topics [schema.NumTypes]string
	for _, ty := range schema.Types() {
		topics[ty] = "out." + ty.Suffix()
	}
	return NewWriter(cl, Options{Topics: topics, Framing: f, Key: key, DLQTopic: "dlq", DLQContextHeaders: true, Connector: "c"}), cl
}

// TestWriterKeysAndAcks produces an MRT-style record (no router address)
// and checks keys, topics, provenance headers and that every output was
// acknowledged through the Completion.
func TestWriterKeysAndAcks(t *testing.T) {
	rec := &decode.Record{Collector: "rrc00", Time: 1}
	peer := netip.MustParseAddr("192.0.2.1")
	els := []decode.Elem{
		{Type: decode.ElemAnnouncement, PeerIP: peer, Prefix: netip.MustParsePrefix("198.51.100.0/24"), Attrs: &decode.Attrs{}},
		{Type: decode.ElemPeerState, PeerIP: peer, NewState: decode.StateIdle},
	}
	st := decode.Stat{PeerIP: peer}
	for _, tc := range []struct {
		key              KeyField
		ann, state, stat string
	}{
		{KeyPrefix, "198.51.100.0/24", "192.0.2.1", "192.0.2.1"},
		{KeyPeer, "192.0.2.1", "192.0.2.1", "192.0.2.1"},
		{KeyRouter, "rrc00", "rrc00", "rrc00"},
		{KeyNone, "", "", ""},
	} {
		w, cl := testWriter(t, tc.key)
		c := &counter{}
		var in Input
		w.Begin(&in, Source{Topic: "in", Partition: 3, Offset: 42}, c)
		for i := range els {
			w.Elem(context.Background(), &in, rec, &els[i])
		}
		w.Stat(context.Background(), &in, rec, &st)
		if err := cl.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		if c.n != 0 || len(c.errs) != 0 || len(c.recs) != 3 {
			t.Fatalf("key %d: %d outstanding, errors %v, %d acked", tc.key, c.n, c.errs, len(c.recs))
		}
		got := map[string]string{}
		for _, r := range c.recs {
			got[r.Topic] = string(r.Key)
			h := map[string]string{}
			for _, x := range r.Headers {
				h[x.Key] = string(x.Value)
			}
			if h[HeaderSourceTopic] != "in" || h[HeaderSourcePartition] != "3" || h[HeaderSourceOffset] != "42" {
				t.Errorf("%s: provenance headers %v", r.Topic, h)
			}
		}
		c.mu.Unlock()
		want := map[string]string{"out.announcements": tc.ann, "out.peerstates": tc.state, "out.stats": tc.stat}
		for topic, k := range want {
			if got[topic] != k {
				t.Errorf("key %d: %s key %q, want %q", tc.key, topic, got[topic], k)
			}
		}
		if w.Produced[schema.Announcements] != 1 || w.Produced[schema.PeerStates] != 1 || w.Produced[schema.Stats] != 1 {
			t.Errorf("produced counters %v", w.Produced)
		}
	}
}

func TestWriterDeadLetterHeaders(t *testing.T) {
	w, cl := testWriter(t, KeyPrefix)
	c := &counter{}
	var in Input
	orig := &kgo.Record{Topic: "in", Partition: 1, Offset: 9, Key: []byte("k"), Value: []byte("v"), Headers: []kgo.RecordHeader{{Key: "a", Value: []byte("b")}}}
	w.Begin(&in, Source{Topic: "in", Partition: 1, Offset: 9}, c)
	cause := &decode.Error{Offset: 4, Field: "AS_PATH", Err: decode.ErrTruncated}
	if !w.DeadLetter(context.Background(), &in, orig, 2, "VALUE_CONVERTER", "openbmp.Decoder", errors.Join(cause)) {
		t.Fatal("no dead letter with a DLQ topic configured")
	}
	cl.Flush(context.Background())
	if len(c.recs) != 1 {
		t.Fatalf("%d records acked", len(c.recs))
	}
	r := c.recs[0]
	h := map[string]string{}
	for _, x := range r.Headers {
		h[x.Key] = string(x.Value)
	}
	for k, v := range map[string]string{"a": "b", HeaderErrTopic: "in", HeaderErrPartition: "1", HeaderErrOffset: "9",
		HeaderErrTask: "2", HeaderErrConnector: "c", HeaderErrExMessage: "AS_PATH at offset 4: truncated (none)"} {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
	if r.Topic != "dlq" || string(r.Key) != "k" || string(r.Value) != "v" {
		t.Errorf("dead letter %s %q %q", r.Topic, r.Key, r.Value)
	}
}
