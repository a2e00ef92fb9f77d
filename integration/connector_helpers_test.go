package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/mrt"
	"github.com/bgp-connector/bgp-connector/schema"
)

// connRealData returns a path in the real-data corpus (internal/corpus), or skips.
func connRealData(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(corpus.Root(), rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real test data %s not present", p)
	}
	return p
}

var (
	connBinOnce sync.Once
	connBin     string
	connBinErr  error
)

// connBinary builds cmd/bgp-connector once per test binary run, so that the
// connector can run as a separate process that a test kills.
func connBinary(t testing.TB) string {
	t.Helper()
	connBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bgpc-integration-")
		if err != nil {
			connBinErr = err
			return
		}
		connBin = filepath.Join(dir, "bgp-connector")
		out, err := exec.Command("go", "build", "-o", connBin, "../cmd/bgp-connector").CombinedOutput()
		if err != nil {
			connBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if connBinErr != nil {
		t.Fatal(connBinErr)
	}
	return connBin
}

// connProc is a connector process.
type connProc struct {
	cmd  *exec.Cmd
	out  *connBuf
	done chan error
}

type connBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *connBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *connBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startConnector runs "bgp-connector run" with the given --set pairs.
func startConnector(t *testing.T, sets ...string) *connProc {
	t.Helper()
	args := []string{"run", "--log-level", "info"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	p := &connProc{cmd: exec.Command(connBinary(t), args...), out: &connBuf{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("connector pid %d log:\n%s", p.cmd.Process.Pid, p.out.String())
		}
	})
	return p
}

// stop sends sig and waits for the exit status.
func (p *connProc) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		p.done <- err // for Cleanup
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("connector did not exit 60 s after %v", sig)
	}
	return nil
}

// connPos is an input record's position.
type connPos struct {
	Partition int32
	Offset    int64
}

// produceAt writes values to topic and returns where each landed.
func produceAt(t testing.TB, addr, topic string, values, keys [][]byte) []connPos {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ProducerLinger(2*time.Millisecond), kgo.MaxBufferedRecords(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pos := make([]connPos, len(values))
	var mu sync.Mutex
	var perr error
	for i, v := range values {
		r := &kgo.Record{Topic: topic, Value: v}
		if keys != nil {
			r.Key = keys[i]
		}
		cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && perr == nil {
				perr = err
			}
			pos[i] = connPos{r.Partition, r.Offset}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if perr != nil {
		t.Fatal(perr)
	}
	return pos
}

// connMRTValues returns the file's MRT records, one per value.
func connMRTValues(t testing.TB, path string) [][]byte {
	t.Helper()
	v, err := kafkatest.MRTValues(path)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// elemID identifies an elem by its input position and content, so that
// outputs can be matched to inputs as a multiset.
func elemID(typ string, pos connPos, prefix, peer string, pathID any, state string) string {
	return fmt.Sprintf("%s|%d|%d|%s|%s|%v|%s", typ, pos.Partition, pos.Offset, prefix, peer, pathID, state)
}

// expectedMRT decodes each MRT value directly with package mrt (one
// Elementor per partition, as the connector keeps) and returns the elem ids.
func expectedMRT(t testing.TB, values [][]byte, pos []connPos) map[string]int {
	t.Helper()
	els := map[int32]*mrt.Elementor{}
	want := map[string]int{}
	var rec decode.Record
	var elems []decode.Elem
	order := make([]int, len(values))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		pa, pb := pos[order[a]], pos[order[b]]
		if pa.Partition != pb.Partition {
			return pa.Partition < pb.Partition
		}
		return pa.Offset < pb.Offset
	})
	for _, i := range order {
		v, p := values[i], pos[i]
		el := els[p.Partition]
		if el == nil {
			el = mrt.NewElementor()
			els[p.Partition] = el
		}
		raw := mrt.RawRecord{}
		raw.Timestamp = binary.BigEndian.Uint32(v)
		raw.Type = binary.BigEndian.Uint16(v[4:])
		raw.Subtype = binary.BigEndian.Uint16(v[6:])
		raw.Length = binary.BigEndian.Uint32(v[8:])
		raw.Body = v[12:]
		if mrt.IsET(raw.Type) {
			raw.Microseconds = binary.BigEndian.Uint32(raw.Body)
			raw.Body = raw.Body[4:]
		}
		var err error
		elems, err = el.Elems(&rec, &raw, elems[:0])
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range elems {
			want[idOfElem(&e, p)]++
		}
	}
	return want
}

func idOfElem(e *decode.Elem, p connPos) string {
	var pathID any
	if e.HasPathID {
		pathID = int64(e.PathID)
	}
	peer := ""
	if e.PeerIP.IsValid() {
		peer = e.PeerIP.String()
	}
	switch e.Type {
	case decode.ElemPeerState:
		return elemID("peerstates", p, "", peer, nil, e.OldState.String()+">"+e.NewState.String())
	case decode.ElemWithdrawal:
		return elemID("withdrawals", p, e.Prefix.String(), peer, pathID, "")
	case decode.ElemRIB:
		return elemID("ribs", p, e.Prefix.String(), peer, pathID, "")
	}
	return elemID("announcements", p, e.Prefix.String(), peer, pathID, "")
}

// outputIDs reads every output topic and returns the elem ids found, decoded
// from Avro single-object encoding with goavro and the .avsc schemas.
func outputIDs(t testing.TB, addr, prefix string) map[string][]connPos {
	return outputIDsOf(t, addr, prefix, false)
}

// outputIDsOf is outputIDs, reading with isolation.level=read_committed
// when committedOnly (outputs of an exactly-once connector).
func outputIDsOf(t testing.TB, addr, prefix string, committedOnly bool) map[string][]connPos {
	t.Helper()
	recs, byTopic := readOutputRecords(t, addr, prefix, committedOnly)
	got := map[string][]connPos{}
	for _, r := range recs {
		ty := byTopic[r.Topic]
		if ty == schema.Stats {
			continue
		}
		m := avroNative(t, r, ty)
		p := connPos{m["source_partition"].(int32), m["source_offset"].(int64)}
		peer := ""
		if u, ok := m["peer_ip"].(map[string]any); ok {
			peer = u["string"].(string)
		}
		var id string
		switch ty {
		case schema.PeerStates:
			id = elemID("peerstates", p, "", peer, nil, m["old_state"].(string)+">"+m["new_state"].(string))
		default:
			var pathID any
			if u, ok := m["path_id"].(map[string]any); ok {
				pathID = u["long"]
			}
			id = elemID(ty.Suffix(), p, m["prefix"].(string), peer, pathID, "")
		}
		got[id] = append(got[id], connPos{r.Partition, r.Offset})
	}
	return got
}

// readOutputRecords reads every output topic under prefix, with
// isolation.level=read_committed when committedOnly, and returns the
// records and each topic's type.
func readOutputRecords(t testing.TB, addr, prefix string, committedOnly bool) ([]*kgo.Record, map[string]schema.Type) {
	t.Helper()
	var topics []string
	byTopic := map[string]schema.Type{}
	for _, ty := range schema.Types() {
		topics = append(topics, prefix+"."+ty.Suffix())
		byTopic[prefix+"."+ty.Suffix()] = ty
	}
	var recs []*kgo.Record
	var err error
	if committedOnly {
		recs, err = kafkatest.ReadCommitted(context.Background(), []string{addr}, 2*time.Second, topics...)
	} else {
		recs, err = kafkatest.ReadAll(context.Background(), []string{addr}, topics...)
	}
	if err != nil {
		t.Fatal(err)
	}
	return recs, byTopic
}

// avroNative decodes an output record of type ty from Avro single-object
// encoding with goavro and the .avsc schema.
func avroNative(t testing.TB, r *kgo.Record, ty schema.Type) map[string]any {
	t.Helper()
	codec, err := ty.Codec()
	if err != nil {
		t.Fatal(err)
	}
	native, _, err := codec.NativeFromSingle(r.Value)
	if err != nil {
		t.Fatalf("%s/%d@%d: goavro: %v", r.Topic, r.Partition, r.Offset, err)
	}
	return native.(map[string]any)
}

// committed returns the group's committed offsets for topic.
func committed(t testing.TB, addr, group, topic string) map[int32]int64 {
	t.Helper()
	m, err := kafkatest.CommittedOffsets(context.Background(), []string{addr}, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// endOffsets returns the end offset of each partition of topics.
func endOffsets(t testing.TB, addr string, topics ...string) map[string]map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	lo, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), topics...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[int32]int64{}
	lo.Each(func(o kadm.ListedOffset) {
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out
}

func sumOffsets(m map[string]map[int32]int64) int64 {
	var n int64
	for _, ps := range m {
		for _, o := range ps {
			n += o
		}
	}
	return n
}

// waitCommitted waits until the group has committed every input partition
// to its end.
func waitCommitted(t *testing.T, addr, group, topic string, timeout time.Duration) {
	t.Helper()
	ends := endOffsets(t, addr, topic)[topic]
	deadline := time.Now().Add(timeout)
	for {
		c := committed(t, addr, group, topic)
		done := true
		for p, e := range ends {
			if c[p] != e {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s: committed %v, ends %v after %v", group, c, ends, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func connSkipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("process-level connector test skipped in -short mode")
	}
	if runtime.GOOS != "linux" {
		t.Skip("signals test needs linux")
	}
}

// fmtSscan parses the partition and offset out of an elem id.
func fmtSscan(id string, p *connPos) (int, error) {
	f := strings.SplitN(id, "|", 4)
	if len(f) < 3 {
		return 0, fmt.Errorf("bad id %q", id)
	}
	return fmt.Sscan(f[1]+" "+f[2], &p.Partition, &p.Offset)
}

func itoa(n int64) string { return fmt.Sprint(n) }

// mrtGroupTopic is the input topic of mrtGroupSetup.
const mrtGroupTopic = "ris.updates"

// mrtGroupSetup prepares the crash and rebalance tests: four copies of a
// real RIS updates file as MRT values, an embedded broker (closed with the
// test) with a 6-partition input topic, and the connector settings for
// group base (suffixed "-eos" and exactly once when eos), and the group.
func mrtGroupSetup(t *testing.T, base string, eos bool) (values [][]byte, addr, group string, sets []string) {
	t.Helper()
	connSkipShort(t)
	one := connMRTValues(t, connRealData(t, "ripe-bgpdump/updates.20160811.1600.gz"))
	for i := 0; i < 4; i++ {
		values = append(values, one...)
	}
	addr, group, sets = embeddedGroup(t, mrtGroupTopic, "mrt", base, eos)
	return values, addr, group, sets
}

// embeddedGroup starts an embedded broker (closed with the test) with a
// 6-partition input topic and returns it with the connector settings of
// group base (suffixed "-eos" and exactly once when eos) for input format
// format, and the group.
func embeddedGroup(t *testing.T, topic, format, base string, eos bool) (addr, group string, sets []string) {
	t.Helper()
	group = base
	if eos {
		group += "-eos"
	}
	cluster, addr, err := connector.StartEmbedded(0, 6, topic)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	sets = []string{"bootstrap.servers=" + addr, "input.format=" + format, "topics=" + topic, "group.id=" + group,
		"session.timeout.ms=6000", "offset.flush.interval.ms=20", "topic.creation.default.partitions=3"}
	if eos {
		sets = append(sets, "exactly.once.support=required")
	}
	return addr, group, sets
}
