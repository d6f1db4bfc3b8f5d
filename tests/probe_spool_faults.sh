#!/bin/bash
# SPDX-License-Identifier: MIT
# Faults on the probe's side, against a real collector; nothing may lock a
# probe out or lose data silently:
# - poison records (a flipped byte, a timestamp from 1999, one a day ahead)
#   are set aside in the spool's quarantine file with the collector's
#   reason, logged on both sides, and the records behind them flow;
# - a probe whose clock is a day ahead (libfaketime) says so loudly, from
#   the collector's Date header, and loses nothing: once its clock is right
#   the records it spooled meanwhile are set aside, the rest stored;
# - a cursor file past the spool's end is corrected with a warning;
# - a spool wiped by hand under the same probe name and key is a new
#   spool: its records, numbered from 0 again, are all stored;
# - a real 256 KiB tmpfs volume that fills up while the collector is down
#   loses only what cannot be written, says so once, and recovers by itself
#   once the collector acknowledges (spool_full = "refuse"), or drops the
#   oldest records with a count ("drop_oldest").
# At the end of each step every record the probe numbered is accounted
# for: stored in the collector's SQLite, or set aside, or counted as lost.
. "$top_srcdir/tests/lib/servers.sh"
vt_require probe dnsmasq jq python3
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
vt_setup
# cmp_ok A OP B DESC (test(1) operators), unlike GOT RE DESC, isnt GOT NOT DESC.
cmp_ok() {
	if [ "${1:-x}" "$2" "$3" ] 2>/dev/null; then ok "$4"; else
		not_ok "$4"
		diag "got: '$1' $2 '$3'"
		_tap_fail_rc
	fi
}
unlike() {
	if [[ $1 =~ $2 ]]; then
		not_ok "$3"
		diag "unwanted match for: $2"
		_tap_fail_rc
	else ok "$3"; fi
}
isnt() {
	if [ "$1" != "$2" ]; then ok "$3"; else
		not_ok "$3"
		diag "both: '$1'"
		_tap_fail_rc
	fi
}
skip_n() { local i; for i in $(seq 1 "$2"); do skip "$1"; done; }
vt_dns_start
vt_dns_set www.example.test 127.0.0.1

port=$(vt_free_port)
data=$VT_TMP/data
db=$data/events.sqlite
cat >"$VT_TMP/collector.cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$data"; };
storage = { step = 1; heartbeat = 3; rra = [ "RRA:AVERAGE:0.5:1:600" ]; };
quorum = { quorum = 1; confirm = 1; silence = 60.0; };
probes = ( { name = "p1"; key_file = "$(vt_key p1)"; } );
CFG
vt_collector_start "$VT_TMP/collector.cfg" "$port" || bail "collector did not start"

# probe_cfg SPOOL_DIR [PROBE SETTINGS] [IPS]: a tcp check of the collector's
# own port (a real listener) at IPS (default 127.0.0.1).
probe_cfg() {
	cat >"$VT_TMP/p1.cfg" <<CFG
probe = { name = "p1"; spool_dir = "$1"; fsync = "interval"; ${2:-} };
collector = { url = "http://127.0.0.1:$port"; key_file = "$(vt_key p1)"; timeout = 2.0; };
defaults = { interval = 0.5; timeout = 0.4; resolvers = [ "127.0.0.1:$VT_DNS_PORT" ]; };
targets = ( { name = "www"; host = "www.example.test"; ips = [ ${3:-} ];
  checks = ( { type = "tcp"; port = $port; } ); } );
CFG
}
# run_probe LOG SECONDS [PREFIX...]: runs the probe for SECONDS, then
# SIGTERM (it sends what it has, then exits).
run_probe() {
	local log=$1 secs=$2
	shift 2
	"$@" "$VANTAGE_PROBE" -c "$VT_TMP/p1.cfg" -l info </dev/null >>"$log" 2>&1 &
	local pid=$!
	vt_track "$pid"
	sleep "$secs"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
}
stored() { vt_sql "$db" "select coalesce(sum(results), 0) from series where probe = 'p1'"; }
spool_next() { vt_sql "$db" "select next_record from probe_spools where spool = '$1'"; }
# The record number the probe's uploader reached (its statistics at exit).
cursor_at_exit() {
	grep -o 'collector 0: at record [0-9]*' "$1" | tail -n 1 | awk '{print $NF}'
}

# ---- poison records ----------------------------------------------------------
spool=$VT_TMP/spool
probe_cfg "$spool"
run_probe "$VT_TMP/p-a.log" 2
id1=$(cat "$spool/id")
like "$id1" '^[0-9a-f]{32}$' "the spool has an id"
n1=$(cursor_at_exit "$VT_TMP/p-a.log")
is "$(spool_next "$id1")" "$n1" "the collector numbers the records of this spool ($n1)"

# Three records the collector cannot take, appended like the probe would.
seg=$(ls "$spool"/seg-*.jsonl | tail -n 1)
last=$(tail -n 1 "$seg")
now=$(date +%s)
{
	printf '%s\n' "${last/\"target\"/\"tarxet\"}"
	jq -c '.ts = 930000000' <<<"$last"
	jq -c --argjson t $((now + 86400)) '.ts = $t' <<<"$last"
} >>"$seg"
run_probe "$VT_TMP/p-b.log" 3
n2=$(cursor_at_exit "$VT_TMP/p-b.log")
q=$spool/quarantine.jsonl
is "$(wc -l <"$q" 2>/dev/null)" 3 "three records set aside"
is "$(jq -r .record "$q" | tr '\n' ' ')" "$n1 $((n1 + 1)) $((n1 + 2)) " \
	"the quarantine names their record numbers"
like "$(jq -r .reason "$q" | head -n 1)" '^line [0-9]+: .*tarxet' \
	"flipped byte: the collector's reason kept"
like "$(jq -r .reason "$q" | sed -n 2p)" '^line [0-9]+: .*ts' "1999: the reason kept"
like "$(jq -r .reason "$q" | sed -n 3p)" '^line [0-9]+: ts is in the future' \
	"a day ahead: the reason kept"
is "$(jq -r .line "$q" | head -n 1)" "${last/\"target\"/\"tarxet\"}" \
	"the record is kept as it was"
like "$(cat "$VT_TMP/p-b.log")" "record $n1 refused by the collector .*set aside in $q" \
	"the probe logs the refusal"
like "$(cat "$VT_TMP/collector.log")" "probe p1: records [0-9]+\\+[0-9]+ refused \\(400\\): .*line [0-9]+: .*tarxet" \
	"the collector logs the reason of its 400"
cmp_ok "$n2" -gt "$((n1 + 3))" "the records behind them flowed ($n2)"
is "$(spool_next "$id1")" "$n2" "the collector has every record up to the probe's"
is "$(stored)" "$((n2 - 3))" "every record stored but the three set aside"

# ---- a clock a day ahead -----------------------------------------------------
# libfaketime preloaded into the probe itself (the faketime program would
# stand between the test and the probe's PID).
libfaketime=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
if [ -n "$libfaketime" ]; then
	# The monotonic clock stays: only the wall clock is a day ahead.
	run_probe "$VT_TMP/p-c.log" 3 env LD_PRELOAD="$libfaketime" FAKETIME=+1d \
		FAKETIME_DONT_FAKE_MONOTONIC=1 \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	like "$(cat "$VT_TMP/p-c.log")" "THIS PROBE'S CLOCK IS WRONG: 864[0-9][0-9] s ahead of the collector's" \
		"a clock a day ahead is reported loudly"
	like "$(cat "$VT_TMP/collector.log")" "probe p1: stale time" \
		"the collector refuses its requests"
	n3=$(cursor_at_exit "$VT_TMP/p-c.log")
	is "$n3" "$n2" "nothing acknowledged while the clock is wrong"
	run_probe "$VT_TMP/p-d.log" 3
	n4=$(cursor_at_exit "$VT_TMP/p-d.log")
	ahead=$(jq -r 'select(.reason | test("ts is in the future")) | .record' "$q" | wc -l)
	cmp_ok "$ahead" -gt 1 "clock right again: its results from the day ahead set aside ($((ahead - 1)))"
	like "$(cat "$VT_TMP/p-d.log")" "clock agrees|records .* refused by the collector" \
		"the probe goes on"
	is "$(spool_next "$id1")" "$n4" "the records behind them stored ($n4)"
	is "$(stored)" "$((n4 - $(wc -l <"$q")))" "stored + set aside = every record"
else
	skip_n "faketime not installed" 7
	n4=$n2
fi

# ---- a cursor past the spool's end -------------------------------------------
cur=$(ls "$spool"/cursor-* | grep -v '\.tmp$' | head -n 1)
echo 99999999 >"$cur"
before=$(stored)
run_probe "$VT_TMP/p-e.log" 2
like "$(cat "$VT_TMP/p-e.log")" "the cursor \\(record 99999999\\) is past the spool's end" \
	"a cursor past the end is corrected with a warning"
like "$(cat "$VT_TMP/p-e.log")" "record $n1 refused again .*already set aside" \
	"a record set aside and sent again is not set aside twice"
n5=$(cursor_at_exit "$VT_TMP/p-e.log")
cmp_ok "$n5" -gt "$n4" "uploads go on ($n5)"
is "$(stored)" "$((before + n5 - n4))" "the new records stored, none twice"

# ---- a spool wiped by hand ---------------------------------------------------
before=$(stored)
rm -rf "$spool"
run_probe "$VT_TMP/p-f.log" 2
id2=$(cat "$spool/id")
isnt "$id2" "$id1" "the rebuilt spool has a new id"
n6=$(cursor_at_exit "$VT_TMP/p-f.log")
cmp_ok "$n6" -gt 0 "the rebuilt spool numbers from 0 ($n6 records)"
is "$(spool_next "$id2")" "$n6" "the collector counts the new spool from 0"
is "$(stored)" "$((before + n6))" "every record of the rebuilt spool stored"
unlike "$(cat "$VT_TMP/p-f.log")" "already has records" "nothing taken for a duplicate"
like "$(cat "$VT_TMP/collector.log")" "probe p1: spool $id2 seen for the first time \\(records from 0\\)" \
	"the collector logs the new spool"

# ---- a full volume -----------------------------------------------------------
# A 256 KiB tmpfs; 60 addresses every 0.2 s fill it in seconds.
ips=$(for i in $(seq 1 60); do printf '"127.0.1.%d", ' "$i"; done)
ips=${ips%, }
mnt=$VT_TMP/vol
mkdir -p "$mnt"
if mount -t tmpfs -o size=256k tmpfs "$mnt" 2>/dev/null; then
	vt_at_exit "umount '$mnt' 2>/dev/null"
	for policy in refuse drop_oldest; do
		fspool=$mnt/spool-$policy
		probe_cfg "$fspool" "spool_full = \"$policy\";" "$ips"
		sed -i 's/interval = 0.5; timeout = 0.4;/interval = 0.2; timeout = 0.15;/' "$VT_TMP/p1.cfg"
		log=$VT_TMP/p-full-$policy.log
		vt_collector_stop
		"$VANTAGE_PROBE" -c "$VT_TMP/p1.cfg" -l info </dev/null >>"$log" 2>&1 &
		pid=$!
		vt_track "$pid"
		# Until the volume is full, and a while longer.
		for _ in $(seq 1 300); do
			grep -q "No space left\|the volume is full" "$log" && break
			sleep 0.1
		done
		sleep 1.5
		vt_collector_start "$VT_TMP/collector.cfg" "$port" || bail "collector restart"
		for _ in $(seq 1 300); do
			grep -q "writing again\|deleted" "$log" && break
			sleep 0.1
		done
		sleep 2
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null
		fid=$(cat "$fspool/id")
		fn=$(cursor_at_exit "$log")
		if [ "$policy" = refuse ]; then
			is "$(grep -c 'spool: .*No space left on device' "$log")" 1 \
				"refuse: a full volume is logged once"
			like "$(cat "$log")" "writing again \\([1-9][0-9]* results could not be spooled meanwhile" \
				"refuse: the recovery is logged with the count lost"
			lost=$(grep -o '[0-9]* results lost (not writable)' "$log" | tail -n 1 | awk '{print $1}')
			cmp_ok "${lost:-0}" -gt 0 "refuse: the results lost are counted ($lost)"
		else
			like "$(cat "$log")" "the volume is full: dropped the oldest [0-9]+ records" \
				"drop_oldest: the oldest records give way, counted"
			unlike "$(cat "$log")" "spool: [^ ]*: write: No space left on device" \
				"drop_oldest: no new result lost"
		fi
		is "$(spool_next "$fid")" "$fn" "$policy: the collector acknowledged everything spooled ($fn)"
		like "$(cat "$log")" "deleted \\(records" "$policy: acknowledged segments deleted"
		left=$(du -sk "$fspool" | awk '{print $1}')
		cmp_ok "$left" -lt 128 "$policy: the volume has room again (${left} KiB used)"
	done
	umount "$mnt"
else
	skip_n "cannot mount a tmpfs (not root?)" 12
fi
tap_done
