#!/bin/bash
# SPDX-License-Identifier: MIT
# probe_budget.sh: the budget of checks in flight and DNS that loses no
# answer (vantage-probe --once, small numbers; the large figures are in
# bench/). Against a counting HTTP server (tests/lib/counting_http.py: the
# most connections open at once, in all and per address) and a counting
# DNS server (tests/lib/counting_dns.py: every query it gets):
#   - runs wait in a queue: never more than max_per_address connections to
#     one address, nor max_in_flight in all, and every run is ok although
#     the pass takes longer than the timeout (a timeout starts at the start);
#   - a run that cannot start within its round is skipped: no result, no
#     failure, counted on stderr (--once) and in the statistics (daemon);
#   - N dns checks of one name at one resolver cost one A and one AAAA query;
#   - a lost query is asked again within the timeout, and the DNS time says
#     how long the answer took;
#   - dns_max_in_flight paces the lookups sent to one resolver.
set -u

# shellcheck source=tests/lib/servers.sh disable=SC2154
. "$top_srcdir/tests/lib/servers.sh"
vt_require probe jq python3 timeout
vt_setup

# start_py NAME SCRIPT ARGS...: starts a helper that writes its port to
# $VT_TMP/NAME.port; sets PORT.
start_py() {
	local name=$1 script=$2 pid
	shift 2
	rm -f "$VT_TMP/$name.port"
	"$VT_PYTHON" "$_VT_LIB_DIR/$script" --port-file "$VT_TMP/$name.port" \
		--lifetime 120 "$@" </dev/null >"$VT_TMP/$name.log" 2>&1 &
	pid=$!
	vt_track "$pid"
	for _ in $(seq 1 100); do
		[ -s "$VT_TMP/$name.port" ] && break
		sleep 0.05
	done
	[ -s "$VT_TMP/$name.port" ] || bail "$script did not start: $(cat "$VT_TMP/$name.log")"
	PORT=$(cat "$VT_TMP/$name.port")
}

start_py dns counting_dns.py
DNS="127.0.0.1:$PORT"

# http CASE: a fresh counting HTTP server on 127.0.0.31 and .32 (its maxima
# are those of one case); sets HTTP_PORT and STATS.
http() {
	STATS=$VT_TMP/http-$1.json
	start_py "http-$1" counting_http.py --stats "$STATS" --delay 0.2 \
		127.0.0.31 127.0.0.32
	HTTP_PORT=$PORT
}

# cfg FILE PROBE_EXTRA INTERVAL TIMEOUT N IPS: N targets with one http check
# each against the static IPS (their name has no address in DNS).
cfg() {
	local f=$1 extra=$2 interval=$3 timeout=$4 n=$5 ips=$6 i sep=''
	{
		echo "probe = { name = \"t1\"; $extra };"
		echo "defaults = { interval = $interval; timeout = $timeout;"
		echo "  resolvers = [ \"$DNS\" ]; };"
		echo "targets = ("
		for i in $(seq 1 "$n"); do
			echo "$sep{ name = \"t$i\"; host = \"none-$i.test\"; ips = [ $ips ];"
			echo "  checks = ( { type = \"http\"; url = \"http://none-$i.test:$HTTP_PORT/\"; } ); }"
			sep=', '
		done
		echo ");"
	} >"$f"
}
stat() { jq -r "$1" "$STATS"; }
results() { jq -s "$1" "$VT_OUT"; }
secs() { python3 -c "print(round($2 - $1, 2))"; }

# ---- queueing and the per-address limit ---------------------------------------
http a1
cfg "$VT_TMP/a1.cfg" "max_per_address = 2; max_in_flight = 64;" 30.0 0.5 12 \
	'"127.0.0.31", "127.0.0.32"'
t0=$(date +%s.%N)
vt_probe_once "$VT_TMP/a1.cfg"
rc=$?
took=$(secs "$t0" "$(date +%s.%N)")
is "$rc" 0 "per address: probe --once exits 0"
is "$(results 'length')" 24 "per address: one result per target and address"
is "$(results '[.[] | select(.ok)] | length')" 24 \
	"per address: every run ok, though the pass ($took s) outlasts the 0.5 s timeout"
is "$(stat '.max_per_addr["127.0.0.31"]') $(stat '.max_per_addr["127.0.0.32"]')" "2 2" \
	"per address: at most max_per_address = 2 connections to each address at once"
is "$(python3 -c "print(int($took >= 1.1))")" 1 \
	"per address: the runs waited their turn (12 x 0.2 s at 2 at once: $took s)"

# ---- the global limit ---------------------------------------------------------
http a2
cfg "$VT_TMP/a2.cfg" "max_per_address = 8; max_in_flight = 3;" 30.0 0.5 12 \
	'"127.0.0.31", "127.0.0.32"'
vt_probe_once "$VT_TMP/a2.cfg"
is "$?" 0 "in flight: probe --once exits 0"
is "$(results '[.[] | select(.ok)] | length')" 24 "in flight: every run ok"
is "$(stat .connections)" 24 "in flight: 24 connections made"
is "$(stat .max_total)" 3 "in flight: at most max_in_flight = 3 connections at once"

# ---- skipped, not failed ----------------------------------------------------------
# Interval 1 s, timeout 0.5 s: a run must start within 0.5 s of its round.
# One at a time, 0.2 s each: about 3 of 12 start, the rest are the probe's.
http b
cfg "$VT_TMP/b.cfg" "max_per_address = 1;" 1.0 0.5 12 '"127.0.0.31"'
vt_probe_once "$VT_TMP/b.cfg"
is "$?" 0 "skipped: probe --once exits 0"
n=$(results 'length')
like "$n" '^[2-5]$' "skipped: only the runs that started have a result ($n)"
is "$(results '[.[] | select(.ok | not)] | length')" 0 \
	"skipped: no run reported as a failure of the target"
like "$(cat "$VT_ERR")" "could not start within its round .*skipped, no data" \
	"skipped: logged"
like "$(cat "$VT_ERR")" "--once: $((12 - n)) runs skipped by the probe" \
	"skipped: counted ($((12 - n)))"
is "$(stat .max_total)" 1 "skipped: still one connection at a time"

# ---- the same in the daemon ---------------------------------------------------------
# Six targets on one address, one run at a time, 0.2 s each, interval 1 s,
# timeout 0.5 s: each round about three start, the others are skipped; the
# spool holds only real results, all ok.
http d
cfg "$VT_TMP/d.cfg" "max_per_address = 1; spool_dir = \"$VT_TMP/spool-d\"; fsync = \"never\";" \
	1.0 0.5 6 '"127.0.0.31"'
"$VANTAGE_PROBE" -c "$VT_TMP/d.cfg" 2>"$VT_TMP/d.log" &
pid=$!
vt_track "$pid"
sleep 3.5
kill -USR1 "$pid"
sleep 0.3
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
is "$rc" 0 "daemon: exits 0 on SIGTERM"
cat "$VT_TMP"/spool-d/seg-*.jsonl >"$VT_TMP/d.jsonl" 2>/dev/null
nd=$(jq -s 'length' "$VT_TMP/d.jsonl")
like "$nd" '^([4-9]|1[0-9])$' "daemon: runs that started have results ($nd)"
is "$(jq -s '[.[] | select(.ok | not)] | length' "$VT_TMP/d.jsonl")" 0 \
	"daemon: no run reported as a failure of the target"
like "$(cat "$VT_TMP/d.log")" "[1-9][0-9]* found no room in their round" \
	"daemon: skipped runs counted in the statistics"
like "$(cat "$VT_TMP/d.log")" "1 per address" "daemon: statistics show the budget"
like "$(cat "$VT_TMP/d.log")" "dns: [1-9][0-9]* lookups sent, [0-9]+ queries answered by a lookup already going" \
	"daemon: statistics show the DNS counters"
is "$(stat .max_total)" 1 "daemon: one connection at a time"

# ---- DNS: coalescing, retry, pacing -----------------------------------------------
qcount() { grep -c "^q $1 $2\$" "$VT_TMP/dns.log"; }
{
	echo 'probe = { name = "t1"; dns_max_in_flight = 2; };'
	echo "defaults = { interval = 30.0; timeout = 1.0; resolvers = [ \"$DNS\" ]; };"
	echo "targets = ("
	for i in $(seq 1 30); do
		echo "{ name = \"same$i\"; host = \"same.coalesce.test\"; checks = ( { type = \"dns\"; } ); },"
	done
	echo "{ name = \"lost\"; host = \"drop1-x.test\"; checks = ( { type = \"dns\"; } ); },"
	# timeout 2 s: another c-ares channel, the same resolver's pacing.
	for i in $(seq 1 10); do
		[ "$i" = 10 ] && sep='' || sep=,
		echo "{ name = \"slow$i\"; host = \"slow-$i.test\"; checks = ( { type = \"dns\"; timeout = 2.0; } ); }$sep"
	done
	echo ");"
} >"$VT_TMP/dns.cfg"
vt_probe_once "$VT_TMP/dns.cfg"
is "$?" 0 "dns: probe --once exits 0"
is "$(results '[.[] | select(.target | startswith("same")) | select(.ok and .answers == ["127.0.0.1"])] | length')" 30 \
	"coalescing: 30 dns checks of one name all answered"
is "$(qcount A same.coalesce.test) $(qcount AAAA same.coalesce.test)" "1 1" \
	"coalescing: one A and one AAAA query for the 30 of them"
is "$(results '.[] | select(.target == "lost") | "\(.ok) \(.answers | length)"')" \
	'"true 1"' "retry: the lost query is answered on the second try"
is "$(qcount A drop1-x.test) $(qcount AAAA drop1-x.test)" "2 2" \
	"retry: each half asked twice"
ms=$(results '.[] | select(.target == "lost") | .ms.dns')
is "$(python3 -c "print(int(450 <= $ms < 1000))")" 1 \
	"retry: the DNS time ($ms ms) counts the try that got nothing, within the 1 s timeout"
is "$(results '[.[] | select(.target | startswith("slow")) | select(.ok)] | length')" 10 \
	"pacing: every slow lookup answered"
maxo=$(grep -o 'max_outstanding=[0-9]*' "$VT_TMP/dns.log" | tail -n 1 | cut -d= -f2)
is "$maxo" 4 "pacing: at most dns_max_in_flight = 2 lookups (4 queries) at the resolver at once"
is "$(results '[.[] | select(.ok | not)] | length')" 0 "dns: no failure at all"
tap_done
