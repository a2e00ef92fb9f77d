package ingest

import "testing"

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
