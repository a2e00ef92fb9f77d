package compress

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Codecs are the compressions Detect recognises, in the order tests and
// tools try them.
var Codecs = []string{"gzip", "bzip2", "xz", "zstd"}

// ErrNoEncoder is returned by Encode for bzip2 when no bzip2 command is
// installed (the project decodes bzip2 but has no encoder of its own).
var ErrNoEncoder = errors.New("no bzip2 command to compress with")

// Encode compresses p with codec (one of Codecs), for tests and tools that
// make compressed inputs out of real data: gzip, xz and zstd in Go, bzip2
// with the system's bzip2 command (ErrNoEncoder without one).
func Encode(codec string, p []byte) ([]byte, error) {
	var b bytes.Buffer
	switch codec {
	case "gzip":
		w := gzip.NewWriter(&b)
		w.Write(p)
		if err := w.Close(); err != nil {
			return nil, err
		}
	case "xz":
		w, err := xz.NewWriter(&b)
		if err != nil {
			return nil, err
		}
		w.Write(p)
		if err := w.Close(); err != nil {
			return nil, err
		}
	case "zstd":
		e, err := zstd.NewWriter(nil)
		if err != nil {
			return nil, err
		}
		defer e.Close()
		return e.EncodeAll(p, nil), nil
	case "bzip2":
		path, err := exec.LookPath("bzip2")
		if err != nil {
			return nil, ErrNoEncoder
		}
		cmd := exec.Command(path, "-c")
		cmd.Stdin = bytes.NewReader(p)
		return cmd.Output()
	default:
		return nil, fmt.Errorf("compress: no codec %q", codec)
	}
	return b.Bytes(), nil
}
