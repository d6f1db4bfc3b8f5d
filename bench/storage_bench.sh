#!/bin/bash
# SPDX-License-Identifier: MIT
# storage_bench.sh: the lean RRD layout and remote write, end to end (see
# bench/README.md, "Storage and remote write").
#
#   bench/storage_bench.sh [BUILD_DIR]      default BUILD_DIR: _build
#
#   P. the collector with the default (lean) layout, librrd direct: round 0
#      is one batch of TARGETS x ADDRS tcp results for as many new series
#      (first sight), then ROUNDS steady batches; the ack of round 0, disk
#      per 1,000 series (du), and the collector's CPU per result over the
#      steady rounds.
#   R. the same with remote write to a real victoria-metrics: the steady
#      rounds' CPU per result, counted until the receiver has every sample
#      (healthz remote_write pending 0), as a ratio to P's (target <= 1.25).
# Environment: BENCH_TARGETS (1000), BENCH_ADDRS (10), BENCH_ROUNDS (10);
# BENCH_PERF=FILE records the steady rounds with perf (FILE.p, FILE.r).
# Disk: 0.72 MB per tcp series, twice (7.2 GB for 10,000 series, removed).
set -u

BENCH_NAME=storage_bench
# shellcheck source=bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
COLLECTOR=$BUILD/vantage-collector
N_TARGETS=${BENCH_TARGETS:-1000}
N_ADDRS=${BENCH_ADDRS:-10}
ROUNDS=${BENCH_ROUNDS:-10}
STEP=10
PROBE_NAME=b1
SERIES=$((N_TARGETS * N_ADDRS))
[ -x "$COLLECTOR" ] || die "no vantage-collector in $BUILD"
bench_need_tools "python3 victoria-metrics" python3 victoria-metrics
export top_srcdir=$ROOT VANTAGE_COLLECTOR=$COLLECTOR
bench_servers
WORK=$VT_TMP/sbench
mkdir -p "$WORK"
vt_at_exit "rm -rf '$WORK/p' '$WORK/r'"
KEY=$(vt_key "$PROBE_NAME")
NOW=$(date +%s)
T0=$(((NOW - 3 * 3600) / STEP * STEP))

cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }
pending() { vt_http GET "http://127.0.0.1:$PORT/healthz" | sed -n 's/.*"remote_write":{"vm":\([0-9]*\)}}$/\1/p'; }

# run NAME [RW_URL]
run() {
	local name=$1 data=$WORK/$1/data c0 c1 i
	PORT=$(vt_free_port)
	mkdir -p "$data"
	{
		echo "collector = { listen = \"127.0.0.1:$PORT\"; data_dir = \"$data\"; max_body = 8388608; time_window = 300.0; };"
		echo "storage = { step = $STEP; create_budget = 60.0; };"
		echo "probes = ( { name = \"$PROBE_NAME\"; key_file = \"$KEY\"; } );"
		[ -n "${2:-}" ] && echo "remote_write = ( { name = \"vm\"; url = \"$2\"; } );"
	} >"$WORK/$name.cfg"
	vt_collector_start "$WORK/$name.cfg" "$PORT" >&2 || die "$name: collector did not start"
	say "$name: round 0, first sight of $SERIES series"
	"$VT_PYTHON" "$BENCH_DIR/collector_send.py" --url "http://127.0.0.1:$PORT" \
		--probe "$PROBE_NAME" --key "$KEY" --t0 "$T0" --round0 0 --rounds 1 \
		--step "$STEP" --targets "$N_TARGETS" --addrs "$N_ADDRS" --pid "$VT_COLLECTOR_PID" \
		--limit 150 --timeout 120 --out "$WORK/$name.first.json" >&2 || die "$name: round 0 failed"
	sync
	du -sk "$data/rrd" | awk '{ print $1 }' >"$WORK/$name.du_kb"
	c0=$(cpu "$VT_COLLECTOR_PID")
	local perf_pid=
	if [ -n "${BENCH_PERF:-}" ]; then
		perf record -q -g -o "$BENCH_PERF.$name" -p "$VT_COLLECTOR_PID" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	say "$name: $ROUNDS steady rounds"
	"$VT_PYTHON" "$BENCH_DIR/collector_send.py" --url "http://127.0.0.1:$PORT" \
		--probe "$PROBE_NAME" --key "$KEY" --t0 "$T0" --round0 1 --rounds "$ROUNDS" \
		--step "$STEP" --targets "$N_TARGETS" --addrs "$N_ADDRS" --pid "$VT_COLLECTOR_PID" \
		--limit 150 --timeout 120 --out "$WORK/$name.steady.json" >&2 || die "$name: steady rounds failed"
	if [ -n "${2:-}" ]; then
		for i in $(seq 1 1200); do [ "$(pending)" = 0 ] && break; sleep 0.1; done
		[ "$(pending)" = 0 ] || die "$name: the receiver did not catch up"
	fi
	c1=$(cpu "$VT_COLLECTOR_PID")
	echo "$c0 $c1" >"$WORK/$name.cpu"
	if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid"; fi
	vt_collector_stop || die "$name: collector did not exit 0"
	rm -rf "$data/rrd"
}

run p
VMPORT=$(vt_free_port)
victoria-metrics -storageDataPath="$WORK/vm" -httpListenAddr="127.0.0.1:$VMPORT" \
	-retentionPeriod=1y </dev/null >"$WORK/vm.log" 2>&1 &
VM_PID=$!
vt_track "$VM_PID"
for i in $(seq 1 100); do case $(vt_http GET "http://127.0.0.1:$VMPORT/health") in 200*) break ;; esac; sleep 0.1; done
run r "http://127.0.0.1:$VMPORT/api/v1/write"
vt_http GET "http://127.0.0.1:$VMPORT/internal/force_flush" >/dev/null
got=$(curl -s "http://127.0.0.1:$VMPORT/api/v1/series/count" 2>/dev/null)
kill -TERM "$VM_PID"; wait "$VM_PID" 2>/dev/null

"$VT_PYTHON" - "$WORK" "$SERIES" "$ROUNDS" "$got" <<'PY'
import json, sys
w, series, rounds, vm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def first(n):
    b = json.load(open('%s/%s.first.json' % (w, n)))['batches']
    return sum(x['ack_s'] for x in b)
def cpu(n):
    a, b = map(float, open('%s/%s.cpu' % (w, n)).read().split())
    return b - a
def du(n):
    return int(open('%s/%s.du_kb' % (w, n)).read())
res = series * rounds
p, r = cpu('p'), cpu('r')
print('series %d, steady rounds %d (%d results)' % (series, rounds, res))
print('first sight, lean layout: %.2f s to store %d new series (target <= 20 s for 10,000)'
      % (first('p'), series))
print('disk per 1,000 series (tcp, lean): %.1f MB' % (du('p') * 1024 / 1e6 * 1000 / series))
print('collector CPU per result: %.1f us without remote write, %.1f us with (until the receiver has all)'
      % (p / res * 1e6, r / res * 1e6))
print('ratio with/without remote write: %.2f (target <= 1.25)' % (r / p if p else float('nan')))
print('victoria-metrics series count reply: %s' % vm)
PY
