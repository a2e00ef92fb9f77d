#!/usr/bin/env bash
# Makes the demo's two archive dumps from this folder's OpenBMP recordings of
# real routers (see README.md): derive-mrt turns each recording into the MRT
# updates dump a collector peering with the monitored router's peers would
# have written, starting 2015-04-01 00:00 UTC; the gobgpd one is gzipped (it
# goes under RIS rrc06's archive path in the demo), the FRR one bzip2ed
# (under RouteViews route-views.jinx's). Needs go, gzip and bzip2. Run from
# anywhere; writes gobgp.updates.20150401.0000.gz and
# frr.updates.20150401.0000.bz2 beside this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
go run ./internal/demodata/derive-mrt -start 1427846400 "$here/gobgp-bmp.obmp" | gzip -n -9 >"$here/gobgp.updates.20150401.0000.gz"
go run ./internal/demodata/derive-mrt -start 1427846400 "$here/frr-bmp.obmp" | bzip2 -9 >"$here/frr.updates.20150401.0000.bz2"
