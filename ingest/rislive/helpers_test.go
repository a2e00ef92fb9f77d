package rislive

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/internal/rislivetest"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// The real RIS MRT updates files the long streams are derived from: both
// RIS, both BGP4MP MESSAGE_AS4 (MANIFEST.md).
const (
	rrc06File   = "libbgpstream/ris.rrc06.updates.1427846400.gz"
	bgpdumpFile = "ripe-bgpdump/updates.20160811.1600.gz"
	sampleFile  = "libbgpstream/ris-live-stream.json"
)

// quiet is a logger for tests that provoke warnings on purpose.
func quiet() Opt { return WithLogger(slog.New(slog.DiscardHandler)) }

// elemKey renders an elem as bgpreader's columns do, independently of
// package emit: time, type, peer, peer ASN, prefix, next hop, AS path,
// communities (announcements), or the states (peer state).
func elemKey(e *decode.Elem) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d|%c|%s|%d|", e.Time, e.Type.Char(), e.PeerIP, e.PeerASN)
	switch e.Type {
	case decode.ElemPeerState:
		fmt.Fprintf(&sb, "%s|%s", e.OldState, e.NewState)
	case decode.ElemWithdrawal:
		sb.WriteString(e.Prefix.String())
	default:
		fmt.Fprintf(&sb, "%s|%s|%s|", e.Prefix, e.NextHop, e.Attrs.ASPath.String())
		for i, c := range e.Attrs.Communities {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.Write(c.AppendText(nil))
		}
	}
	return sb.String()
}

// attrKey adds what RIS Live's JSON fields carry besides elemKey: origin,
// MED, aggregator.
func attrKey(e *decode.Elem) string {
	k := elemKey(e)
	if a := e.Attrs; a != nil {
		k += fmt.Sprintf("|%v|%v:%d|%v:%d:%s", a.Origin, a.Has(decode.AttrMED), a.MED,
			a.Has(decode.AttrAggregator), a.Aggregator.ASN, a.Aggregator.Addr)
	}
	return k
}

// batchKeys returns the keys of b's elems.
func batchKeys(b *decode.Batch, key func(*decode.Elem) string) []string {
	var out []string
	for i := range b.Elems {
		out = append(out, key(&b.Elems[i]))
	}
	return out
}

// mrtKeys reads a corpus MRT file with package mrt and returns, for each
// BGP4MP(_ET) MESSAGE_AS4 record in order (the records Derive writes one
// line each for), the keys of its elems.
func mrtKeys(tb testing.TB, rel string, key func(*decode.Elem) string) [][]string {
	var out [][]string
	for _, r := range mrtRecords(tb, rel, key) {
		out = append(out, r.keys)
	}
	return out
}

// mrtRecord is one MESSAGE_AS4 record as package mrt reads it.
type mrtRecord struct {
	time int64 // µs
	keys []string
}

// mrtRecords is mrtKeys with the records' times.
func mrtRecords(tb testing.TB, rel string, key func(*decode.Elem) string) []mrtRecord {
	tb.Helper()
	f, err := os.Open(corpus.Path(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rd, err := mrt.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	defer rd.Close()
	el := mrt.NewElementor()
	var out []mrtRecord
	var elems []decode.Elem
	for {
		raw, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatalf("%s: %v", rel, err)
		}
		if (raw.Type != mrt.TypeBGP4MP && raw.Type != mrt.TypeBGP4MPET) || raw.Subtype != mrt.BGP4MPMessageAS4 {
			continue
		}
		var rec decode.Record
		elems, _ = el.Elems(&rec, raw, elems[:0])
		var keys []string
		for i := range elems {
			keys = append(keys, key(&elems[i]))
		}
		out = append(out, mrtRecord{time: rec.Time, keys: keys})
	}
}

// derive writes a corpus MRT file as RIS Live lines (rislivetest.Derive)
// and returns them, one per MESSAGE_AS4 record.
func derive(tb testing.TB, rel string, o rislivetest.DeriveOptions) [][]byte {
	tb.Helper()
	f, err := os.Open(corpus.Path(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	st, err := rislivetest.Derive(f, &buf, o)
	if err != nil {
		tb.Fatalf("deriving %s: %v", rel, err)
	}
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != st.Lines || st.Lines == 0 {
		tb.Fatalf("derived %d lines, Derive says %d", len(lines), st.Lines)
	}
	return lines
}

// multiset counts keys.
func multiset(keys ...[]string) map[string]int {
	m := map[string]int{}
	for _, ks := range keys {
		for _, k := range ks {
			m[k]++
		}
	}
	return m
}

// diffMultisets describes how two multisets differ (a few examples).
func diffMultisets(got, want map[string]int) string {
	var sb strings.Builder
	n := 0
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok && !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		if got[k] != want[k] {
			if n++; n <= 5 {
				fmt.Fprintf(&sb, "\n  %s: got %d, want %d", k, got[k], want[k])
			}
		}
	}
	if n > 5 {
		fmt.Fprintf(&sb, "\n  ... %d keys differ", n)
	}
	return sb.String()
}
