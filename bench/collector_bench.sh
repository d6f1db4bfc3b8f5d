#!/bin/bash
# SPDX-License-Identifier: MIT
# collector_bench.sh: ingest rate of vantage-collector, end to end (signed
# batch in, RRD updated, SQLite committed, acknowledged), with librrd direct
# and with rrdcached, against a plain librrd update loop on the same files
# (the ceiling), in one run (see bench/README.md, "Collector").
#
#   bench/collector_bench.sh [BUILD_DIR]      default BUILD_DIR: _build
#
# BUILD_DIR holds a built vantage-collector (relative paths are taken from
# the current directory if they exist there, else from the repository root).
# Needs python3, cc, librrd's headers, rrdtool and rrdcached.  Debian:
#   apt-get install python3 gcc librrd-dev rrdtool rrdcached
#
# What it does (all on loopback; every load loop is bounded in count and in
# time):
#   A. the collector with librrd direct: round 0 is one batch of TARGETS x
#      ADDRS results for as many new series (first sight: 10,000 files are
#      created), then `sync`, then ROUNDS batches of the same size, one per
#      RRD step (ts + 10 s each), back to back: ack latency per batch,
#      results/s, the collector's CPU and peak RSS (VmHWM).
#   C. the ceiling: bench/rrd_ceiling.c, one rrd_updatex_r per file and
#      round with one value, on A's files, for ROUNDS rounds.
#   B. the same as A with a real rrdcached (unix socket, journal on); then
#      FLUSHALL and the time rrdcached takes to write everything out; then
#      the ceiling again on B's files (rrdcached stopped).
#   D. first sight with the collector's default RRAs (7.4 MB per file), on
#      a small scale: one batch of DEFAULT_RRA_TARGETS x 10 new series, to
#      show what round 0 costs per series without the compact RRA list.
# Then the summary (bench/collector_report.py) on stdout, progress on
# stderr.  Exit status 0; 1 when an invariant failed (a batch not stored
# whole, the series counters in events.sqlite not adding up to the results
# sent, an RRD file without the values it should hold, a ceiling update
# failing, the collector not exiting 0 on SIGTERM); 2 when a tool is missing
# or the setup failed.  With BENCH_STRICT=1 a missed target (ratio < 0.5,
# ack >= 1 s, RSS > 128 MiB) exits 1 as well.
#
# Disk: RRD files are written in full when created.  The benchmark's config
# sets a compact storage.rra (4 hours of 10 s AVERAGE rows + 1 day of
# 1-minute MIN rows: 164,424 bytes per file, 1.6 GB for 10,000 series,
# against 7.4 MB per file with the default RRAs) and deletes A's files
# before B creates its own, so it needs about 1.7 GB free at a time (D
# then writes 740 MB, after B's files are gone).
#
# Environment: BENCH_TARGETS (1000), BENCH_ADDRS (10), BENCH_ROUNDS (5),
# BENCH_DEFAULT_RRA_TARGETS (10, i.e. 100 series and 740 MB in D; 0 skips
# D), BENCH_STRICT (0), VT_KEEP=1 keeps the work directory ($TMPDIR or /tmp,
# vt-test.XXXXXX/cbench) except the RRD files.
set -u

BENCH_NAME=collector_bench
# shellcheck source=bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
COLLECTOR=$BUILD/vantage-collector

N_TARGETS=${BENCH_TARGETS:-1000}
N_ADDRS=${BENCH_ADDRS:-10}
ROUNDS=${BENCH_ROUNDS:-5}
D_TARGETS=${BENCH_DEFAULT_RRA_TARGETS:-10}
STEP=10
PROBE_NAME=b1
RRA='"RRA:AVERAGE:0.5:1:1440", "RRA:MIN:0.5:6:1440"'
# 7 data sources x (1440 + 1440) rows x 8 bytes + header: 164,424 bytes.
RRD_FILE_BYTES=164424

[ -x "$COLLECTOR" ] || die "no vantage-collector in $BUILD (build first: ./test.sh --build-only, or give BUILD_DIR)"
case $N_TARGETS in [1-9] | [1-9][0-9] | [1-9][0-9][0-9] | [1-9][0-9][0-9][0-9]) ;;
*) die "BENCH_TARGETS must be 1..9999" ;; esac
case $N_ADDRS in [1-9] | [1-9][0-9] | 1[0-9][0-9] | 2[0-4][0-9] | 25[0-4]) ;;
*) die "BENCH_ADDRS must be 1..254" ;; esac
case $ROUNDS in [1-9] | [1-9][0-9]) ;; *) die "BENCH_ROUNDS must be 1..99" ;; esac
case $D_TARGETS in [0-9] | [1-9][0-9]) ;; *) die "BENCH_DEFAULT_RRA_TARGETS must be 0..99" ;; esac
SERIES=$((N_TARGETS * N_ADDRS))
bench_need_tools "python3 gcc librrd-dev rrdtool rrdcached" \
	python3 cc rrdtool rrdcached
RRDCACHED=$(PATH=$PATH:/usr/sbin:/sbin command -v rrdcached)

export top_srcdir=$ROOT VANTAGE_COLLECTOR=$COLLECTOR
bench_servers
WORK=$VT_TMP/cbench
mkdir -p "$WORK"
# The RRD files go whatever VT_KEEP says: they are 1.6 GB.
vt_at_exit "rm -rf '$WORK/a' '$WORK/b' '$WORK/d'"

need_kb=$((SERIES * RRD_FILE_BYTES * 11 / 10 / 1024 + 102400))
avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
[ "$avail_kb" -ge "$need_kb" ] ||
	die "$WORK: ${avail_kb} kB free, the benchmark needs about ${need_kb} kB"

say "building rrd_ceiling"
cc -O2 -Wall -o "$WORK/rrd_ceiling" "$BENCH_DIR/rrd_ceiling.c" -lrrd -lm 2>"$WORK/cc.log" ||
	die "cannot build rrd_ceiling (librrd-dev?): $(tail -n 3 "$WORK/cc.log")"

KEY=$(vt_key "$PROBE_NAME")
# Record times: a few hours in the past, on the step grid, so that no ts is
# in the future even after the ceiling's extra rounds (time_window applies
# to the request's X-Vantage-Time, which is now).
NOW=$(date +%s)
T0=$(((NOW - 3 * 3600) / STEP * STEP))
LAST_COLL_TS=$((T0 + ROUNDS * STEP))
CEIL_T0=$((T0 + (ROUNDS + 1) * STEP))
LAST_CEIL_TS=$((CEIL_T0 + (ROUNDS - 1) * STEP))

{
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpus=$(nproc)"
	echo "cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "kernel=$(uname -r)"
	echo "fs=$(df -PT "$WORK" | awk 'NR == 2 { print $2 " on " $1 }')"
	echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "collector=$("$COLLECTOR" --version 2>&1 | head -n 1) ($COLLECTOR, built $(date -u -r "$COLLECTOR" +%Y-%m-%dT%H:%MZ))"
	# Read-only: the source tree now (the binary may be older than it).
	echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(
		[ -n "$(git -C "$ROOT" status --porcelain -- collector lib 2>/dev/null)" ] &&
			echo ', collector/ or lib/ modified in the work tree')"
	echo "librrd=$(dpkg-query -W -f='${Version}' librrd8 2>/dev/null || echo '?')"
	echo "rrdcached=$("$RRDCACHED" -h 2>&1 | head -n 1)"
	echo "sqlite=$("$VT_PYTHON" -c 'import sqlite3; print(sqlite3.sqlite_version)')"
	echo "python=$("$VT_PYTHON" -c 'import sys; print(sys.version.split()[0])')"
	echo "series=$SERIES"
	echo "targets=$N_TARGETS"
	echo "addrs=$N_ADDRS"
	echo "rounds=$ROUNDS"
	echo "d_series=$((D_TARGETS * 10))"
	echo "step=$STEP"
	echo "t0=$T0"
	echo "last_coll_ts=$LAST_COLL_TS"
	echo "last_ceil_ts=$LAST_CEIL_TS"
	echo "rra=$RRA"
} >"$WORK/env.txt"

# ---- helpers ------------------------------------------------------------------

# gen_cfg FILE DATA_DIR PORT [RRDCACHED_ADDR] [default]: "default" leaves
# storage.rra out (the collector's default RRAs, 7.4 MB per file).
gen_cfg() {
	{
		echo "collector = { listen = \"127.0.0.1:$3\"; data_dir = \"$2\";"
		[ -n "${4:-}" ] && echo "  rrdcached = \"$4\";"
		echo "  max_body = 8388608; time_window = 300.0; log_level = \"info\"; };"
		if [ "${5:-}" = default ]; then
			echo "storage = { step = $STEP; heartbeat = $((3 * STEP)); create_budget = 60.0; };"
		else
			echo "storage = { step = $STEP; heartbeat = $((3 * STEP)); create_budget = 60.0; rra = [ $RRA ]; };"
		fi
		echo "probes = ( { name = \"$PROBE_NAME\"; key_file = \"$KEY\"; } );"
	} >"$1"
	"$COLLECTOR" --check -c "$1" >/dev/null 2>"$1.check" ||
		die "generated config $1 is invalid: $(tail -n 3 "$1.check")"
}

# send NAME ROUND0 ROUNDS [TARGETS ADDRS]: one batch per round, results in
# $WORK/NAME.json.
send() {
	local pid rc=0
	timeout -k 5 200 "$VT_PYTHON" "$BENCH_DIR/collector_send.py" \
		--url "http://127.0.0.1:$PORT" --probe "$PROBE_NAME" --key "$KEY" \
		--t0 "$T0" --round0 "$2" --rounds "$3" --step "$STEP" \
		--targets "${4:-$N_TARGETS}" --addrs "${5:-$N_ADDRS}" --pid "$VT_COLLECTOR_PID" \
		--limit 150 --timeout 60 --out "$WORK/$1.json" &
	pid=$!
	vt_track "$pid"
	wait "$pid" || rc=$?
	echo "$rc" >"$WORK/$1.rc"
	return "$rc"
}

# sample_check NAME DATA_DIR LAST_TS: for 20 files spread over the sorted
# list, "relpath lastupdate known_rows" (rows of `up` known in
# [T0, LAST_TS] at the base step) into $WORK/NAME.txt.
sample_check() {
	local name=$1 data=$2 last=$3 list=$WORK/$1.list n f i lu rows
	(cd "$data/rrd" && find . -name '*.rrd' | LC_ALL=C sort) >"$list"
	n=$(wc -l <"$list")
	: >"$WORK/$name.txt"
	echo "files $n" >>"$WORK/$name.txt"
	[ "$n" -gt 0 ] || return 0
	for i in $(seq 0 19); do
		# Spread over targets and addresses alike.
		f=$(sed -n "$((1 + (i * n / 20 + i) % n))p" "$list")
		f=${f#./}
		lu=$(timeout 20 rrdtool lastupdate "$data/rrd/$f" | awk -F: 'END { print $1 }')
		rows=$(timeout 20 rrdtool fetch "$data/rrd/$f" AVERAGE -r "$STEP" \
			-s "$((T0 - STEP))" -e "$last" |
			awk -F'[: ]+' '$1 ~ /^[0-9]+$/ && $1 >= '"$T0"' && $1 <= '"$last"' && $2 !~ /nan/ { k++ } END { print k + 0 }')
		echo "$f $lu $rows" >>"$WORK/$name.txt"
	done
}

# ceiling NAME DATA_DIR: rrd_ceiling on every file of DATA_DIR.
ceiling() {
	local name=$1 data=$2 pid rc=0
	(cd "$data/rrd" && find "$PWD" -name '*.rrd' | LC_ALL=C sort) >"$WORK/$name.files"
	timeout -k 5 150 "$WORK/rrd_ceiling" "$WORK/$name.files" "$ROUNDS" \
		"$CEIL_T0" "$STEP" 120 >"$WORK/$name.jsonl" 2>"$WORK/$name.err" &
	pid=$!
	vt_track "$pid"
	wait "$pid" || rc=$?
	echo "$rc" >"$WORK/$name.rc"
	sample_check "$name.sample" "$data" "$LAST_CEIL_TS"
}

# db_counts NAME DATA_DIR
db_counts() {
	local db=$2/events.sqlite
	{
		echo "series_rows $(vt_sql "$db" 'select count(*) from series')"
		echo "sum_results $(vt_sql "$db" 'select coalesce(sum(results), 0) from series')"
		echo "next_record $(vt_sql "$db" "select next_record from probes where name = '$PROBE_NAME'")"
		echo "first_ts $(vt_sql "$db" 'select min(first_ts) from series')"
		echo "last_ts $(vt_sql "$db" 'select max(last_ts) from series')"
		echo "outages $(vt_sql "$db" 'select count(*) from outages')"
		echo "db_bytes $(stat -c %s "$db" 2>/dev/null || echo 0)"
		echo "wal_bytes $(stat -c %s "$db-wal" 2>/dev/null || echo 0)"
	} >"$WORK/$1.db"
}

# run_mode NAME DATA_DIR [RRDCACHED_ADDR]: the collector through round 0
# (first sight), sync, ROUNDS steady rounds; then stop it and count.
run_mode() {
	local name=$1 data=$2 daemon=${3:-} t rc
	PORT=$(vt_free_port)
	mkdir -p "$data"
	gen_cfg "$WORK/$name.cfg" "$data" "$PORT" "$daemon"
	vt_collector_start "$WORK/$name.cfg" "$PORT" >&2 || die "$name: the collector did not start"
	echo "$VT_COLLECTOR_PID" >"$WORK/$name.pid"
	say "$name: round 0, first sight: $SERIES results, $SERIES new series"
	send "$name.first" 0 1 || say "$name: round 0 FAILED (see the summary)"
	# The files just created are 1.6 GB of dirty page cache; let writeback
	# finish here rather than in the middle of the steady rounds.
	t=$(date +%s.%N)
	sync
	echo "$(date +%s.%N) $t" | awk '{ printf "%.3f\n", $1 - $2 }' >"$WORK/$name.sync_s"
	say "$name: sync took $(cat "$WORK/$name.sync_s") s; rounds 1..$ROUNDS: $SERIES results each"
	send "$name.steady" 1 "$ROUNDS" || say "$name: steady rounds FAILED (see the summary)"
	grep -E '^(VmHWM|VmRSS|VmPeak|VmSize):' "/proc/$VT_COLLECTOR_PID/status" >"$WORK/$name.status" 2>/dev/null
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' \
		"/proc/$VT_COLLECTOR_PID/stat" >"$WORK/$name.cpu" 2>/dev/null
}

stop_mode() {
	local name=$1 data=$2 rc=0
	vt_collector_stop || rc=$?
	echo "$rc" >"$WORK/$name.stop_rc"
	mv "$VT_TMP/collector.log" "$WORK/$name.collector.log" 2>/dev/null
	db_counts "$name" "$data"
	du -sk "$data" | awk '{ print $1 }' >"$WORK/$name.du_kb"
}

# ---- A: librrd direct -------------------------------------------------------------

say "A. collector, librrd direct ($N_TARGETS targets x $N_ADDRS addresses = $SERIES series, $ROUNDS rounds)"
DATA_A=$WORK/a/data
run_mode a "$DATA_A"
stop_mode a "$DATA_A"
sample_check a.sample "$DATA_A" "$LAST_COLL_TS"

say "C. ceiling: plain librrd update loop on A's files, $ROUNDS rounds"
ceiling ceil_a "$DATA_A"
rm -rf "$WORK/a"

# ---- B: rrdcached -------------------------------------------------------------------

say "B. collector through rrdcached (unix socket, journal)"
BASE=$WORK/b
DATA_B=$BASE/data
SOCK=$BASE/rrdcached.sock
mkdir -p "$BASE/journal" "$DATA_B"
# -m applies to the -l that follow it.  -g: foreground, so the tracked PID
# is the daemon's own.  Default -w 300: nothing is written back during the
# run unless asked (the drain below).
"$RRDCACHED" -g -m 0660 -l "unix:$SOCK" -p "$BASE/rrdcached.pid" \
	-j "$BASE/journal" -b "$BASE" -B </dev/null >"$WORK/rrdcached.log" 2>&1 &
RRDC_PID=$!
vt_track "$RRDC_PID"
"$VT_PYTHON" "$BENCH_DIR/collector_rrdcached.py" ready "$SOCK" 10 ||
	die "rrdcached did not start: $(tail -n 5 "$WORK/rrdcached.log")"
run_mode b "$DATA_B" "unix:$SOCK"
say "B: FLUSHALL: rrdcached writes the cached values to the files"
"$VT_PYTHON" "$BENCH_DIR/collector_rrdcached.py" drain "$SOCK" "$SERIES" 120 \
	>"$WORK/b.drain.json" || say "B: drain did not finish (see the summary)"
grep -E '^(VmHWM|VmRSS):' "/proc/$RRDC_PID/status" >"$WORK/rrdcached.status" 2>/dev/null
stop_mode b "$DATA_B"
kill -TERM "$RRDC_PID" 2>/dev/null
rc=0
wait "$RRDC_PID" || rc=$?
echo "$rc" >"$WORK/rrdcached.stop_rc"
du -sk "$BASE/journal" | awk '{ print $1 }' >"$WORK/rrdcached.journal_kb"
sample_check b.sample "$DATA_B" "$LAST_COLL_TS"

say "C. ceiling again, on B's files (rrdcached stopped)"
ceiling ceil_b "$DATA_B"
rm -rf "$WORK/b"

# ---- D: first sight with the default RRAs ------------------------------------------

if [ "$D_TARGETS" -gt 0 ]; then
	d_series=$((D_TARGETS * 10))
	d_need_kb=$((d_series * 7393208 * 11 / 10 / 1024 + 102400))
	avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
	if [ "$avail_kb" -lt "$d_need_kb" ]; then
		say "D. skipped: ${avail_kb} kB free, it needs ${d_need_kb} kB"
	else
		say "D. first sight with the default RRAs (7.4 MB per file): $d_series series"
		DATA_D=$WORK/d/data
		PORT=$(vt_free_port)
		mkdir -p "$DATA_D"
		gen_cfg "$WORK/d.cfg" "$DATA_D" "$PORT" "" default
		vt_collector_start "$WORK/d.cfg" "$PORT" >&2 || die "d: the collector did not start"
		send d.first 0 1 "$D_TARGETS" 10 || say "d: round 0 FAILED (see the summary)"
		t=$(date +%s.%N)
		sync
		echo "$(date +%s.%N) $t" | awk '{ printf "%.3f\n", $1 - $2 }' >"$WORK/d.sync_s"
		rc=0
		vt_collector_stop || rc=$?
		echo "$rc" >"$WORK/d.stop_rc"
		mv "$VT_TMP/collector.log" "$WORK/d.collector.log" 2>/dev/null
		db_counts d "$DATA_D"
		find "$DATA_D/rrd" -name '*.rrd' | wc -l >"$WORK/d.files"
		du -sk "$DATA_D" | awk '{ print $1 }' >"$WORK/d.du_kb"
		rm -rf "$WORK/d"
	fi
fi

echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$WORK/env.txt"

# ---- summary ---------------------------------------------------------------------

say "done; summary:"
rc=0
"$VT_PYTHON" "$BENCH_DIR/collector_report.py" "$WORK" || rc=$?
[ "${VT_KEEP:-0}" = 1 ] && say "work directory kept (without the RRD files): $WORK"
exit "$rc"
