package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Status values of a BackfillState.
const (
	// StateRunning is a checkpoint: the dump is being read (or was, by a
	// task that stopped); Offset is where its next reader resumes.
	StateRunning = "running"
	// StateDone: every record of the dump in the item's windows is
	// published and acknowledged. The dump is never read again.
	StateDone = "done"
	// StateFailed: the dump could not be fetched or was damaged beyond
	// resync; the work item went to the dead letter topic (or stopped the
	// task). Error says why. It is not read again unless the item is
	// queued again (backfill --retry-failed).
	StateFailed = "failed"
)

// BackfillState is one value of the backfill state topic
// (backfill.state.topic, compacted, keyed by the dump's URL): the progress
// of one dump. The last value of a URL is its state. It is JSON (as Kafka
// Connect's offset topics are), so that kcat shows it as it is.
type BackfillState struct {
	// URL is the dump's URL, also the record key.
	URL string `json:"url"`
	// Project, Collector and Type are the item's labels (for status).
	Project   string `json:"project,omitempty"`
	Collector string `json:"collector,omitempty"`
	Type      string `json:"type,omitempty"`
	// Status is StateRunning, StateDone or StateFailed.
	Status string `json:"status"`
	// Offset is the resume point, an uncompressed byte offset of the dump:
	// every record before it is published and acknowledged. A task that
	// takes the dump over decompresses from the start but publishes only
	// records at or after Offset.
	Offset int64 `json:"offset"`
	// Elems counts the elems published (after the filter) before Offset.
	Elems int64 `json:"elems"`
	// Reach is the elem count up to which the writer may have published
	// when it wrote this state: Elems plus the checkpoint interval for a
	// periodic checkpoint, Elems for a final one (a clean stop or a
	// transaction). A task resuming here counts the elems it publishes
	// below Reach as re-published: Reach-Elems bounds the duplicates.
	Reach int64 `json:"reach"`
	// Records counts the records read before Offset; Gaps and
	// BytesSkipped the damaged regions skipped so far.
	Records      int64 `json:"records"`
	Gaps         int64 `json:"gaps,omitempty"`
	BytesSkipped int64 `json:"bytes_skipped,omitempty"`
	// Error is the cause of a failure.
	Error string `json:"error,omitempty"`
	// Task names the writer: "<host>/<task>".
	Task string `json:"task,omitempty"`
	// Resumes counts the times the dump was taken up again from a
	// checkpoint.
	Resumes int `json:"resumes,omitempty"`
	// Time is when the state was written.
	Time time.Time `json:"time"`
}

// EncodeState returns the state topic value of s.
func EncodeState(s *BackfillState) []byte {
	b, _ := json.Marshal(s) // plain fields: cannot fail
	return b
}

// DecodeState parses a state topic value.
func DecodeState(b []byte) (BackfillState, error) {
	var s BackfillState
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("backfill state: %w", err)
	}
	if s.URL == "" {
		return s, errors.New("backfill state: no url")
	}
	return s, nil
}

// StateView is the backfill state topic read into memory and kept current:
// the last state of every URL. The connector's backfill tasks consult it
// before they start a dump (to skip one already done and to resume one from
// its checkpoint), and the backfill command before it queues dumps (to skip
// those done). It reads with isolation.level=read_committed, so that the
// checkpoints of an exactly-once task count only once their transaction
// committed. Memory: one BackfillState (about 200 bytes) per dump ever
// backfilled.
//
// It is safe for concurrent use.
type StateView struct {
	cl    *kgo.Client
	adm   *kadm.Client
	topic string
	log   *slog.Logger

	mu      sync.Mutex
	states  map[string]BackfillState
	pos     map[int32]int64 // next offset to read per partition
	changed chan struct{}   // closed and replaced on every poll
	bad     int64           // undecodable values seen
	done    chan struct{}
}

// NewStateView starts reading the state topic from its start. base are the
// shared client options (seed brokers, TLS, SASL). A topic that does not
// exist yet reads as empty.
func NewStateView(base []kgo.Opt, topic string, log *slog.Logger) (*StateView, error) {
	if log == nil {
		log = slog.Default()
	}
	opts := append(append([]kgo.Opt(nil), base...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Control records (transaction markers) are kept so that the read
		// position reaches the last stable offset exactly (Sync).
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.MetadataMaxAge(5*time.Second),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("backfill state %s: %w", topic, err)
	}
	v := &StateView{cl: cl, adm: kadm.NewClient(cl), topic: topic, log: log,
		states: map[string]BackfillState{}, pos: map[int32]int64{}, changed: make(chan struct{}), done: make(chan struct{})}
	go v.run()
	return v, nil
}

func (v *StateView) run() {
	defer close(v.done)
	for {
		fs := v.cl.PollFetches(context.Background())
		if fs.IsClientClosed() {
			return
		}
		v.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset+1 > v.pos[r.Partition] {
				v.pos[r.Partition] = r.Offset + 1
			}
			if r.Attrs.IsControl() {
				return
			}
			if r.Value == nil {
				delete(v.states, string(r.Key)) // a tombstone: queued again
				return
			}
			s, err := DecodeState(r.Value)
			if err != nil {
				if v.bad++; v.bad <= 3 {
					v.log.Warn("undecodable backfill state ignored", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
				}
				return
			}
			v.states[s.URL] = s
		})
		close(v.changed)
		v.changed = make(chan struct{})
		v.mu.Unlock()
	}
}

// Sync waits until the view holds every state committed to the topic when
// it was called (up to each partition's last stable offset), or ctx ends.
func (v *StateView) Sync(ctx context.Context) error {
	ends, err := v.adm.ListCommittedOffsets(ctx, v.topic)
	if err != nil {
		return fmt.Errorf("backfill state %s: end offsets: %w", v.topic, err)
	}
	want := map[int32]int64{}
	var lerr error
	ends.Each(func(o kadm.ListedOffset) {
		switch {
		case errors.Is(o.Err, kerr.UnknownTopicOrPartition):
		case o.Err != nil:
			lerr = o.Err
		case o.Offset > 0:
			want[o.Partition] = o.Offset
		}
	})
	if lerr != nil {
		return fmt.Errorf("backfill state %s: end offsets: %w", v.topic, lerr)
	}
	for {
		v.mu.Lock()
		behind := false
		for p, o := range want {
			if v.pos[p] < o {
				behind = true
			}
		}
		ch := v.changed
		v.mu.Unlock()
		if !behind {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("backfill state %s: reading to its end: %w", v.topic, ctx.Err())
		}
	}
}

// Get returns the last state of url.
func (v *StateView) Get(url string) (BackfillState, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s, ok := v.states[url]
	return s, ok
}

// States returns a copy of every URL's last state.
func (v *StateView) States() map[string]BackfillState {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]BackfillState, len(v.states))
	for k, s := range v.states {
		out[k] = s
	}
	return out
}

// Close stops reading.
func (v *StateView) Close() {
	v.cl.Close()
	<-v.done
}
