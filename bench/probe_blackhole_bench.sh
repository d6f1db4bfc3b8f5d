#!/bin/bash
# SPDX-License-Identifier: MIT
# probe_blackhole_bench.sh: the vantage-probe daemon in a partial outage, in
# a lab of network namespaces (tests/lib/netlab.sh): HOSTS hostnames, each
# with 5 healthy addresses and 5 whose packets vanish (SYNs dropped on the
# way, so connects time out), interval 10 s, timeout 5 s, for DURATION_S.
# Figures: false failures (a healthy address reported failing), rounds of
# healthy addresses present against the rounds due, what the blackholed
# ones reported, runs skipped by the probe, peak RSS, lateness. See
# bench/README.md, "Probe at load".
#
#   bench/probe_blackhole_bench.sh [BUILD_DIR]     (root; default _build)
#
# Environment: BENCH_HOSTS (1000), BENCH_DAEMON_S (45), BENCH_KIND (http or
# tcp; http), BENCH_PER_ADDRESS (2000: every host shares the same 10
# addresses here, so the per-address limit must let 1000 runs wait 5 s on a
# blackholed one; with the default of 8 most of those are skipped, as no
# data), VT_KEEP=1 keeps the work directory.
set -u

BENCH_NAME=probe_blackhole_bench
# shellcheck source=bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PROBE=$BUILD/vantage-probe
HOSTS=${BENCH_HOSTS:-1000}
DAEMON_S=${BENCH_DAEMON_S:-45}
KIND=${BENCH_KIND:-http}
PER_ADDRESS=${BENCH_PER_ADDRESS:-2000}

[ -x "$PROBE" ] || die "no vantage-probe in $BUILD"
bench_need_tools "nginx-light dnsmasq-base python3 openssl iproute2 jq" \
	nginx dnsmasq python3 openssl ip jq
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
export top_srcdir=$ROOT VANTAGE_PROBE=$PROBE
bench_servers
# shellcheck disable=SC1091
. "$ROOT/tests/lib/netlab.sh"
vt_lab_require >/dev/null || die "needs root and network namespaces"
WORK=$VT_TMP/bench
mkdir -p "$WORK"

vt_lab_start srv p1 >&2
HEALTHY=() HOLES=()
for i in 1 2 3 4 5; do
	HEALTHY+=("$VT_LAB_NET.$((10 + i))")
	HOLES+=("$VT_LAB_NET.$((20 + i))")
done
vt_lab_addr srv "${HEALTHY[@]}" "${HOLES[@]}"
bench_nginx_for_load
VT_NETNS=$VT_LAB_NS_srv vt_nginx_start "${HEALTHY[@]}" "${HOLES[@]}" >&2
VT_DNS_TTL=300 VT_NETNS=$VT_LAB_NS_srv VT_DNS_LISTEN=$VT_LAB_IP_srv vt_dns_start >&2
for i in $(seq 1 "$HOSTS"); do
	for ip in "${HEALTHY[@]}" "${HOLES[@]}"; do
		echo "$ip b$i.example.test"
	done
done >>"$VT_DNS_HOSTS"
vt_dns_set last.example.test "${HEALTHY[0]}" >&2
for ip in "${HOLES[@]}"; do
	vt_lab_route_loss p1 "$ip" drop
done
[ "$(vt_lab_connect p1 "${HOLES[0]}" "$VT_HTTP_PORT" 1)" = timeout ] ||
	die "blackholed address does not time out"
[ "$(vt_lab_connect p1 "${HEALTHY[0]}" "$VT_HTTP_PORT" 1)" = ok ] ||
	die "healthy address unreachable"

{
	echo "probe = { name = \"hole\"; spool_dir = \"$WORK/spool\"; fsync = \"never\";"
	echo "  max_per_address = $PER_ADDRESS; };"
	echo "defaults = { interval = 10.0; timeout = 5.0;"
	echo "  resolvers = [ \"$VT_LAB_IP_srv:$VT_DNS_PORT\" ]; };"
	echo "targets = ("
	for i in $(seq 1 "$HOSTS"); do
		[ "$i" -gt 1 ] && echo ","
		if [ "$KIND" = tcp ]; then
			printf '{ name = "t%d"; host = "b%d.example.test"; checks = ( { type = "tcp"; port = %d; } ); }' \
				"$i" "$i" "$VT_HTTP_PORT"
		else
			printf '{ name = "t%d"; host = "b%d.example.test"; checks = ( { type = "http"; url = "http://b%d.example.test:%d/health"; } ); }' \
				"$i" "$i" "$i" "$VT_HTTP_PORT"
		fi
	done
	echo
	echo ");"
} >"$WORK/hole.cfg"
"$PROBE" --check -c "$WORK/hole.cfg" >/dev/null || die "generated config is invalid"

say "daemon in p1: $HOSTS hosts x (5 healthy + 5 blackholed), $KIND, interval 10 s, timeout 5 s, $DAEMON_S s"
t0=$(date +%s.%N)
ip netns exec "$VT_LAB_NS_p1" "$VT_PYTHON" "$BENCH_DIR/run_rusage.py" \
	--json "$WORK/hole.json" --pid-file "$WORK/hole.pid" \
	--term-after "$DAEMON_S" --limit $((DAEMON_S + 30)) \
	--mark $((DAEMON_S - 1)) --usr1 --spool "$WORK/spool" \
	--stderr "$WORK/hole.err" -- "$PROBE" -c "$WORK/hole.cfg" &
pid=$!
vt_track "$pid"
wait "$pid" || die "run_rusage.py failed"
cat "$WORK"/spool/seg-*.jsonl >"$WORK/all.jsonl"

healthy_json=$(printf '"%s",' "${HEALTHY[@]}" | sed 's/,$//; s/^/[/; s/$/]/')
# Rounds due for one (target, address): the complete rounds between the
# first round of the run and its end; every healthy one must be there.
jq -r --argjson h "$healthy_json" '
	select(.ip as $i | $h | index($i)) | "\(.target) \(.ip) \(.ts) \(.ok)"' \
	"$WORK/all.jsonl" >"$WORK/healthy.txt"
read -r n_healthy false_fail present due <<<"$(python3 - "$WORK/healthy.txt" "$t0" "$DAEMON_S" <<'PY'
import sys, collections
rows = [l.split() for l in open(sys.argv[1])]
t0, dur = float(sys.argv[2]), float(sys.argv[3])
fail = sum(1 for r in rows if r[3] != 'true')
by = collections.defaultdict(set)
for t, ip, ts, ok in rows:
    by[(t, ip)].add(round(float(ts), 3))
# Rounds due: every round of a (target, address) after its first one that
# is over (started at least timeout 5 s before the end).
present = due = 0
end = t0 + dur - 5
for k, tss in by.items():
    first = min(tss)
    n = int((end - first) // 10) + 1
    due += n
    present += len([x for x in tss if x <= end])
print(len(rows), fail, present, due)
PY
)"
holes=$(jq -r 'select(.ip != null and (.ok | not)) | .error' "$WORK/all.jsonl" | sort | uniq -c | awk '{ printf "%s%s=%s", (NR > 1 ? "," : ""), $2, $1 }')
noaddr=$(jq -s '[.[] | select(.error == "no_address")] | length' "$WORK/all.jsonl")
skipped=$(grep -o '[0-9]* skipped (' "$WORK/hole.err" | tail -n 1 | awk '{ print $1 }')
late=$(grep -o 'lateness p50 [0-9.]* ms, p99 [0-9.]* ms, max [0-9.]*' "$WORK/hole.err" | tail -n 1)
rss=$(jq -r .maxrss_kb "$WORK/hole.json")
echo "# probe_blackhole_bench $(date -u +%Y-%m-%dT%H:%M:%SZ), $HOSTS hosts, $KIND, ${DAEMON_S}s, max_per_address $PER_ADDRESS"
echo "healthy_results=$n_healthy false_failures=$false_fail healthy_rounds_present=$present/$due no_address=$noaddr failures_of_blackholed=${holes:-none} skipped=${skipped:-0} peak_rss_mib=$((rss / 1024)) $late"
