#!/bin/bash
# SPDX-License-Identifier: MIT
# storage_bench.sh: the lean RRD layout and remote write, end to end (see
# bench/README.md, "Storage and remote write").
#
#   bench/storage_bench.sh [BUILD_DIR]      default BUILD_DIR: _build
#
#   Each run (BENCH_RUNS of them, figures are their medians):
#   P. the collector with the default (lean) layout, librrd direct: round 0
#      is one batch of TARGETS x ADDRS tcp results for as many new series
#      (first sight; create_budget 60 s so that one request creates them
#      all), then ROUNDS steady batches; the ack of round 0, disk per 1,000
#      series (du), and the collector's CPU per result over the steady
#      rounds.
#   U. the update ceiling: bench/rrd_ceiling.c, one rrd_updatex_r per file
#      and round over P's files (ROUNDS more rounds), CPU per update.
#   C. the first-sight ceiling: bench/rrd_create_ceiling.c, one
#      rrd_create_r2 after the other for as many files with P's layout.
#   R. P again with remote write to a real victoria-metrics: the steady
#      rounds' CPU per result, counted until the receiver has every sample
#      (healthz remote_write pending 0), as a ratio to P's (target <= 1.25).
#   Each creation (P, C, R) follows the removal of as many files as it
#   makes (the previous step's), so that all meet the same file system.
# Environment: BENCH_TARGETS (1000), BENCH_ADDRS (10), BENCH_ROUNDS (10),
# BENCH_DATA (the RRD files' folder, default a new one in /var/tmp),
# BENCH_RUNS (3); BENCH_PERF=FILE records round 0 and the steady rounds
# with perf (FILE.p1.first, FILE.p1, FILE.r1, ...).
# Disk: 0.72 MB per tcp series, once at a time (7.2 GB for 10,000 series,
# removed after each step).
set -u

BENCH_NAME=storage_bench
# shellcheck source=bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
COLLECTOR=$BUILD/vantage-collector
N_TARGETS=${BENCH_TARGETS:-1000}
N_ADDRS=${BENCH_ADDRS:-10}
ROUNDS=${BENCH_ROUNDS:-10}
RUNS=${BENCH_RUNS:-3}
STEP=10
PROBE_NAME=b1
SERIES=$((N_TARGETS * N_ADDRS))
[ -x "$COLLECTOR" ] || die "no vantage-collector in $BUILD"
bench_need_tools "python3 victoria-metrics" python3 victoria-metrics
export top_srcdir=$ROOT VANTAGE_COLLECTOR=$COLLECTOR
bench_servers
WORK=$VT_TMP/sbench
mkdir -p "$WORK"
# The RRD files go to BENCH_DATA (default: a new folder in /var/tmp), as a
# collector's go to /var/lib/vantage: not under $TMPDIR, where every test
# run on the machine creates and removes files (on ext4 without a journal
# the inode allocator probes each recently removed inode of the folder's
# block group, bench/README.md).
DATA=${BENCH_DATA:-$(mktemp -d /var/tmp/vt-storage-bench.XXXXXX)} || die "cannot make a data folder"
mkdir -p "$DATA" || die "cannot make $DATA"
vt_at_exit "rm -rf '$DATA'/p* '$DATA'/r* '$DATA/c'; rmdir '$DATA' 2>/dev/null"
say "building the ceilings"
cc -O2 -Wall -o "$WORK/rrd_ceiling" "$BENCH_DIR/rrd_ceiling.c" -lrrd -lm 2>"$WORK/cc.log" &&
	cc -O2 -Wall -o "$WORK/rrd_create_ceiling" "$BENCH_DIR/rrd_create_ceiling.c" -lrrd 2>>"$WORK/cc.log" ||
	die "cannot build the ceilings (librrd-dev?): $(tail -n 3 "$WORK/cc.log")"
KEY=$(vt_key "$PROBE_NAME")
NOW=$(date +%s)
T0=$(((NOW - 3 * 3600) / STEP * STEP))

cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }
pending() { vt_http GET "http://127.0.0.1:$PORT/healthz" | sed -n 's/.*"remote_write":{"vm":\([0-9]*\)}}$/\1/p'; }

# run NAME [RW_URL]
run() {
	local name=$1 data=$DATA/$1 c0 c1 i
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
	local perf_pid=
	if [ -n "${BENCH_PERF:-}" ]; then
		perf record -q -g -o "$BENCH_PERF.$name.first" -p "$VT_COLLECTOR_PID" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	"$VT_PYTHON" "$BENCH_DIR/collector_send.py" --url "http://127.0.0.1:$PORT" \
		--probe "$PROBE_NAME" --key "$KEY" --t0 "$T0" --round0 0 --rounds 1 \
		--step "$STEP" --targets "$N_TARGETS" --addrs "$N_ADDRS" --pid "$VT_COLLECTOR_PID" \
		--limit 150 --timeout 120 --out "$WORK/$name.first.json" >&2 || die "$name: round 0 failed"
	if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid"; fi
	sync
	du -sk "$data/rrd" | awk '{ print $1 }' >"$WORK/$name.du_kb"
	c0=$(cpu "$VT_COLLECTOR_PID")
	perf_pid=
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
	if [ -z "${2:-}" ]; then
		say "$name: the update ceiling over its files, $ROUNDS rounds"
		find "$data/rrd" -name '*.rrd' | sort >"$WORK/$name.list"
		"$WORK/rrd_ceiling" "$WORK/$name.list" "$ROUNDS" $((T0 + (ROUNDS + 1) * STEP)) "$STEP" 300 0x1b \
			>"$WORK/$name.ceiling.json" || die "$name: the update ceiling failed"
		cp "$(head -n 1 "$WORK/$name.list")" "$WORK/template.rrd"
	fi
	rm -rf "$data/rrd"
	if [ -z "${2:-}" ]; then
		say "$name: the first-sight ceiling, $SERIES files"
		mkdir -p "$DATA/c"
		"$WORK/rrd_create_ceiling" "$WORK/template.rrd" "$DATA/c" "$SERIES" "$STEP" $((T0 - STEP)) \
			>"$WORK/$name.create.json" || die "$name: the create ceiling failed"
		rm -rf "$DATA/c"
	fi
}

VMPORT=$(vt_free_port)
victoria-metrics -storageDataPath="$WORK/vm" -httpListenAddr="127.0.0.1:$VMPORT" \
	-retentionPeriod=1y </dev/null >"$WORK/vm.log" 2>&1 &
VM_PID=$!
vt_track "$VM_PID"
for i in $(seq 1 100); do case $(vt_http GET "http://127.0.0.1:$VMPORT/health") in 200*) break ;; esac; sleep 0.1; done
for k in $(seq 1 "$RUNS"); do
	run "p$k"
	run "r$k" "http://127.0.0.1:$VMPORT/api/v1/write"
done
vt_http GET "http://127.0.0.1:$VMPORT/internal/force_flush" >/dev/null
got=$(curl -s "http://127.0.0.1:$VMPORT/api/v1/series/count" 2>/dev/null)
kill -TERM "$VM_PID"; wait "$VM_PID" 2>/dev/null

"$VT_PYTHON" - "$WORK" "$SERIES" "$ROUNDS" "$RUNS" "$got" <<'PY'
import json, statistics, sys
w, series, rounds, runs, vm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def first(n):
    b = json.load(open('%s/%s.first.json' % (w, n)))['batches']
    return sum(x['ack_s'] for x in b)
def first_cpu(n):
    b = json.load(open('%s/%s.first.json' % (w, n)))['batches']
    return sum(x['coll_cpu_s'] for x in b)
def cpu(n):
    a, b = map(float, open('%s/%s.cpu' % (w, n)).read().split())
    return b - a
def du(n):
    return int(open('%s/%s.du_kb' % (w, n)).read())
def ceiling(n):
    rs = [json.loads(l) for l in open('%s/%s.ceiling.json' % (w, n))]
    return sum(r['cpu_s'] for r in rs) / sum(r['files'] for r in rs)
def create(n):
    return json.loads(open('%s/%s.create.json' % (w, n)).read())
res = series * rounds
rows = []
print('series %d, steady rounds %d (%d results), %d runs' % (series, rounds, res, runs))
print('run | first sight (collector: wall, CPU) | create ceiling (wall, CPU) | wall ratio | CPU/result P | update ceiling | P/ceiling | CPU/result R | R/P')
for k in range(1, runs + 1):
    p, r = 'p%d' % k, 'r%d' % k
    c = create(p)
    row = dict(first=first(p), first_r=first(r), fcpu=first_cpu(p), cwall=c['seconds'], ccpu=c['cpu_s'],
               p=cpu(p) / res * 1e6, r=cpu(r) / res * 1e6, u=ceiling(p) * 1e6,
               du=du(p) * 1024 / 1e6 * 1000 / series)
    row['ratio_c'] = row['first'] / row['cwall']
    row['ratio_u'] = row['p'] / row['u']
    row['ratio_rw'] = row['r'] / row['p']
    rows.append(row)
    print('%d | %.2f s, %.2f s (R: %.2f s) | %.2f s, %.2f s | %.2f | %.1f us | %.1f us | %.2f | %.1f us | %.2f'
          % (k, row['first'], row['fcpu'], row['first_r'], row['cwall'], row['ccpu'], row['ratio_c'],
             row['p'], row['u'], row['ratio_u'], row['r'], row['ratio_rw']))
med = lambda key: statistics.median(x[key] for x in rows)
print('median | %.2f s, %.2f s | %.2f s, %.2f s | %.2f | %.1f us | %.1f us | %.2f | %.1f us | %.2f'
      % (med('first'), med('fcpu'), med('cwall'), med('ccpu'), med('ratio_c'), med('p'), med('u'),
         med('ratio_u'), med('r'), med('ratio_rw')))
print('first sight of %d series: median %.2f s (target <= 20 s for 10,000; collector CPU %.2f s), ceiling %.2f s (CPU %.2f s)'
      % (series, med('first'), med('fcpu'), med('cwall'), med('ccpu')))
print('disk per 1,000 series (tcp, lean): %.1f MB' % med('du'))
print('remote write: median ratio %.2f (target <= 1.25)' % med('ratio_rw'))
print('victoria-metrics series count reply: %s' % vm)
PY
