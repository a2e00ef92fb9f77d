package rislive

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/rislivetest"
)

// damagedFile is a saved RIS Live stream derived from a real MRT file with
// damage put in, and what a reader must make of it.
type damagedFile struct {
	data     []byte
	records  int
	want     map[string]int // elem keys
	badLines []int64        // 1-based line numbers of the lines to skip
	badOffs  []int64        // their offsets
	errors   int            // ris_error lines
}

// makeDamaged derives rrc06's updates and inserts: invalid JSON, a line
// over the size limit, blank and CRLF lines, a ris_error, an unknown
// message type; and cuts the last line in half (no newline), as a writer
// killed mid-line leaves it.
func makeDamaged(t *testing.T) damagedFile {
	lines := derive(t, rrc06File, rislivetest.DeriveOptions{Host: "rrc06"})
	keys := mrtKeys(t, rrc06File, elemKey)
	var f damagedFile
	var buf bytes.Buffer
	lineNo := int64(0)
	bad := func(s string) {
		lineNo++
		f.badLines = append(f.badLines, lineNo)
		f.badOffs = append(f.badOffs, int64(buf.Len()))
		buf.WriteString(s)
	}
	for i, l := range lines {
		switch i {
		case 100:
			bad("{not json\n")
		case 200:
			bad(`{"type":"ris_message","data":{"x":"` + strings.Repeat("F", 100<<10) + "\"}}\n")
		case 300:
			buf.WriteString("\n   \n") // blank lines are not counted
		case 400:
			lineNo++
			f.errors++
			buf.WriteString(`{"type":"ris_error","data":{"message":"Unknown type: UPDATEX"}}` + "\n")
		case 500:
			lineNo++
			buf.WriteString(`{"type":"ris_hello","data":{}}` + "\n")
		}
		if i == len(lines)-1 {
			bad(string(l[:len(l)/2]))
			break
		}
		lineNo++
		buf.Write(l)
		if i == 600 {
			buf.WriteByte('\r')
		}
		buf.WriteByte('\n')
		f.records++
	}
	f.data = buf.Bytes()
	f.want = multiset(keys[:len(keys)-1]...)
	return f
}

// readAllBatches reads a source to its end (failing on a stall) and
// returns the elem keys, records, gaps and the final error.
func readAllBatches(t *testing.T, src interface {
	Next(context.Context, *decode.Batch) error
}) (keys map[string]int, records int, gaps []decode.Gap, end error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	keys = map[string]int{}
	var b decode.Batch
	for {
		b.Reset()
		err := src.Next(ctx, &b)
		for i := range b.Elems {
			keys[elemKey(&b.Elems[i])]++
		}
		records += len(b.Records)
		gaps = append(gaps, b.Gaps...)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatal("the source stalled")
			}
			return keys, records, gaps, err
		}
		if len(b.Records)+len(b.Gaps) == 0 {
			t.Fatal("Next returned an empty batch and no error")
		}
	}
}

// TestFileSourceDamage reads a damaged saved stream: every readable line's
// elems come out, each damaged line is a gap naming its line and offset,
// and the truncated last line ends the stream cleanly — bgpreader's
// known failure is to stall there.
func TestFileSourceDamage(t *testing.T) {
	f := makeDamaged(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "rrc06.json")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(f.data)
	zw.Close()
	if err := os.WriteFile(plain, f.data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain+".gz", gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{plain, plain + ".gz"} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			fh, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			src, err := NewFileSource(fh, name, quiet(), WithMaxMessage(64<<10))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			keys, records, gaps, end := readAllBatches(t, src)
			if end != io.EOF {
				t.Fatalf("end: %v", end)
			}
			if records != f.records {
				t.Errorf("%d records, want %d", records, f.records)
			}
			if d := diffMultisets(keys, f.want); d != "" {
				t.Errorf("elems differ from package mrt's:%s", d)
			}
			if len(gaps) != len(f.badLines) {
				t.Fatalf("%d gaps, want %d: %v", len(gaps), len(f.badLines), gaps)
			}
			for i, g := range gaps {
				var me *MessageError
				if !errors.As(g.Err, &me) || me.Line != f.badLines[i] || me.Offset != f.badOffs[i] || g.Start != f.badOffs[i] ||
					me.Source != name || !strings.Contains(g.Err.Error(), name) {
					t.Errorf("gap %d: %+v (%v); want line %d offset %d", i, g, g.Err, f.badLines[i], f.badOffs[i])
				}
			}
			if g := gaps[len(gaps)-1]; g.End != int64(len(f.data)) || !errors.Is(g.Err, decode.ErrTruncated) {
				t.Errorf("last gap %+v, want it to end the file as truncated JSON", g)
			}
			st := src.Stats()
			if st.BadLines != int64(len(f.badLines)) || st.ServerErrors != int64(f.errors) || st.Ignored != 1 || st.Records != int64(f.records) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestFileSourceReadError: a compressed file cut short gives its records,
// then an error naming the file and the offset.
func TestFileSourceReadError(t *testing.T) {
	lines := derive(t, rrc06File, rislivetest.DeriveOptions{Host: "rrc06"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Join(lines, []byte("\n")))
	zw.Close()
	cut := gz.Bytes()[:gz.Len()/2]
	src, err := NewFileSource(bytes.NewReader(cut), "cut.json.gz", quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, records, gaps, end := readAllBatches(t, src)
	if end == nil || end == io.EOF || !strings.Contains(end.Error(), "cut.json.gz: offset ") || !errors.Is(end, io.ErrUnexpectedEOF) {
		t.Errorf("end: %v", end)
	}
	if records < len(lines)/4 || records >= len(lines) || len(gaps) > 1 {
		t.Errorf("%d records of %d, gaps %v", records, len(lines), gaps)
	}
}

// TestFileSourceCancel: a cancelled context stops a read.
func TestFileSourceCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src, err := NewFileSource(strings.NewReader(`{"type":"pong","data":null}`+"\n"), "x", quiet())
	if err != nil {
		t.Fatal(err)
	}
	var b decode.Batch
	if err := src.Next(ctx, &b); !errors.Is(err, context.Canceled) {
		t.Errorf("Next: %v", err)
	}
}
