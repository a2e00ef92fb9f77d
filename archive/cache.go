package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// cache is a directory of complete dumps shared by processes.
//
// Layout, for a dump d named N in the directory:
//
//	<project>.<collector>.<type>.<initial unix>.<duration s>.<N>   the dump, only ever complete
//	.<that name>.meta    its size and URL, written before the dump appears
//	.<that name>.lock    the flock(2) lock of whoever downloads it (kept)
//	.<that name>.*.part  a download in progress (removed by the next
//	                     lock holder if its writer died)
//
// The hidden files keep `ls` on the cache to the dumps themselves.
//
// Protocol: a dump is used when its entry is valid (size as in .meta, as in
// Dump.Size when known, and for a file with no .meta a gzip/bzip2 magic and
// bzip2 end-of-stream check). Otherwise one goroutine per process
// (singleflight) takes the flock, looks again (another process may have
// finished meanwhile), removes stale parts, downloads to a part file,
// fsyncs it, checks its size against Content-Length, writes .meta, renames
// the part to the dump's name, fsyncs the directory and unlocks. Others
// block on the lock and then find the finished file. A flock dies with its
// process, so a killed download never blocks anyone for good; its part file
// is never mistaken for the dump.
type cache struct {
	dir  string
	only bool

	mu      sync.Mutex
	flights map[string]*flight
}

// flight is one in-process download that other goroutines wait for.
type flight struct {
	done chan struct{}
	err  error
}

// cacheFSError is a failure of the cache directory itself (not of the
// download): Open falls back to the network.
type cacheFSError struct{ error }

func (e cacheFSError) Unwrap() error { return e.error }

func newCache(dir string, only bool) (*cache, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if !only {
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, err
		}
		// Check it is writable now rather than at the first download.
		f, err := os.CreateTemp(abs, ".probe-*")
		if err != nil {
			return nil, fmt.Errorf("%s is not writable: %w", abs, err)
		}
		f.Close()
		os.Remove(f.Name())
	} else if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory (cache-only needs a warm cache)", abs)
	}
	return &cache{dir: abs, only: only, flights: map[string]*flight{}}, nil
}

// cacheName is the readable name of a dump's cache entry.
func cacheName(d Dump) string {
	name := d.Name()
	if d.Project == "" || d.Collector == "" || d.Type == "" || d.Start.IsZero() {
		sum := sha256.Sum256([]byte(d.URL))
		return "unlabelled." + hex.EncodeToString(sum[:6]) + "." + safeName(name)
	}
	return safeName(d.Project) + "." + safeName(d.Collector) + "." + safeName(d.Type) + "." +
		strconv.FormatInt(d.Start.Unix(), 10) + "." + strconv.FormatInt(int64(d.Duration/time.Second), 10) + "." + safeName(name)
}

// safeName keeps [A-Za-z0-9._-] and replaces anything else with '_'.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		b = append([]byte{'_'}, b...)
	}
	return string(b)
}

func (c *cache) path(d Dump) string { return filepath.Join(c.dir, cacheName(d)) }

func hidden(p, suffix string) string {
	return filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+suffix)
}

// cacheMeta is the .meta sidecar of an entry.
type cacheMeta struct {
	URL     string    `json:"url"`
	Size    int64     `json:"size"`
	Fetched time.Time `json:"fetched"`
}

// valid reports whether the entry at p is a complete copy of d.
func (c *cache) valid(p string, d Dump) bool {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	if d.Size > 0 && fi.Size() != d.Size {
		return false
	}
	if b, err := os.ReadFile(hidden(p, ".meta")); err == nil {
		var m cacheMeta
		if json.Unmarshal(b, &m) == nil && m.Size > 0 {
			return m.Size == fi.Size()
		}
	}
	// No sidecar (a cache filled by hand or another tool): check what can
	// be checked cheaply.
	return plausible(p, fi.Size())
}

// plausible checks a file's compression magic and, for bzip2, that it
// ends with the end-of-stream marker: a truncated copy fails.
func plausible(p string, size int64) bool {
	fh, err := os.Open(p)
	if err != nil {
		return false
	}
	defer fh.Close()
	head := make([]byte, 4)
	if _, err := io.ReadFull(fh, head); err != nil {
		return false
	}
	switch {
	case strings.HasSuffix(p, ".gz"):
		return head[0] == 0x1f && head[1] == 0x8b && size >= 20
	case strings.HasSuffix(p, ".bz2"):
		if !bytes.HasPrefix(head, []byte("BZh")) || size < 14 {
			return false
		}
		tail := make([]byte, 11)
		if _, err := fh.ReadAt(tail, size-11); err != nil {
			return false
		}
		return bzip2Ends(tail)
	}
	return size > 0
}

// bzip2Ends reports whether the last 11 bytes of a file hold a bzip2
// end-of-stream marker (the 48-bit 0x177245385090, then a 32-bit CRC, then
// 0..7 padding bits).
func bzip2Ends(tail []byte) bool {
	const marker = 0x177245385090
	bit := func(i int) uint64 { return uint64(tail[i/8]>>(7-uint(i%8))) & 1 }
	n := len(tail) * 8
	for pad := 0; pad < 8; pad++ {
		end := n - pad - 32 // one past the marker's last bit
		var v uint64
		for i := end - 48; i < end; i++ {
			v = v<<1 | bit(i)
		}
		if v == marker {
			return true
		}
	}
	return false
}

// ensure returns the path of a complete cache entry for d, downloading it
// when needed (or, cache-only, failing with ErrNotCached).
func (c *cache) ensure(ctx context.Context, f *Fetcher, d Dump) (string, error) {
	p := c.path(d)
	for {
		if c.valid(p, d) {
			f.stats.hits.Add(1)
			return p, nil
		}
		if c.only {
			return "", &HTTPError{URL: d.URL, Err: fmt.Errorf("%w: %s is missing or incomplete", ErrNotCached, p)}
		}
		c.mu.Lock()
		if fl := c.flights[p]; fl != nil {
			c.mu.Unlock()
			f.stats.waits.Add(1)
			select {
			case <-fl.done:
			case <-ctx.Done():
				return "", &HTTPError{URL: d.URL, Err: ctx.Err()}
			}
			if fl.err != nil && !errors.Is(fl.err, context.Canceled) && !errors.Is(fl.err, context.DeadlineExceeded) {
				return "", fl.err
			}
			continue // done, or its owner gave up: look again
		}
		fl := &flight{done: make(chan struct{})}
		c.flights[p] = fl
		c.mu.Unlock()
		fl.err = c.fill(ctx, f, d, p)
		c.mu.Lock()
		delete(c.flights, p)
		c.mu.Unlock()
		close(fl.done)
		if fl.err != nil {
			return "", fl.err
		}
		return p, nil
	}
}

// lockPoll is how often a process waiting for another's download tries the
// lock.
const lockPoll = 20 * time.Millisecond

// fill downloads d into the entry p under the cross-process lock.
func (c *cache) fill(ctx context.Context, f *Fetcher, d Dump, p string) error {
	lk := flock.New(hidden(p, ".lock"))
	locked, err := lk.TryLock()
	if err != nil {
		return cacheFSError{fmt.Errorf("locking %s: %w", lk.Path(), err)}
	}
	if !locked {
		// Another process is downloading it: wait for it.
		f.stats.waits.Add(1)
		if _, err := lk.TryLockContext(ctx, lockPoll); err != nil {
			if ctx.Err() != nil {
				return &HTTPError{URL: d.URL, Err: ctx.Err()}
			}
			return cacheFSError{fmt.Errorf("locking %s: %w", lk.Path(), err)}
		}
	}
	defer lk.Unlock()
	if c.valid(p, d) {
		return nil // finished by the process we waited for
	}
	// We hold the lock: any part file is a dead writer's.
	if stale, _ := filepath.Glob(hidden(p, ".*.part")); len(stale) > 0 {
		for _, s := range stale {
			os.Remove(s)
		}
	}
	tmp, err := os.CreateTemp(c.dir, "."+filepath.Base(p)+".*.part")
	if err != nil {
		return cacheFSError{err}
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := f.download(ctx, d, tmp); err != nil {
		return err
	}
	fi, err := tmp.Stat()
	if err != nil {
		return cacheFSError{err}
	}
	if err := tmp.Close(); err != nil {
		return cacheFSError{err}
	}
	meta, _ := json.Marshal(cacheMeta{URL: d.URL, Size: fi.Size(), Fetched: time.Now().UTC()})
	if err := writeFileAtomic(hidden(p, ".meta"), meta); err != nil {
		return cacheFSError{err}
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return cacheFSError{err}
	}
	done = true
	syncDir(c.dir)
	return nil
}

// writeFileAtomic writes b to name through a synced temporary file.
func writeFileAtomic(name string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
