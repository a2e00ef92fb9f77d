package integration

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/demodata"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
	"github.com/bgp-connector/bgp-connector/schema"
)

// bmpStateTopic is the input topic of the session-state tests.
const bmpStateTopic = "openbmp.bmp_raw"

// bmpRouter is one real router's BMP session as OpenBMP values, framed
// without a router group so that its elems are named by the Initiation's
// sysName, as an OpenBMP collector without router groups publishes them.
type bmpRouter struct {
	name   string
	key    []byte // the router hash, hex: the Kafka key
	values [][]byte
}

// reframe re-frames OpenBMP messages without their router group.
func reframe(t testing.TB, name string, rec []byte) bmpRouter {
	t.Helper()
	frames, _, err := kafkatest.Frames(bytes.NewReader(rec), name)
	if err != nil {
		t.Fatal(err)
	}
	r := bmpRouter{name: name}
	for _, f := range frames {
		h, hl, err := openbmp.DecodeHeader(f)
		if err != nil {
			t.Fatal(err)
		}
		h.RouterGroup = ""
		r.values = append(r.values, h.AppendTo(nil, f[hl:hl+h.BMPLen]))
		r.key = []byte(hex.EncodeToString(h.RouterHash[:]))
	}
	return r
}

// wrapRouter frames a raw BMP stream of the corpus in OpenBMP headers.
func wrapRouter(t testing.TB, rel string, ip netip.Addr) bmpRouter {
	t.Helper()
	f, err := os.Open(connRealData(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	name := strings.TrimSuffix(filepath.Base(rel), ".bmp")
	h := openbmp.Header{ObjectType: openbmp.ObjectBMPRaw, AdminID: "bmp-state-test", RouterIP: ip, CollectedAt: 1700000000000000,
		RouterHash: md5.Sum([]byte(name)), CollectorHash: md5.Sum([]byte("bmp-state-test"))}
	r := bmpRouter{name: name, key: []byte(hex.EncodeToString(h.RouterHash[:]))}
	sr := openbmp.NewStreamReader(f, openbmp.KindBMP)
	for {
		fr, err := sr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		h.CollectedAt += 1000
		r.values = append(r.values, h.AppendTo(nil, fr))
	}
	return r
}

// bmpStateInput returns real routers' BMP sessions interleaved as a
// collector publishes them, each router's messages in order and spread
// over the whole input: gobgpd (sysName GoBGP, 4-byte ASNs, a session
// reset: Peer Down then Peer Up mid-stream, Loc-RIB without Peer Up), FRR,
// a Cisco router whose peers go down, NetGauze's 18 peers with different
// capabilities, and four routers of pmacct's multi-source capture. The
// router whose sessions negotiate ADD-PATH (pmacct 203.0.113.23) sends
// its Initiation and Peer Ups at the start and the rest at the end, so
// that its path ids are decoded after a restart in the middle.
func bmpStateInput(t testing.TB) (values, keys [][]byte) {
	t.Helper()
	addPath := wrapRouter(t, "pmacct/streams/208-mem-leak-test_router-203.0.113.23.bmp", netip.MustParseAddr("203.0.113.23"))
	routers := []bmpRouter{
		reframe(t, "gobgp", demodata.GoBGP),
		reframe(t, "frr", demodata.FRR),
		wrapRouter(t, "pmacct/streams/204-BMP-CISCO-peer_down.traffic-00.bmp", netip.MustParseAddr("198.51.100.4")),
		wrapRouter(t, "netgauze/streams/example.bmp", netip.MustParseAddr("198.51.100.5")),
		wrapRouter(t, "pmacct/streams/208-mem-leak-test_router-2001_db8_53__1.bmp", netip.MustParseAddr("2001:db8:53::1")),
		wrapRouter(t, "pmacct/streams/208-mem-leak-test_router-203.0.113.19.bmp", netip.MustParseAddr("203.0.113.19")),
		wrapRouter(t, "pmacct/streams/208-mem-leak-test_router-203.0.113.44.bmp", netip.MustParseAddr("203.0.113.44")),
		wrapRouter(t, "pmacct/streams/208-mem-leak-test_router-203.0.113.54.bmp", netip.MustParseAddr("203.0.113.54")),
	}
	const head = 13 // Initiation and 12 Peer Ups
	type slot struct {
		at  float64
		r   *bmpRouter
		msg int
	}
	var slots []slot
	for i := range routers {
		r := &routers[i]
		for j := range r.values {
			slots = append(slots, slot{float64(j) / float64(len(r.values)), r, j})
		}
	}
	for j := range addPath.values {
		at := 1.0 + float64(j)/float64(len(addPath.values))
		if j < head {
			at = float64(j) / 1000
		}
		slots = append(slots, slot{at, &addPath, j})
	}
	sort.SliceStable(slots, func(a, b int) bool { return slots[a].at < slots[b].at })
	for _, s := range slots {
		values = append(values, s.r.values[s.msg])
		keys = append(keys, s.r.key)
	}
	return values, keys
}

// bmpStateSetup starts an embedded broker with a 6-partition input topic
// (closed with the test) and returns it with the connector settings of
// group base ("-eos" and exactly once when eos).
func bmpStateSetup(t *testing.T, base string, eos bool) (addr, group string, sets []string) {
	t.Helper()
	connSkipShort(t)
	return embeddedGroup(t, bmpStateTopic, "openbmp", base, eos)
}

// streamBMP produces values (keyed by router) at a steady rate over d, as
// from a live collector, and closes the returned channel when done.
func streamBMP(t *testing.T, addr string, values, keys [][]byte, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		const chunk = 100
		for i := 0; i < len(values); i += chunk {
			j := min(i+chunk, len(values))
			produceAt(t, addr, bmpStateTopic, values[i:j], keys[i:j])
			time.Sleep(d * chunk / time.Duration(len(values)))
		}
	}()
	return done
}

// bmpOut is one output record: its type, key and value bytes, and the
// fields the comparison reports.
type bmpOut struct {
	ty        schema.Type
	key, val  string
	partition int32
	offset    int64
	router    string
	noPeerUp  bool
	pathID    bool
	as4       bool // an AS_PATH ASN above 65535
	native    map[string]any
}

// id identifies an output by everything in it.
func (o *bmpOut) id() string { return fmt.Sprintf("%s|%x|%x", o.ty.Suffix(), o.key, o.val) }

// readBMPOutputs reads every elem output (not stats) under prefix and
// decodes it with goavro from the .avsc files.
func readBMPOutputs(t testing.TB, addr, prefix string, committedOnly bool) []bmpOut {
	t.Helper()
	recs, byTopic := readOutputRecords(t, addr, prefix, committedOnly)
	out := make([]bmpOut, 0, len(recs))
	for _, r := range recs {
		ty := byTopic[r.Topic]
		if ty == schema.Stats {
			continue
		}
		m := avroNative(t, r, ty)
		o := bmpOut{ty: ty, key: string(r.Key), val: string(r.Value), native: m,
			partition: m["source_partition"].(int32), offset: m["source_offset"].(int64),
			router: m["router"].(string), noPeerUp: m["bmp_no_peer_up"].(bool)}
		if u, ok := m["path_id"].(map[string]any); ok && u["long"] != nil {
			o.pathID = true
		}
		if segs, ok := m["as_path"].([]any); ok {
			for _, s := range segs {
				for _, a := range s.(map[string]any)["asns"].([]any) {
					o.as4 = o.as4 || a.(int64) > 65535
				}
			}
		}
		out = append(out, o)
	}
	return out
}

// baselineBMP runs the uninterrupted reference: an in-process connector in
// its own group, without the session state (bmp.state.enable=false, as
// before it existed), over the whole input, into topics under "base".
func baselineBMP(t *testing.T, addr string, n int) []bmpOut {
	t.Helper()
	if _, err := runInProcess(t, addr, uint64(n), "bootstrap.servers="+addr, "input.format=openbmp", "topics="+bmpStateTopic,
		"group.id=uninterrupted", "output.topic.prefix=base", "bmp.state.enable=false", "tasks.max=2", "topic.creation.default.partitions=3"); err != nil {
		t.Fatal(err)
	}
	return readBMPOutputs(t, addr, "base", false)
}

// restartCounts counts the outputs of input records at or after the
// commit of a partition at the kill (or stop): those decoded after the
// restart, from restored state.
type restartCounts struct {
	total, named, up, pathIDs, as4 int
}

// compareBMP checks that the outputs of the interrupted run are those of
// the uninterrupted one: every output of the baseline is there, identical
// byte for byte (router name, AS path, path id, NoPeerUp included), no
// output differs, and every extra copy (a duplicate) comes from an input
// record at or after the commit at the kill (committed nil: any); in
// exactly-once mode there is none. It returns the duplicates and what the
// restarted run decoded.
func compareBMP(t *testing.T, got, base []bmpOut, committed map[int32]int64, eos bool) (int, restartCounts) {
	t.Helper()
	want := map[string]int{}
	byPos := map[string]*bmpOut{}
	for i := range base {
		want[base[i].id()]++
		byPos[fmt.Sprintf("%s|%d|%d|%s", base[i].ty.Suffix(), base[i].partition, base[i].offset, base[i].key)] = &base[i]
	}
	have := map[string]int{}
	var rc restartCounts
	differ, dups := 0, 0
	for i := range got {
		o := &got[i]
		id := o.id()
		have[id]++
		if want[id] == 0 {
			differ++
			if differ <= 3 {
				ref := byPos[fmt.Sprintf("%s|%d|%d|%s", o.ty.Suffix(), o.partition, o.offset, o.key)]
				var r any
				if ref != nil {
					r = ref.native
				}
				t.Errorf("output differs from the uninterrupted run:\n got  %s\n want %s", canon(t, o.native), canon(t, r))
			}
		} else if have[id] > want[id] {
			dups++
			if committed != nil && o.offset < committed[o.partition] {
				t.Errorf("output of %d/%d duplicated although the offset was committed at the kill (%d)", o.partition, o.offset, committed[o.partition])
			}
		}
		if committed != nil && o.offset >= committed[o.partition] {
			rc.total++
			if o.router != "" {
				rc.named++
			}
			if !o.noPeerUp {
				rc.up++
			}
			if o.pathID {
				rc.pathIDs++
			}
			if o.as4 {
				rc.as4++
			}
		}
	}
	if differ > 0 {
		t.Errorf("%d outputs differ from the uninterrupted run", differ)
	}
	missing := 0
	for id, n := range want {
		if have[id] < n {
			missing += n - have[id]
		}
	}
	if missing > 0 {
		t.Errorf("%d outputs of the uninterrupted run are missing", missing)
	}
	if eos && dups > 0 {
		t.Errorf("exactly once: %d duplicates visible to read_committed readers", dups)
	}
	return dups, rc
}

// flagCounts returns how many outputs have no router name and how many
// NoPeerUp.
func flagCounts(outs []bmpOut) (unnamed, noPeerUp int) {
	for i := range outs {
		if outs[i].router == "" {
			unnamed++
		}
		if outs[i].noPeerUp {
			noPeerUp++
		}
	}
	return unnamed, noPeerUp
}

// sumCommitted returns the committed offsets' total.
func sumCommitted(m map[int32]int64) int64 {
	var n int64
	for _, o := range m {
		n += o
	}
	return n
}
