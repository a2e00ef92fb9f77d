package integration

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBMPStateRebalance moves real routers' BMP sessions between group
// members twice while they run: a connector holds all six input partitions
// when a second one joins (three partitions move to it), then the first
// one stops (its three move too). Every elem is compared with an
// uninterrupted run: identical byte for byte, router names, AS paths, path
// ids and NoPeerUp flags included; the members that took partitions over
// restored their state from the changelog.
func TestBMPStateRebalance(t *testing.T) { bmpStateRebalance(t, false) }

// TestBMPStateRebalanceExactlyOnce is TestBMPStateRebalance with
// exactly.once.support=required.
func TestBMPStateRebalanceExactlyOnce(t *testing.T) { bmpStateRebalance(t, true) }

func bmpStateRebalance(t *testing.T, eos bool) {
	addr, group, sets := bmpStateSetup(t, "bmp-state-rebalance", eos)
	values, keys := bmpStateInput(t)
	third := len(values) / 3

	// held waits until the group's members hold want (member count ->
	// partitions each).
	held := func(members, each int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			m, _ := groupAssignment(t, addr, group)
			ok := len(m) == members
			for _, n := range m {
				ok = ok && n == each
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("group members hold %v, want %d members of %d partitions", m, members, each)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	p1 := startConnector(t, append(sets, "transactional.id.prefix=member-a")...)
	held(1, 6)
	<-streamBMP(t, addr, values[:third], keys[:third], time.Second)
	waitCommitted(t, addr, group, bmpStateTopic, 60*time.Second)
	atJoin := committed(t, addr, group, bmpStateTopic)

	// A second member joins mid-session: half the partitions move to it.
	p2 := startConnector(t, append(sets, "transactional.id.prefix=member-b")...)
	held(2, 3)
	<-streamBMP(t, addr, values[third:2*third], keys[third:2*third], time.Second)
	waitCommitted(t, addr, group, bmpStateTopic, 60*time.Second)

	// The first member stops: its partitions move to the second.
	if err := p1.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("first connector: exit %v after SIGTERM, want 0", err)
	}
	held(1, 6)
	<-streamBMP(t, addr, values[2*third:], keys[2*third:], time.Second)
	waitCommitted(t, addr, group, bmpStateTopic, 120*time.Second)
	if err := p2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("second connector: exit %v, want 0", err)
	}
	// The second member restored state it did not make: on joining, and
	// when it took the first member's partitions over (the eager
	// rebalance hands it every partition anew: each one carrying routers
	// is restored).
	restores := strings.Count(p2.out.String(), "BMP session state restored")
	busy := 0
	for _, e := range endOffsets(t, addr, bmpStateTopic)[bmpStateTopic] {
		if e > 0 {
			busy++
		}
	}
	if restores < busy+1 {
		t.Errorf("the second member restored %d partitions, want at least %d (some on joining, the %d carrying routers after the takeover)", restores, busy+1, busy)
	}

	base := baselineBMP(t, addr, len(values))
	got := readBMPOutputs(t, addr, "bgp.elems", eos)
	dups, rc := compareBMP(t, got, base, atJoin, eos)
	checkRestartDecoded(t, rc)
	u1, n1 := flagCounts(got)
	u0, n0 := flagCounts(base)
	t.Logf("%d elems (%d unnamed, %d NoPeerUp), uninterrupted %d (%d unnamed, %d NoPeerUp); %d duplicates; %d restores by the second member; after the first move %+v",
		len(got), u1, n1, len(base), u0, n0, dups, restores, rc)
}
