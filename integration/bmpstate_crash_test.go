package integration

import (
	"syscall"
	"testing"
	"time"
)

// TestBMPStateCrash kills a connector with SIGKILL in the middle of real
// routers' BMP sessions (bmpStateInput: sysNames, Peer Ups with 4-byte
// ASNs and ADD-PATH, Peer Downs and a session reset), restarts it, and
// compares every elem with an uninterrupted run: identical byte for byte,
// router names, AS paths, path ids and NoPeerUp flags included, the
// restarted process having decoded routes of Up peers, named routers,
// 4-byte ASNs and path ids from restored state. Duplicates come only from
// records after the commit at the kill.
func TestBMPStateCrash(t *testing.T) { bmpStateCrash(t, false) }

// TestBMPStateCrashExactlyOnce is TestBMPStateCrash with
// exactly.once.support=required: the changelog writes are part of the
// transactions, and read_committed readers see every elem once.
func TestBMPStateCrashExactlyOnce(t *testing.T) { bmpStateCrash(t, true) }

func bmpStateCrash(t *testing.T, eos bool) {
	addr, group, sets := bmpStateSetup(t, "bmp-state-crash", eos)
	values, keys := bmpStateInput(t)
	const changelog = "bgp.elems.bmp.state"
	connBinary(t) // build before the clock starts

	p1 := startConnector(t, sets...)
	streamed := streamBMP(t, addr, values, keys, 4*time.Second)
	time.Sleep(time.Second)
	// Kill once the changelog holds state and the topic holds records past
	// the group's commit: sessions are open and work is in flight.
	killBy := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(killBy) {
			t.Fatalf("never saw state and uncommitted input in 60 s:\n%s", p1.out.String())
		}
		c := sumCommitted(committed(t, addr, group, bmpStateTopic))
		e := sumOffsets(endOffsets(t, addr, bmpStateTopic))
		if c > 0 && c < e && sumOffsets(endOffsets(t, addr, changelog)) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	p1.stop(t, syscall.SIGKILL)
	atKill := committed(t, addr, group, bmpStateTopic)
	endAtKill := sumOffsets(endOffsets(t, addr, bmpStateTopic))
	t.Logf("killed with %d input records committed, %d in the topic, of %d to come", sumCommitted(atKill), endAtKill, len(values))
	if endAtKill == int64(len(values)) {
		t.Fatal("the kill landed after the input was produced: the test did not test a crash mid-session")
	}

	p2 := startConnector(t, sets...)
	<-streamed
	waitCommitted(t, addr, group, bmpStateTopic, 120*time.Second)
	if err := p2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: exit %v, want status 0", err)
	}
	base := baselineBMP(t, addr, len(values))
	got := readBMPOutputs(t, addr, "bgp.elems", eos)
	dups, rc := compareBMP(t, got, base, atKill, eos)
	checkRestartDecoded(t, rc)
	u1, n1 := flagCounts(got)
	u0, n0 := flagCounts(base)
	t.Logf("%d elems (%d unnamed, %d NoPeerUp), uninterrupted %d (%d unnamed, %d NoPeerUp); %d duplicates; after the restart %+v",
		len(got), u1, n1, len(base), u0, n0, dups, rc)
}

// checkRestartDecoded asserts that what the restarted (or reassigned)
// process decoded depended on the restored state: routes of peers whose
// Peer Up came before, named routers, 4-byte ASNs and ADD-PATH path ids.
func checkRestartDecoded(t *testing.T, rc restartCounts) {
	t.Helper()
	if rc.total == 0 || rc.named == 0 || rc.up == 0 || rc.as4 == 0 || rc.pathIDs == 0 {
		t.Errorf("after the restart: %d elems, %d of named routers, %d of Up peers, %d with 4-byte ASNs, %d with path ids; want each > 0 (the state was not exercised)",
			rc.total, rc.named, rc.up, rc.as4, rc.pathIDs)
	}
}
