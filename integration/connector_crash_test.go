package integration

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// checkOutputs asserts that every expected elem is in the outputs, and that
// every extra copy (a duplicate) derives from an input record at or after
// the offset committed when the connector was killed; it returns the number
// of duplicates.
func checkOutputs(t *testing.T, want map[string]int, got map[string][]connPos, committedAtKill map[int32]int64) int {
	t.Helper()
	missing, dups := 0, 0
	for id, n := range want {
		if len(got[id]) < n {
			missing += n - len(got[id])
			if missing <= 5 || os.Getenv("CONN_DEBUG") != "" {
				t.Errorf("elem %s: %d in the outputs, %d expected", id, len(got[id]), n)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d elems of the input are missing from the outputs", missing)
	}
	for id, ps := range got {
		n := want[id]
		if n == 0 {
			t.Errorf("output elem %s derives from no input elem", id)
			continue
		}
		if len(ps) <= n {
			continue
		}
		dups += len(ps) - n
		var src connPos
		if _, err := fmtSscan(id, &src); err != nil {
			t.Fatal(err)
		}
		if committedAtKill != nil {
			if src.Offset < committedAtKill[src.Partition] {
				t.Errorf("elem %s duplicated although its input offset %d is before the commit at kill (%d)", id, src.Offset, committedAtKill[src.Partition])
			}
		}
	}
	return dups
}

// TestConnectorCrash kills the connector process with SIGKILL mid-stream,
// restarts it, and checks that no elem is missing and that duplicates come
// only from records after the last commit.
func TestConnectorCrash(t *testing.T) { crashTest(t, false) }

// TestConnectorCrashExactlyOnce is the crash test with
// exactly.once.support=required: read_committed readers must see every elem
// exactly once, with no duplicate despite the SIGKILL.
func TestConnectorCrashExactlyOnce(t *testing.T) { crashTest(t, true) }

func crashTest(t *testing.T, eos bool) {
	values, addr, group, sets := mrtGroupSetup(t, "crash-test", eos)
	const topic = mrtGroupTopic
	outs := []string{"bgp.elems.ribs", "bgp.elems.announcements", "bgp.elems.withdrawals", "bgp.elems.peerstates", "bgp.elems.stats"}

	// The input streams in, as from a live collector: chunks of records at
	// a steady rate over about 3 s. The first connector is killed 1 s in,
	// while records arrive and elems are in flight; the second starts at
	// once, during the stream.
	connBinary(t) // build before the clock starts
	pos := make([]connPos, len(values))
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		const chunk = 1000
		for i := 0; i < len(values); i += chunk {
			j := min(i+chunk, len(values))
			copy(pos[i:j], produceAt(t, addr, topic, values[i:j], nil))
			time.Sleep(3 * time.Second * chunk / time.Duration(len(values)))
		}
	}()
	p1 := startConnector(t, sets...)
	time.Sleep(time.Second)
	// Kill at a moment when the topic holds records past the group's
	// commit: the connector then has work in flight.
	killBy := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(killBy) {
			t.Fatalf("never saw uncommitted input in 60 s:\n%s", p1.out.String())
		}
		var c, e int64
		at := committed(t, addr, group, topic)
		for p, end := range endOffsets(t, addr, topic)[topic] {
			c += at[p]
			e += end
		}
		if c > 0 && c < e && sumOffsets(endOffsets(t, addr, outs...)) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	p1.stop(t, syscall.SIGKILL)
	atKill := committed(t, addr, group, topic)
	var committedRecs, endRecs int64
	for p, e := range endOffsets(t, addr, topic)[topic] {
		committedRecs += atKill[p]
		endRecs += e
	}
	t.Logf("killed with %d input records committed, %d in the topic, of %d to come", committedRecs, endRecs, len(values))
	if endRecs == int64(len(values)) && committedRecs == endRecs {
		t.Fatalf("the kill landed after the input was drained: the test did not test a crash")
	}

	p2 := startConnector(t, sets...)
	<-streamed
	want := expectedMRT(t, values, pos)
	total := 0
	for _, n := range want {
		total += n
	}
	waitCommitted(t, addr, group, topic, 120*time.Second)
	if err := p2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: exit %v, want status 0", err)
	}
	got := outputIDsOf(t, addr, "bgp.elems", eos)
	dups := checkOutputs(t, want, got, atKill)
	if eos && dups != 0 {
		t.Errorf("exactly once: %d duplicates visible to read_committed readers", dups)
	}
	t.Logf("%d elems expected, %d duplicates after the restart (records past the last commit)", total, dups)
}
