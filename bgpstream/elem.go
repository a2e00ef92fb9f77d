package bgpstream

import (
	"context"
	"iter"
	"net/netip"
	"slices"
	"strconv"

	"github.com/bgp-connector/bgp-connector/decode"
	"github.com/bgp-connector/bgp-connector/emit/text"
	"github.com/bgp-connector/bgp-connector/mrt"
)

// Record is one record of the stream (an MRT record, a BMP message, a RIS
// Live message) with its context: the embedded decode.Record gives its type
// (RIB or update), status, dump position (B, M, E), time, dump time,
// project, collector, router and router address, MRT type and byte offset.
// A Record yielded by an iterator is valid until the next iteration; Clone
// keeps one.
type Record struct {
	decode.Record
	elems []decode.Elem
	elem  Elem // reused by Elems
}

// NumElems returns the number of the record's elems (after the filter).
func (r *Record) NumElems() int { return len(r.elems) }

// Elems returns the record's elems (after the filter). Each yielded Elem is
// valid until the next iteration.
func (r *Record) Elems() iter.Seq[*Elem] {
	return func(yield func(*Elem) bool) {
		for i := range r.elems {
			r.elem.Elem, r.elem.Record = r.elems[i], r
			if !yield(&r.elem) {
				return
			}
		}
	}
}

// Prefixes returns the set of the prefixes of the record's elems.
func (r *Record) Prefixes() *PrefixSet {
	ps := NewPrefixSet()
	for i := range r.elems {
		if p := r.elems[i].Prefix; p.IsValid() {
			ps.Add(p)
		}
	}
	return ps
}

// Clone returns a copy of r and its elems that stays valid after the
// iteration moves on.
func (r *Record) Clone() *Record {
	c := &Record{Record: r.Record}
	var b decode.Batch
	b.AddElems(0, r.elems)
	c.elems = b.Elems
	return c
}

// String returns the record as bgpreader -r prints it.
func (r *Record) String() string {
	return string(text.AppendBGPReaderRecord(nil, &r.Record))
}

// Elem is one elem of the stream — a RIB entry, an announcement, a
// withdrawal or a peer state change — with its record. The embedded
// decode.Elem holds its fields: Type, Time, PeerIP, PeerASN, Prefix,
// NextHop, Attrs (AS path, communities, origin, MED, local-pref, ...),
// OldState and NewState, the ADD-PATH id and the BMP context. An Elem
// yielded by an iterator is valid until the next iteration; Clone keeps
// one.
type Elem struct {
	decode.Elem
	// Record is the elem's record.
	Record *Record
}

// ASPath returns the AS path as bgpreader prints it ("" when there is
// none).
func (e *Elem) ASPath() string {
	if e.Attrs == nil {
		return ""
	}
	return e.Attrs.ASPath.String()
}

// OriginASN returns the origin AS of the path (the last ASN, when the last
// segment is an AS_SEQUENCE).
func (e *Elem) OriginASN() (uint32, bool) {
	if e.Attrs == nil {
		return 0, false
	}
	return e.Attrs.ASPath.OriginASN()
}

// Communities returns the standard communities as the set of "asn:value"
// strings PyBGPStream returns, sorted, without duplicates.
func (e *Elem) Communities() []string {
	if e.Attrs == nil || len(e.Attrs.Communities) == 0 {
		return nil
	}
	out := make([]string, 0, len(e.Attrs.Communities))
	for _, c := range e.Attrs.Communities {
		out = append(out, strconv.Itoa(int(c.ASN()))+":"+strconv.Itoa(int(c.Value())))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// String returns the elem as bgpreader prints it (its 16 columns).
func (e *Elem) String() string {
	var rec decode.Record
	if e.Record != nil {
		rec = e.Record.Record
	}
	f := text.NewFormatter(text.Options{})
	b, _ := f.AppendRecord(nil, &rec, []decode.Elem{e.Elem})
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return string(b)
}

// Clone returns a copy of e, its attributes and its record that stays valid
// after the iteration moves on.
func (e *Elem) Clone() *Elem {
	c := &Elem{Elem: e.Elem}
	if e.Attrs != nil {
		var b decode.Batch
		c.Attrs = b.CopyAttrs(e.Attrs)
	}
	if e.Record != nil {
		c.Record = &Record{Record: e.Record.Record}
		c.Record.elems = []decode.Elem{c.Elem}
	}
	return c
}

// Records returns the stream's records in time order (bgpreader -r; a
// TABLE_DUMP_V2 PEER_INDEX_TABLE, internal to its dump, is not one). An
// input that fails is reported as an error value (a *ResourceError) and
// the stream goes on; any other error ends it. Each Record is valid until
// the next iteration.
func (s *Stream) Records(ctx context.Context) iter.Seq2[*Record, error] {
	return func(yield func(*Record, error) bool) {
		var rec Record
		for b, err := range s.Batches(ctx) {
			if err != nil {
				if !yield(nil, err) {
					return
				}
				continue
			}
			j := 0
			for ri := range b.Records {
				from, to := b.RecordElems(int32(ri), j)
				j = to
				if r := &b.Records[ri]; r.Format == decode.FormatTableDumpV2 && r.MRTSubtype == mrt.PeerIndexTable {
					continue // internal to its dump: bgpreader never yields it
				}
				rec.Record, rec.elems = b.Records[ri], b.Elems[from:to]
				if !yield(&rec, nil) {
					return
				}
			}
		}
	}
}

// Elems returns the stream's elems in time order (bgpreader's default
// output), filtered. An input that fails is reported as an error value (a
// *ResourceError) and the stream goes on; any other error ends it. Each
// Elem (and its Record) is valid until the next iteration.
func (s *Stream) Elems(ctx context.Context) iter.Seq2[*Elem, error] {
	return func(yield func(*Elem, error) bool) {
		for rec, err := range s.Records(ctx) {
			if err != nil {
				if !yield(nil, err) {
					return
				}
				continue
			}
			for e := range rec.Elems() {
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}

// PrefixSet is a set of prefixes (masked to their length), iterated in
// address order.
type PrefixSet struct{ m map[netip.Prefix]struct{} }

// NewPrefixSet returns a set holding ps.
func NewPrefixSet(ps ...netip.Prefix) *PrefixSet {
	s := &PrefixSet{m: map[netip.Prefix]struct{}{}}
	for _, p := range ps {
		s.Add(p)
	}
	return s
}

// Add adds p (masked).
func (s *PrefixSet) Add(p netip.Prefix) { s.m[p.Masked()] = struct{}{} }

// Contains reports whether p (masked) is in the set.
func (s *PrefixSet) Contains(p netip.Prefix) bool {
	_, ok := s.m[p.Masked()]
	return ok
}

// Len returns the number of prefixes.
func (s *PrefixSet) Len() int { return len(s.m) }

// All returns the prefixes in address order (IPv4 first), then by length.
func (s *PrefixSet) All() iter.Seq[netip.Prefix] {
	ps := make([]netip.Prefix, 0, len(s.m))
	for p := range s.m {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return slices.Values(ps)
}
