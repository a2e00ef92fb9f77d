// Package demodata embeds the OpenBMP recordings of real routers' BMP
// streams (gobgpd and FRR, see README.md and record.sh here) and two small
// MRT updates dumps derived from them (make-dumps.sh) in the binary, so that
// "bgp-connector demo" (with its archive backfill) and "bench" run from an
// installed binary, anywhere. Tests use the same files; the real archive
// data of the tests stays in ../shared.
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

// The archive dumps of the demo's backfill, derived from the recordings by
// make-dumps.sh (derive-mrt): the updates dumps a collector peering with the
// monitored routers' peers would have written, from 2015-04-01 00:00 UTC.
// The demo puts them under RIS rrc06's and RouteViews route-views.jinx's
// archive paths, so that both layouts and both codecs are read.
const (
	// RISFile is the gobgpd recording's dump (gzip; 13 elems: 8 A, 2 W,
	// 3 S).
	RISFile = "gobgp.updates.20150401.0000.gz"
	// RouteViewsFile is the FRR recording's dump (bzip2; 9 elems: 5 A,
	// 2 W, 2 S).
	RouteViewsFile = "frr.updates.20150401.0000.bz2"
)

// RIS is the content of RISFile.
//
//go:embed gobgp.updates.20150401.0000.gz
var RIS []byte

// RouteViews is the content of RouteViewsFile.
//
//go:embed frr.updates.20150401.0000.bz2
var RouteViews []byte
