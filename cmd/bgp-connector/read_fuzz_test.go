package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bgp-connector/bgp-connector/emit/text"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// FuzzRead feeds arbitrary bytes to the whole read pipeline (compression
// detection, MRT or BMP framing, decoding, formatting) in one of the three
// formats: it must not panic, bgpreader lines must have 16 columns and
// JSON lines must be valid. Seeds: the small uncompressed MRT and BMP files
// of the corpus and the decompressed heads of two update files (compressed
// seeds would spend the fuzzer's time in the decompressors, which package
// mrt fuzzes).
func FuzzRead(f *testing.F) {
	for _, name := range []string{"ripe-bgpdump/updates.20160811.1600.gz", "bgpkit/rrc00_1999.09_updates.19990903.1041.gz"} {
		if fh, err := os.Open(filepath.Join(corpusDir, name)); err == nil {
			if zr, err := gzip.NewReader(fh); err == nil {
				head := make([]byte, 8<<10)
				n, _ := io.ReadFull(zr, head)
				f.Add(head[:n], uint8(0))
			}
			fh.Close()
		}
	}
	for _, pattern := range []string{"mrtparse/*", "netgauze/streams/*.bmp", "openbmp/*.obmp"} {
		paths, _ := filepath.Glob(filepath.Join(corpusDir, pattern))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil || len(b) == 0 {
				continue
			}
			f.Add(b[:min(len(b), 8<<10)], uint8(len(b)))
		}
	}
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		formats := []text.Format{text.FormatBGPReader, text.FormatBGPDump, text.FormatJSON}
		for _, format := range formats[which%3 : which%3+1] {
			var out, errOut bytes.Buffer
			cfg := readConfig{Options: text.Options{Format: format}, Project: "p", Collector: "c", Type: "auto",
				ReaderOpts: []mrt.ReaderOpt{mrt.WithChunkSize(4 << 10)}}
			sum, _ := readInputs(context.Background(), &cfg, []string{"-"}, bytes.NewReader(data), &out, &errOut)
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if out.Len() == 0 {
				lines = nil
			}
			if format == text.FormatBGPReader && int64(len(lines)) < sum.Lines {
				t.Fatalf("%d lines printed, summary says %d", len(lines), sum.Lines)
			}
			for _, l := range lines {
				switch format {
				case text.FormatBGPReader:
					if n := strings.Count(l, "|"); n != 15 && n != 8 {
						t.Fatalf("bgpreader line with %d separators: %q", n, l)
					}
				case text.FormatJSON:
					if !json.Valid([]byte(l)) {
						t.Fatalf("invalid JSON line %q", l)
					}
				case text.FormatBGPDump:
					if strings.Count(l, "|") < 5 {
						t.Fatalf("bgpdump line %q", l)
					}
				}
			}
		}
	})
}
