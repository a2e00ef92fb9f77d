package rislive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/corpus"
)

// seeds returns the real sample's lines (the last one damaged) as fuzz
// seeds, when the corpus is present.
func seeds(f *testing.F) {
	f.Add([]byte(`{"type":"ris_message","data":{"timestamp":1700000000.5,"peer":"2001:db8::1","peer_asn":"64500","host":"rrc03.ripe.net","type":"UPDATE","path":[64500,[64510,64511]],"community":[[64500,1]],"origin":"IGP","med":20,"aggregator":"64511:192.0.2.9","announcements":[{"next_hop":"2001:db8::1,fe80::1","prefixes":["2001:db8:1::/48","eor"]}],"withdrawals":["2001:db8:9::/48"]}}`))
	if d := corpus.Dir(); d != "" {
		if data, err := os.ReadFile(d + "/" + sampleFile); err == nil {
			for _, l := range bytes.Split(data, []byte("\n")) {
				f.Add(l)
			}
		}
	}
}

// FuzzDecode: any message decodes to at most one record (with its elems)
// or to an error, without panicking.
func FuzzDecode(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		d := NewDecoder(quiet())
		var b decode.Batch
		b.Reset()
		err := d.Decode(&b, msg, 7)
		if len(b.Records) > 1 {
			t.Fatalf("%d records", len(b.Records))
		}
		if err != nil {
			var me *MessageError
			var se *ServerError
			if !errors.As(err, &me) && !errors.As(err, &se) || len(b.Records)+len(b.Elems) != 0 {
				t.Fatalf("error %v with %d records", err, len(b.Records))
			}
			if me != nil && !errors.Is(err, decode.ErrMalformed) && !errors.Is(err, decode.ErrTruncated) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
		}
		for i := range b.Elems {
			if b.ElemRecord[i] != 0 || b.Elems[i].Time != b.Records[0].Time {
				t.Fatalf("elem %d: %+v", i, b.Elems[i])
			}
		}
	})
}

// FuzzFileSource: any input is read to its end, every byte accounted for
// by records or gaps in order, without a stall.
func FuzzFileSource(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.Repeat(append(data, '\n'), 3)
		src, err := NewFileSource(bytes.NewReader(data), "fuzz", quiet(), WithMaxMessage(512))
		if err != nil {
			return // compressed-looking input that does not decompress
		}
		defer src.Close()
		last := int64(-1)
		for n := 0; ; n++ {
			if n > len(data)+2 {
				t.Fatal("no end")
			}
			var b decode.Batch
			b.Reset()
			err := src.Next(context.Background(), &b)
			for _, r := range b.Records {
				if r.Offset <= last || r.Offset >= int64(len(data)) {
					t.Fatalf("record offset %d after %d", r.Offset, last)
				}
				last = r.Offset
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				return // a decompression error
			}
		}
	})
}
