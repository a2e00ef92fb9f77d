package archive

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
)

// prefetched is one dump handed to Prefetch.
type prefetched struct {
	done    chan struct{}
	path    string // the finished file
	temp    bool   // a private temporary file (no cache): removed once opened
	err     error
	started bool // the download began (it holds a slot)
	taken   bool // Open claimed it
}

// Prefetch downloads dumps ahead of Open, in order, keeping at most
// FetchOptions.Prefetch of them downloaded or downloading and not yet
// opened: into the cache when there is one, else into private temporary
// files (removed once opened, or by Close). Open of a prefetched dump
// waits for its download and reads the finished file; Open of a dump the
// prefetcher has not reached yet takes it over. It returns at once; the
// downloads stop when ctx ends or at Close. Local dumps and stream
// resources are skipped. Give it the dumps in the order you will open
// them; a prefetched dump holds its slot until it is opened or the Fetcher
// closed.
func (f *Fetcher) Prefetch(ctx context.Context, dumps []Dump) {
	var todo []*prefetched
	var list []Dump
	f.pmu.Lock()
	for _, d := range dumps {
		if _, local := localPath(d.URL); local || d.IsStream() || f.o.CacheOnly {
			continue
		}
		if _, dup := f.pending[d.URL]; dup {
			continue
		}
		pf := &prefetched{done: make(chan struct{})}
		f.pending[d.URL] = pf
		todo = append(todo, pf)
		list = append(list, d)
	}
	f.pmu.Unlock()
	if len(todo) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(f.life, cancel)
	f.pwg.Add(1)
	go func() {
		defer f.pwg.Done()
		defer stop()
		defer cancel()
		var wg sync.WaitGroup
		for i, d := range list {
			pf := todo[i]
			got := false
			select {
			case f.slots <- struct{}{}:
				got = true
			case <-ctx.Done():
			}
			f.pmu.Lock()
			if !got || ctx.Err() != nil || pf.taken {
				if got {
					<-f.slots // taken over by Open before we started, or stopping
				}
				f.pmu.Unlock()
				if ctx.Err() != nil {
					break // the rest stay unstarted: Open does them
				}
				continue
			}
			pf.started = true
			f.pmu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				path, temp, err := f.fetchFile(ctx, d)
				f.pmu.Lock()
				pf.path, pf.temp, pf.err = path, temp, err
				f.pmu.Unlock()
				close(pf.done)
			}()
		}
		// Entries never started are Open's to do.
		wg.Wait()
	}()
}

// fetchFile downloads d to a finished file: its cache entry, or a private
// temporary file.
func (f *Fetcher) fetchFile(ctx context.Context, d Dump) (path string, temp bool, err error) {
	if f.cache != nil {
		p, err := f.cache.ensure(ctx, f, d)
		var fe cacheFSError
		if err == nil || !errors.As(err, &fe) {
			return p, false, err
		}
		// The cache failed us: fall back to a temporary file.
	}
	fh, err := f.tempFile(d)
	if err != nil {
		return "", false, err
	}
	if err := f.download(ctx, d, fh); err != nil {
		fh.Close()
		os.Remove(fh.Name())
		return "", false, err
	}
	if err := fh.Close(); err != nil {
		os.Remove(fh.Name())
		return "", false, cacheFSError{err}
	}
	return fh.Name(), true, nil
}

// openPrefetched opens d from its prefetched download when Prefetch has it
// (ok true), waiting for the download to finish. A dump the prefetcher has
// not started is claimed and left to the caller (ok false).
func (f *Fetcher) openPrefetched(ctx context.Context, d Dump) (io.ReadCloser, bool, error) {
	f.pmu.Lock()
	pf := f.pending[d.URL]
	if pf == nil {
		f.pmu.Unlock()
		return nil, false, nil
	}
	pf.taken = true
	if !pf.started {
		delete(f.pending, d.URL)
		f.pmu.Unlock()
		return nil, false, nil
	}
	f.pmu.Unlock()
	select {
	case <-pf.done:
	case <-ctx.Done():
		return nil, true, &HTTPError{URL: d.URL, Err: ctx.Err()}
	}
	f.pmu.Lock()
	delete(f.pending, d.URL)
	f.pmu.Unlock()
	<-f.slots
	if pf.err != nil {
		if errors.Is(pf.err, context.Canceled) && ctx.Err() == nil {
			return nil, false, nil // the prefetch was stopped: do it now
		}
		return nil, true, pf.err
	}
	fh, err := os.Open(pf.path)
	if err != nil {
		return nil, true, &HTTPError{URL: d.URL, Err: err}
	}
	if pf.temp {
		// Unlinked now, readable until closed: nothing left behind.
		os.Remove(pf.path)
	}
	return fh, true, nil
}
