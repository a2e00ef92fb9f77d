package openbmp

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// stateSamples are entries covering every field and address form.
func stateSamples() []StateEntry {
	rk := RouterKey(md5.Sum([]byte("192.0.2.1")))
	return []StateEntry{
		{Router: rk, SysName: "ipf-zbl1243-r-daisy-23"},
		{Router: rk}, // Initiation without sysName
		{Router: RouterKey{}, SysName: "raw router"}, // raw BMP: the zero key
		{Router: rk, SysName: strings.Repeat("x", 300)},
		{Router: rk, HasPeer: true, Peer: PeerKey{decode.BMPPeerGlobal, 0, netip.MustParseAddr("192.0.2.2")},
			Session: Session{In: decode.Options{AS4: true, AddPath: 1}, Out: decode.Options{AS4: true}, ASN: 4200000002}},
		{Router: rk, HasPeer: true, Peer: PeerKey{decode.BMPPeerRD, 0x0000fde8_00000064, netip.MustParseAddr("2001:db8::10")},
			Session: Session{In: decode.Options{AddPath: 0xff, AddPathAll: true}, ASN: 64500}},
		{Router: rk, HasPeer: true, Peer: PeerKey{decode.BMPPeerLocRIB, 7, netip.Addr{}}, Session: Session{In: decode.Options{AS4: true}}},
		{Router: rk, HasPeer: true, Peer: PeerKey{decode.BMPPeerGlobal, 0, netip.MustParseAddr("::ffff:192.0.2.3")}},
	}
}

// TestStateEntryRoundTrip: every entry decodes back to itself; keys are
// distinct and readable; a deleted entry has no encoding.
func TestStateEntryRoundTrip(t *testing.T) {
	keys := map[string]bool{}
	for _, e := range stateSamples() {
		b, err := e.AppendBinary([]byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		if string(b[:6]) != "prefix" {
			t.Fatalf("AppendBinary did not append: %q", b)
		}
		var got StateEntry
		if err := got.UnmarshalBinary(b[6:]); err != nil {
			t.Fatalf("%+v: %v", e, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, e)
		}
		k := string(e.AppendKey(nil))
		if keys[k] && e.SysName != "" && e.HasPeer {
			t.Errorf("duplicate key %s", k)
		}
		keys[k] = true
	}
	e := stateSamples()[4]
	if k := string(e.AppendKey(nil)); k != fmt.Sprintf("%x/0/0/192.0.2.2", e.Router[:]) {
		t.Errorf("session key %q", k)
	}
	if k := string(stateSamples()[6].AppendKey(nil)); !strings.HasSuffix(k, "/3/7/-") {
		t.Errorf("no-address key %q", k)
	}
	e.Deleted = true
	if _, err := e.AppendBinary(nil); err == nil {
		t.Error("a deleted entry encoded")
	}
}

// TestStateEntryErrors: cut, overlong, other-version and malformed
// encodings are errors with an offset, matched by the package sentinels.
func TestStateEntryErrors(t *testing.T) {
	for _, e := range stateSamples() {
		b, _ := e.AppendBinary(nil)
		for n := range len(b) {
			var got StateEntry
			err := got.UnmarshalBinary(b[:n])
			var de *DecodeError
			if err == nil || !errors.As(err, &de) || (!errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed)) {
				t.Fatalf("%d of %d bytes: %v", n, len(b), err)
			}
		}
		var got StateEntry
		if err := got.UnmarshalBinary(append(b, 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("trailing byte: %v", err)
		}
		v2 := slices.Clone(b)
		v2[0] = 2
		if err := got.UnmarshalBinary(v2); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "version 2") {
			t.Errorf("version 2: %v", err)
		}
		k := slices.Clone(b)
		k[1] = 9
		if err := got.UnmarshalBinary(k); !errors.Is(err, ErrMalformed) {
			t.Errorf("kind 9: %v", err)
		}
	}
	s, _ := stateSamples()[4].AppendBinary(nil)
	bad := slices.Clone(s)
	bad[2+16+9] = 5 // address length
	var got StateEntry
	if err := got.UnmarshalBinary(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("address length 5: %v", err)
	}
	bad = slices.Clone(s)
	bad[len(bad)-8] = 0x80 // In flags
	if err := got.UnmarshalBinary(bad); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "flag bits") {
		t.Errorf("unknown flag: %v", err)
	}
	huge := []byte{StateVersion, entryRouter}
	huge = append(huge, make([]byte, 16)...)
	huge = append(huge, 0xff, 0xff, 0xff, 0xff, 0x0f) // 4 GiB sysName
	if err := got.UnmarshalBinary(huge); !errors.Is(err, ErrMalformed) {
		t.Errorf("4 GiB sysName: %v", err)
	}
}

// changelog is a compacted changelog in memory: the last encoded value
// per key, deleted entries removed, as Kafka compaction leaves it.
type changelog map[string][]byte

func (c changelog) add(t testing.TB, es []StateEntry) {
	t.Helper()
	for i := range es {
		k := string(es[i].AppendKey(nil))
		if es[i].Deleted {
			delete(c, k)
			continue
		}
		v, err := es[i].AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		c[k] = v
	}
}

// entries decodes the changelog's values (as a restore would).
func (c changelog) entries(t testing.TB) []StateEntry {
	t.Helper()
	var out []StateEntry
	for _, k := range slices.Sorted(maps.Keys(c)) {
		var e StateEntry
		if err := e.UnmarshalBinary(c[k]); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if got := string(e.AppendKey(nil)); got != k {
			t.Fatalf("value of key %s decodes to key %s", k, got)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, compareEntries) // ExportState's order
	return out
}

// describe renders everything a message decoded into: the record (router
// name and address included) and each elem with every attribute, so that
// two decodings compare as strings.
func describe(res *Result, err error) string {
	var b strings.Builder
	r := res.Record
	fmt.Fprintf(&b, "%s %d proj=%s coll=%s router=%q rip=%s status=%d err=%v", res.MsgType, r.Time, r.Project, r.Collector, r.Router, r.RouterIP, r.Status, err)
	for _, e := range res.Elems {
		a := e.Attrs
		e.Attrs = nil
		fmt.Fprintf(&b, "\n  %+v", e)
		if a != nil {
			fmt.Fprintf(&b, " path=%s origin=%d nh=%s med=%d lp=%d aa=%v agg=%+v comm=%v ext=%v large=%v orig=%s cl=%v otc=%d mpnh=%s/%s unknown=%v action=%v",
				a.ASPath.String(), a.Origin, a.NextHop, a.MED, a.LocalPref, a.AtomicAggregate, a.Aggregator, a.Communities, a.ExtCommunities,
				a.LargeCommunities, a.OriginatorID, a.ClusterList, a.OnlyToCustomer, a.MPNextHop, a.MPNextHopLocal, a.Unknown, a.Action)
			for _, ae := range a.Errors {
				fmt.Fprintf(&b, " attrerr=%v", ae)
			}
		}
	}
	for _, s := range res.Stats {
		fmt.Fprintf(&b, "\n  stat %+v", s)
	}
	return b.String()
}

// streamFrames returns the frames of a stream file.
func streamFrames(t testing.TB, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sr := NewStreamReader(bytes.NewReader(data), KindUnknown)
	var out [][]byte
	for {
		f, err := sr.Next()
		if err != nil {
			break // a capture cut mid-message: keep what came before
		}
		out = append(out, slices.Clone(f))
	}
	return out
}

// TestStateRestoreRealStreams cuts real routers' BMP streams (every
// pmacct and NetGauze stream, and the gobgpd and FRR recordings) at many
// points: the changes the Decoder recorded before the cut, compacted by
// key and encoded as a changelog keeps them, restore a new Decoder that
// decodes the rest of the stream exactly as the uninterrupted one does —
// router names, AS paths, path ids and NoPeerUp included. A Decoder that
// starts at the cut without the state decodes differently, which shows
// the comparison can fail.
func TestStateRestoreRealStreams(t *testing.T) {
	needReal(t)
	paths, _ := filepath.Glob(filepath.Join(realDir, "*", "streams", "*.bmp"))
	paths = append(paths, filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp"), filepath.Join("..", "internal", "demodata", "frr-bmp.obmp"))
	differ, pathIDs, cuts := 0, 0, 0
	for _, p := range paths {
		frames := streamFrames(t, p)
		if len(frames) == 0 {
			continue
		}
		// Cut points: 6 spread over the stream, and right after up to 6
		// of the messages that change the state.
		var changes []int
		scan := NewDecoder()
		scan.RecordChanges(true)
		var res Result
		for i, f := range frames {
			scan.Decode(f, &res)
			if scan.HasChanges() && i+1 < len(frames) {
				changes = append(changes, i+1)
			}
			scan.AppendChanges(nil)
		}
		at := map[int]bool{}
		for i := 1; i <= 6; i++ {
			at[i*len(frames)/7] = true
		}
		for i := range min(len(changes), 6) {
			at[changes[i*len(changes)/min(len(changes), 6)]] = true
		}
		// The uninterrupted run, with the changelog and the state at each
		// cut.
		d := NewDecoder()
		d.RecordChanges(true)
		want := make([]string, len(frames))
		cls := map[int]changelog{}
		states := map[int][]StateEntry{}
		cl := changelog{}
		for i, f := range frames {
			if at[i] {
				cls[i] = maps.Clone(cl)
				states[i] = d.ExportState(nil)
			}
			err := d.Decode(f, &res)
			want[i] = describe(&res, err)
			cl.add(t, d.AppendChanges(nil))
			for _, e := range res.Elems {
				if e.HasPathID {
					pathIDs++
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(at)) {
			cuts++
			restored := NewDecoder()
			restored.ImportState(cls[k].entries(t))
			if got, exp := restored.ExportState(nil), states[k]; !reflect.DeepEqual(got, exp) {
				t.Fatalf("%s cut at %d: restored state\n%+v\nwant\n%+v", filepath.Base(p), k, got, exp)
			}
			fresh := NewDecoder()
			changed := false
			for i := k; i < len(frames); i++ {
				err := restored.Decode(frames[i], &res)
				if got := describe(&res, err); got != want[i] {
					t.Fatalf("%s cut at %d: frame %d decodes differently after the restore:\n got %s\nwant %s", filepath.Base(p), k, i, got, want[i])
				}
				if !changed {
					err = fresh.Decode(frames[i], &res)
					changed = describe(&res, err) != want[i]
				}
			}
			if changed {
				differ++
			}
		}
	}
	t.Logf("%d streams, %d cut points; without the state %d of them decode differently; %d elems with path ids", len(paths), cuts, differ, pathIDs)
	if cuts == 0 || differ == 0 {
		t.Fatal("no cut point where the state matters: the test would not notice a lost state")
	}
	if pathIDs == 0 {
		t.Error("no ADD-PATH elem in the streams: ADD-PATH restore untested")
	}
}

// TestStateRestoreSessionOptions: a restored 2-byte-ASN session and an
// ADD-PATH session (RFC 6793, RFC 7911) decode with the widths their OPENs
// negotiated; without the state, the same messages decode otherwise.
func TestStateRestoreSessionOptions(t *testing.T) {
	const recvOnly, sendOnly = 1, 2
	two := peerA
	two.addr, two.asn = netip.MustParseAddr("192.0.2.12"), 64510
	init := bmpMsg(MsgInitiation, tlv(InfoSysName, []byte("r1.example")))
	d := NewDecoder()
	d.RecordChanges(true)
	mustDecode(t, d, init)
	mustDecode(t, d, bmpMsg(MsgPeerUp, peerA.bytes(), peerUpBody(open(4200000001, true, recvOnly), open(peerA.asn, true, sendOnly))))
	mustDecode(t, d, bmpMsg(MsgPeerUp, two.bytes(), peerUpBody(open(65001, false, 0), open(64510, false, 0))))
	cl := changelog{}
	cl.add(t, d.AppendChanges(nil))
	if len(cl) != 3 {
		t.Fatalf("changelog %v, want the Initiation and two sessions", cl)
	}
	msgs := [][]byte{
		bmpMsg(MsgRouteMonitoring, peerA.bytes(), update4([]uint32{4200000010, 64496}, 4, 7)),
		bmpMsg(MsgRouteMonitoring, two.bytes(), update4([]uint32{64510, 23456}, 2, 0)),
	}
	r := NewDecoder()
	r.ImportState(cl.entries(t))
	for i, m := range msgs {
		var a, b Result
		ea, eb := d.Decode(m, &a), r.Decode(m, &b)
		if da, db := describe(&a, ea), describe(&b, eb); da != db {
			t.Errorf("message %d: restored %s\nwant %s", i, db, da)
		}
		if b.Record.Router != "r1.example" || len(b.Elems) != 1 || b.Elems[0].BMP.NoPeerUp {
			t.Errorf("message %d: %s", i, describe(&b, eb))
		}
		var c Result
		ec := NewDecoder().Decode(m, &c)
		if describe(&c, ec) == describe(&a, ea) {
			t.Errorf("message %d decodes the same without the state: the test shows nothing", i)
		}
	}
	var b Result
	r.Decode(msgs[0], &b)
	if e := b.Elems[0]; !e.HasPathID || e.PathID != 7 || e.Attrs.ASPath.String() != "4200000010 64496" {
		t.Errorf("ADD-PATH session after restore: %+v %s", e, e.Attrs.ASPath.String())
	}
	r.Decode(msgs[1], &b)
	if p := b.Elems[0].Attrs.ASPath.String(); p != "64510 23456" {
		t.Errorf("2-byte session after restore: path %s", p)
	}
}

// TestStateChanges: Peer Down and Termination record deletions, a new
// Initiation deletes the earlier sessions, and eviction (WithMaxSessions)
// is recorded too, so that the changelog always equals the state.
func TestStateChanges(t *testing.T) {
	d := NewDecoder(WithMaxSessions(2))
	d.RecordChanges(true)
	cl := changelog{}
	step := func(what string, frame []byte) {
		t.Helper()
		mustDecode(t, d, frame)
		cl.add(t, d.AppendChanges(nil))
		if d.HasChanges() {
			t.Fatal("AppendChanges left changes behind")
		}
		if got, want := cl.entries(t), d.ExportState(nil); !reflect.DeepEqual(got, want) {
			t.Fatalf("after %s: changelog\n%+v\nstate\n%+v", what, got, want)
		}
	}
	up := func(p peer) []byte {
		return bmpMsg(MsgPeerUp, p.bytes(), peerUpBody(open(1, true, 0), open(p.asn, true, 0)))
	}
	step("Initiation", bmpMsg(MsgInitiation, tlv(InfoSysName, []byte("r1"))))
	step("Peer Up", up(peerA))
	step("Peer Up v6", up(peer6))
	b := peerA
	b.addr = netip.MustParseAddr("192.0.2.13")
	step("Peer Up over the bound", up(b))
	// One router only: the bound drops its sessions wholesale.
	if d.Sessions() != 1 || len(cl) != 2 {
		t.Fatalf("%d sessions, changelog %d entries", d.Sessions(), len(cl))
	}
	step("Peer Down", bmpMsg(MsgPeerDown, b.bytes(), []byte{DownRemoteNoData}))
	step("Peer Up again", up(peerA))
	step("new Initiation", bmpMsg(MsgInitiation, tlv(InfoSysName, []byte("r1-rebooted"))))
	if len(cl) != 1 {
		t.Fatalf("after a new Initiation the changelog holds %v", cl)
	}
	step("Peer Up", up(peerA))
	step("Termination", bmpMsg(MsgTermination, tlv(0, []byte("bye"))))
	if len(cl) != 0 || d.Sessions() != 0 {
		t.Fatalf("after Termination: changelog %v, %d sessions", cl, d.Sessions())
	}
	// Import of deletions and Reset.
	d.ImportState([]StateEntry{{Router: RouterKey{1}, SysName: "x"}, {Router: RouterKey{1}, HasPeer: true, Peer: PeerKey{Addr: peerA.addr}}})
	if d.HasChanges() || d.Sessions() != 1 {
		t.Fatalf("import recorded changes or lost a session: %d sessions", d.Sessions())
	}
	d.ImportState([]StateEntry{{Router: RouterKey{1}, Deleted: true}, {Router: RouterKey{1}, HasPeer: true, Peer: PeerKey{Addr: peerA.addr}, Deleted: true}})
	if len(d.ExportState(nil)) != 0 || len(d.routers) != 0 {
		t.Fatalf("deletions left %+v", d.ExportState(nil))
	}
	d.ImportState(stateSamples())
	d.Reset()
	if len(d.ExportState(nil)) != 0 || d.Sessions() != 0 {
		t.Fatal("Reset kept state")
	}
}

// TestStateRecordingAllocs: with recording on, Route Monitoring decodes
// without allocating (state changes only on Initiation, Peer Up/Down and
// Termination).
func TestStateRecordingAllocs(t *testing.T) {
	d := NewDecoder()
	d.RecordChanges(true)
	mustDecode(t, d, bmpMsg(MsgInitiation, tlv(InfoSysName, []byte("r1"))))
	mustDecode(t, d, bmpMsg(MsgPeerUp, peerA.bytes(), peerUpBody(open(1, true, 0), open(peerA.asn, true, 0))))
	d.AppendChanges(nil)
	rm := bmpMsg(MsgRouteMonitoring, peerA.bytes(), update4([]uint32{4200000010, 64496}, 4, 0))
	var res Result
	d.Decode(rm, &res)
	if n := testing.AllocsPerRun(1000, func() { d.Decode(rm, &res) }); n != 0 {
		t.Errorf("Route Monitoring with recording on: %v allocations", n)
	}
	if d.HasChanges() {
		t.Error("Route Monitoring recorded a change")
	}
}

// BenchmarkRouteMonitoringRecording is BenchmarkRouteMonitoring with state
// changes recorded (as the connector runs it): the hot path must cost the
// same and allocate nothing.
func BenchmarkRouteMonitoringRecording(b *testing.B) {
	d, rms := rmCorpus(b)
	d.RecordChanges(true)
	var res Result
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := d.Decode(rms[i%len(rms)], &res); err != nil {
			b.Fatal(err)
		}
	}
	if d.HasChanges() {
		b.Fatal("Route Monitoring recorded changes")
	}
}

// BenchmarkStateImport decodes and imports the encoded state of 1000
// routers with 10 sessions each (one op is the whole state), as a restore
// does after reading a changelog.
func BenchmarkStateImport(b *testing.B) {
	var vals [][]byte
	for r := range 1000 {
		rk := RouterKey(md5.Sum([]byte(fmt.Sprint(r))))
		e := StateEntry{Router: rk, SysName: fmt.Sprintf("router-%d.example", r)}
		v, _ := e.AppendBinary(nil)
		vals = append(vals, v)
		for p := range 10 {
			e := StateEntry{Router: rk, HasPeer: true, Peer: PeerKey{Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(p)})},
				Session: Session{In: decode.Options{AS4: true, AddPath: 1}, Out: decode.Options{AS4: true}, ASN: 64496}}
			v, _ := e.AppendBinary(nil)
			vals = append(vals, v)
		}
	}
	es := make([]StateEntry, len(vals))
	b.ReportAllocs()
	for b.Loop() {
		for i, v := range vals {
			if err := es[i].UnmarshalBinary(v); err != nil {
				b.Fatal(err)
			}
		}
		d := NewDecoder()
		d.ImportState(es)
		if d.Sessions() != 10000 {
			b.Fatal(d.Sessions())
		}
	}
	b.ReportMetric(float64(len(vals)), "entries/op")
}
