package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bgp-connector/bgp-connector/connector"
	"github.com/bgp-connector/bgp-connector/ingest"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
)

// The archive backfill's process-level helpers: the backfill command, the
// connector's backfill tasks, and the output topics decoded with goavro from
// the .avsc files of schema/ and rendered as read prints them.

// bfTypes are the output types with an elem line, by topic suffix: the
// bgpreader record and elem type characters.
var bfTypes = map[string]string{"ribs": "R|R", "announcements": "U|A", "withdrawals": "U|W", "peerstates": "U|S"}

// bfRun is one run of a bgp-connector command.
type bfRun struct {
	out, errOut string
	code        int
}

// runCLI runs bgp-connector with args and returns its output and exit
// status.
func runCLI(t *testing.T, args ...string) bfRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, connBinary(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := bfRun{out: out.String(), errOut: errOut.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return r
}

// backfillCLI runs "bgp-connector backfill --config props args..." and
// fails unless it exits 0.
func backfillCLI(t *testing.T, props string, args ...string) string {
	t.Helper()
	r := runCLI(t, append([]string{"backfill", "--config", props}, args...)...)
	if r.code != 0 {
		t.Fatalf("backfill %v: exit %d\n%s%s", args, r.code, r.out, r.errOut)
	}
	return r.out
}

var queuedRE = regexp.MustCompile(`(?m)^(\d+) work items queued to `)

// queuedCount parses the backfill command's summary line.
func queuedCount(t *testing.T, out string) int {
	t.Helper()
	m := queuedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary line in %q", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// writeProps writes a connector .properties file with the given lines.
func writeProps(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "connector.properties")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startRun runs "bgp-connector run" with the settings of a properties file
// written by writeProps, and more --set pairs, until the test ends.
func startRun(t *testing.T, props string, sets ...string) *connProc {
	t.Helper()
	b, err := os.ReadFile(props)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return startConnector(t, append(lines, sets...)...)
}

// peakRSS returns a running process's peak resident set size in bytes
// (VmHWM), or 0.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// avscCodecs parses the .avsc files of schema/ (not the embedded copies: an
// independent path to the contract).
func avscCodecs(t testing.TB) map[string]*goavro.Codec {
	t.Helper()
	out := map[string]*goavro.Codec{}
	for _, name := range []string{"ribs", "announcements", "withdrawals", "peerstates", "stats", "backfill"} {
		b, err := os.ReadFile(filepath.Join("..", "schema", name+".avsc"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := goavro.NewCodec(string(b))
		if err != nil {
			t.Fatalf("%s.avsc: %v", name, err)
		}
		out[name] = c
	}
	return out
}

// eachRecord calls fn with every record of topics, from their start to the
// end offsets they had when called (read_committed when committed).
func eachRecord(t testing.TB, addr string, committed bool, fn func(*kgo.Record), topics ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var ends kadm.ListedOffsets
	if committed {
		ends, err = adm.ListCommittedOffsets(ctx, topics...)
	} else {
		ends, err = adm.ListEndOffsets(ctx, topics...)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[int32]kgo.Offset{}
	left := map[string]map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset <= 0 {
			return
		}
		if want[o.Topic] == nil {
			want[o.Topic], left[o.Topic] = map[int32]kgo.Offset{}, map[int32]int64{}
		}
		want[o.Topic][o.Partition] = kgo.NewOffset().AtStart()
		left[o.Topic][o.Partition] = o.Offset
	})
	if len(want) == 0 {
		return
	}
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumePartitions(want), kgo.FetchMaxBytes(64 << 20)}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	}
	rc, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	for len(left) > 0 {
		fs := rc.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %v: %v (left %v)", topics, ctx.Err(), left)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Topic][r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if !r.Attrs.IsControl() {
				fn(r)
			}
			if r.Offset+1 >= end {
				delete(left[r.Topic], r.Partition)
				if len(left[r.Topic]) == 0 {
					delete(left, r.Topic)
				}
			}
		})
	}
}

// outputTopics are the five output topics of prefix bgp.elems.
func outputTopics() []string {
	var out []string
	for _, s := range []string{"ribs", "announcements", "withdrawals", "peerstates", "stats"} {
		out = append(out, "bgp.elems."+s)
	}
	return out
}

// avroLines reads the output topics and renders each elem as read prints
// it (bgpreader's 16 columns), by output type.
func avroLines(t testing.TB, addr string, codecs map[string]*goavro.Codec) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	eachRecord(t, addr, false, func(r *kgo.Record) {
		suffix := strings.TrimPrefix(r.Topic, "bgp.elems.")
		if _, ok := bfTypes[suffix]; !ok {
			return
		}
		native, _, err := codecs[suffix].NativeFromSingle(r.Value)
		if err != nil {
			t.Fatalf("%s/%d@%d: goavro: %v", r.Topic, r.Partition, r.Offset, err)
		}
		out[suffix] = append(out[suffix], bgpreaderLine(suffix, native.(map[string]any)))
	}, outputTopics()...)
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

// bgpreaderLine renders an Avro elem in bgpreader's format:
// rec-type|elem-type|time|project|collector|router|router-ip|peer-asn|
// peer-ip|prefix|next-hop|as-path|origin-as|communities|old-state|new-state.
func bgpreaderLine(suffix string, m map[string]any) string {
	str := func(k string) string {
		switch v := m[k].(type) {
		case string:
			return v
		case map[string]any:
			for _, x := range v {
				return fmt.Sprint(x)
			}
		}
		return ""
	}
	ts := m["time_us"].(time.Time)
	var segs []string
	origin := ""
	if path, ok := m["as_path"].([]any); ok {
		for i, s := range path {
			seg := s.(map[string]any)
			var asns []string
			for _, a := range seg["asns"].([]any) {
				asns = append(asns, strconv.FormatInt(a.(int64), 10))
			}
			var txt string
			switch seg["type"].(int32) {
			case 1:
				txt = "{" + strings.Join(asns, ",") + "}"
			case 3:
				txt = "(" + strings.Join(asns, " ") + ")"
			case 4:
				txt = "[" + strings.Join(asns, ",") + "]"
			default:
				txt = strings.Join(asns, " ")
			}
			segs = append(segs, txt)
			if i == len(path)-1 {
				if seg["type"].(int32) == 2 {
					if len(asns) > 0 {
						origin = asns[len(asns)-1]
					}
				} else {
					origin = txt
				}
			}
		}
	}
	var comms []string
	if cs, ok := m["communities"].([]any); ok {
		for _, c := range cs {
			cm := c.(map[string]any)
			comms = append(comms, fmt.Sprintf("%d:%d", uint16(cm["asn"].(int32)), uint16(cm["value"].(int32))))
		}
	}
	return strings.Join([]string{bfTypes[suffix], fmt.Sprintf("%d.%06d", ts.Unix(), ts.Nanosecond()/1000),
		str("project"), str("collector"), str("router"), str("router_ip"), strconv.FormatInt(m["peer_asn"].(int64), 10),
		str("peer_ip"), str("prefix"), str("next_hop"), strings.Join(segs, " "), origin, strings.Join(comms, " "),
		str("old_state"), str("new_state")}, "|")
}

// readLines parses read's bgpreader output into elem lines by output
// type (the R|B and R|E dump lines are not elems).
func readLines(t testing.TB, out string) map[string][]string {
	t.Helper()
	by := map[string]string{}
	for s, p := range bfTypes {
		by[p] = s
	}
	lines := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if len(l) < 4 {
			continue
		}
		if s, ok := by[l[:3]]; ok {
			lines[s] = append(lines[s], l)
		}
	}
	for k := range lines {
		sort.Strings(lines[k])
	}
	return lines
}

// compareLines fails t when got and want differ for a type, naming the
// first difference.
func compareLines(t *testing.T, got, want map[string][]string) {
	t.Helper()
	for _, s := range []string{"ribs", "announcements", "withdrawals", "peerstates"} {
		g, w := got[s], want[s]
		if slices.Equal(g, w) {
			continue
		}
		t.Errorf("%s: %d elems on the output topic, read prints %d", s, len(g), len(w))
		for i := 0; i < min(len(g), len(w)); i++ {
			if g[i] != w[i] {
				t.Errorf("%s: first difference:\n topic %s\n read  %s", s, g[i], w[i])
				break
			}
		}
	}
}

// valueCounts reads the output topics and counts each distinct value by
// its hash: an output value holds the elem's time, peer, prefix, the dump's
// URL and the record's offset, so two equal values are one elem published
// twice. It returns the records read and the distinct values.
func valueCounts(t testing.TB, addr string, committed bool) (int, map[uint64]int32) {
	t.Helper()
	seed := maphash.MakeSeed()
	m := map[uint64]int32{}
	n := 0
	eachRecord(t, addr, committed, func(r *kgo.Record) {
		n++
		m[maphash.Bytes(seed, r.Value)]++
	}, outputTopics()...)
	return n, m
}

// scrapeMetric returns the sum of a Prometheus series (all its label sets
// matching the given "k=v" pairs) from the metrics endpoint.
func scrapeMetric(t testing.TB, addr, name string, labels ...string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name) || (len(l) > len(name) && l[len(name)] != '{' && l[len(name)] != ' ') {
			continue
		}
		ok := true
		for _, lv := range labels {
			k, v, _ := strings.Cut(lv, "=")
			ok = ok && strings.Contains(l, k+`="`+v+`"`)
		}
		if !ok {
			continue
		}
		f := strings.Fields(l)
		x, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += x
			found = true
		}
	}
	return sum, found
}

// metricsPort returns a free loopback port for metrics.listen.
func metricsPort(t *testing.T) string {
	return "127.0.0.1:" + strconv.Itoa(freePort(t, netip.MustParseAddr("127.0.0.1")))
}

// backfillStates reads the state topic.
func backfillStates(t testing.TB, addr, topic string) map[string]ingest.BackfillState {
	t.Helper()
	out := map[string]ingest.BackfillState{}
	eachRecord(t, addr, true, func(r *kgo.Record) {
		if r.Value == nil {
			delete(out, string(r.Key))
			return
		}
		s, err := ingest.DecodeState(r.Value)
		if err != nil {
			t.Fatalf("state %s@%d: %v", r.Topic, r.Offset, err)
		}
		out[s.URL] = s
	}, topic)
	return out
}

// backfillBroker starts the embedded broker for a backfill test.
func backfillBroker(t *testing.T) string {
	t.Helper()
	cluster, addr, err := connector.StartEmbedded(0, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	return addr
}

// waitItemsDone waits until the backfill group has committed every work
// item of the backfill topic.
func waitItemsDone(t *testing.T, addr string, d time.Duration) {
	t.Helper()
	ends := endOffsets(t, addr, "bgp.backfill")["bgp.backfill"]
	deadline := time.Now().Add(d)
	for {
		c, err := kafkatest.CommittedOffsets(context.Background(), []string{addr}, "connect-bgp-connector-backfill", "bgp.backfill")
		done := err == nil
		for p, e := range ends {
			done = done && c[p] == e
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backfill group: committed %v (%v), ends %v after %v", c, err, ends, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls cond every 20 ms until it holds, or fails t after d.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
