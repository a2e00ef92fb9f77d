// Package demodata embeds the OpenBMP recordings of real routers' BMP
// streams (gobgpd and FRR, see README.md and record.sh here) and two small
// real MRT updates dumps (RIS rrc06 and RouteViews route-views.jinx, from
// libbgpstream's BSD-2-Clause test set, see README.md) in the binary, so
// that "bgp-connector demo" (with its archive backfill) and "bench" run from
// an installed binary, anywhere. Tests use the same files.
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

// The archive dumps of the demo's backfill: real updates files of
// 2015-04-01 00:00 (README.md says where they come from).
const (
	// RISFile is RIS rrc06's updates dump (gzip, 5 min, 1561 elems).
	RISFile = "ris.rrc06.updates.1427846400.gz"
	// RouteViewsFile is RouteViews route-views.jinx's updates dump (bzip2,
	// 15 min, 8611 elems).
	RouteViewsFile = "routeviews.route-views.jinx.updates.1427846400.bz2"
)

// RIS is the content of RISFile.
//
//go:embed ris.rrc06.updates.1427846400.gz
var RIS []byte

// RouteViews is the content of RouteViewsFile.
//
//go:embed routeviews.route-views.jinx.updates.1427846400.bz2
var RouteViews []byte
