package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/demodata"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// gobgpRaw returns the bundled gobgpd capture as the raw BMP stream the
// router sent, and the length of its first message.
func gobgpRaw(t *testing.T) (raw []byte, first int) {
	t.Helper()
	sr := openbmp.NewStreamReader(bytes.NewReader(demodata.GoBGP), openbmp.KindOpenBMP)
	for {
		f, err := sr.Next()
		if err == io.EOF {
			return raw, first
		}
		if err != nil {
			t.Fatal(err)
		}
		_, hl, err := openbmp.DecodeHeader(f)
		if err != nil {
			t.Fatal(err)
		}
		if first == 0 {
			first = len(f) - hl
		}
		raw = append(raw, f[hl:]...)
	}
}

// readSource reads a file source to its end and returns the batch of all
// it delivered and the error that ended it (nil for a clean end).
func readSource(t *testing.T, data []byte, o FileOptions) (*decode.Batch, *FileSource, error) {
	t.Helper()
	if o.Name == "" {
		o.Name = "input.bin"
	}
	src, err := NewFileSource(bytes.NewReader(data), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	var all decode.Batch
	for {
		var b decode.Batch
		err := src.Next(context.Background(), &b)
		all.Records = append(all.Records, b.Records...)
		all.Gaps = append(all.Gaps, b.Gaps...)
		all.Elems = append(all.Elems, b.Elems...)
		if err == io.EOF {
			return &all, src, nil
		}
		if err != nil {
			return &all, src, err
		}
	}
}

// TestFileSourceDamagedStart: a raw BMP stream whose first message header
// is damaged (a byte that is no BMP version) is detected as BMP, not MRT,
// and read from its second message on, with the damage a gap at offset 0 —
// as --type bmp reads it. Before, auto-detection said "not an MRT file?"
// and --type bmp, or a detected BMP stream, lost the whole file.
func TestFileSourceDamagedStart(t *testing.T) {
	raw, first := gobgpRaw(t)
	intact, _, err := readSource(t, raw, FileOptions{Format: FormatBMP})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []byte{0, 0x43, 0xff} {
		damaged := bytes.Clone(raw)
		damaged[0] = v
		for _, format := range []string{FormatAuto, FormatBMP} {
			got, src, err := readSource(t, damaged, FileOptions{Format: format})
			if err != nil {
				t.Fatalf("version byte %#x, format %q: %v", v, format, err)
			}
			if st := src.Stats(); st.Format != FormatBMP || st.Gaps != 1 || st.BytesSkipped != int64(first) {
				t.Fatalf("version byte %#x, format %q: stats %+v, want bmp, 1 gap of %d bytes", v, format, st, first)
			}
			if len(got.Gaps) != 1 || got.Gaps[0].Start != 0 || got.Gaps[0].End != int64(first) {
				t.Fatalf("version byte %#x, format %q: gaps %+v", v, format, got.Gaps)
			}
			if len(got.Records) != len(intact.Records)-1 {
				t.Fatalf("version byte %#x, format %q: %d records, want %d", v, format, len(got.Records), len(intact.Records)-1)
			}
			for i := range got.Records {
				if got.Records[i].Offset != intact.Records[i+1].Offset {
					t.Fatalf("record %d at offset %d, intact %d", i, got.Records[i].Offset, intact.Records[i+1].Offset)
				}
			}
		}
	}
}

// TestFileSourceVerdicts: a clean end of an input that is mostly damage,
// or holds no record at all, is an error naming the input and the share
// skipped — after every record that was found has been delivered — and a
// BMP v4 stream is refused for its version, not skipped as garbage.
func TestFileSourceVerdicts(t *testing.T) {
	raw, _ := gobgpRaw(t)
	noise := make([]byte, 3*len(raw))
	rand.NewChaCha8([32]byte{'v'}).Read(noise)
	noise[0] = 0 // no BMP version, no OpenBMP magic, no MRT timestamp

	// Mostly damage: the records before and after it are delivered, then
	// the error.
	intact, _, _ := readSource(t, raw, FileOptions{Format: FormatBMP})
	mostly := append(bytes.Clone(raw), noise...)
	mostly = append(mostly, raw...)
	got, src, err := readSource(t, mostly, FileOptions{Format: FormatBMP, Name: "mostly.bmp"})
	if err == nil || !strings.Contains(err.Error(), "mostly.bmp") || !strings.Contains(err.Error(), "skipped as damaged") || !strings.Contains(err.Error(), "%") {
		t.Fatalf("mostly damage: %v", err)
	}
	if len(got.Records) != 2*len(intact.Records) {
		t.Fatalf("mostly damage: %d records delivered, want %d", len(got.Records), 2*len(intact.Records))
	}
	if st := src.Stats(); st.BytesSkipped < int64(len(noise)) || st.BytesSkipped > int64(len(noise)+len(raw)) {
		t.Fatalf("mostly damage: %d bytes skipped of %d noise", st.BytesSkipped, len(noise))
	}
	// A lower threshold than the damage passes.
	if _, _, err := readSource(t, mostly, FileOptions{Format: FormatBMP, MaxSkipShare: 0.9}); err != nil {
		t.Fatalf("mostly damage under MaxSkipShare 0.9: %v", err)
	}

	// Nothing found, with the type given or detected as BMP.
	for _, format := range []string{FormatBMP, FormatOpenBMP} {
		got, _, err := readSource(t, noise, FileOptions{Format: format, Name: "noise.bin"})
		if err == nil || !strings.Contains(err.Error(), "noise.bin: no "+format+" record found") || len(got.Records) != 0 {
			t.Fatalf("noise as %s: %d records, %v", format, len(got.Records), err)
		}
	}

	// Another BMP version throughout: the version error, nothing skipped.
	v4 := bytes.Clone(raw)
	for rest := v4; len(rest) >= 6; rest = rest[int(rest[1])<<24|int(rest[2])<<16|int(rest[3])<<8|int(rest[4]):] {
		rest[0] = 4
	}
	for _, format := range []string{FormatAuto, FormatBMP} {
		_, src, err := readSource(t, v4, FileOptions{Format: format, Name: "v4.bmp"})
		if err == nil || !errors.Is(err, openbmp.ErrVersion) || !strings.Contains(err.Error(), "version 4") || !strings.Contains(err.Error(), "v4.bmp") {
			t.Fatalf("BMP v4 stream, format %q: %v", format, err)
		}
		if st := src.Stats(); st.BytesSkipped != 0 {
			t.Fatalf("BMP v4 stream, format %q: %d bytes skipped", format, st.BytesSkipped)
		}
	}
}
