#!/bin/sh
# Regenerates gobgp-bmp.obmp and frr-bmp.obmp: runs the real-router integration tests (two
# gobgpd daemons on 127.0.0.21/22, BMP from r1 to a listener in the test) and
# writes every BMP message r1 sent, wrapped in OpenBMP v1.7 binary headers.
# Needs the Debian gobgpd package (gobgpd and gobgp on PATH) and, for
# frr-bmp.obmp, the frr package (/usr/lib/frr/bgpd).
set -eu
cd "$(dirname "$0")/../.."  # the repository root
go test ./integration/ -run '^(TestGoBGPBMP|TestFRRBMP)$' -count=1 -v -gobgp.record
