#!/bin/sh
# Regenerates gobgp-bmp.obmp: runs the real-router integration test (two
# gobgpd daemons on 127.0.0.21/22, BMP from r1 to a listener in the test) and
# writes every BMP message r1 sent, wrapped in OpenBMP v1.7 binary headers.
# Needs the Debian gobgpd package (gobgpd and gobgp on PATH).
set -eu
cd "$(dirname "$0")/../.."
go test ./integration/ -run '^TestGoBGPBMP$' -count=1 -v -gobgp.record
