package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// CacheIndex is an Index over a cache directory (FetchOptions.CacheDir):
// it lists the complete dumps the cache holds, with the labels their entry
// names carry and the URLs their .meta files keep. With it a window is read
// offline from a warm cache (bgpreader -o cache-only=true), and a read whose
// index cannot be reached falls back to what was fetched before.
type CacheIndex struct{ dir string }

// NewCacheIndex returns an index over the cache directory dir.
func NewCacheIndex(dir string) (*CacheIndex, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("archive: cache %s is not a directory (a warm cache is needed)", dir)
	}
	return &CacheIndex{dir: dir}, nil
}

// Find returns the cached dumps q selects.
func (c *CacheIndex) Find(ctx context.Context, q Query) ([]Dump, error) {
	q, err := q.normalize(true)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("archive: cache %s: %w", c.dir, err)
	}
	ch := &cache{dir: c.dir}
	var ds []Dump
	for _, e := range ents {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		d, ok := parseCacheName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		p := ch.dir + string(os.PathSeparator) + e.Name()
		b, err := os.ReadFile(hidden(p, ".meta"))
		if err != nil {
			continue // no sidecar: the URL is unknown
		}
		var m cacheMeta
		if json.Unmarshal(b, &m) != nil || m.URL == "" {
			continue
		}
		d.URL, d.Size = m.URL, m.Size
		if cacheName(d) != e.Name() || !ch.valid(p, d) {
			continue
		}
		ds = append(ds, d)
	}
	return finish(q, ds), nil
}

// parseCacheName reads <project>.<collector>.<type>.<start>.<duration>.<name>;
// collectors hold dots (route-views.jinx), so the type is found first.
func parseCacheName(n string) (Dump, bool) {
	if strings.HasPrefix(n, ".") || strings.HasPrefix(n, "unlabelled.") {
		return Dump{}, false
	}
	for _, t := range []string{TypeRIBs, TypeUpdates} {
		i := strings.Index(n, "."+t+".")
		if i < 0 {
			continue
		}
		head, rest := n[:i], n[i+len(t)+2:]
		project, collector, ok := strings.Cut(head, ".")
		if !ok {
			continue
		}
		f := strings.SplitN(rest, ".", 3)
		if len(f) != 3 {
			continue
		}
		start, err1 := strconv.ParseInt(f[0], 10, 64)
		dur, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		return Dump{Project: project, Collector: collector, Type: t, Start: time.Unix(start, 0).UTC(),
			Duration: time.Duration(dur) * time.Second}, true
	}
	return Dump{}, false
}
