package openbmp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

// realDir is the shared real-world corpus (internal/corpus finds it).
var realDir = corpus.Root()

func needReal(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(realDir, "MANIFEST.md")); err != nil {
		t.Skipf("real corpus not present at %s", realDir)
	}
}

// fileResult is what decoding one file gave.
type fileResult struct {
	counts   map[MessageType]int
	types    map[int]int // per-peer header peer type -> messages
	flags    map[int]int // per-peer header flags byte -> messages
	elems    int
	stats    int
	frames   int
	errs     []error // decode errors (framing intact)
	tail     error   // the StreamReader's final error (nil at a clean EOF)
	tailType int     // message type byte of a cut final message, -1 if unknown
}

func decodeFile(t testing.TB, path string, d *Decoder, each func(*Result)) fileResult {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fr := fileResult{counts: map[MessageType]int{}, types: map[int]int{}, flags: map[int]int{}, tailType: -1}
	sr := NewStreamReader(bytes.NewReader(b), KindUnknown)
	var res Result
	for {
		f, err := sr.Next()
		if err != nil {
			if err != io.EOF {
				fr.tail = err
				var de *DecodeError
				if errors.As(err, &de) && sr.Kind() == KindBMP && de.Offset+6 <= len(b) {
					fr.tailType = int(b[de.Offset+5])
				}
			}
			break
		}
		fr.frames++
		if err := d.Decode(f, &res); err != nil {
			fr.errs = append(fr.errs, err)
			continue
		}
		fr.counts[res.MsgType]++
		if res.MsgType.hasPeerHeader() {
			fr.types[int(res.Peer.Type)]++
			fr.flags[int(res.Peer.Flags)]++
		}
		fr.elems += len(res.Elems)
		fr.stats += len(res.Stats)
		if each != nil {
			each(&res)
		}
	}
	return fr
}

// manifestRow is one row of a MANIFEST table: path and cells.
type manifestRow struct {
	path  string
	cells []string
}

func manifestRows(t *testing.T, pathPrefix []string) []manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(realDir, "MANIFEST.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []manifestRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "| `") {
			continue
		}
		cells := strings.Split(l, "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		cells = cells[1:]
		p := strings.Trim(cells[0], "`")
		for _, pre := range pathPrefix {
			if strings.HasPrefix(p, pre) {
				rows = append(rows, manifestRow{path: p, cells: cells})
				break
			}
		}
	}
	return rows
}

var streamNames = map[string]MessageType{
	"RouteMonitoring": MsgRouteMonitoring, "StatsReport": MsgStatisticsReport, "PeerDown": MsgPeerDown,
	"PeerUp": MsgPeerUp, "Initiation": MsgInitiation, "Termination": MsgTermination, "RouteMirroring": MsgRouteMirroring,
}

// parseStreamCounts reads "{'Initiation': 1, 'PeerUp': 18}" or
// "types {3: 9, 0: 21}".
func parseStreamCounts(t *testing.T, s string) map[MessageType]int {
	t.Helper()
	m := map[MessageType]int{}
	for _, kv := range regexp.MustCompile(`'?(\w+)'?: (\d+)`).FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(kv[2])
		if typ, ok := streamNames[kv[1]]; ok {
			m[typ] = n
		} else if v, err := strconv.Atoi(kv[1]); err == nil {
			m[MessageType(v)] = n
		} else {
			t.Fatalf("unknown message type %q in %q", kv[1], s)
		}
	}
	return m
}

// parseIntMap reads "{0: 78, 3: 24}" or "{'0x00': 72, '0x40': 6}".
func parseIntMap(t *testing.T, s string) map[int]int {
	t.Helper()
	m := map[int]int{}
	for _, kv := range regexp.MustCompile(`'?(0x[0-9a-f]+|\d+)'?: (\d+)`).FindAllStringSubmatch(s, -1) {
		k, err := strconv.ParseInt(kv[1], 0, 32)
		if err != nil {
			t.Fatalf("key %q in %q", kv[1], s)
		}
		n, _ := strconv.Atoi(kv[2])
		m[int(k)] = n
	}
	return m
}

// parsePcapCounts reads "PU(3)=18 INIT(4)=1 RM(0)=84".
func parsePcapCounts(s string) map[MessageType]int {
	m := map[MessageType]int{}
	for _, kv := range regexp.MustCompile(`\((\d+)\)=(\d+)`).FindAllStringSubmatch(s, -1) {
		typ, _ := strconv.Atoi(kv[1])
		n, _ := strconv.Atoi(kv[2])
		m[MessageType(typ)] = n
	}
	return m
}

func countsString(m map[MessageType]int) string {
	var ks []int
	for k := range m {
		if m[k] != 0 {
			ks = append(ks, int(k))
		}
	}
	sort.Ints(ks)
	var b strings.Builder
	for _, k := range ks {
		b.WriteString(MessageType(k).String() + "=" + strconv.Itoa(m[MessageType(k)]) + " ")
	}
	return b.String()
}

func equalCounts(a, b map[MessageType]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// TestRealStreamCounts decodes every extracted BMP stream and compares the
// count of each message type, and of per-peer headers by peer type and by
// flags, with the MANIFEST's extracted-stream table.
// BMP v4 streams must be
// rejected with ErrVersion at offset 0.
func TestRealStreamCounts(t *testing.T) {
	needReal(t)
	rows := manifestRows(t, []string{"pmacct/streams/", "netgauze/streams/"})
	if len(rows) < 30 {
		t.Fatalf("found %d stream rows in MANIFEST.md, want >= 30", len(rows))
	}
	for _, r := range rows {
		t.Run(filepath.Base(r.path), func(t *testing.T) {
			want := parseStreamCounts(t, r.cells[5])
			fr := decodeFile(t, filepath.Join(realDir, r.path), NewDecoder(), nil)
			if strings.HasSuffix(r.path, ".bmpv4") {
				var de *DecodeError
				if !errors.As(fr.tail, &de) || !errors.Is(fr.tail, ErrVersion) || de.Offset != 0 || fr.frames != 0 {
					t.Fatalf("BMP v4 stream: got %d frames, error %v; want ErrVersion at offset 0", fr.frames, fr.tail)
				}
				if !strings.Contains(fr.tail.Error(), "version 4") {
					t.Errorf("error %q does not name version 4", fr.tail)
				}
				return
			}
			for _, err := range fr.errs {
				t.Errorf("decode: %v", err)
			}
			// The MANIFEST counts complete messages; a cut final message
			// (202 traffic-02) is checked by TestRealTruncatedStream.
			got := fr.counts
			if fr.tail != nil && (!errors.Is(fr.tail, ErrTruncated) || fr.tailType < 0) {
				t.Fatalf("stream error %v", fr.tail)
			}
			if !equalCounts(got, want) {
				t.Errorf("counts %v, MANIFEST %v", countsString(got), countsString(want))
			}
			// Per-peer headers: messages by peer type and by flags byte.
			if wt := parseIntMap(t, r.cells[6]); len(wt) == 0 && len(fr.types) > 0 {
				t.Errorf("MANIFEST row has no peer types: %q", r.cells[6])
			} else if !maps.Equal(fr.types, wt) {
				t.Errorf("peer types %v, MANIFEST %v", fr.types, wt)
			}
			if wf := parseIntMap(t, r.cells[7]); !maps.Equal(fr.flags, wf) {
				t.Errorf("peer flags %v, MANIFEST %v", fr.flags, wf)
			}
		})
	}
}

// TestRealPcapCounts compares the decoded streams with tshark's counts per
// capture (MANIFEST pcap table): one stream per capture, the flows of a
// multi-router capture summed, and test 208's four phase captures summed
// over its router streams plus the two Initiation-only routers that have no
// stream file. BMP v4 captures are left out: tshark 4.0 dissects only part
// of them.
func TestRealPcapCounts(t *testing.T) {
	needReal(t)
	rows := manifestRows(t, []string{"pmacct/", "netgauze/"})
	sum208 := map[MessageType]int{}
	n := 0
	for _, r := range rows {
		if !strings.HasSuffix(r.path, ".pcap") {
			continue
		}
		want := parsePcapCounts(r.cells[4])
		base := strings.TrimSuffix(filepath.Base(r.path), ".pcap")
		if strings.HasPrefix(base, "208-") {
			for k, v := range want {
				sum208[k] += v
			}
			continue
		}
		streams, _ := filepath.Glob(filepath.Join(realDir, filepath.Dir(r.path), "streams", base+".*"))
		flows, _ := filepath.Glob(filepath.Join(realDir, filepath.Dir(r.path), "streams", base+".flow*.bmp"))
		if len(flows) > 0 {
			streams = flows
		}
		if len(streams) == 0 {
			t.Errorf("%s: no stream file", r.path)
			continue
		}
		if strings.HasSuffix(streams[0], ".bmpv4") {
			continue
		}
		n++
		got := sumCounts(t, streams)
		if !equalCounts(got, want) {
			t.Errorf("%s: decoded %v, tshark %v", r.path, countsString(got), countsString(want))
		}
	}
	streams, _ := filepath.Glob(filepath.Join(realDir, "pmacct", "streams", "208-*.bmp"))
	got := sumCounts(t, streams)
	got[MsgInitiation] += 2 // routers 203.0.113.22 and .28 sent only an Initiation (no stream file)
	if !equalCounts(got, sum208) {
		t.Errorf("208 phases: decoded %v, tshark %v", countsString(got), countsString(sum208))
	}
	if n < 13 {
		t.Errorf("compared %d captures, want >= 13", n)
	}
}

func sumCounts(t *testing.T, paths []string) map[MessageType]int {
	got := map[MessageType]int{}
	for _, p := range paths {
		fr := decodeFile(t, p, NewDecoder(), nil)
		for k, v := range fr.counts {
			got[k] += v
		}
	}
	return got
}

// TestRealTruncatedStream: the last message of 202 traffic-02 is cut
// (185-byte Route Monitoring, 156 bytes present at offset 12503 per the
// MANIFEST); the reader reports that offset and the 66 complete messages
// before it decode.
func TestRealTruncatedStream(t *testing.T) {
	needReal(t)
	p := filepath.Join(realDir, "pmacct", "streams", "202-BMP-CISCO-HUAWEI-multiple-sources.traffic-02.bmp")
	fr := decodeFile(t, p, NewDecoder(), nil)
	var de *DecodeError
	if !errors.As(fr.tail, &de) || !errors.Is(fr.tail, ErrTruncated) {
		t.Fatalf("tail error %v, want truncated", fr.tail)
	}
	if de.Offset != 12503 {
		t.Errorf("truncation offset %d, want 12503", de.Offset)
	}
	if !strings.Contains(de.Error(), "need 185 bytes, 156 present") {
		t.Errorf("error %q does not give the lengths", de)
	}
	if fr.frames != 66 || len(fr.errs) != 0 {
		t.Errorf("decoded %d frames (%d errors) before the cut, want 66", fr.frames, len(fr.errs))
	}
	if fr.tailType != int(MsgRouteMonitoring) {
		t.Errorf("cut message type %d, want Route Monitoring", fr.tailType)
	}
}

// TestRealOpenBMP checks the header fields of the three RouteViews OpenBMP
// messages against the MANIFEST, the embedded BMP against its tshark
// summary, and that AppendTo rewrites the exact bytes.
func TestRealOpenBMP(t *testing.T) {
	needReal(t)
	type want struct {
		file, admin, group, router, ts string
		hdrLen, bmpLen                 int
		msg                            MessageType
		peer                           string
		peerASN                        uint32
		check                          func(t *testing.T, r *Result)
	}
	cases := []want{
		{file: "linx_route_monitoring.obmp", admin: "is-ah-bmp1", group: "linx", router: "195.66.241.146", ts: "2021-11-08T01:45:55Z",
			hdrLen: 92, bmpLen: 176, msg: MsgRouteMonitoring, peer: "2001:7f8:4::1aae:4", peerASN: 6830,
			check: func(t *testing.T, r *Result) {
				if r.Peer.Type != decode.BMPPeerGlobal || r.Peer.Flags != 0xc0 {
					t.Errorf("peer type %d flags %#x, want global 0xc0", r.Peer.Type, r.Peer.Flags)
				}
				if len(r.Elems) != 1 || r.Elems[0].Type != decode.ElemAnnouncement || r.Elems[0].Prefix.String() != "2a0f:ca80:1::/48" {
					t.Fatalf("elems %+v, want one announcement of 2a0f:ca80:1::/48", r.Elems)
				}
				e := r.Elems[0]
				if got := e.Attrs.ASPath.String(); got != "6447 6830 9002 207083 208046" {
					t.Errorf("AS path %q", got)
				}
				if !e.BMP.PostPolicy || !e.BMP.NoPeerUp || e.BMP.RIB() != "adj-rib-in" {
					t.Errorf("BMP info %+v: want post-policy, no Peer Up, adj-rib-in", e.BMP)
				}
				if e.Time != 48095069*1e6+r.Peer.Time%1e6 {
					t.Errorf("elem time %d, want the per-peer timestamp 48095069 s", e.Time)
				}
			}},
		{file: "routeviews5_peer_down.obmp", admin: "is-cc-bmp1", group: "route-views5", router: "128.223.51.105", ts: "2021-11-05T04:57:38Z",
			hdrLen: 100, bmpLen: 51, msg: MsgPeerDown, peer: "63.218.6.14", peerASN: 3491},
		{file: "routeviews2_peer_down.obmp", admin: "is-ah-bmp1", group: "route-views2", router: "128.223.51.102", ts: "2023-10-30T01:10:53Z",
			hdrLen: 100, bmpLen: 51, msg: MsgPeerDown, peer: "91.228.151.1", peerASN: 31019},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(realDir, "openbmp", c.file))
			if err != nil {
				t.Fatal(err)
			}
			h, hl, err := DecodeHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			if hl != c.hdrLen || h.BMPLen != c.bmpLen || h.Version != Version17 || h.ObjectType != ObjectBMPRaw || h.Flags != FlagRouterMessage || h.RowCount != 1 {
				t.Errorf("header %+v len %d", h, hl)
			}
			if h.AdminID != c.admin || h.RouterGroup != c.group || h.RouterIP.String() != c.router {
				t.Errorf("admin %q group %q router %s", h.AdminID, h.RouterGroup, h.RouterIP)
			}
			if got := time.UnixMicro(h.CollectedAt).UTC().Truncate(time.Second).Format(time.RFC3339); got != c.ts {
				t.Errorf("collection time %s, want %s", got, c.ts)
			}
			if again := h.AppendTo(nil, b[hl:hl+h.BMPLen]); !bytes.Equal(again, b[:hl+h.BMPLen]) {
				t.Errorf("AppendTo does not reproduce the header:\n got % x\nwant % x", again[:hl], b[:hl])
			}
			var r Result
			if err := NewDecoder().Decode(b, &r); err != nil {
				t.Fatal(err)
			}
			rec := r.Record
			if rec.Collector != c.admin || rec.Router != c.group || rec.RouterIP.String() != c.router || rec.Time != h.CollectedAt || rec.Format != decode.FormatBMP {
				t.Errorf("record %+v", rec)
			}
			if r.MsgType != c.msg || r.Peer.Addr != netip.MustParseAddr(c.peer) || r.Peer.ASN != c.peerASN {
				t.Errorf("message %s peer %s AS%d", r.MsgType, r.Peer.Addr, r.Peer.ASN)
			}
			if c.msg == MsgPeerDown {
				if r.PeerDown.Reason != DownLocalFSM || len(r.Elems) != 1 || r.Elems[0].NewState != decode.StateIdle {
					t.Errorf("peer down reason %d elems %+v", r.PeerDown.Reason, r.Elems)
				}
			}
			if c.check != nil {
				c.check(t, &r)
			}
		})
	}
}

// TestRealStreamSmallReads frames a real stream read one byte at a time and
// gets the same frames as from one big read.
func TestRealStreamSmallReads(t *testing.T) {
	needReal(t)
	b, err := os.ReadFile(filepath.Join(realDir, "pmacct", "streams", "204-BMP-CISCO-peer_down.traffic-00.bmp"))
	if err != nil {
		t.Fatal(err)
	}
	frames := func(r io.Reader) (out [][]byte) {
		if errs := readFrames(NewStreamReader(r, KindUnknown), func(f []byte) { out = append(out, bytes.Clone(f)) }); errs != nil {
			t.Fatal(errs)
		}
		return out
	}
	whole := frames(bytes.NewReader(b))
	small := frames(iotest.OneByteReader(bytes.NewReader(b)))
	if len(whole) != 343 || len(small) != len(whole) {
		t.Fatalf("%d frames whole, %d one byte at a time; MANIFEST: 343", len(whole), len(small))
	}
	for i := range whole {
		if !bytes.Equal(whole[i], small[i]) {
			t.Fatalf("frame %d differs", i)
		}
	}
}
