// Package demodata embeds the OpenBMP recordings of real routers' BMP
// streams (gobgpd and FRR, see README.md and record.sh here) in the binary,
// so that "bgp-connector demo" and "bench" run from an installed binary,
// anywhere. Tests use the same files.
//
// It holds data only: no decoding (package openbmp reads the files).
package demodata

import _ "embed"

// The recordings: OpenBMP v1.7 binary messages, one BMP message each,
// back to back, as consecutive openbmp.bmp_raw Kafka values hold them.
const (
	// GoBGPFile is gobgpd 3.10.0's BMP stream (Adj-RIB-In pre and post
	// policy, Loc-RIB, a session reset).
	GoBGPFile = "gobgp-bmp.obmp"
	// FRRFile is FRR bgpd 8.4.4's BMP stream (with Route Mirroring and
	// statistics reports).
	FRRFile = "frr-bmp.obmp"
)

// GoBGP is the content of GoBGPFile, the demo's and bench's default input.
//
//go:embed gobgp-bmp.obmp
var GoBGP []byte

// FRR is the content of FRRFile.
//
//go:embed frr-bmp.obmp
var FRR []byte
