package decode

// Batch is a set of records and the elems decoded from them, owning every
// byte the elems point to: their Attrs and the raw values of unknown
// attributes. A batch can therefore be handed to another goroutine (to be
// filtered, formatted or encoded) while the decoder fills the next one, and
// recycled with Reset. A Batch is not safe for concurrent use.
type Batch struct {
	// Records are the records in input order.
	Records []Record
	// Elems are the elems of all records, in order.
	Elems []Elem
	// ElemRecord gives, for each elem, the index of its record in Records.
	ElemRecord []int32

	attrs  []*Attrs
	nattrs int
	raw    []byte // backing store for Unknown attribute values
}

// Reset empties the batch, keeping its storage for reuse.
func (b *Batch) Reset() {
	b.Records = b.Records[:0]
	b.Elems = b.Elems[:0]
	b.ElemRecord = b.ElemRecord[:0]
	b.nattrs = 0
	b.raw = b.raw[:0]
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
