package integration

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/ingest/bmptcp"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// TestCollectKcatDump: what the collector publishes, dumped with real kcat
// as -f '%R%s' (each value after its 4-byte big-endian length), reads back
// with openbmp.StreamReader's detection as length-prefixed OpenBMP frames:
// the same values, each router's in its order.
func TestCollectKcatDump(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skipf("kcat not installed (apt-get install -y kcat): %v", err)
	}
	_, streams := replayStreams(t, 3)
	cluster, addr, err := connector.StartEmbedded(0, 3, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	col, _ := startCollector(t, collectConfig(t, addr))
	total := 0
	for i, s := range streams {
		total += len(bmpMessages(t, s))
		c := dialBMP(t, replayRouter(i), col.Addr())
		if _, err := c.Write(s); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	deadline := time.Now().Add(30 * time.Second)
	for col.Stats.Produced.Load() < uint64(total) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d produced", col.Stats.Produced.Load(), total)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, recs := topicFrames(t, []string{addr}, col.Topic())

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, kcat, "-C", "-b", addr, "-t", col.Topic(), "-f", "%R%s", "-e", "-q")
	cmd.Stderr = &stderr
	dump, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat: %v: %s", err, stderr.String())
	}

	sr := openbmp.NewStreamReader(bytes.NewReader(dump), openbmp.KindUnknown)
	byKey := map[string][][]byte{}
	n := 0
	d := openbmp.NewDecoder()
	var res openbmp.Result
	for {
		f, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("kcat dump frame %d: %v", n, err)
		}
		h, _, err := openbmp.DecodeHeader(f)
		if err != nil {
			t.Fatalf("kcat dump frame %d: %v", n, err)
		}
		if err := d.Decode(f, &res); err != nil {
			t.Fatalf("kcat dump frame %d: %v", n, err)
		}
		if res.Record.Collector != collectAdminID {
			t.Fatalf("frame %d decodes with collector %q", n, res.Record.Collector)
		}
		key := hex.EncodeToString(h.RouterHash[:])
		byKey[key] = append(byKey[key], bytes.Clone(f))
		n++
	}
	if sr.Kind() != openbmp.KindLengthPrefixed || n != len(recs) || n != total || sr.Skipped() != 0 {
		t.Fatalf("kcat dump: kind %s, %d frames, %d skipped bytes; the topic holds %d records", sr.Kind(), n, sr.Skipped(), len(recs))
	}
	// Each router's values in the dump are its records, in order.
	at := map[string]int{}
	for _, r := range recs {
		k := string(r.Key)
		i := at[k]
		if i >= len(byKey[k]) || !bytes.Equal(byKey[k][i], r.Value) {
			t.Fatalf("router key %s, value %d: the kcat dump differs from %s/%d@%d", k, i, r.Topic, r.Partition, r.Offset)
		}
		at[k]++
	}
	for i := range streams {
		h := bmptcp.RouterHash(replayRouter(i))
		if k := hex.EncodeToString(h[:]); at[k] != len(byKey[k]) || at[k] == 0 {
			t.Errorf("router %s: %d values matched of %d dumped", replayRouter(i), at[k], len(byKey[k]))
		}
	}
	t.Logf("kcat -f '%%R%%s': %d bytes, %d length-prefixed OpenBMP frames", len(dump), n)
}
