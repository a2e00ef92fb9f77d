// Package corpus locates the real-data conformance corpus
// (../shared/testdata/real beside the repository, or $BGP_CORPUS) for tests
// and benchmarks, and skips the caller when it is absent, so that a fresh
// clone without the corpus passes with skips only.
//
// It is test support: nothing in the data path imports it.
package corpus

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Root returns where the corpus is looked for: $BGP_CORPUS, else
// ../shared/testdata/real beside the repository, whether it exists or not
// (for tests that build file paths themselves and skip when one is missing).
func Root() string {
	if d := os.Getenv("BGP_CORPUS"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("..", "..", "shared", "testdata", "real")
	}
	// file is <root>/internal/corpus/corpus.go; the corpus is <root>/../shared/testdata/real.
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", "real")
}

// Dir returns the corpus directory, or "" when it does not exist.
func Dir() string {
	d := Root()
	if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
		return ""
	}
	return d
}

// Need returns the corpus directory, or skips tb saying why.
func Need(tb testing.TB) string {
	tb.Helper()
	d := Dir()
	if d == "" {
		tb.Skip("real-data corpus ../shared/testdata/real not found (set BGP_CORPUS to its path)")
	}
	return d
}

// Path returns the path of a corpus file given relative to the corpus
// root (e.g. "pyasn/rib.20140523.0600_firstMB.bz2"), or skips tb when the
// corpus or the file is absent.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(Need(tb), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("corpus file %s: %v", rel, err)
	}
	return p
}

// Read returns the bytes of a corpus file (see Path).
func Read(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ReportCPU starts measuring the process's CPU time; the returned function
// reports bytesPerOp*b.N per CPU second as the "cpu-MB/s" metric, which
// shows how much of a parallel decoder's speed is its cores.
func ReportCPU(b *testing.B, bytesPerOp int) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		if d := cpu() - start; d > 0 {
			b.ReportMetric(float64(bytesPerOp)*float64(b.N)/d.Seconds()/1e6, "cpu-MB/s")
		}
	}
}
