package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/compress"
	"github.com/bgp-connector/bgp-connector/internal/demodata"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// TestDecodersFollowPartitions checks that per-partition decoder state (the
// BMP sessions of the routers a partition carries) is created on first use
// and dropped when the partition is revoked.
func TestDecodersFollowPartitions(t *testing.T) {
	s := &KafkaSource{o: KafkaOptions{Format: BMPValues{}}, decs: map[TopicPartition]ValueDecoder{}}
	s.assigned(map[string][]int32{"openbmp.bmp_raw": {0, 1}})
	d0 := s.Decoder("openbmp.bmp_raw", 0)
	if s.Decoder("openbmp.bmp_raw", 0) != d0 {
		t.Fatal("a partition got two decoders")
	}
	d1 := s.Decoder("openbmp.bmp_raw", 1)
	if d1 == d0 {
		t.Fatal("two partitions share a decoder")
	}
	s.revoked(map[string][]int32{"openbmp.bmp_raw": {0}})
	if s.Decoder("openbmp.bmp_raw", 0) == d0 {
		t.Fatal("a revoked partition kept its decoder state")
	}
	if s.Decoder("openbmp.bmp_raw", 1) != d1 {
		t.Fatal("revoking partition 0 dropped partition 1's state")
	}
	if s.Held() != 1 {
		t.Fatalf("held %d partitions, want 1", s.Held())
	}
}

// TestValuesDecompressed: a compressed value, in every codec (a whole
// compressed OpenBMP stream, raw BMP stream, or MRT file published as one
// value), decodes into the same records and elems as the plain one; a bomb
// is an error, not memory; trailing junk is an error, not a silent drop.
func TestValuesDecompressed(t *testing.T) {
	vals, _, err := kafkatest.Frames(bytes.NewReader(demodata.GoBGP), demodata.GoBGPFile)
	if err != nil {
		t.Fatal(err)
	}
	var obmp, raw []byte
	for _, v := range vals {
		obmp = append(obmp, v...) // several OpenBMP messages back to back
		_, hl, err := openbmp.DecodeHeader(v)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, v[hl:]...)
	}
	mrtFile, err := os.ReadFile("../testdata/gobgp-mrt/updates.mrt")
	if err != nil {
		t.Fatal(err)
	}
	decodeAll := func(f ValueFormat, v []byte) (decode.Batch, error) {
		var b decode.Batch
		err := f.NewDecoder("t", 0).AppendTo(&b, v, 1, time.Time{})
		return b, err
	}
	elemKey := func(e *decode.Elem) string {
		var path string
		if e.Attrs != nil {
			path = fmt.Sprint(e.Attrs.ASPath)
		}
		return fmt.Sprint(e.Type, e.Time, e.PeerIP, e.PeerASN, e.Prefix, e.NextHop, path, e.BMP)
	}
	for _, c := range []struct {
		name    string
		f       ValueFormat
		v       []byte
		records int // 0: at least one
	}{
		{"openbmp", BMPValues{}, obmp, len(vals)},
		{"bmp", BMPValues{}, raw, len(vals)},
		{"mrt", MRTValues{}, mrtFile, 0},
	} {
		plain, err := decodeAll(c.f, c.v)
		if err != nil || len(plain.Elems) == 0 || (c.records > 0 && len(plain.Records) != c.records) || len(plain.Records) == 0 {
			t.Fatalf("%s plain: %d records %d elems, %v (want %d records)", c.name, len(plain.Records), len(plain.Elems), err, c.records)
		}
		for _, codec := range compress.Codecs {
			z, err := compress.Encode(codec, c.v)
			if errors.Is(err, compress.ErrNoEncoder) {
				t.Logf("%s: %v", codec, err)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeAll(c.f, z)
			if err != nil || len(got.Records) != len(plain.Records) || len(got.Elems) != len(plain.Elems) {
				t.Fatalf("%s %s: %d records %d elems, %v; plain %d records %d elems", c.name, codec, len(got.Records), len(got.Elems), err, len(plain.Records), len(plain.Elems))
			}
			for i := range got.Elems {
				if a, b := elemKey(&got.Elems[i]), elemKey(&plain.Elems[i]); a != b {
					t.Fatalf("%s %s: elem %d is %s, plain %s", c.name, codec, i, a, b)
				}
			}
		}
		// Trailing junk after the messages or records is an error (dead
		// letter), not a silent drop.
		if _, err := decodeAll(c.f, append(bytes.Clone(c.v), "junk!"...)); err == nil {
			t.Errorf("%s: trailing junk decoded without error", c.name)
		}
	}
	bomb, _ := compress.Encode("gzip", make([]byte, MaxValue+1))
	if _, err := decodeAll(BMPValues{}, bomb); err == nil || !errors.Is(err, decode.ErrMalformed) {
		t.Errorf("a value over %d bytes once decompressed: %v", MaxValue, err)
	}
}
