#!/usr/bin/env bash
# Records MRT fixtures with three real GoBGP daemons (Debian package gobgpd)
# peering over loopback: daemon A (AS 4200000001) injects routes, daemon B
# (AS 65002) receives them and writes an MRT updates dump (BGP4MP), daemon C
# (AS 65003) receives them too and writes a
# table dump (TABLE_DUMP_V2). Run from anywhere; writes updates.mrt and
# rib.mrt beside this script. The routes injected are listed in routes.txt,
# which the Go tests read as the expected result.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

A=127.0.0.21 B=127.0.0.22 C=127.0.0.23
# global AS ROUTER_ID PORT ADDR: the [global] section of a daemon.
global() {
	printf '[global.config]\n  as = %s\n  router-id = "%s"\n  port = %s\n  local-address-list = ["%s"]\n' "$@"
}
# neighbor ADDR AS LOCAL_ADDR REMOTE_PORT [passive]: an IPv4+IPv6 unicast peer.
neighbor() {
	cat <<TOML
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$1"
    peer-as = $2
  [neighbors.transport.config]
    local-address = "$3"
    remote-port = $4
    passive-mode = ${5:-false}
  [neighbors.timers.config]
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
TOML
}
# mrtdump TYPE FILE: an MRT dump of updates or of the table (GoBGP buffers
# updates until the dump interval, and dumps a table at most once a minute).
mrtdump() {
	printf '[[mrt-dump]]\n  [mrt-dump.config]\n    dump-type = "%s"\n    file-name = "%s"\n' "$1" "$2"
	if [ "$1" = table ]; then printf '    dump-interval = 60\n'; else printf '    rotation-interval = 3600\n    dump-interval = 1\n'; fi
	return 0
}
{ global 4200000001 192.0.2.21 17921 "$A"; neighbor "$B" 65002 "$A" 17922; neighbor "$C" 65003 "$A" 17923; } >"$work/a.toml"
{ global 65002 192.0.2.22 17922 "$B"; neighbor "$A" 4200000001 "$B" 17921 true; mrtdump updates "$work/updates.mrt"; } >"$work/b.toml"
{ global 65003 192.0.2.23 17923 "$C"; neighbor "$A" 4200000001 "$C" 17921 true; mrtdump table "$work/rib.mrt"; } >"$work/c.toml"
gobgpd -f "$work/a.toml" --api-hosts "$A:50071" -l warn --pprof-disable >"$work/a.log" 2>&1 &
gobgpd -f "$work/b.toml" --api-hosts "$B:50072" -l warn --pprof-disable >"$work/b.log" 2>&1 &
gobgpd -f "$work/c.toml" --api-hosts "$C:50073" -l warn --pprof-disable >"$work/c.log" 2>&1 &
ga() { gobgp -u "$A" -p 50071 "$@"; }
gb() { gobgp -u "$B" -p 50072 "$@"; }
gc() { gobgp -u "$C" -p 50073 "$@"; }
for _ in $(seq 1 240); do
  if gb neighbor "$A" 2>/dev/null | grep -qi "BGP state = established" &&
     gc neighbor "$A" 2>/dev/null | grep -qi "BGP state = established"; then break; fi
  sleep 0.5
done
gb neighbor "$A" | grep -qi "BGP state = established" || { gb neighbor "$A"; cat "$work"/*.log; echo "session did not come up" >&2; exit 1; }

# Inject the routes listed in routes.txt: "A|prefix|nexthop|communities|large communities|med".
while IFS='|' read -r kind prefix nh comm large med; do
  [ "$kind" = A ] || continue
  fam=ipv4; case "$prefix" in *:*) fam=ipv6;; esac
  args=(global rib add -a "$fam" "$prefix" nexthop "$nh" origin igp)
  [ -n "$comm" ] && args+=(community "$comm")
  [ -n "$large" ] && args+=(large-community "$large")
  [ -n "$med" ] && args+=(med "$med")
  ga "${args[@]}"
done <"$here/routes.txt"
sleep 2
# Withdraw the routes marked W.
while IFS='|' read -r kind prefix _; do
  [ "$kind" = W ] || continue
  fam=ipv4; case "$prefix" in *:*) fam=ipv6;; esac
  ga global rib del -a "$fam" "$prefix"
done <"$here/routes.txt"
sleep 64 # GoBGP dumps the table at most once a minute
cp "$work/updates.mrt" "$here/updates.mrt"
cp "$work/rib.mrt" "$here/rib.mrt"
echo "wrote $here/updates.mrt ($(stat -c %s "$here/updates.mrt") bytes) and $here/rib.mrt ($(stat -c %s "$here/rib.mrt") bytes)"
