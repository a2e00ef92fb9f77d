package openbmp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// writePcap writes each BMP message as one TCP segment (raw IPv4,
// 192.0.2.1:40000 -> 192.0.2.2:1790) so that tshark dissects every message
// on its own: frame i+1 is message i.
func writePcap(path string, msgs [][]byte) error {
	var b bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 262144)
	le.PutUint32(hdr[20:], 101) // LINKTYPE_RAW
	b.Write(hdr)
	seq := uint32(1000)
	for i, m := range msgs {
		n := 40 + len(m)
		pkt := make([]byte, 16+40, 16+n)
		le.PutUint32(pkt[0:], uint32(i))
		le.PutUint32(pkt[8:], uint32(n))
		le.PutUint32(pkt[12:], uint32(n))
		ip := pkt[16:]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(min(n, 65535)))
		binary.BigEndian.PutUint16(ip[4:], uint16(i))
		ip[8], ip[9] = 64, 6
		copy(ip[12:], []byte{192, 0, 2, 1, 192, 0, 2, 2})
		tcp := ip[20:]
		binary.BigEndian.PutUint16(tcp[0:], 40000)
		binary.BigEndian.PutUint16(tcp[2:], 1790)
		binary.BigEndian.PutUint32(tcp[4:], seq)
		tcp[12], tcp[13] = 5<<4, 0x18
		binary.BigEndian.PutUint16(tcp[14:], 65535)
		seq += uint32(len(m))
		b.Write(append(pkt, m...))
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

var tsharkFields = []string{
	"frame.number", "bmp.type", "_ws.malformed",
	"bgp.nlri_prefix", "bgp.mp_reach_nlri_ipv4_prefix", "bgp.mp_reach_nlri_ipv6_prefix",
	"bgp.withdrawn_prefix", "bgp.mp_unreach_nlri_ipv4_prefix", "bgp.mp_unreach_nlri_ipv6_prefix",
	"bgp.prefix_length",
	"bgp.update.path_attribute.as_path_segment.as2", "bgp.update.path_attribute.as_path_segment.as4",
}

// tsharkRM is what tshark shows of one Route Monitoring message.
type tsharkRM struct {
	malformed            bool
	announced, withdrawn []string // prefix addresses
	lengths              []string
	asns                 []string
}

func runTshark(t *testing.T, pcap string) map[int]tsharkRM {
	t.Helper()
	args := []string{"-r", pcap, "-d", "tcp.port==1790,bmp", "-o", "tcp.desegment_tcp_streams:FALSE",
		"-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=/t"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	m := map[int]tsharkRM{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < len(tsharkFields) || c[1] != "0" {
			continue
		}
		n, _ := strconv.Atoi(c[0])
		r := tsharkRM{malformed: c[2] != ""}
		r.announced = append(append(append(r.announced, split(c[3])...), split(c[4])...), split(c[5])...)
		r.withdrawn = append(append(append(r.withdrawn, split(c[6])...), split(c[7])...), split(c[8])...)
		r.lengths = split(c[9])
		r.asns = split(c[11])
		if len(r.asns) == 0 {
			r.asns = split(c[10])
		}
		m[n-1] = r
	}
	return m
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// TestTsharkRouteMonitoring compares, for every Route Monitoring message of
// the real BMP streams that tshark dissects without error and that carries
// only IPv4/IPv6 unicast or multicast NLRI, the announced and withdrawn
// prefixes (addresses and lengths) and the AS path with tshark's field
// output for the same message.
func TestTsharkRouteMonitoring(t *testing.T) {
	needReal(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (apt-get install -y tshark)")
	}
	if testing.Short() {
		t.Skip("runs tshark on every stream; skipped in -short mode")
	}
	var paths []string
	for _, g := range []string{"pmacct/streams/*.bmp", "netgauze/streams/*.bmp"} {
		m, _ := filepath.Glob(filepath.Join(realDir, g))
		paths = append(paths, m...)
	}
	totalMsgs, totalPrefixes, totalPaths := 0, 0, 0
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var msgs [][]byte
			sr := NewStreamReader(bytes.NewReader(b), KindBMP)
			for {
				f, err := sr.Next()
				if err != nil {
					if err != io.EOF && !strings.Contains(p, "traffic-02") {
						t.Fatal(err)
					}
					break
				}
				msgs = append(msgs, bytes.Clone(f))
			}
			pcap := filepath.Join(t.TempDir(), "s.pcap")
			if err := writePcap(pcap, msgs); err != nil {
				t.Fatal(err)
			}
			ts := runTshark(t, pcap)
			d := NewDecoder()
			var res Result
			compared, skipped, treatAsWithdraw := 0, 0, 0
			for i, m := range msgs {
				if err := d.Decode(m, &res); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if res.MsgType != MsgRouteMonitoring {
					continue
				}
				want, ok := ts[i]
				if !ok {
					t.Errorf("message %d: tshark shows no Route Monitoring", i)
					continue
				}
				if want.malformed || len(res.Unsupported) > 0 {
					skipped++
					continue
				}
				var ann, wd, lens []string
				var hasPath bool
				var asns []string
				for _, e := range res.Elems {
					lens = append(lens, strconv.Itoa(e.Prefix.Bits()))
					switch e.Type {
					case decode.ElemAnnouncement:
						ann = append(ann, e.Prefix.Addr().String())
					case decode.ElemWithdrawal:
						wd = append(wd, e.Prefix.Addr().String())
					}
				}
				if a := &res.Update.Attrs; a.Has(decode.AttrASPath) && !a.Has(decode.AttrAS4Path) {
					hasPath = true
					for _, n := range a.ASPath.ASNs() {
						asns = append(asns, strconv.FormatUint(uint64(n), 10))
					}
				}
				where := fmt.Sprintf("message %d (frame %d)", i, i+1)
				if res.Update.Attrs.Action >= decode.ActionTreatAsWithdraw {
					// RFC 7606 treat-as-withdraw (e.g. the 6WIND streams'
					// NLRI without NEXT_HOP): tshark still lists the
					// prefixes as announced; they must all be withdrawn.
					want.withdrawn = append(slices.Clone(want.withdrawn), want.announced...)
					want.announced = nil
					treatAsWithdraw++
				}
				if !slices.Equal(sorted(ann), sorted(want.announced)) {
					t.Errorf("%s: announced %v, tshark %v", where, ann, want.announced)
				}
				if !slices.Equal(sorted(wd), sorted(want.withdrawn)) {
					t.Errorf("%s: withdrawn %v, tshark %v", where, wd, want.withdrawn)
				}
				if !slices.Equal(sorted(lens), sorted(want.lengths)) {
					t.Errorf("%s: prefix lengths %v, tshark %v", where, lens, want.lengths)
				}
				if hasPath && !slices.Equal(asns, want.asns) {
					t.Errorf("%s: AS path %v, tshark %v", where, asns, want.asns)
				}
				compared++
				totalPrefixes += len(res.Elems)
				if hasPath {
					totalPaths++
				}
			}
			totalMsgs += compared
			t.Logf("%d Route Monitoring messages compared (%d treat-as-withdraw), %d skipped (tshark malformed or non-unicast NLRI)", compared, treatAsWithdraw, skipped)
		})
	}
	t.Logf("total: %d messages, %d prefixes, %d AS paths compared with tshark", totalMsgs, totalPrefixes, totalPaths)
	if totalPrefixes < 1000 {
		t.Errorf("only %d prefixes compared", totalPrefixes)
	}
}

// tsharkStatField names tshark's field for each statistics type.
var tsharkStatField = [...]string{
	"prefix_rej", "prefix_dup", "withdraw_dup", "cluster_loop", "as_loop", "inv_originator", "as_confed_loop",
	"routes_adj_rib_in", "routes_loc_rib", "routes_per_adj_rib_in", "routes_per_loc_rib", "update_treat",
	"prefixes_treat", "duplicate_update", "routes_pre_adj_rib_out", "routes_post_adj_rib_out",
	"routes_pre_per_adj_rib_out", "routes_post_per_adj_rib_out",
}

// TestTsharkStatistics compares every Statistics Report of the real streams
// that tshark dissects without error: the type of each entry in order, and
// for the types tshark knows (0-17), the values, with AFI/SAFI for the
// per-family gauges.
func TestTsharkStatistics(t *testing.T) {
	needReal(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (apt-get install -y tshark)")
	}
	if testing.Short() {
		t.Skip("runs tshark on every stream; skipped in -short mode")
	}
	fields := []string{"frame.number", "bmp.type", "_ws.malformed", "bmp.stats.count", "bmp.stats.type"}
	for _, f := range tsharkStatField {
		fields = append(fields, "bmp.stats.data."+f)
	}
	for _, f := range []string{"routes_per_adj_rib_in", "routes_per_loc_rib", "routes_pre_per_adj_rib_out", "routes_post_per_adj_rib_out"} {
		fields = append(fields, "bmp.stats.data."+f+".afi", "bmp.stats.data."+f+".safi")
	}
	paths, _ := filepath.Glob(filepath.Join(realDir, "pmacct", "streams", "*.bmp"))
	more, _ := filepath.Glob(filepath.Join(realDir, "netgauze", "streams", "*.bmp"))
	paths = append(paths, more...)
	total, entries := 0, 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var msgs [][]byte
		sr := NewStreamReader(bytes.NewReader(b), KindBMP)
		hasStats := false
		for {
			f, err := sr.Next()
			if err != nil {
				break
			}
			hasStats = hasStats || f[5] == byte(MsgStatisticsReport)
			msgs = append(msgs, bytes.Clone(f))
		}
		if !hasStats {
			continue
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			pcap := filepath.Join(t.TempDir(), "s.pcap")
			if err := writePcap(pcap, msgs); err != nil {
				t.Fatal(err)
			}
			args := []string{"-r", pcap, "-d", "tcp.port==1790,bmp", "-o", "tcp.desegment_tcp_streams:FALSE",
				"-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=/t"}
			for _, f := range fields {
				args = append(args, "-e", f)
			}
			out, err := exec.Command("tshark", args...).Output()
			if err != nil {
				t.Fatal(err)
			}
			col := map[string]int{}
			for i, f := range fields {
				col[f] = i
			}
			rows := map[int][]string{}
			for _, l := range strings.Split(string(out), "\n") {
				c := strings.Split(l, "\t")
				if len(c) == len(fields) && c[1] == "1" && c[2] == "" {
					n, _ := strconv.Atoi(c[0])
					rows[n-1] = c
				}
			}
			list := func(s string) []string {
				if s == "" {
					return nil
				}
				return strings.Split(s, ",")
			}
			d := NewDecoder()
			var res Result
			compared := 0
			for i, m := range msgs {
				if err := d.Decode(m, &res); err != nil || res.MsgType != MsgStatisticsReport {
					continue
				}
				row, ok := rows[i]
				if !ok {
					continue // tshark marks it malformed (e.g. type 65531)
				}
				// tshark stops at the first type it does not know (the
				// 6WIND streams' 65531): compare up to that entry.
				stats := res.Stats
				for j, s := range stats {
					if int(s.Type) >= len(tsharkStatField) {
						stats = stats[:j+1]
						break
					}
				}
				var types []string
				got := map[string][]string{}
				for _, s := range stats {
					types = append(types, strconv.Itoa(int(s.Type)))
					if int(s.Type) < len(tsharkStatField) {
						f := "bmp.stats.data." + tsharkStatField[s.Type]
						got[f] = append(got[f], strconv.FormatUint(s.Value, 10))
						if s.Type == StatPerAFIAdjRIBIn || s.Type == StatPerAFILocRIB || s.Type == StatPerAFIAdjRIBOutPre || s.Type == StatPerAFIAdjRIBOutPost {
							got[f+".afi"] = append(got[f+".afi"], strconv.Itoa(int(s.AFI)))
							got[f+".safi"] = append(got[f+".safi"], strconv.Itoa(int(s.SAFI)))
						}
					}
				}
				if want := list(row[col["bmp.stats.type"]]); !slices.Equal(types, want) {
					t.Errorf("message %d: types %v, tshark %v", i, types, want)
				}
				if row[col["bmp.stats.count"]] != strconv.Itoa(len(res.Stats)) {
					t.Errorf("message %d: %d entries, tshark count %s", i, len(res.Stats), row[col["bmp.stats.count"]])
				}
				for _, f := range fields[5:] {
					if want := list(row[col[f]]); !slices.Equal(got[f], want) {
						t.Errorf("message %d: %s = %v, tshark %v", i, f, got[f], want)
					}
				}
				compared++
				entries += len(stats)
			}
			total += compared
			if compared == 0 {
				t.Errorf("no Statistics Report compared")
			}
		})
	}
	t.Logf("%d Statistics Reports (%d entries) compared with tshark", total, entries)
	if total < 1000 {
		t.Errorf("only %d Statistics Reports compared", total)
	}
}
