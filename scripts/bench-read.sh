#!/usr/bin/env bash
# bench-read.sh: speed and peak memory of `bgp-connector read` beside
# `bgpdump -m` on the same real files, as the issue measures them.
#
# Files (built in $BENCH_DIR, default /tmp/bgp-connector-bench):
#   rib10x.mrt      pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2
#                   decompressed, its PEER_INDEX_TABLE kept once and its
#                   9,072 RIB records repeated 10 times: 2,700,050 entries
#   rib10x.mrt.bz2  the same, bzip2-compressed
#   updates-et.mrt  ripe-bgpdump/updates.et-header.2015.gz decompressed:
#                   BGP4MP_ET, 577,744 elems
#
# Usage: scripts/bench-read.sh [CORPUS_DIR]   (default ../shared/testdata/real)
# Needs: go, python3, bzip2, /usr/bin/time (apt package "time"); bgpdump is
# measured when installed.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-../shared/testdata/real}
DIR=${BENCH_DIR:-/tmp/bgp-connector-bench}
mkdir -p "$DIR"

[ -x /usr/bin/time ] || { echo "need /usr/bin/time (apt-get install -y time)" >&2; exit 1; }

if [ ! -s "$DIR/rib10x.mrt" ]; then
	bzip2 -dc "$CORPUS/pyasn/rib.20140523.0600_firstMB.recordcut.mrt.bz2" >"$DIR/rib1x.mrt"
	python3 - "$DIR/rib1x.mrt" "$DIR/rib10x.mrt" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
recs, off = [], 0
while off + 12 <= len(data):
    ts, typ, sub, length = struct.unpack_from('>IHHI', data, off)
    recs.append((typ, sub, data[off:off + 12 + length]))
    off += 12 + length
assert off == len(data), "trailing bytes"
pit = [r for t, s, r in recs if t == 13 and s == 1]
rib = [r for t, s, r in recs if not (t == 13 and s == 1)]
assert len(pit) == 1 and len(rib) == 9072, (len(pit), len(rib))
with open(sys.argv[2], 'wb') as f:
    f.write(pit[0])
    body = b''.join(rib)
    for _ in range(10):
        f.write(body)
PY
	rm -f "$DIR/rib1x.mrt"
fi
[ -s "$DIR/rib10x.mrt.bz2" ] || bzip2 -9 -k -c "$DIR/rib10x.mrt" >"$DIR/rib10x.mrt.bz2"
[ -s "$DIR/updates-et.mrt" ] || gzip -dc "$CORPUS/ripe-bgpdump/updates.et-header.2015.gz" >"$DIR/updates-et.mrt"

go build -o "$DIR/bgp-connector" ./cmd/bgp-connector

# run NAME ELEMS CMD...: time CMD with stdout to /dev/null, print a row.
run() {
	local name=$1 elems=$2
	shift 2
	local log="$DIR/time.log"
	/usr/bin/time -v "$@" >/dev/null 2>"$log" || true
	local wall rss user sys
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
	user=$(awk -F': ' '/User time/ {print $2}' "$log")
	sys=$(awk -F': ' '/System time/ {print $2}' "$log")
	python3 - "$name" "$elems" "$wall" "$rss" "$user" "$sys" <<'PY'
import sys
name, elems, wall, rss = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
cpu = float(sys.argv[5]) + float(sys.argv[6])
secs = 0.0
for part in wall.split(':'):
    secs = secs * 60 + float(part)
print(f"{name:<44} {secs:8.2f} s {elems / secs / 1e6:8.3f} M elems/s {rss / 1024:8.1f} MiB {cpu:7.2f} s")
PY
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores; wall-clock speed needs a quiet machine, CPU time less so)"
printf '%-44s %10s %17s %12s %9s\n' "run" "wall" "speed" "peak RSS" "CPU"
for f in rib10x.mrt rib10x.mrt.bz2 updates-et.mrt; do
	case $f in
	rib10x*) elems=2700050 ;;
	*) elems=577744 ;;
	esac
	run "read --format bgpreader $f" $elems "$DIR/bgp-connector" read --format bgpreader "$DIR/$f"
	run "read --format bgpdump   $f" $elems "$DIR/bgp-connector" read --format bgpdump "$DIR/$f"
	if command -v bgpdump >/dev/null; then
		run "bgpdump -m              $f" $elems bgpdump -m "$DIR/$f"
	fi
done
