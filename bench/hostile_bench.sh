#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/hostile_bench.sh [BUILD]: a probe's uploads to vantage-collector
# while 2,000 connections trickle their headers and 1,100 trickle their
# bodies (one byte every 5 s each), with the collector's default limits
# (docs/collector.md, "Slow and hostile clients"). Three phases of 30 s,
# each bounded: no attack (the ceiling), the attack from 8 addresses, the
# attack from 60 addresses (enough to fill the 1,024 connections). Prints
# per phase: batches stored of tried, median and largest latency (and the
# ratio to the ceiling), what the server did with the slow sockets, the
# collector's peak RSS and the bytes it logged. About 2 minutes.
set -u
BENCH_NAME=hostile_bench
. "$(dirname "$0")/common.sh"
bench_need_tools "python3" python3
[ -x "$BUILD/vantage-collector" ] || die "no $BUILD/vantage-collector (./test.sh --build-only)"
export top_srcdir=$ROOT VANTAGE_COLLECTOR=$BUILD/vantage-collector
bench_servers
PY=${VT_PYTHON:-python3}
key=$(vt_key a)
port=$(vt_free_port)
url=http://127.0.0.1:$port
cat >"$VT_TMP/collector.cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$VT_TMP/data"; };
probes = ( { name = "a"; key_file = "$key"; } );
CFG
vt_collector_start "$VT_TMP/collector.cfg" "$port" || die "collector did not start"
log=$VT_TMP/collector.log
seq=0
PHASE=30

addrs() { # addrs PREFIX FIRST LAST: comma-separated 127.0.X.FIRST..LAST
	local i out=
	for i in $(seq "$2" "$3"); do out=$out${out:+,}$1.$i; done
	echo "$out"
}

# phase NAME HEADER_SOURCES BODY_SOURCES ("" = no attack)
phase() {
	local name=$1 hs=$2 bs=$3 pids=() log0 up
	say "phase $name"
	log0=$(stat -c %s "$log")
	if [ -n "$hs" ]; then
		"$PY" "$ROOT/tests/lib/slow_clients.py" 127.0.0.1 "$port" --count 2000 \
			--mode header --interval 5 --duration $PHASE --sources "$hs" \
			--ready "$VT_TMP/h.ready" >"$VT_TMP/$name.header.json" &
		pids+=($!)
		"$PY" "$ROOT/tests/lib/slow_clients.py" 127.0.0.1 "$port" --count 1100 \
			--mode body --length 1000000 --interval 5 --duration $PHASE \
			--sources "$bs" --ready "$VT_TMP/b.ready" >"$VT_TMP/$name.body.json" &
		pids+=($!)
		for p in "${pids[@]}"; do vt_track "$p"; done
		sleep 3 # the sockets are being opened; the probe starts meanwhile
	fi
	up=$("$PY" "$ROOT/bench/probe_uploads.py" "$url" a "$key" --seq "$seq" \
		--every 0.5 --duration $((PHASE - 5)))
	seq=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["next_seq"])' "$up")
	for p in "${pids[@]}"; do wait "$p"; done
	local hwm
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$VT_COLLECTOR_PID/status")
	echo "$name|$up|$(cat "$VT_TMP/$name.header.json" 2>/dev/null)|$(cat "$VT_TMP/$name.body.json" 2>/dev/null)|$hwm|$(($(stat -c %s "$log") - log0))" >>"$VT_TMP/phases"
	sleep 2
}
: >"$VT_TMP/phases"
phase ceiling "" ""
phase few-addresses "$(addrs 127.0.2 1 4)" "$(addrs 127.0.3 1 4)"
phase many-addresses "$(addrs 127.0.4 1 40)" "$(addrs 127.0.5 1 20)"
health=$(vt_http GET "$url/healthz")
vt_collector_stop
"$PY" - "$VT_TMP/phases" "$health" <<'PY'
import json, sys
rows = [l.rstrip('\n').split('|') for l in open(sys.argv[1])]
base = None
print('%-15s %-14s %-10s %-9s %-7s %-34s %-34s %-8s %s' % (
    'phase', 'stored/tried', 'median_ms', 'max_ms', 'x ceil',
    'slow headers (door/deadline/open)', 'slow bodies (door/deadline/open)',
    'RSS_MB', 'log_bytes'))
for name, up, hj, bj, hwm, logb in rows:
    u = json.loads(up)
    if base is None:
        base = u['median_ms']
    def s(j):
        if not j:
            return '-'
        d = json.loads(j)
        return '%d/%d/%d of %d (life %ss)' % (d['closed_at_once'], d['closed_by_server'],
                                             d['still_open'], d['opened'], d['median_life_s'])
    ratio = '%.2f' % (u['median_ms'] / base) if u['median_ms'] and base else '-'
    print('%-15s %-14s %-10s %-9s %-7s %-34s %-34s %-8.1f %s' % (
        name, '%d/%d' % (u['stored'], u['tried']), u['median_ms'], u['max_ms'],
        ratio, s(hj), s(bj), int(hwm) / 1024, logb))
print('healthz after:', sys.argv[2])
PY
