package openbmp

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
)

// seedFrames adds frames from the real corpus and the gobgpd capture: every
// OpenBMP file, and a sample of messages of each type from the BMP streams.
func seedFrames(f *testing.F, add func(frame []byte)) {
	var paths []string
	for _, g := range []string{"openbmp/*.obmp", "pmacct/streams/*.bmp", "netgauze/streams/*.bmp"} {
		m, _ := filepath.Glob(filepath.Join(realDir, g))
		paths = append(paths, m...)
	}
	paths = append(paths, filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp"), filepath.Join("..", "internal", "demodata", "frr-bmp.obmp"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		sr := NewStreamReader(bytes.NewReader(b), KindUnknown)
		perType := map[byte]int{}
		for {
			fr, err := sr.Next()
			if err != nil {
				break
			}
			t := fr[len(fr)-1]
			if sr.Kind() == KindBMP {
				t = fr[5]
			}
			if perType[t] < 3 {
				perType[t]++
				add(bytes.Clone(fr))
			}
		}
	}
}

// FuzzHeader: DecodeHeader never panics, and what it accepts AppendTo
// writes back so that it decodes to the same header.
func FuzzHeader(f *testing.F) {
	seedFrames(f, func(b []byte) {
		if bytes.HasPrefix(b, []byte(Magic)) {
			f.Add(b)
		}
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, hl, err := DecodeHeader(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			return
		}
		if hl > len(b) {
			t.Fatalf("header length %d beyond input %d", hl, len(b))
		}
		body := make([]byte, h.BMPLen%4096)
		out := h.AppendTo(nil, body)
		h2, _, err := DecodeHeader(out)
		if err != nil {
			t.Fatalf("re-decoding AppendTo's output: %v", err)
		}
		h.BMPLen = len(body)
		if h.RowCount == 0 {
			h.RowCount = 1
		}
		// AppendTo derives the IPv6 flag from RouterIP.
		h.Flags &^= FlagRouterIPv6
		h2.Flags &^= FlagRouterIPv6
		// A microseconds field of 10^6 or more decodes into a time whose
		// seconds no longer fit the 32-bit field AppendTo writes.
		if h.CollectedAt/1e6 >= 1<<32 {
			h.CollectedAt = h2.CollectedAt
		}
		if h2 != h {
			t.Fatalf("round trip:\n%+v\n%+v", h, h2)
		}
	})
}

// FuzzBMPMessage: a fresh Decoder on one frame never panics, errors are
// *DecodeError with an offset inside the frame, and elems are consistent.
func FuzzBMPMessage(f *testing.F) {
	seedFrames(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, b []byte) {
		var res Result
		err := NewDecoder().Decode(b, &res)
		checkResult(t, b, &res, err)
	})
}

// FuzzDecoder: a stream of frames through one Decoder (session state from
// Peer Up/Down, Initiation, Termination) never panics and keeps its session
// count consistent.
func FuzzDecoder(f *testing.F) {
	var all []byte
	seedFrames(f, func(b []byte) {
		if len(all) < 8<<10 {
			all = append(all, 0, 0, 0, 0)
			n := len(b)
			all[len(all)-4], all[len(all)-3], all[len(all)-2], all[len(all)-1] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
			all = append(all, b...)
		}
	})
	f.Add(all)
	for _, p := range []string{"pmacct/streams/200-BMP-HUAWEI-locrib_instance.traffic-00.bmp", "pmacct/streams/204-BMP-CISCO-peer_down.traffic-00.bmp"} {
		if b, err := os.ReadFile(filepath.Join(realDir, p)); err == nil {
			f.Add(b[:min(len(b), 8<<10)]) // small seeds keep minimisation fast
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(WithMaxSessions(8))
		sr := NewStreamReader(bytes.NewReader(b), KindUnknown)
		var res Result
		for i := 0; i < 1000; i++ {
			fr, err := sr.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var de *DecodeError
				if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(b) {
					t.Fatalf("stream error %v", err)
				}
				if errors.Is(err, ErrTruncated) {
					return
				}
				continue // the next call resynchronises or repeats the error
			}
			err = d.Decode(fr, &res)
			checkResult(t, fr, &res, err)
			if d.Sessions() < 0 || d.Sessions() > 8 {
				t.Fatalf("%d sessions with a bound of 8", d.Sessions())
			}
		}
	})
}

func checkResult(t *testing.T, b []byte, res *Result, err error) {
	t.Helper()
	if err != nil {
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("error %v is not a *DecodeError", err)
		}
		if de.Offset < 0 || de.Offset > len(b) {
			t.Fatalf("error offset %d outside the %d-byte frame: %v", de.Offset, len(b), err)
		}
		if res.Record.Err != err {
			t.Fatalf("Record.Err %v, returned %v", res.Record.Err, err)
		}
		return
	}
	for _, e := range res.Elems {
		if !e.BMP.Present {
			t.Fatalf("elem without BMP context")
		}
	}
}

// FuzzAppendTo: a Kafka record value holding one message, several back to
// back, or garbage goes through AppendTo without a panic; an error is a
// *DecodeError whose Offset lies inside the value; every elem and statistic points at a record of
// the batch; a value that decodes appends at least one record, each with
// the given offset. A reused batch and decoder keep that through many
// values.
func FuzzAppendTo(f *testing.F) {
	var two []byte
	seedFrames(f, func(b []byte) {
		f.Add(b)
		if len(two) < 2<<10 && bytes.HasPrefix(b, []byte(Magic)) {
			two = append(two, b...)
		}
	})
	if len(two) > 0 {
		f.Add(two)
		f.Add(append(bytes.Clone(two), "\r\n"...))
		f.Add(append(bytes.Clone(two), "junk"...))
	}
	d := NewDecoder(WithMaxSessions(8))
	var b decode.Batch
	f.Fuzz(func(t *testing.T, value []byte) {
		b.Reset()
		const offset = 4242
		err := d.AppendTo(&b, value, offset)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			if de.Offset < 0 || de.Offset > len(value) {
				t.Fatalf("error offset %d outside the %d-byte value: %v", de.Offset, len(value), err)
			}
		} else if len(value) > 0 && len(b.Records) == 0 {
			t.Fatalf("%d-byte value decoded without error into no record", len(value))
		}
		for i, r := range b.Records {
			if r.Offset != offset {
				t.Fatalf("record %d offset %d, want %d", i, r.Offset, offset)
			}
		}
		if len(b.ElemRecord) != len(b.Elems) || len(b.StatRecord) != len(b.Stats) {
			t.Fatalf("%d elems with %d record indexes, %d stats with %d", len(b.Elems), len(b.ElemRecord), len(b.Stats), len(b.StatRecord))
		}
		for i, ri := range b.ElemRecord {
			if ri < 0 || int(ri) >= len(b.Records) {
				t.Fatalf("elem %d of record %d, %d records", i, ri, len(b.Records))
			}
			if i > 0 && ri < b.ElemRecord[i-1] {
				t.Fatalf("elem %d record index %d after %d", i, ri, b.ElemRecord[i-1])
			}
			if !b.Elems[i].BMP.Present {
				t.Fatalf("elem %d without BMP context", i)
			}
		}
		for i, ri := range b.StatRecord {
			if ri < 0 || int(ri) >= len(b.Records) {
				t.Fatalf("stat %d of record %d, %d records", i, ri, len(b.Records))
			}
		}
	})
}
