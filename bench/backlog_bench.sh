#!/bin/bash
# SPDX-License-Identifier: MIT
# backlog_bench.sh: a probe's backlog after a collector outage, and how fast
# it arrives (issue 8: "every probe's backlog is acknowledged within 10 s of
# the collector accepting again, backlogs up to 100,000 records").
#
#   bench/backlog_bench.sh [BUILD]       (default _build)
#   BENCH_RECORDS=100000  the backlog to build up before the collector starts
#   BENCH_CHECKS=2000     tcp checks per second (200 targets x 10 checks of
#                         127.0.0.1, interval 1 s) against a loopback nginx
#   BENCH_RUNS=3          runs; the figures are their medians
#
# Each run: a fresh collector data directory (in BENCH_DATA, default
# /var/tmp) and spool; the collector stores the probe's first 3 rounds (its
# series exist, as before an outage) and stops; the probe checks while no
# collector listens until BENCH_RECORDS more records wait in its spool;
# then the collector starts again. Timed:
# from the collector answering /healthz to its events.sqlite showing every
# record the spool held at that moment acknowledged (probes.next_record),
# while the probe keeps checking (2,000 new records a second). The probe
# and the collector are stopped after each run; every loop is bounded.
set -u
BENCH_NAME=backlog_bench
. "$(dirname "$0")/common.sh"
RECORDS=${BENCH_RECORDS:-100000}
CHECKS=${BENCH_CHECKS:-2000}
RUNS=${BENCH_RUNS:-3}
DATA_ROOT=${BENCH_DATA:-/var/tmp}
bench_need_tools "nginx python3 sqlite3" nginx python3 sqlite3
bench_probe
COLLECTOR=$BUILD/vantage-collector
[ -x "$COLLECTOR" ] || die "$COLLECTOR is not built"
export top_srcdir=$ROOT VANTAGE_PROBE=$PROBE VANTAGE_COLLECTOR=$COLLECTOR
bench_servers
bench_nginx_for_load
bench_raise_nofile
vt_nginx_start 127.0.0.1 >/dev/null || die "nginx did not start"
NT=$((CHECKS / 10))
results=()
for run in $(seq 1 "$RUNS"); do
	dir=$(mktemp -d "$DATA_ROOT/vantage-backlog.XXXXXX") || die "mktemp in $DATA_ROOT"
	port=$(vt_free_port)
	key=$(vt_key b1)
	cat >"$dir/collector.cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$dir/data"; };
probes = ( { name = "b1"; key_file = "$key"; } );
CFG
	{
		echo "probe = { name = \"b1\"; spool_dir = \"$dir/spool\"; };"
		echo "collector = { url = \"http://127.0.0.1:$port\"; key_file = \"$key\"; };"
		echo "defaults = { interval = 1.0; timeout = 0.5; };"
		echo "targets = ("
		for t in $(seq 0 $((NT - 1))); do
			printf '%s{ name = "t%d"; host = "127.0.0.1"; checks = (' "$([ "$t" = 0 ] || echo ,)" "$t"
			for c in $(seq 0 9); do
				printf '%s{ name = "c%d"; type = "tcp"; port = %d; }' "$([ "$c" = 0 ] || echo ,)" "$c" "$VT_HTTP_PORT"
			done
			echo ') }'
		done
		echo ");"
	} >"$dir/probe.cfg"
	# The series exist already (the collector ran before its outage): the
	# collector runs until it has acknowledged 3 rounds, then stops.
	vt_collector_start "$dir/collector.cfg" "$port" || die "the collector did not start"
	"$PROBE" -c "$dir/probe.cfg" -q </dev/null >"$dir/probe.log" 2>&1 &
	ppid=$!
	vt_track "$ppid"
	# Caught up: at most two rounds behind what the spool holds.
	ok=0
	for _ in $(seq 1 1200); do # at most 120 s
		got=$(sqlite3 "$dir/data/events.sqlite" "select next_record from probes where name='b1'" 2>/dev/null)
		first=$(ls "$dir/spool" 2>/dev/null | sed -n 's/^seg-0*\([0-9][0-9]*\)\.jsonl$/\1/p' | sort -n | head -1)
		held=$((${first:-0} + $(cat "$dir"/spool/seg-*.jsonl 2>/dev/null | wc -l)))
		if [ "${got:-0}" -ge $((3 * CHECKS)) ] && [ "${got:-0}" -ge $((held - 2 * CHECKS)) ]; then
			ok=1
			break
		fi
		sleep 0.1
	done
	[ "$ok" = 1 ] || die "the collector did not catch up in 120 s (${got:-0} of $held records)"
	vt_collector_stop
	base=$(cat "$dir"/spool/seg-*.jsonl 2>/dev/null | wc -l)
	# Bounded: at 2,000 records a second, 100,000 take 50 s; give up at 4x.
	limit=$((RECORDS * 4 / CHECKS + 30))
	t0=$(date +%s)
	while :; do
		n=$(($(cat "$dir"/spool/seg-*.jsonl 2>/dev/null | wc -l) - base))
		[ "$n" -ge "$RECORDS" ] && break
		[ $(($(date +%s) - t0)) -lt "$limit" ] || die "the spool holds only $n records after $limit s"
		kill -0 "$ppid" 2>/dev/null || die "the probe exited: $(tail -n 3 "$dir/probe.log")"
		sleep 1
	done
	vt_collector_start "$dir/collector.cfg" "$port" || die "the collector did not start"
	ts=$(date +%s.%N)
	backlog=$(cat "$dir"/spool/seg-*.jsonl 2>/dev/null | wc -l)
	first=$(ls "$dir/spool" 2>/dev/null | sed -n 's/^seg-0*\([0-9][0-9]*\)\.jsonl$/\1/p' | sort -n | head -1)
	want=$((${first:-0} + backlog))
	took=-
	for _ in $(seq 1 1200); do # at most 120 s
		got=$(sqlite3 "$dir/data/events.sqlite" "select next_record from probes where name='b1'" 2>/dev/null)
		if [ "${got:-0}" -ge "$want" ]; then
			took=$(python3 -c "import time; print(round(time.time() - $ts, 2))")
			break
		fi
		sleep 0.1
	done
	say "run $run: backlog $backlog records acknowledged in $took s after the collector answered"
	results+=("$took")
	kill -TERM "$ppid" 2>/dev/null
	wait "$ppid" 2>/dev/null
	vt_collector_stop
	[ "${VT_KEEP:-0}" = 1 ] || rm -rf "$dir"
done
med=$(printf '%s\n' "${results[@]}" | grep -v '^-$' | bench_median)
echo "backlog_bench: $RECORDS-record backlog, $CHECKS checks/s: acknowledged in ${results[*]} s (median $med s) after the collector answered"
