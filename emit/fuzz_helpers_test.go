package emit

import (
	"bytes"
	"io"

	"github.com/linkedin/goavro/v2"

	"github.com/bgp-connector/bgp-connector/schema"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func statsCodec() (*goavro.Codec, error) { return schema.Stats.Codec() }
