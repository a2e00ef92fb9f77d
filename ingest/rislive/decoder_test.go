package rislive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
	"github.com/bgp-connector/bgp-connector/internal/rislivetest"
)

// TestRealSample reads libbgpstream's RIS Live sample (real messages of
// 2019: UPDATE, RIS_PEER_STATE, ris_error, OPEN, NOTIFICATION, KEEPALIVE,
// and a last line that is invalid JSON) as saved JSON lines.
func TestRealSample(t *testing.T) {
	data := corpus.Read(t, sampleFile)
	src, err := NewFileSource(bytes.NewReader(data), "ris-live-stream.json", quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var b decode.Batch
	b.Reset()
	if err := src.Next(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	var more decode.Batch
	more.Reset()
	if err := src.Next(context.Background(), &more); err != io.EOF {
		t.Fatalf("second Next: %v, want io.EOF", err)
	}
	if b.Source != "ris-live-stream.json" || b.Partition != -1 {
		t.Errorf("batch source %q partition %d", b.Source, b.Partition)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	lineOff := func(n int) int64 { return int64(len(bytes.Join(lines[:n-1], nil))) }

	// Lines 1, 2, 4, 5, 6 are records (3 is the ris_error, 7 is damaged).
	wantColl := []string{"rrc00", "rrc01", "rrc00", "rrc01", "rrc03"}
	wantLine := []int{1, 2, 4, 5, 6}
	wantTime := []int64{1553627987890000, 1553625081880000, 1553624995840000, 1553625016830000, 1553625034060000}
	if len(b.Records) != len(wantColl) {
		t.Fatalf("%d records, want %d", len(b.Records), len(wantColl))
	}
	for i, r := range b.Records {
		if r.Project != "ris-live" || r.Collector != wantColl[i] || r.Type != decode.RecordUpdate ||
			r.Status != decode.StatusValid || r.Time != wantTime[i] || r.Offset != lineOff(wantLine[i]) {
			t.Errorf("record %d: %+v; want collector %s time %d offset %d", i, r, wantColl[i], wantTime[i], lineOff(wantLine[i]))
		}
	}
	// Two elems: the UPDATE's announcement and the peer going down.
	if len(b.Elems) != 2 {
		t.Fatalf("%d elems, want 2", len(b.Elems))
	}
	a := &b.Elems[0]
	if got, want := elemKey(a), "1553627987890000|A|72.22.223.9|11708|45.161.192.0/23|72.22.223.9|11708 32097 1299 52320 263009 263009 263009 263009 263009 52993 268481 268481|"; got != want {
		t.Errorf("announcement\n got %s\nwant %s", got, want)
	}
	if a.Attrs.Origin != decode.OriginIGP || b.ElemRecord[0] != 0 {
		t.Errorf("announcement origin %v record %d", a.Attrs.Origin, b.ElemRecord[0])
	}
	s := &b.Elems[1]
	if got, want := elemKey(s), "1553625081880000|S|195.66.224.59|24931|"+"|IDLE"; got != want || b.ElemRecord[1] != 1 {
		t.Errorf("state elem %s (record %d), want %s", got, b.ElemRecord[1], want)
	}
	// Line 7 is skipped as a gap covering exactly that line.
	if len(b.Gaps) != 1 {
		t.Fatalf("%d gaps, want 1", len(b.Gaps))
	}
	g := b.Gaps[0]
	var me *MessageError
	if g.Start != lineOff(7) || g.End != int64(len(data)) || g.Before != 5 || !errors.As(g.Err, &me) ||
		me.Line != 7 || me.Offset != lineOff(7) || me.Source != "ris-live-stream.json" || !errors.Is(g.Err, decode.ErrTruncated) {
		t.Errorf("gap %+v", g)
	}
	st := src.Stats()
	want := Stats{Messages: 7, Bytes: st.Bytes, Records: 5, Elems: 2, BadLines: 1, ServerErrors: 1}
	if st != want || st.Bytes < int64(len(data))-10 {
		t.Errorf("stats %+v\nwant %+v", st, want)
	}
}

// TestSampleRawEqualsJSONFields decodes the sample's real UPDATE from its
// JSON fields only (raw removed): the same elem.
func TestSampleRawEqualsJSONFields(t *testing.T) {
	line := bytes.SplitN(corpus.Read(t, sampleFile), []byte("\n"), 2)[0]
	i := bytes.Index(line, []byte(`"raw":"`))
	j := bytes.Index(line[i+7:], []byte(`",`))
	noRaw := slices.Concat(line[:i], line[i+7+j+2:])
	if bytes.Contains(noRaw, []byte("raw")) {
		t.Fatalf("raw not removed: %s", noRaw)
	}
	withRaw, fields := decodeOne(t, line), decodeOne(t, noRaw)
	if got, want := batchKeys(fields, attrKey), batchKeys(withRaw, attrKey); !slices.Equal(got, want) || len(got) != 1 {
		t.Errorf("from JSON fields %q\nfrom raw %q", got, want)
	}
}

// decodeOne decodes one message that must give a record.
func decodeOne(t *testing.T, msg []byte) *decode.Batch {
	t.Helper()
	b := new(decode.Batch)
	b.Reset()
	d := NewDecoder(quiet())
	if err := d.Decode(b, msg, 0); err != nil {
		t.Fatalf("%s: %v", msg, err)
	}
	if len(b.Records) != 1 {
		t.Fatalf("%s: %d records", msg, len(b.Records))
	}
	return b
}

// TestLenientVariants decodes the field variants RIS Live has sent over the
// years (archives-and-live.md §5): host styles, id styles, 2 or 3 decimals,
// origin case, empty arrays on withdrawals, End-of-RIB, and JSON layout
// freedom (member order, spaces, escapes).
func TestLenientVariants(t *testing.T) {
	// The bgpkit-parser test messages of 2019 and 2025 (ris_message.rs).
	const upd2019 = `{"type":"ris_message","data":{"timestamp":1568279796.63,"peer":"192.0.2.0","peer_asn":"64496","id":"21-192-0-2-0-11188782","host":"rrc21","type":"UPDATE","path":[1,2,3,4],"announcements":[{"next_hop":"192.0.2.0","prefixes":["192.0.3.0/24"]}]}}`
	const wd2025 = `{ "type": "ris_message", "data": { "timestamp": 1740561857.910, "peer": "2606:6dc0:1301::1", "peer_asn": "13781", "id": "2606:6dc0:1301::1-019541923d760008", "host": "rrc25.ripe.net", "type": "UPDATE", "path": [], "community": [], "announcements": [], "withdrawals": [ "2605:de00:bb:0:0:0:0:0/48" ] } }`
	tests := []struct {
		name, msg string
		coll      string
		time      int64
		keys      []string
		check     func(*testing.T, *decode.Batch)
	}{
		{name: "2019 update, short host", msg: upd2019, coll: "rrc21", time: 1568279796630000,
			keys: []string{"1568279796630000|A|192.0.2.0|64496|192.0.3.0/24|192.0.2.0|1 2 3 4|"}},
		{name: "2025 withdrawal, FQDN host, 3 decimals, empty arrays", msg: wd2025, coll: "rrc25", time: 1740561857910000,
			keys: []string{"1740561857910000|W|2606:6dc0:1301::1|13781|2605:de00:bb::/48"}},
		{name: "origin IGP upper case, communities, MED, aggregator, AS_SET, two next hops",
			msg:  `{"type":"ris_message","data":{"timestamp":1700000000.5,"peer":"2001:db8::1","peer_asn":"64500","id":"80.249.210.78-0183e89f5016000b","host":"rrc03.ripe.net","type":"UPDATE","path":[64500,64501,[64510,64511]],"community":[[64500,1],[65535,65281]],"origin":"IGP","med":20,"aggregator":"64511:192.0.2.9","announcements":[{"next_hop":"2001:db8::1,fe80::1","prefixes":["2001:db8:1::/48"]},{"next_hop":"2001:db8::2","prefixes":["2001:db8:2::/48","eor"]}],"withdrawals":["2001:db8:9::/48"]}}`,
			coll: "rrc03", time: 1700000000500000,
			keys: []string{
				"1700000000500000|W|2001:db8::1|64500|2001:db8:9::/48",
				"1700000000500000|A|2001:db8::1|64500|2001:db8:1::/48|2001:db8::1|64500 64501 {64510,64511}|64500:1 65535:65281",
				"1700000000500000|A|2001:db8::1|64500|2001:db8:2::/48|2001:db8::2|64500 64501 {64510,64511}|64500:1 65535:65281",
			},
			check: func(t *testing.T, b *decode.Batch) {
				a := b.Elems[1].Attrs
				if a.Origin != decode.OriginIGP || !a.Has(decode.AttrMED) || a.MED != 20 ||
					a.Aggregator != (decode.Aggregator{ASN: 64511, Addr: netip.MustParseAddr("192.0.2.9")}) {
					t.Errorf("attrs %+v", a)
				}
			}},
		{name: "End-of-RIB only", msg: `{"type":"ris_message","data":{"timestamp":1700000000,"peer":"192.0.2.1","peer_asn":"64500","host":"rrc00","type":"UPDATE","path":[],"community":[],"announcements":[],"withdrawals":["eor"]}}`,
			coll: "rrc00", time: 1700000000000000},
		{name: "data before type, peer_asn a number, newline and spaces",
			msg:  "{ \"data\" : {\"type\":\"RIS_PEER_STATE\",\n \"state\":\"connected\", \"peer\":\"192.0.2.1\",\"peer_asn\":64500,\"host\":\"rrc00\",\"timestamp\":1700000000.25} ,\"type\" : \"ris_message\" }",
			coll: "rrc00", time: 1700000000250000, keys: []string{"1700000000250000|S|192.0.2.1|64500||CONNECT"}},
		{name: "state up, escapes in strings",
			msg:  `{"type":"ris_message","data":{"timestamp":1700000000.123456,"peer":"192.0.2.1","peer_asn":"AS64500","host":"rrc\u00300","type":"RIS_PEER_STATE","state":"up","id":"a\"b\\c"}}`,
			coll: "rrc00", time: 1700000000123456, keys: []string{"1700000000123456|S|192.0.2.1|64500||ESTABLISHED"}},
		{name: "unknown state is kept as an elem with an unknown state",
			msg:  `{"type":"ris_message","data":{"timestamp":1700000000,"peer":"192.0.2.1","peer_asn":"64500","host":"rrc00","type":"RIS_PEER_STATE","state":"flapping"}}`,
			coll: "rrc00", time: 1700000000000000, keys: []string{"1700000000000000|S|192.0.2.1|64500||"}},
		{name: "lower-case type, 2019 origin", msg: strings.Replace(strings.Replace(upd2019, `"UPDATE"`, `"update"`, 1), `"path"`, `"origin":"igp","path"`, 1),
			coll: "rrc21", time: 1568279796630000,
			keys: []string{"1568279796630000|A|192.0.2.0|64496|192.0.3.0/24|192.0.2.0|1 2 3 4|"}},
		{name: "KEEPALIVE without raw", msg: `{"type":"ris_message","data":{"timestamp":1568284616.24,"peer":"192.0.2.0","peer_asn":"64496","id":"21-192-0-2-0-53776312","host":"rrc00","type":"KEEPALIVE"}}`,
			coll: "rrc00", time: 1568284616240000},
		{name: "OPEN from bgpkit's test", msg: `{"type":"ris_message","data":{"timestamp":1568365292.84,"peer":"192.0.2.1","peer_asn":"64496","id":"00-192-0-2-0-180513","host":"rrc00","type":"OPEN","direction":"sent","version":4,"asn":65536,"hold_time":180,"router_id":"192.0.3.1","capabilities":{"1":{"name":"multiprotocol","families":["ipv4/unicast","ipv6/unicast"]},"65":{"name":"asn4","asn4":65536}}}}`,
			coll: "rrc00", time: 1568365292840000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := decodeOne(t, []byte(tc.msg))
			r := b.Records[0]
			if r.Collector != tc.coll || r.Time != tc.time || r.Status != decode.StatusValid || r.Project != "ris-live" {
				t.Errorf("record %+v; want collector %s time %d", r, tc.coll, tc.time)
			}
			if got := batchKeys(b, elemKey); !slices.Equal(got, tc.keys) {
				t.Errorf("elems\n got %q\nwant %q", got, tc.keys)
			}
			if tc.check != nil {
				tc.check(t, b)
			}
		})
	}
}

// TestParseTime reads timestamps exactly: 1553627987.89 as a float64 is
// 1553627987.8899999, which float arithmetic turns into ...889999 µs.
func TestParseTime(t *testing.T) {
	for in, want := range map[string]int64{
		"1553627987.89":       1553627987890000,
		"1740561857.910":      1740561857910000,
		"1553627987":          1553627987000000,
		"1553627987.1234567":  1553627987123456,
		"1.55362798789e9":     1553627987890000,
		"0.000001":            1,
		"1553627987.00000099": 1553627987000000,
	} {
		got, err := parseTime([]byte(in))
		if err != nil || got != want {
			t.Errorf("parseTime(%s) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "abc", "1.2.3", "1553627987.89x", "1e400"} {
		if _, err := parseTime([]byte(in)); err == nil {
			t.Errorf("parseTime(%q) accepted", in)
		}
	}
}

// synthUpdate is a RIS Live UPDATE (documentation addresses) whose "raw"
// announces 192.0.2.0/24 with AS path 64496 64511.
const synthUpdate = `{"type":"ris_message","data":{"timestamp":1568279796.63,"peer":"192.0.2.1","peer_asn":"64496","id":"21-192-0-2-1-11188782","host":"rrc21","type":"UPDATE","path":[64496,64511],"origin":"IGP","announcements":[{"next_hop":"192.0.2.1","prefixes":["192.0.2.0/24"]}],"raw":"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF003302000000184001010040020A02020000FBF00000FBFF400304C000020118C00002"}}`

// TestDecodeDamage feeds messages that cannot be read, or whose BGP message
// is damaged, and checks how each is reported.
func TestDecodeDamage(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(synthUpdate, old) {
			t.Fatalf("%s not in the message", old)
		}
		return strings.Replace(synthUpdate, old, new, 1)
	}
	const good = `{"type":"ris_message","data":{"timestamp":1700000000,"peer":"192.0.2.1","peer_asn":"64500","host":"rrc00","type":"KEEPALIVE"}}`
	tests := []struct {
		name, msg string
		bad       string // the MessageError field, for a message skipped
		truncated bool   // ... wrapping ErrTruncated (else ErrMalformed)
		status    decode.RecordStatus
		elems     int
		stat      func(Stats) int64
	}{
		{name: "truncated JSON", msg: good[:len(good)-5], bad: "JSON", truncated: true},
		{name: "cut inside a string", msg: good[:20], bad: "JSON", truncated: true},
		{name: "not JSON", msg: "<html>502 Bad Gateway</html>", bad: "JSON"},
		{name: "trailing garbage", msg: good + "}", bad: "JSON"},
		{name: "two messages on a line", msg: good + good, bad: "JSON"},
		{name: "bad escape", msg: strings.Replace(good, "rrc00", `rrc\x00`, 1), bad: "JSON"},
		{name: "array", msg: "[1,2,3]", bad: "JSON"},
		{name: "deep nesting", msg: `{"type":"x","data":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}", bad: "JSON"},
		{name: "no envelope type", msg: `{"data":{}}`, bad: "type"},
		{name: "no data", msg: `{"type":"ris_message"}`, bad: "data"},
		{name: "no data type", msg: strings.Replace(good, `"type":"KEEPALIVE"`, `"kind":"KEEPALIVE"`, 1), bad: "type"},
		{name: "no timestamp", msg: strings.Replace(good, `"timestamp":1700000000,`, ``, 1), bad: "timestamp"},
		{name: "timestamp a word", msg: strings.Replace(good, `1700000000`, `"yesterday"`, 1), bad: "timestamp"},
		{name: "bad peer", msg: strings.Replace(good, `192.0.2.1`, `192.0.2.999`, 1), bad: "peer"},
		{name: "bad peer_asn", msg: strings.Replace(good, `"64500"`, `"4294967296"`, 1), bad: "peer_asn"},
		{name: "raw not hex", msg: replace(`"raw":"FF`, `"raw":"ZZ`), status: decode.StatusCorruptedRecord, stat: func(s Stats) int64 { return s.Corrupted }},
		{name: "raw odd length", msg: replace(`0002"`, `002"`), status: decode.StatusCorruptedRecord, stat: func(s Stats) int64 { return s.Corrupted }},
		{name: "raw cut short of its BGP length", msg: replace(`18C00002"`, `"`), status: decode.StatusCorruptedRecord, stat: func(s Stats) int64 { return s.Corrupted }},
		{name: "raw NLRI cut inside the second prefix: the first one is kept", msg: strings.Replace(replace(`003302`, `003402`), `18C00002"`, `18C0000220"`, 1),
			status: decode.StatusCorruptedRecord, elems: 1, stat: func(s Stats) int64 { return s.Corrupted }},
		{name: "raw BGP type 9", msg: replace(`003302`, `003309`), status: decode.StatusCorruptedRecord, stat: func(s Stats) int64 { return s.Corrupted }},
		{name: "unknown ris_message type", msg: strings.Replace(good, `KEEPALIVE`, `ROUTE_REFRESH_2`, 1), status: decode.StatusUnsupported, stat: func(s Stats) int64 { return s.Unsupported }},
		{name: "unknown envelope type", msg: `{"type":"ris_rrc_list_v9","data":["rrc00"]}`, stat: func(s Stats) int64 { return s.Ignored }},
		{name: "pong", msg: `{"type":"pong","data":null}`, stat: func(s Stats) int64 { return s.Ignored }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(quiet())
			var b decode.Batch
			b.Reset()
			err := d.Decode(&b, []byte(tc.msg), 1234)
			st := d.Stats()
			if tc.bad != "" {
				var me *MessageError
				if !errors.As(err, &me) || me.Field != tc.bad || me.Offset != 1234 {
					t.Fatalf("error %v, want a MessageError on %s", err, tc.bad)
				}
				want := decode.ErrMalformed
				if tc.truncated {
					want = decode.ErrTruncated
				}
				if !errors.Is(err, want) {
					t.Errorf("error %v does not wrap %v", err, want)
				}
				if len(b.Records)+len(b.Elems) != 0 || st.BadLines != 1 {
					t.Errorf("%d records, %d elems, stats %+v", len(b.Records), len(b.Elems), st)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if tc.stat != nil && tc.stat(st) != 1 {
				t.Errorf("stats %+v", st)
			}
			if tc.status == decode.StatusValid {
				if len(b.Records) != 0 {
					t.Errorf("%d records for a message without BGP data", len(b.Records))
				}
				return
			}
			if len(b.Records) != 1 || b.Records[0].Status != tc.status || b.Records[0].Err == nil || len(b.Elems) != tc.elems {
				t.Errorf("records %+v, %d elems", b.Records, len(b.Elems))
			}
		})
	}

	// A ris_error is returned as a *ServerError; RIS Live's slow-consumer
	// message is recognised.
	d := NewDecoder(quiet())
	var b decode.Batch
	err := d.Decode(&b, []byte(`{"type":"ris_error","data":{"message":"`+rislivetest.SlowConsumerMessage+`"}}`), 0)
	var se *ServerError
	if !errors.As(err, &se) || !se.SlowConsumer() || !errors.Is(err, ErrSlowConsumer) || d.Stats().ServerErrors != 1 {
		t.Errorf("slow-consumer ris_error: %v", err)
	}
	err = d.Decode(&b, []byte(`{"type":"ris_error","data":{"message":"Invalid prefix"}}`), 0)
	if !errors.As(err, &se) || se.Message != "Invalid prefix" || errors.Is(err, ErrSlowConsumer) {
		t.Errorf("ris_error: %v", err)
	}
}

// TestDecodeMatchesMRT derives RIS Live lines from real RIS MRT updates
// files and decodes them: every line's elems equal, in order, what package
// mrt gives for its record — from "raw", and from the JSON fields alone
// (which carry everything the elem key holds, plus origin, MED and
// aggregator).
func TestDecodeMatchesMRT(t *testing.T) {
	for _, file := range []string{rrc06File, bgpdumpFile} {
		for name, o := range map[string]rislivetest.DeriveOptions{
			"raw":              {Host: "rrc06"},
			"json-fields":      {Host: "rrc06.ripe.net", OmitRaw: true},
			"json-fields-2019": {Host: "rrc06", OmitRaw: true, Style2019: true},
		} {
			t.Run(file+"/"+name, func(t *testing.T) {
				key := elemKey
				if o.OmitRaw {
					key = attrKey
				}
				want := mrtKeys(t, file, key)
				lines := derive(t, file, o)
				if len(lines) != len(want) {
					t.Fatalf("%d lines for %d records", len(lines), len(want))
				}
				d := NewDecoder()
				var b decode.Batch
				elems := 0
				for i, line := range lines {
					b.Reset()
					if err := d.Decode(&b, line, int64(i)); err != nil {
						t.Fatalf("line %d: %v", i+1, err)
					}
					if len(b.Records) != 1 || b.Records[0].Status != decode.StatusValid || b.Records[0].Collector != "rrc06" {
						t.Fatalf("line %d: records %+v", i+1, b.Records)
					}
					if got := batchKeys(&b, key); !slices.Equal(got, want[i]) {
						t.Fatalf("line %d: %s\n got %q\nwant %q", i+1, line, got, want[i])
					}
					elems += len(b.Elems)
				}
				if elems < 1000 {
					t.Errorf("only %d elems compared", elems)
				}
				t.Logf("%d lines, %d elems equal to package mrt's", len(lines), elems)
			})
		}
	}
}
