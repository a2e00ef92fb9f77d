package text

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// fillBatch puts n records of one withdrawal each into b, numbered from
// first (the prefix's second octet carries the number).
func fillBatch(b *decode.Batch, first, n int) {
	for i := first; i < first+n; i++ {
		r := decode.Record{Format: decode.FormatBGP4MP, MRTType: 16, MRTSubtype: 4, Time: int64(i) * 1e6, Project: "p", Collector: "c"}
		ri := b.AddRecord(&r)
		e := decode.Elem{Type: decode.ElemWithdrawal, PeerIP: netip.MustParseAddr("192.0.2.1"), PeerASN: 1,
			Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16)}
		b.AddElem(ri, &e)
	}
}

func TestWriterOrderAndStats(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, Options{})
	const batches, per = 20, 7
	b := new(decode.Batch) // one batch, recycled: Write must take what it needs
	for i := 0; i < batches; i++ {
		b.Reset()
		fillBatch(b, i*per, per)
		if err := w.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	st, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != batches*per || st.Lines != batches*per || st.Records != batches*per || st.Elems != batches*per {
		t.Fatalf("%d lines, stats %+v", len(lines), st)
	}
	if st.Bytes != int64(out.Len()) {
		t.Errorf("stats say %d bytes, %d written", st.Bytes, out.Len())
	}
	for i, l := range lines {
		if want := fmt.Sprintf("U|W|%d.000000|p|c|||1|192.0.2.1|10.%d.0.0/16||||||", i, byte(i)); l != want {
			t.Fatalf("line %d = %q, want %q (order lost?)", i, l, want)
		}
	}
}

func TestWriterLimit(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, Options{Limit: 10})
	var err error
	for i := 0; i < 50 && err == nil; i++ {
		b := new(decode.Batch)
		fillBatch(b, i*4, 4)
		err = w.Write(context.Background(), b)
	}
	if !errors.Is(err, ErrLimit) {
		t.Errorf("Write after the limit returned %v, want ErrLimit", err)
	}
	st, cerr := w.Close()
	if cerr != nil {
		t.Errorf("Close: %v (the limit is not an error)", cerr)
	}
	if n := strings.Count(out.String(), "\n"); n != 10 || st.Lines != 10 {
		t.Errorf("limit 10 records printed %d lines (stats %d)", n, st.Lines)
	}
}

type brokenWriter struct{ n int }

func (w *brokenWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("broken pipe")
}

func TestWriterWriteError(t *testing.T) {
	bw := &brokenWriter{}
	w := NewWriter(bw, Options{})
	var err error
	for i := 0; i < 400 && err == nil; i++ { // enough output to flush mid-way
		b := new(decode.Batch)
		fillBatch(b, i*64, 64)
		err = w.Write(context.Background(), b)
	}
	_, cerr := w.Close()
	if cerr == nil || !strings.Contains(cerr.Error(), "broken pipe") {
		t.Errorf("Close = %v, want the write error", cerr)
	}
	if err == nil || errors.Is(err, ErrLimit) {
		t.Errorf("Write kept accepting after the failure: %v", err)
	}
	if bw.n != 1 {
		t.Errorf("%d writes after a failure, want 1", bw.n)
	}
}
