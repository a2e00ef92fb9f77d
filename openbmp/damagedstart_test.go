package openbmp

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/internal/demodata"
)

// rawBMP returns the BMP messages of the bundled gobgpd capture (a real
// router's session) as a raw BMP stream, as the router sent it, and as
// length-prefixed frames (kcat -f '%R%s').
func rawBMP(t *testing.T) (bmp, lp []byte) {
	t.Helper()
	errs := readFrames(NewStreamReader(bytes.NewReader(demodata.GoBGP), KindOpenBMP), func(f []byte) {
		_, hl, err := DecodeHeader(f)
		if err != nil {
			t.Fatal(err)
		}
		bmp = append(bmp, f[hl:]...)
		n := len(f) - hl
		lp = append(lp, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		lp = append(lp, f[hl:]...)
	})
	if errs != nil {
		t.Fatal(errs)
	}
	return bmp, lp
}

// TestStreamDamagedStart: a stream whose first frame header is damaged (a
// byte that is no BMP version, a broken OpenBMP magic, a broken length
// prefix) is read from its second frame on, whether the kind is given or
// detected: one framing error at offset 0, then every later frame, and the
// kind found. Another BMP version at the start (v1, v2, v4) is not damage:
// it ends the stream with a version error (Detect takes it for BMP), and
// nothing is skipped.
func TestStreamDamagedStart(t *testing.T) {
	bmp, lp := rawBMP(t)
	obmp := demodata.GoBGP
	cases := []struct {
		name   string
		data   []byte
		at     int // byte to damage
		to     byte
		kind   Kind // given to the reader
		intact Kind
	}{
		{"bmp version 0, detected", bmp, 0, 0, KindUnknown, KindBMP},
		{"bmp version 0xff, given", bmp, 0, 0xff, KindBMP, KindBMP},
		{"bmp version 0x43, detected", bmp, 0, 0x43, KindUnknown, KindBMP},
		{"openbmp magic, detected", obmp, 0, 'X', KindUnknown, KindOpenBMP},
		{"openbmp magic, given", obmp, 1, 'X', KindOpenBMP, KindOpenBMP},
		{"length prefix, detected", lp, 0, 0xff, KindUnknown, KindLengthPrefixed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := frameSums(t, c.data, c.intact)
			if len(want) < 10 {
				t.Fatalf("only %d frames in the intact stream", len(want))
			}
			damaged := bytes.Clone(c.data)
			damaged[c.at] = c.to
			sr := NewStreamReader(bytes.NewReader(damaged), c.kind)
			var got [][32]byte
			errs := readFrames(sr, func(f []byte) { got = append(got, sha256.Sum256(f)) })
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one framing error", errs)
			}
			var de *DecodeError
			if !errors.As(errs[0], &de) || de.Offset > c.at {
				t.Fatalf("error %v, want a *DecodeError at the damaged header", errs[0])
			}
			if len(got) != len(want)-1 {
				t.Fatalf("%d frames after the damaged one, want %d", len(got), len(want)-1)
			}
			for i := range got {
				if got[i] != want[i+1] {
					t.Fatalf("frame %d differs", i+1)
				}
			}
			if sr.Kind() != c.intact {
				t.Fatalf("kind %v, want %v", sr.Kind(), c.intact)
			}
			if sr.Skipped() == 0 || sr.Skipped() > int64(len(c.data))/2 {
				t.Fatalf("%d bytes skipped", sr.Skipped())
			}
		})
	}
	for _, v := range []byte{1, 2, 4} {
		for _, kind := range []Kind{KindBMP, KindUnknown} {
			other := bytes.Clone(bmp)
			for rest := other; len(rest) >= commonHeaderLen; rest = rest[be32(rest[1:]):] {
				rest[0] = v
			}
			sr := NewStreamReader(bytes.NewReader(other), kind)
			_, err := sr.Next()
			if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "version") || sr.Resyncable() {
				t.Fatalf("v%d stream: %v (resyncable %v), want a final version error", v, err, sr.Resyncable())
			}
			if _, err2 := sr.Next(); err2 != err || sr.Skipped() != 0 {
				t.Fatalf("v%d stream: then %v, %d bytes skipped; want the same error and nothing skipped", v, err2, sr.Skipped())
			}
		}
	}
}
