#!/bin/bash
# SPDX-License-Identifier: MIT
# End to end, nothing lost and nothing twice: three probes check real nginx
# behind a real dnsmasq and upload to a real collector. The collector is
# stopped for a while, then killed with SIGKILL several times while the
# probes catch up; one probe is killed with SIGKILL and restarted on its
# spool. Afterwards every record each probe produced (its own numbering) is
# in the collector exactly once: the record numbers match, the series
# counters add up to them, and every RRD file holds one row per result, one
# per second with no gap and no double.
. "$top_srcdir/tests/lib/servers.sh"
vt_require probe nginx dnsmasq jq python3 rrdtool
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
vt_setup
vt_nginx_start 127.0.0.11 127.0.0.12
vt_dns_start
vt_dns_set www.example.test 127.0.0.11 127.0.0.12 127.0.0.13

port=$(vt_free_port)
data=$VT_TMP/data
probes=(p1 p2 p3)
{
	echo "collector = { listen = \"127.0.0.1:$port\"; data_dir = \"$data\"; };"
	echo 'storage = { step = 1; heartbeat = 3; rra = [ "RRA:AVERAGE:0.5:1:3600", "RRA:MIN:0.5:1:3600" ]; };'
	echo "quorum = { quorum = 2; confirm = 2; silence = 30.0; };"
	echo "probes = ("
	sep=
	for p in "${probes[@]}"; do
		echo "$sep{ name = \"$p\"; key_file = \"$(vt_key "$p")\"; }"
		sep=,
	done
	echo ");"
} >"$VT_TMP/collector.cfg"

declare -A PID
start_probe() {
	local p=$1
	cat >"$VT_TMP/$p.cfg" <<CFG
probe = { name = "$p"; spool_dir = "$VT_TMP/spool-$p"; fsync = "interval"; };
collector = { url = "http://127.0.0.1:$port"; key_file = "$(vt_key "$p")"; timeout = 2.0; };
defaults = { interval = 1.0; timeout = 0.8; resolvers = [ "127.0.0.1:$VT_DNS_PORT" ]; };
targets = ( { name = "www"; host = "www.example.test";
  checks = ( { type = "dns"; },
             { type = "tcp"; port = $VT_HTTP_PORT; },
             { type = "http"; url = "http://www.example.test:$VT_HTTP_PORT/health"; body = "ok"; } ); } );
CFG
	"$VANTAGE_PROBE" -c "$VT_TMP/$p.cfg" </dev/null >>"$VT_TMP/$p.log" 2>&1 &
	PID[$p]=$!
	vt_track "${PID[$p]}"
}

vt_collector_start "$VT_TMP/collector.cfg" "$port" || bail "collector did not start"
for p in "${probes[@]}"; do start_probe "$p"; done
sleep 4

# The collector goes away for a while; the probes keep checking.
rc=0
vt_collector_stop || rc=$?
is "$rc" 0 "collector stops on SIGTERM"
sleep 5
# Back, then killed with SIGKILL while the backlog pours in, three times.
for i in 1 2 3; do
	vt_collector_start "$VT_TMP/collector.cfg" "$port" || bail "collector restart $i"
	sleep "0.$((i * 2))"
	kill -KILL "$VT_COLLECTOR_PID"
	wait "$VT_COLLECTOR_PID" 2>/dev/null
	VT_COLLECTOR_PID=
done
vt_collector_start "$VT_TMP/collector.cfg" "$port" || bail "collector final start"
sleep 2
# A probe dies hard and comes back on the same spool.
kill -KILL "${PID[p2]}"
wait "${PID[p2]}" 2>/dev/null
sleep 2
start_probe p2
sleep 4

# Stop the probes: they finish their checks and upload what is left.
for p in "${probes[@]}"; do kill -TERM "${PID[$p]}"; done
for p in "${probes[@]}"; do
	rc=0
	wait "${PID[$p]}" || rc=$?
	is "$rc" 0 "$p exits 0 on SIGTERM"
done

# What each probe produced, by its own numbering: the newest spool segment
# is named after its first record and holds the last ones.
produced() {
	local seg
	seg=$(ls "$VT_TMP/spool-$1"/seg-*.jsonl | sort | tail -n 1)
	local first=${seg##*/seg-}
	first=$((10#${first%.jsonl}))
	echo $((first + $(wc -l <"$seg")))
}
db=$data/events.sqlite
for p in "${probes[@]}"; do
	n=$(produced "$p")
	like "$n" '^[1-9][0-9]+$' "$p produced $n records"
	got=$(vt_sql "$db" "select next_record from probes where name='$p'")
	is "$got" "$n" "$p: the collector has every record (next $got of $n)"
	sum=$(vt_sql "$db" "select sum(results) from series where probe='$p'
		and (check_name in ('tcp','http') or key like 'resolver-%')")
	is "$sum" "$n" "$p: each record stored exactly once ($sum results)"
done

# Every RRD file holds exactly its series' count, one row per second.
bad=0 checked=0
while IFS='|' read -r path results first last probe; do
	f=$data/rrd/$path
	rows=$(rrdtool fetch "$f" AVERAGE -r 1 -s "$((${first%.*} - 1))" -e "${last%.*}" |
		awk -F'[: ]+' '$1 ~ /^[0-9]+$/ && $2 !~ /nan/ {n++} END {print n+0}')
	checked=$((checked + 1))
	# p2 was killed: RRD's heartbeat (3 s) bridges a short gap with known
	# rows, and a longer one is unknown including the value that closes it
	# (LIBS.md 3.3), so its row count is only near its result count.
	if [ "$probe" != p2 ] && [ "$rows" != "$results" ]; then
		bad=$((bad + 1))
		diag "$path: $rows rows, $results results"
	elif [ "$probe" = p2 ] && { [ "$rows" -lt $((results - 1)) ] ||
		[ "$rows" -gt $((results + 3)) ]; }; then
		bad=$((bad + 1))
		diag "$path: $rows rows, $results results (p2)"
	fi
	# p1 and p3 never stopped: one result per second, no gap.
	if [ "$probe" != p2 ] && [ "$results" != $(( ${last%.*} - ${first%.*} + 1 )) ]; then
		bad=$((bad + 1))
		diag "$path: $results results over $first..$last"
	fi
done < <(vt_sql "$db" "select path, results, first_ts, last_ts, probe from series
	where check_name in ('tcp','http') and key not like 'no-%'")
like "$checked" '^(1[0-9]|[2-9][0-9])$' "address series checked ($checked)"
is "$bad" 0 "every RRD file: one row per result, no gap, no double"
files=$(find "$data/rrd" -path '*/tcp/*' -name '*.rrd' | wc -l)
is "$files" 9 "one tcp series per address and probe (3 x 3)"
down=$(vt_sql "$db" "select count(*) from series s where check_name='tcp' and key='127.0.0.13'")
is "$down" 3 "the address with nothing listening is a series too"
like "$(cat "$VT_TMP"/p*.log)" "recovered after [0-9]+ failures" \
	"the probes saw the collector go and come back"
tap_done
