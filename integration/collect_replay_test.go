package integration

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/ingest/bmptcp"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// replayStreams returns n real router BMP streams (pmacct's captures,
// re-assembled) with their paths.
func replayStreams(t testing.TB, n int) (paths []string, streams [][]byte) {
	t.Helper()
	paths, _ = filepath.Glob(filepath.Join(corpus.Need(t), "pmacct", "streams", "*.bmp"))
	sort.Strings(paths)
	if len(paths) < n {
		t.Skipf("%d pmacct streams, want %d", len(paths), n)
	}
	paths = paths[:n]
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, b)
	}
	return paths, streams
}

// replayRouter returns the loopback address of simulated router i.
func replayRouter(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 1, byte(101 + i)}) }

// TestCollectReplay20Routers replays 20 real router streams at once over
// TCP into the collector: every BMP message arrives exactly once, in order
// per router, all of a router's messages on one partition under its key,
// byte for byte, in a header that decodes to the collector's and the
// router's fields.
func TestCollectReplay20Routers(t *testing.T) {
	const n = 20
	paths, streams := replayStreams(t, n)
	cluster, addr, err := connector.StartEmbedded(0, 6, "openbmp.bmp_raw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close) // after the collector's stop
	col, _ := startCollector(t, collectConfig(t, addr, "collect.router.group=replay"))

	want := make([][][]byte, n)
	total := 0
	for i := range streams {
		want[i] = bmpMessages(t, streams[i])
		total += len(want[i])
	}
	from := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range streams {
		c := dialBMP(t, replayRouter(i), col.Addr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			// Pieces of varying size, so messages straddle reads.
			for p := streams[i]; len(p) > 0; {
				k := min(len(p), 512+(len(p)*7)%4096)
				if _, err := c.Write(p[:k]); err != nil {
					errs <- fmt.Errorf("router %d: %v", i, err)
					return
				}
				p = p[k:]
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitProgress(t, "messages produced", int64(total), func() int64 { return int64(col.Stats.Produced.Load()) })
	to := time.Now()

	_, recs := topicFrames(t, []string{addr}, col.Topic())
	if len(recs) != total {
		t.Fatalf("%d records on %s, want %d", len(recs), col.Topic(), total)
	}
	byKey := map[string][]int{}
	for i, r := range recs {
		byKey[string(r.Key)] = append(byKey[string(r.Key)], i)
	}
	partitions := map[int32]int{}
	for i := range streams {
		a := replayRouter(i)
		h := bmptcp.RouterHash(a)
		key := hex.EncodeToString(h[:])
		idx := byKey[key]
		if len(idx) != len(want[i]) {
			t.Errorf("%s (%s): %d records under key %s, want %d", a, filepath.Base(paths[i]), len(idx), key, len(want[i]))
			continue
		}
		part := recs[idx[0]].Partition
		partitions[part]++
		var lastOff, lastAt int64 = -1, 0
		for j, ri := range idx {
			r := recs[ri]
			hd, hl, err := openbmp.DecodeHeader(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			if r.Partition != part || r.Offset <= lastOff {
				t.Fatalf("%s message %d at %d@%d: not on the router's partition %d after offset %d", a, j, r.Partition, r.Offset, part, lastOff)
			}
			if !bytes.Equal(r.Value[hl:], want[i][j]) || hd.BMPLen != len(want[i][j]) {
				t.Fatalf("%s message %d: BMP payload differs from the input", a, j)
			}
			if hd.AdminID != collectAdminID || hd.CollectorHash != md5.Sum([]byte(collectAdminID)) || hd.RouterIP != a || hd.RouterHash != h ||
				hd.RouterGroup != "replay" || hd.ObjectType != openbmp.ObjectBMPRaw || hd.RowCount != 1 || hd.Flags != openbmp.FlagRouterMessage {
				t.Fatalf("%s message %d: header %+v", a, j, hd)
			}
			if hd.CollectedAt < from.UnixMicro() || hd.CollectedAt > to.UnixMicro() || hd.CollectedAt < lastAt {
				t.Fatalf("%s message %d: collection time %d not in [%d, %d] after %d", a, j, hd.CollectedAt, from.UnixMicro(), to.UnixMicro(), lastAt)
			}
			lastOff, lastAt = r.Offset, hd.CollectedAt
		}
		st := collectRouter(col, a)
		whole := 0
		for _, m := range want[i] {
			whole += len(m)
		}
		if st.Messages != uint64(len(want[i])) || st.Bytes != uint64(whole) || st.Read != uint64(len(streams[i])) || st.Cut != uint64(len(streams[i])-whole) || st.Sessions != 1 {
			t.Errorf("%s (%s): stats %+v", a, filepath.Base(paths[i]), st)
		}
	}
	t.Logf("%d routers, %d messages, %d partitions used: %v", n, total, len(partitions), partitions)
	if len(partitions) < 2 {
		t.Errorf("every router on one partition: %v", partitions)
	}
}
