// Package schema holds the Avro schemas of the connector's output topics, one
// .avsc file per output type, and of the archive backfill's work items
// (backfill.avsc, see BackfillCodec), embedded in the binary.
//
// The .avsc files are the contract with consumers: package emit encodes to
// them and tests decode emit's output with goavro from these files, an
// independent path. This package does not encode elems (see emit) and does not
// talk to a schema registry.
package schema

import (
	"embed"
	"fmt"
	"sync"

	"github.com/linkedin/goavro/v2"
)

//go:embed *.avsc
var files embed.FS

// Type is an output type: one Avro schema and one output topic
// (<prefix>.<Type.Suffix()>).
type Type uint8

// The output types, in the order their topics are listed.
const (
	RIBs Type = iota
	Announcements
	Withdrawals
	PeerStates
	Stats
	NumTypes = 5
)

var suffixes = [NumTypes]string{"ribs", "announcements", "withdrawals", "peerstates", "stats"}

// Types lists every output type in order.
func Types() []Type { return []Type{RIBs, Announcements, Withdrawals, PeerStates, Stats} }

// Suffix returns the topic suffix and file stem: "ribs", "announcements",
// "withdrawals", "peerstates" or "stats".
func (t Type) Suffix() string {
	if int(t) >= NumTypes {
		return fmt.Sprintf("type%d", t)
	}
	return suffixes[t]
}

// String returns Suffix.
func (t Type) String() string { return t.Suffix() }

// Text returns the schema's JSON text as stored in <suffix>.avsc.
func (t Type) Text() string {
	b, err := files.ReadFile(t.Suffix() + ".avsc")
	if err != nil {
		// Unreachable for the five types: the files are embedded at build time.
		return ""
	}
	return string(b)
}

var (
	codecOnce sync.Once
	codecs    [NumTypes]*goavro.Codec
	codecErr  error
)

// Codec returns the goavro codec of the type's schema, parsed once. Package
// emit uses it for the schema fingerprint and the canonical form; tests use it
// to decode emit's output independently of emit's encoder.
func (t Type) Codec() (*goavro.Codec, error) {
	codecOnce.Do(func() {
		for _, ty := range Types() {
			c, err := goavro.NewCodec(ty.Text())
			if err != nil {
				codecErr = fmt.Errorf("schema %s.avsc: %w", ty.Suffix(), err)
				return
			}
			codecs[ty] = c
		}
	})
	if codecErr != nil {
		return nil, codecErr
	}
	if int(t) >= NumTypes {
		return nil, fmt.Errorf("schema: no output type %d", t)
	}
	return codecs[t], nil
}
