package integration

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// groupAssignment returns, per member, the partitions it holds, and the
// group's protocol (the balancer in use).
func groupAssignment(t testing.TB, addr, group string) (map[string]int, string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	dg, err := kadm.NewClient(cl).DescribeGroups(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	g := dg[group]
	for _, m := range g.Members {
		n := 0
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range c.Topics {
				n += len(tp.Partitions)
			}
		}
		out[m.MemberID] = n
	}
	return out, g.Protocol
}

// TestConnectorRebalance runs two connector processes in one group on a
// 6-partition input; once both hold partitions the input is produced, one
// process is stopped mid-stream, the other takes its partitions over, and
// no elem is missing.
func TestConnectorRebalance(t *testing.T) { rebalanceTest(t, false) }

// TestConnectorRebalanceExactlyOnce is the rebalance test with
// exactly.once.support=required: transactions open during a rebalance
// abort, and read_committed readers see every elem exactly once.
func TestConnectorRebalanceExactlyOnce(t *testing.T) { rebalanceTest(t, true) }

func rebalanceTest(t *testing.T, eos bool) {
	values, addr, group, sets := mrtGroupSetup(t, "rebalance-test", eos)
	const topic = mrtGroupTopic
	p1 := startConnector(t, append(sets, "transactional.id.prefix=member-a")...)
	p2 := startConnector(t, append(sets, "transactional.id.prefix=member-b")...)

	// kfake has no initial rebalance delay: wait until both members hold
	// partitions before producing, so that both really share the input.
	deadline := time.Now().Add(60 * time.Second)
	for {
		m, proto := groupAssignment(t, addr, group)
		both := len(m) == 2
		total := 0
		for _, n := range m {
			both = both && n > 0
			total += n
		}
		if both && total == 6 {
			if proto != "roundrobin" {
				t.Fatalf("group protocol %q, want roundrobin", proto)
			}
			for _, n := range m {
				if n != 3 {
					t.Fatalf("round robin over 6 partitions gave %v", m)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("members never both held partitions: %v", m)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// First half of the input while both run; stop one member as soon as
	// output appears; then the second half, which lands on the stopped
	// member's partitions too and must be taken over by the other.
	half := len(values) / 2
	pos := produceAt(t, addr, topic, values[:half], nil)
	outs := []string{"bgp.elems.announcements", "bgp.elems.withdrawals", "bgp.elems.peerstates"}
	for sumOffsets(endOffsets(t, addr, outs...)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no progress")
		}
		time.Sleep(time.Millisecond)
	}
	if err := p1.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("first connector: exit %v after SIGTERM, want 0", err)
	}
	atStop := committed(t, addr, group, topic)
	pos = append(pos, produceAt(t, addr, topic, values[half:], nil)...)
	want := expectedMRT(t, values, pos)
	total := 0
	for _, n := range want {
		total += n
	}
	var left int64
	for p, e := range endOffsets(t, addr, topic)[topic] {
		left += e - atStop[p]
	}
	t.Logf("stopped one member; %d of %d input records were left to the other member", left, len(values))
	start := time.Now()
	waitCommitted(t, addr, group, topic, 120*time.Second)
	t.Logf("the remaining member finished in %v", time.Since(start))
	if m, _ := groupAssignment(t, addr, group); len(m) != 1 || func() int {
		for _, n := range m {
			return n
		}
		return 0
	}() != 6 {
		t.Errorf("after the stop the remaining member holds %v, want all 6 partitions", m)
	}
	if err := p2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("second connector: exit %v, want 0", err)
	}
	dups := checkOutputs(t, want, outputIDsOf(t, addr, "bgp.elems", eos), nil)
	if eos && dups != 0 {
		t.Errorf("exactly once: %d duplicates visible to read_committed readers", dups)
	}
	t.Logf("%d elems expected, %d duplicates", total, dups)
}
