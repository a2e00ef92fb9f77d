package emit

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/bgp-connector/bgp-connector/schema"
)

// Framing prefixes each Avro datum so a reader can find its schema: Avro
// single-object encoding, or the Confluent wire format with a registry id.
type Framing struct {
	headers [schema.NumTypes][]byte
	ids     [schema.NumTypes]int
	kind    string
}

// SingleObject returns the Avro single-object framing (Avro specification
// "Single-object encoding"): C3 01, then the 8-byte little-endian
// CRC-64-AVRO fingerprint of the schema's parsing canonical form.
func SingleObject() (*Framing, error) {
	f := &Framing{kind: "avro-single-object"}
	for _, t := range schema.Types() {
		c, err := t.Codec()
		if err != nil {
			return nil, err
		}
		h := []byte{0xC3, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.LittleEndian.PutUint64(h[2:], c.Rabin)
		f.headers[t] = h
	}
	return f, nil
}

// Confluent registers each output type's schema under the subject
// "<topic>-value" (TopicNameStrategy) and returns the Confluent wire framing:
// byte 0, then the schema id as a big-endian int32. topic maps a type to its
// output topic.
func Confluent(ctx context.Context, cl *sr.Client, topic func(schema.Type) string) (*Framing, error) {
	f := &Framing{kind: "avro-confluent"}
	for _, t := range schema.Types() {
		subject := topic(t) + "-value"
		id, err := cl.RegisterSchema(ctx, subject, sr.Schema{Schema: t.Text(), Type: sr.TypeAvro}, -1, -1)
		if err != nil {
			return nil, fmt.Errorf("registering schema %s.avsc under subject %q: %w", t.Suffix(), subject, err)
		}
		h := []byte{0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(h[1:], uint32(id))
		f.headers[t] = h
		f.ids[t] = id
	}
	return f, nil
}

// AppendHeader appends the framing header of type t.
func (f *Framing) AppendHeader(dst []byte, t schema.Type) []byte {
	return append(dst, f.headers[t]...)
}

// SchemaID returns the registry id of type t's schema (0 for single-object).
func (f *Framing) SchemaID(t schema.Type) int { return f.ids[t] }

// String returns "avro-single-object" or "avro-confluent".
func (f *Framing) String() string { return f.kind }
