package decode

import "net/netip"

// Batch is the unit that flows through the data path (source → filter →
// sink): a run of records from one input, the elems and BMP statistics
// decoded from them, the damaged regions skipped on the way, and where it
// all came from. It owns every byte the elems point to (their Attrs and the
// raw values of unknown attributes), so a batch can be handed to another
// goroutine (to be filtered, formatted or encoded) while the decoder fills
// the next one, and recycled with Reset. A Batch is not safe for concurrent
// use.
type Batch struct {
	// Records are the records in input order.
	Records []Record
	// Elems are the elems of all records, in order.
	Elems []Elem
	// ElemRecord gives, for each elem, the index of its record in Records.
	ElemRecord []int32
	// Stats are the BMP statistics of the records (Statistics Reports), in
	// order, and StatRecord the index of each one's record.
	Stats      []Stat
	StatRecord []int32
	// Gaps are the regions of damaged input skipped while the batch was
	// read, in input order. They are data, not records: each is counted
	// and reported, and Gap.Before places it among the records.
	Gaps []Gap

	// Source names the input the batch was read from: a file name, a URL,
	// or a Kafka topic. With Partition (the Kafka partition, -1 for other
	// inputs) and each record's Offset it gives every record's position.
	Source    string
	Partition int32

	// Done, when set by the source, is called once by the last stage: with
	// nil when every output derived from the batch has been delivered (a
	// Kafka sink: acknowledged), or with the first delivery error. It is
	// what commits input positions. A stage that drops a batch calls it
	// too. Reset clears it.
	Done func(error)

	attrs  []*Attrs
	nattrs int
	raw    []byte // backing store for Unknown attribute values
}

// Gap is a region of damaged input that a reader skipped to resynchronise.
type Gap struct {
	// Start and End are the byte offsets of the skipped region in the
	// (uncompressed) input: End is where reading resumed.
	Start, End int64
	// Before is the index in Batch.Records of the first record read after
	// the gap (len(Records) when the gap ends the batch).
	Before int32
	// Err says what was wrong at Start.
	Err error
}

// Len returns the number of bytes skipped.
func (g *Gap) Len() int64 { return g.End - g.Start }

// Reset empties the batch, keeping its storage for reuse.
func (b *Batch) Reset() {
	b.Records = b.Records[:0]
	b.Elems = b.Elems[:0]
	b.ElemRecord = b.ElemRecord[:0]
	b.Stats = b.Stats[:0]
	b.StatRecord = b.StatRecord[:0]
	b.Gaps = b.Gaps[:0]
	b.Source, b.Partition, b.Done = "", -1, nil
	b.nattrs = 0
	b.raw = b.raw[:0]
}

// Finish calls Done (if set) with err and clears it, so that it runs once.
func (b *Batch) Finish(err error) {
	if d := b.Done; d != nil {
		b.Done = nil
		d(err)
	}
}

// NewAttrs returns an empty Attrs owned by the batch, reusing storage from
// earlier use of the batch.
func (b *Batch) NewAttrs() *Attrs {
	if b.nattrs == len(b.attrs) {
		b.attrs = append(b.attrs, new(Attrs))
	}
	a := b.attrs[b.nattrs]
	b.nattrs++
	a.Reset()
	return a
}

// Own copies the raw values of a's unknown attributes into the batch, so
// that a no longer aliases the decoder's input.
func (b *Batch) Own(a *Attrs) {
	for i := range a.Unknown {
		v := a.Unknown[i].Value
		start := len(b.raw)
		b.raw = append(b.raw, v...)
		a.Unknown[i].Value = b.raw[start:len(b.raw):len(b.raw)]
	}
}

// CopyAttrs returns a deep copy of a owned by the batch (unknown attribute
// values included): what a decoder whose Attrs are only valid until its next
// call uses to hand its elems to the batch.
func (b *Batch) CopyAttrs(a *Attrs) *Attrs {
	own := b.NewAttrs()
	own.CopyFrom(a)
	b.Own(own)
	return own
}

// AddRecord appends a record and returns its index.
func (b *Batch) AddRecord(r *Record) int32 {
	b.Records = append(b.Records, *r)
	return int32(len(b.Records) - 1)
}

// AddElem appends an elem belonging to record index rec.
func (b *Batch) AddElem(rec int32, e *Elem) {
	b.Elems = append(b.Elems, *e)
	b.ElemRecord = append(b.ElemRecord, rec)
}

// AddElems appends elems of record index rec whose Attrs belong to someone
// else (a decoder's scratch space): each distinct Attrs is copied into the
// batch once, so elems that shared attributes still share them.
func (b *Batch) AddElems(rec int32, elems []Elem) {
	var src, own *Attrs
	for i := range elems {
		e := b.NewElem(rec)
		*e = elems[i]
		if e.Attrs != nil {
			if e.Attrs != src {
				src, own = e.Attrs, b.CopyAttrs(e.Attrs)
			}
			e.Attrs = own
		}
	}
}

// AddStat appends a BMP statistic belonging to record index rec.
func (b *Batch) AddStat(rec int32, s *Stat) {
	b.Stats = append(b.Stats, *s)
	b.StatRecord = append(b.StatRecord, rec)
}

// AddGap appends a gap that precedes the next record to be added.
func (b *Batch) AddGap(start, end int64, err error) {
	b.Gaps = append(b.Gaps, Gap{Start: start, End: end, Before: int32(len(b.Records)), Err: err})
}

// NewElem appends a zero elem belonging to record index rec and returns it
// to be filled in place (cheaper than building an Elem and copying it with
// AddElem). The pointer is valid until the next NewElem, AddElem or Reset.
func (b *Batch) NewElem(rec int32) *Elem {
	if len(b.Elems) < cap(b.Elems) {
		b.Elems = b.Elems[:len(b.Elems)+1]
		b.Elems[len(b.Elems)-1] = Elem{}
	} else {
		b.Elems = append(b.Elems, Elem{})
	}
	b.ElemRecord = append(b.ElemRecord, rec)
	return &b.Elems[len(b.Elems)-1]
}

// Len returns the number of elems.
func (b *Batch) Len() int { return len(b.Elems) }

// RecordElems returns the index range [from, to) in Elems of the elems of
// record ri, scanning forward from hint (the end of the previous record's
// range, or 0). Elems are in record order, so a pass over all records with
// the previous result as hint is linear.
func (b *Batch) RecordElems(ri int32, hint int) (from, to int) {
	from = hint
	for from < len(b.ElemRecord) && b.ElemRecord[from] < ri {
		from++
	}
	to = from
	for to < len(b.ElemRecord) && b.ElemRecord[to] == ri {
		to++
	}
	return from, to
}

// CopyRecord appends record ri of src to b with its elems and statistics,
// copying what they point to into b, and returns the new record's index.
// Gaps of src are not copied (see CopyGaps).
func (b *Batch) CopyRecord(src *Batch, ri int32, elemHint, statHint int) (ri2 int32, elemEnd, statEnd int) {
	ri2 = b.AddRecord(&src.Records[ri])
	from, to := src.RecordElems(ri, elemHint)
	b.AddElems(ri2, src.Elems[from:to])
	s := statHint
	for s < len(src.StatRecord) && src.StatRecord[s] < ri {
		s++
	}
	for ; s < len(src.StatRecord) && src.StatRecord[s] == ri; s++ {
		b.AddStat(ri2, &src.Stats[s])
	}
	return ri2, to, s
}

// Truncate drops the records from index n on, with their elems, statistics
// and the gaps placed after them (a source that rejects an input whole, to
// dead-letter it, takes back what it appended).
func (b *Batch) Truncate(n int) {
	if n >= len(b.Records) {
		return
	}
	b.Records = b.Records[:n]
	e := len(b.ElemRecord)
	for e > 0 && int(b.ElemRecord[e-1]) >= n {
		e--
	}
	b.Elems, b.ElemRecord = b.Elems[:e], b.ElemRecord[:e]
	s := len(b.StatRecord)
	for s > 0 && int(b.StatRecord[s-1]) >= n {
		s--
	}
	b.Stats, b.StatRecord = b.Stats[:s], b.StatRecord[:s]
	g := len(b.Gaps)
	for g > 0 && int(b.Gaps[g-1].Before) > n {
		g--
	}
	b.Gaps = b.Gaps[:g]
}

// ClipAfter ends the batch at its first record later than end (µs since the
// epoch), as bgpreader ends an input past the last interval: that record
// stays, with status outside-interval and no elems, and the records after it
// are dropped (Truncate). It reports whether it clipped; the caller reads no
// further. end 0 means no end.
func (b *Batch) ClipAfter(end int64) bool {
	if end == 0 {
		return false
	}
	for i := range b.Records {
		if b.Records[i].Time > end {
			b.Truncate(i + 1)
			b.Records[i].Status = StatusOutsideInterval
			e := len(b.ElemRecord)
			for e > 0 && int(b.ElemRecord[e-1]) == i {
				e--
			}
			b.Elems, b.ElemRecord = b.Elems[:e], b.ElemRecord[:e]
			return true
		}
	}
	return false
}

// AppendUpdate appends the elems of a decoded UPDATE u to record ri of b,
// as every source of updates does (MRT BGP4MP, RIS Live): the W elems, then
// the A elems, which share one copy of u's attributes owned by b. peer and
// asn are the peer's; t the elems' time (µs). withdrawals and announcements
// say which elem types are wanted (a filter's push-down).
func (b *Batch) AppendUpdate(ri int32, u *Update, peer netip.Addr, asn uint32, t int64, withdrawals, announcements bool) {
	if withdrawals {
		for i := range u.Withdrawn {
			n := &u.Withdrawn[i]
			e := b.NewElem(ri)
			e.Type, e.Time, e.PeerIP, e.PeerASN = ElemWithdrawal, t, peer, asn
			e.Prefix, e.PathID, e.HasPathID = n.Prefix, n.PathID, n.HasPathID
		}
	}
	if announcements && len(u.Announced) > 0 {
		a := b.CopyAttrs(&u.Attrs)
		for i := range u.Announced {
			n := &u.Announced[i]
			e := b.NewElem(ri)
			e.Type, e.Time, e.PeerIP, e.PeerASN = ElemAnnouncement, t, peer, asn
			e.Prefix, e.PathID, e.HasPathID = n.Prefix, n.PathID, n.HasPathID
			e.NextHop, e.Attrs = n.NextHop, a
		}
	}
}
