package openbmp

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzStateEntry: decoding any bytes as a state entry never panics, and an
// entry that decodes encodes to bytes that decode to the same entry.
func FuzzStateEntry(f *testing.F) {
	for _, e := range stateSamples() {
		b, _ := e.AppendBinary(nil)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e StateEntry
		if err := e.UnmarshalBinary(b); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(b) {
				t.Fatalf("error %v without a valid offset", err)
			}
			return
		}
		enc, err := e.AppendBinary(nil)
		if err != nil {
			t.Fatalf("decoded entry %+v does not encode: %v", e, err)
		}
		var back StateEntry
		if err := back.UnmarshalBinary(enc); err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("re-encoding: %+v (%v), want %+v", back, err, e)
		}
	})
}

// FuzzStateChanges: for any stream of frames, the changes a Decoder
// records, kept as a compacted changelog keeps them (last value per key,
// tombstones dropped), equal its exported state after every frame, and
// importing them gives a Decoder with the same state.
func FuzzStateChanges(f *testing.F) {
	for _, p := range []string{"pmacct/streams/208-mem-leak-test_router-203.0.113.23.bmp", "pmacct/streams/204-BMP-CISCO-peer_down.traffic-00.bmp"} {
		if b, err := os.ReadFile(filepath.Join(realDir, p)); err == nil {
			f.Add(b[:min(len(b), 2<<10)]) // small seeds keep fuzzing fast
		}
	}
	if b, err := os.ReadFile(filepath.Join("..", "internal", "demodata", "gobgp-bmp.obmp")); err == nil {
		f.Add(b[:min(len(b), 2<<10)])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(WithMaxSessions(8))
		d.RecordChanges(true)
		cl := changelog{}
		sr := NewStreamReader(bytes.NewReader(b), KindUnknown)
		var res Result
		for range 500 {
			fr, err := sr.Next()
			if err == io.EOF || errors.Is(err, ErrTruncated) {
				break
			}
			if err != nil {
				continue
			}
			d.Decode(fr, &res)
			cl.add(t, d.AppendChanges(nil))
			if got, want := cl.entries(t), d.ExportState(nil); !reflect.DeepEqual(got, want) {
				t.Fatalf("changelog\n%+v\nstate\n%+v", got, want)
			}
		}
		r := NewDecoder(WithMaxSessions(8))
		r.ImportState(cl.entries(t))
		if got, want := r.ExportState(nil), d.ExportState(nil); !reflect.DeepEqual(got, want) {
			t.Fatalf("imported\n%+v\nwant\n%+v", got, want)
		}
	})
}
