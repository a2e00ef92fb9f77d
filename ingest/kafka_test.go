package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/demodata"
	"github.com/bgp-connector/bgp-connector/internal/kafkatest"
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

// TestValuesDecompressed: a compressed value (a whole gzip'd BMP stream,
// or MRT records) decodes as the plain one; a bomb is an error, not memory.
func TestValuesDecompressed(t *testing.T) {
	var plain []byte
	vals, _, err := kafkatest.Frames(bytes.NewReader(demodata.GoBGP), demodata.GoBGPFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		plain = append(plain, v...) // several OpenBMP messages back to back
	}
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		w := gzip.NewWriter(&out)
		w.Write(b)
		w.Close()
		return out.Bytes()
	}
	count := func(v []byte) (int, int, error) {
		var b decode.Batch
		err := BMPValues{}.NewDecoder("t", 0).AppendTo(&b, v, 1, time.Time{})
		return len(b.Records), len(b.Elems), err
	}
	r1, e1, err1 := count(plain)
	r2, e2, err2 := count(gz(plain))
	if err1 != nil || err2 != nil || r1 != len(vals) || r1 != r2 || e1 != e2 || e1 == 0 {
		t.Fatalf("plain %d records %d elems %v; gzip %d records %d elems %v (want %d records)", r1, e1, err1, r2, e2, err2, len(vals))
	}
	bomb := gz(make([]byte, MaxValue+1))
	if _, _, err := count(bomb); err == nil || !errors.Is(err, decode.ErrMalformed) {
		t.Errorf("a value over %d bytes once decompressed: %v", MaxValue, err)
	}
	// Trailing junk after the messages is an error (dead letter), not a
	// silent drop.
	if _, _, err := count(append(bytes.Clone(plain), "junk!"...)); err == nil {
		t.Error("trailing junk after the OpenBMP messages decoded without error")
	}
}
