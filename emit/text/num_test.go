package text

import (
	"strconv"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

func TestAppendUint32(t *testing.T) {
	vals := []uint32{0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 9999, 10000, 65535, 65536, 99999, 100000,
		999999, 1000000, 23456, 4200000000, 4294967295, 1<<31 - 1, 1 << 31}
	for v := uint32(1); v < 1<<31; v = v*7 + 3 {
		vals = append(vals, v, v-1)
	}
	for _, v := range vals {
		prefix := []byte("x|")
		if got, want := string(appendUint32(prefix, v)), "x|"+strconv.FormatUint(uint64(v), 10); got != want {
			t.Errorf("appendUint32(%d) = %q, want %q", v, got, want)
		}
		if got, want := string(appendUint32(make([]byte, 0, 64), v)), strconv.FormatUint(uint64(v), 10); got != want {
			t.Errorf("appendUint32(%d) with room = %q, want %q", v, got, want)
		}
	}
}

func TestAppendASPathMatchesDecode(t *testing.T) {
	var p decode.ASPath
	p.AppendSegment(decode.SegSequence, 1, 65536, 4200000000)
	p.AppendSegment(decode.SegSet, 3, 4)
	p.AppendSegment(decode.SegConfedSeq, 5, 6)
	p.AppendSegment(decode.SegConfedSet, 7)
	p.AppendSegment(9, 8, 9)
	p.AppendSegment(decode.SegSequence)
	want := "1 65536 4200000000 {3,4} (5 6) [7] <8 9> "
	if got := string(appendASPath(nil, &p)); got != want || got != p.String() {
		t.Errorf("appendASPath = %q, decode renders %q, want %q", got, p.String(), want)
	}
	if got := string(appendCommunity(nil, decode.Community(65535<<16|666))); got != "65535:666" {
		t.Errorf("community %q", got)
	}
}
