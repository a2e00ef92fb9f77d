package compress

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestDetect(t *testing.T) {
	for in, want := range map[string]string{
		"\x1f\x8b\x08":             "gzip",
		"BZh9\x31\x41":             "bzip2",
		"BZh0":                     "none",
		"\xfd7zXZ\x00":             "xz",
		"\x28\xb5\x2f\xfd\x00":     "zstd",
		"\x38\x7a\x7a\x18\x00\x0c": "none",
		"":                         "none",
	} {
		if got := Detect([]byte(in)); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

// TestEncodeRoundTrip: what Encode writes, Detect names and NewReader reads
// back.
func TestEncodeRoundTrip(t *testing.T) {
	p := bytes.Repeat([]byte("bgp-connector round trip "), 5000)
	for _, codec := range Codecs {
		enc, err := Encode(codec, p)
		if errors.Is(err, ErrNoEncoder) {
			t.Logf("%s: %v", codec, err)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", codec, err)
		}
		if got := Detect(enc); got != codec {
			t.Fatalf("%s: Detect says %q", codec, got)
		}
		r, got, err := NewReader(bytes.NewReader(enc), "", 0)
		if err != nil || got != codec {
			t.Fatalf("%s: NewReader: %q %v", codec, got, err)
		}
		out, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(out, p) {
			t.Fatalf("%s: %d bytes back (want %d), %v", codec, len(out), len(p), err)
		}
	}
	if _, err := Encode("lz4", p); err == nil {
		t.Fatal("an unknown codec encoded")
	}
}
