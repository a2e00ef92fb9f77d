package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/internal/compress"
	"github.com/bgp-connector/bgp-connector/mrt"
	"github.com/bgp-connector/bgp-connector/openbmp"
)

// Input formats of a file source.
const (
	FormatAuto    = ""        // detected from the (decompressed) first bytes
	FormatMRT     = "mrt"     // MRT (RFC 6396)
	FormatBMP     = "bmp"     // raw BMP, or any BMP framing (detected)
	FormatOpenBMP = "openbmp" // OpenBMP v1.7 messages (binary or text header)
)

// FileOptions configure a file source.
type FileOptions struct {
	// Name names the input in positions (Batch.Source), errors and
	// warnings: the path, a URL, or "-" for stdin.
	Name string
	// Format is FormatMRT, FormatBMP, FormatOpenBMP, or FormatAuto ("" or
	// "auto") to detect it: compression first (gzip, bzip2, xz, zstd, by
	// magic bytes, for every format), then the content.
	Format string
	// Project and Collector label every record ("singlefile" when empty,
	// as bgpreader's singlefile interface does). An OpenBMP header's admin
	// id replaces Collector.
	Project, Collector string
	// DumpTime is every record's dump time, in seconds (bgpreader: the
	// resource's initial time).
	DumpTime int64
	// Prefilter lets the MRT decoder skip what the filter would drop before
	// attributes are decoded (push-down); nil decodes everything.
	Prefilter mrt.Prefilter
	// ReaderOpts are extra MRT reader options (buffer sizes, workers).
	ReaderOpts []mrt.ReaderOpt
	// BMP are extra BMP decoder options (e.g. bgpreader's Peer Up state).
	BMP []openbmp.DecoderOpt
	// MaxSkipShare is the share of the input that may be skipped as damaged
	// before the source reports the input as unreadable at its end (default
	// 0.5: a file that is mostly garbage is not silently accepted).
	MaxSkipShare float64
}

// FileStats count what a file source read.
type FileStats struct {
	// Format is the input format read ("mrt", "bmp", "openbmp"...), and
	// Compression the compression detected ("none" for plain input).
	Format, Compression string
	// Records counts records, Corrupted and Unsupported those with such a
	// status.
	Records, Corrupted, Unsupported int64
	// Gaps counts damaged regions skipped and BytesSkipped their length.
	Gaps, BytesSkipped int64
	// LengthRepairs counts MRT records whose short declared length was
	// repaired.
	LengthRepairs int64
	// Bytes counts uncompressed bytes read, CompressedBytes bytes read
	// from the input itself.
	Bytes, CompressedBytes int64
}

// FileSource reads one file (or stream) of MRT, BMP or OpenBMP data into
// batches: a Source over mrt.Scanner or openbmp.Scanner. It labels records
// (project, collector, dump time) and, for a TABLE_DUMP_V2 dump, moves the
// dump-start position from the PEER_INDEX_TABLE (which bgpreader never
// prints) to the first RIB record. At the end it reports an input in which
// nothing was found, or that was mostly skipped, as an error: damage is
// never accepted silently.
type FileSource struct {
	o      FileOptions
	closer io.Closer // the opened file, if OpenFile opened it

	mrt  *mrt.Scanner
	bmp  *openbmp.Scanner
	br   *bufio.Reader // BMP input (after decompression)
	dec  io.Closer     // BMP decompressor
	raw  *countReader  // BMP: the input's bytes
	unc  *countReader  // BMP: the uncompressed bytes
	comp string

	startPending bool // a PEER_INDEX_TABLE took the dump start
	done         bool
	stats        FileStats
}

// OpenFile opens path and returns a source over it; a directory is an
// error saying so.
func OpenFile(path string, o FileOptions) (*FileSource, error) {
	if o.Name == "" {
		o.Name = path
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s is a directory (to read the files in it: %s)", path, filepath.Join(path, "*"))
	}
	s, err := NewFileSource(f, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	s.closer = f
	return s, nil
}

// NewFileSource returns a source over r, the input's bytes as stored
// (compressed or not).
func NewFileSource(r io.Reader, o FileOptions) (*FileSource, error) {
	if o.Project == "" {
		o.Project = "singlefile"
	}
	if o.Collector == "" {
		o.Collector = "singlefile"
	}
	if o.MaxSkipShare == 0 {
		o.MaxSkipShare = 0.5
	}
	s := &FileSource{o: o}
	br := bufio.NewReaderSize(r, 64<<10)
	format := o.Format
	if format == "auto" {
		format = FormatAuto
	}
	if format == FormatAuto {
		format, br = detect(br, o.Name)
	}
	s.stats.Format = format
	switch format {
	case FormatMRT:
		el := mrt.NewElementor()
		el.Project, el.Collector = o.Project, o.Collector
		if o.Prefilter != nil {
			el.Prefilter = o.Prefilter
		}
		sc, err := mrt.NewScanner(br, el, append([]mrt.ReaderOpt{mrt.WithName(o.Name)}, o.ReaderOpts...)...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Name, err)
		}
		s.mrt = sc
		s.comp = sc.Reader().Compression()
	case FormatBMP, FormatOpenBMP:
		s.raw = &countReader{r: br}
		dec, comp, err := compress.NewReader(s.raw, "", mrt.Bzip2Workers(o.ReaderOpts...)) // as the MRT reader would
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Name, err)
		}
		s.dec, s.comp = dec, comp
		s.unc = &countReader{r: dec}
		kind := openbmp.KindUnknown // also length-prefixed and text headers
		if o.Format == FormatOpenBMP {
			kind = openbmp.KindOpenBMP
		} else if o.Format == FormatBMP {
			kind = openbmp.KindBMP
		}
		opts := append([]openbmp.DecoderOpt{openbmp.WithProject(o.Project), openbmp.WithCollector(o.Collector)}, o.BMP...)
		s.bmp = openbmp.NewScanner(s.unc, kind, openbmp.NewDecoder(opts...))
	default:
		return nil, fmt.Errorf("%s: format %q: want mrt, bmp, openbmp or auto", o.Name, o.Format)
	}
	s.stats.Compression = s.comp
	return s, nil
}

// Next fills b with the next records of the file.
func (s *FileSource) Next(ctx context.Context, b *decode.Batch) error {
	return s.NextN(ctx, b, BatchElems, BatchRecords)
}

// NextN is Next with the batch size given: at most about maxElems elems or
// maxRecords records (a merge of many inputs asks for small batches to keep
// memory flat).
func (s *FileSource) NextN(ctx context.Context, b *decode.Batch, maxElems, maxRecords int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.done {
		return io.EOF
	}
	b.Source, b.Partition = s.o.Name, -1
	first, gaps := len(b.Records), len(b.Gaps)
	var err error
	if s.mrt != nil {
		err = s.mrt.Fill(b, maxElems, maxRecords)
	} else {
		err = s.bmp.Fill(b, maxElems, maxRecords)
	}
	s.label(b, first)
	if s.bmp != nil {
		s.stats.Gaps += int64(len(b.Gaps) - gaps)
	}
	if err == nil {
		return nil
	}
	s.done = true
	s.finishStats()
	if errors.Is(err, io.EOF) {
		if verr := s.verdict(); verr != nil {
			return verr
		}
		return io.EOF
	}
	if s.bmp != nil {
		return fmt.Errorf("%s: %w", s.o.Name, err)
	}
	return err // mrt errors name the input already
}

// label sets dump times, moves a TABLE_DUMP_V2 dump's start to its first
// RIB record, and counts.
func (s *FileSource) label(b *decode.Batch, first int) {
	for i := first; i < len(b.Records); i++ {
		rec := &b.Records[i]
		rec.DumpTime = s.o.DumpTime
		if s.bmp != nil {
			rec.DumpPos = decode.DumpMiddle // BMP has no dumps
		} else if rec.Format == decode.FormatTableDumpV2 && rec.MRTSubtype == mrt.PeerIndexTable {
			if rec.DumpPos == decode.DumpStart {
				rec.DumpPos, s.startPending = decode.DumpMiddle, true
			}
		} else if s.startPending {
			if rec.DumpPos == decode.DumpMiddle {
				rec.DumpPos = decode.DumpStart
			}
			s.startPending = false
		}
		s.stats.Records++
		switch rec.Status {
		case decode.StatusCorruptedRecord:
			s.stats.Corrupted++
		case decode.StatusUnsupported:
			s.stats.Unsupported++
		}
	}
}

func (s *FileSource) finishStats() {
	if s.mrt != nil {
		st := s.mrt.Reader().Stats()
		s.stats.Gaps, s.stats.BytesSkipped, s.stats.LengthRepairs = st.Gaps, st.BytesSkipped, st.LengthRepairs
		s.stats.Bytes, s.stats.CompressedBytes = st.Bytes, st.CompressedBytes
		return
	}
	s.stats.BytesSkipped = s.bmp.StreamReader().Skipped()
	s.stats.Bytes, s.stats.CompressedBytes = s.unc.n.Load(), s.raw.n.Load()
}

// verdict reports, at the end of a clean read, an input in which no record
// was found or most bytes were skipped.
func (s *FileSource) verdict() error {
	st := &s.stats
	if st.Records == 0 && st.BytesSkipped > 0 {
		return fmt.Errorf("%s: no %s record found: all %d bytes skipped as damaged (not %s data? --type sets the input type)",
			s.o.Name, st.Format, st.BytesSkipped, formatNames[st.Format])
	}
	if st.Bytes > 0 && float64(st.BytesSkipped) > s.o.MaxSkipShare*float64(st.Bytes) {
		return fmt.Errorf("%s: %d of %d bytes (%.1f%%) skipped as damaged: only %d records could be read",
			s.o.Name, st.BytesSkipped, st.Bytes, 100*float64(st.BytesSkipped)/float64(st.Bytes), st.Records)
	}
	return nil
}

// Stats returns what the source read so far (complete once Next returned
// io.EOF or an error).
func (s *FileSource) Stats() FileStats {
	if !s.done {
		s.finishStats()
	}
	return s.stats
}

// Close releases the readers and the file.
func (s *FileSource) Close() error {
	if s.mrt != nil {
		s.mrt.Close()
	}
	if s.dec != nil {
		s.dec.Close()
	}
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// formatNames are the formats as people write them.
var formatNames = map[string]string{FormatMRT: "MRT", FormatBMP: "BMP", FormatOpenBMP: "OpenBMP"}

// Extensions that name an input's format when its content cannot be
// checked cheaply (compressed with bzip2, whose first output needs a whole
// block decoded).
var bmpExts = []string{".bmp", ".obmp", ".bmpv4", ".kcat"}

// mrtName reports whether a file name (without its compression extension)
// is an MRT name: *.mrt, or the archives' rib.*, bview.*, updates.*.
func mrtName(base string) bool {
	b := filepath.Base(base)
	return strings.HasSuffix(b, ".mrt") || strings.HasPrefix(b, "rib.") || strings.HasPrefix(b, "rib6.") ||
		strings.HasPrefix(b, "bview.") || strings.HasPrefix(b, "updates.")
}

// detect returns the format of the input at br: its compression is looked
// through (the name decides when it says BMP or MRT; else the first bytes
// are decompressed, the first block for bzip2), then openbmp.Detect names
// BMP framings, a plausible MRT header means MRT, and otherwise a BMP frame
// chain found in the first 64 KiB means a BMP stream with a damaged start.
func detect(br *bufio.Reader, name string) (string, *bufio.Reader) {
	head, _ := br.Peek(64 << 10)
	comp := compress.Detect(head)
	if comp == "none" {
		return detectPlain(head), br
	}
	base := strings.ToLower(name)
	for _, ext := range []string{".gz", ".bz2", ".xz", ".zst"} {
		base = strings.TrimSuffix(base, ext)
	}
	for _, ext := range bmpExts {
		if strings.HasSuffix(base, ext) {
			return FormatBMP, br
		}
	}
	if mrtName(base) {
		return FormatMRT, br
	}
	// No hint in the name: look at the decompressed start. For bzip2 that
	// takes a whole first block (up to 900 kB out of at most ~1 MiB in),
	// decoded once for this detection only.
	if comp == "bzip2" {
		prefix := make([]byte, 1<<20)
		n, _ := io.ReadFull(br, prefix)
		head = prefix[:n]
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(head), br), 64<<10)
	}
	dec, _, err := compress.NewReader(bytes.NewReader(head), comp, 0)
	if err != nil {
		return FormatMRT, br
	}
	plain := make([]byte, 64<<10)
	n, _ := io.ReadFull(dec, plain)
	dec.Close()
	return detectPlain(plain[:n]), br
}

func detectPlain(head []byte) string {
	switch openbmp.Detect(head) {
	case openbmp.KindOpenBMP, openbmp.KindOpenBMPText:
		return FormatOpenBMP
	case openbmp.KindBMP, openbmp.KindLengthPrefixed:
		return FormatBMP
	}
	if mrtPlausible(head) || !bmpChainIn(head) {
		return FormatMRT
	}
	return FormatBMP
}

// mrtPlausible reports whether head starts with a plausible MRT header: a
// timestamp from 1995 on and a known type.
func mrtPlausible(head []byte) bool {
	if len(head) < 12 {
		return false
	}
	ts := uint32(head[0])<<24 | uint32(head[1])<<16 | uint32(head[2])<<8 | uint32(head[3])
	t := uint16(head[4])<<8 | uint16(head[5])
	return ts >= 788918400 && (t == mrt.TypeTableDump || t == mrt.TypeTableDumpV2 || t == mrt.TypeBGP4MP || t == mrt.TypeBGP4MPET || t == mrt.TypeBGP)
}

// bmpChainIn reports whether three BMP v3 messages chain somewhere in head.
func bmpChainIn(head []byte) bool {
	frame := func(at int) int {
		if at+6 > len(head) || head[at] != 3 || head[at+5] > 6 {
			return 0
		}
		n := int(uint32(head[at+1])<<24 | uint32(head[at+2])<<16 | uint32(head[at+3])<<8 | uint32(head[at+4]))
		if n < 6 || n > openbmp.MaxFrame {
			return 0
		}
		return n
	}
	for at := 0; at+6 <= len(head); at++ {
		n1 := frame(at)
		if n1 == 0 {
			continue
		}
		if n2 := frame(at + n1); n2 > 0 && frame(at+n1+n2) > 0 {
			return true
		}
	}
	return false
}
