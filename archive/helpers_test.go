package archive

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bgp-connector/bgp-connector/internal/archivetest"
)

// quiet drops the retry warnings of tests that provoke them.
var quiet = slog.New(slog.DiscardHandler)

// fastHTTP keeps retries quick in tests.
func fastHTTP() HTTPOptions {
	return HTTPOptions{RetryWait: 5 * time.Millisecond, RetryMaxWait: 20 * time.Millisecond, ReadTimeout: 10 * time.Second,
		Logger: quiet}
}

func ut(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// label is what every index must agree on for a dump: its labels and its
// file name (URLs differ between an archive, a broker and a mirror).
func label(d Dump) string {
	return fmt.Sprintf("%s %s %s %s %s %s", d.Project, d.Collector, d.Type,
		d.Start.UTC().Format("2006-01-02T15:04:05"), d.Duration, d.Name())
}

func entryLabel(e archivetest.Entry) string {
	return fmt.Sprintf("%s %s %s %s %s %s", e.Project, e.Collector, e.Type,
		e.Start.UTC().Format("2006-01-02T15:04:05"), e.Duration, e.Base())
}

// expect returns the labels of catalogue entries given by archive path,
// in the order every index must return them.
func expect(t testing.TB, paths ...string) []string {
	t.Helper()
	var es []archivetest.Entry
	for _, p := range paths {
		e, ok := archivetest.Find(p)
		if !ok {
			t.Fatalf("no catalogue entry %s", p)
		}
		es = append(es, e)
	}
	archivetest.SortEntries(es)
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = entryLabel(e)
	}
	return out
}

func labels(ds []Dump) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = label(d)
	}
	return out
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// indexes builds every Index over one emulator (and a local mirror of the
// same catalogue).
func indexes(t *testing.T, srv *archivetest.Server) map[string]Index {
	t.Helper()
	out := map[string]Index{}
	ai, err := NewArchiveIndex(ArchiveOptions{RISBase: srv.RISBase(), RouteViewsBase: srv.RouteViewsBase(), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	out["archive"] = ai
	dir := t.TempDir()
	archivetest.WriteMirror(t, dir, srv.Published())
	mi, err := NewArchiveIndex(ArchiveOptions{Base: dir})
	if err != nil {
		t.Fatal(err)
	}
	out["mirror"] = mi
	fi, err := NewArchiveIndex(ArchiveOptions{Base: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	out["mirror-file-url"] = fi
	cb, err := NewCAIDABroker(BrokerOptions{URL: srv.CAIDABrokerURL(), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	out["caida"] = cb
	bk, err := NewBGPKITBroker(BGPKITOptions{URL: srv.BGPKITURL(), HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	out["bgpkit"] = bk
	return out
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// listDir names the files of a directory (hidden ones included).
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// visible names the non-hidden files of a directory.
func visible(t testing.TB, dir string) []string {
	var out []string
	for _, n := range listDir(t, dir) {
		if !strings.HasPrefix(n, ".") {
			out = append(out, n)
		}
	}
	return out
}

func readAllFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Clean(p))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tlsConfigFromPEM trusts the certificates of a PEM file.
func tlsConfigFromPEM(path string) (*tls.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return &tls.Config{RootCAs: pool}, nil
}
