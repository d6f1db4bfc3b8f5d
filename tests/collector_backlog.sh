#!/bin/bash
# SPDX-License-Identifier: MIT
# Verdicts that do not depend on delivery (issue 8), on a real (namespaced)
# network: three probes in their own namespaces check two server addresses
# while the collector is stopped; both addresses go down for every probe
# and come back; the collector is restarted. Within 10 s of the restart
# every backlog is stored once, both outages are confirmed by quorum with
# start and end within one interval of what the test did, and no probe is
# silent. Then retirement: a refusing static address removed by SIGHUP and
# a refusing address that left DNS past keep_gone, each while down: their
# outages end at the last result, "no longer checked", /healthz shows none
# open.
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/netlab.sh"
vt_require probe nginx dnsmasq jq python3
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
vt_lab_require
vt_setup
. "$top_srcdir/tests/lib/quorum_lab.sh"
vt_lab_start srv col p1 p2 p3
A=$VT_LAB_NET.11
B=$VT_LAB_NET.12
C=$VT_LAB_NET.13 # on the server, nothing listens: refused
D=$VT_LAB_NET.14 # likewise
vt_qlab_start "$A" "$B" "$C" "$D"
vt_qlab_probes_start
now() { date +%s.%N; }
db=$data/events.sqlite
q() { vt_sql "$db" "$1"; }
within() { # within X LO HI -> 1 when LO <= X <= HI
	python3 -c "import sys; x,lo,hi=map(float,sys.argv[1:]); print(int(lo<=x<=hi))" "$@"
}
sleep 3

# 1: the collector is down while both addresses go down for every probe.
vt_collector_stop
# The routes change for the three probes at once (one background job per
# probe); what skew is left between them is measured (t1a..t1a_done,
# t1b_from..t1b) and a partial event that lies within it is the truth, not
# an effect of the late delivery.
# all_probes FN: FN (vt_lab_route_loss or _back) for both addresses, on the
# three probes at once.
all_probes() {
	local p jobs_=()
	for p in p1 p2 p3; do
		{ "$1" "$p" "$A"; "$1" "$p" "$B"; } &
		jobs_+=($!)
	done
	wait "${jobs_[@]}"
}
t1a=$(now)
all_probes vt_lab_route_loss
t1a_done=$(now)
sleep 5
t1b_from=$(now)
all_probes vt_lab_route_back
t1b=$(now)
diag "routes lost in $(python3 -c "print(round($t1a_done - $t1a, 2))") s, back in $(python3 -c "print(round($t1b - $t1b_from, 2))") s"
sleep 8 # long enough for the uploaders' backoff to reach its cap (1+2+4 s)
vt_qlab_collector_start
tr=$(now)
# Every probe's backlog acknowledged: its spool cursor reaches its spool.
caught=0
for _ in $(seq 1 100); do
	n=$(q "select count(*) from outages where scope='address' and kind='outage'
		and \"end\" is not null and start >= $t1a - 2")
	pending=0
	for p in p1 p2 p3; do
		last=$(q "select next_record from probes where name='$p'")
		spooled=$(cat "$VT_TMP"/spool-"$p"/seg-*.jsonl 2>/dev/null | wc -l)
		first=$(ls "$VT_TMP/spool-$p" | sed -n 's/^seg-0*\([0-9][0-9]*\)\.jsonl$/\1/p' | sort -n | head -1)
		[ -n "$first" ] || first=0
		[ "${last:-0}" -ge $((first + spooled - 3)) ] || pending=1
	done
	[ "$n" = 2 ] && [ "$pending" = 0 ] && { caught=1; break; }
	sleep 0.1
done
tc=$(now)
took=$(python3 -c "print(round($tc - $tr, 1))")
is "$caught" 1 "both outages confirmed and every backlog stored ${took}s after the restart"
is "$(within "$took" 0 10)" 1 "within 10 s of the restart ($took s)"
outages=$(q "select ip, start, \"end\", probes from outages
	where scope='address' and kind='outage' and start >= $t1a - 2 order by ip")
diag "outages: $outages"
while IFS='|' read -r o_ip o_start o_end o_probes; do
	is "$o_probes" "p1,p2,p3" "$o_ip: seen by every probe"
	is "$(within "$o_start" "$(python3 -c "print($t1a - 1)")" "$(python3 -c "print($t1a + 1.5)")")" 1 \
		"$o_ip: start within one interval of the route loss ($o_start vs $t1a)"
	is "$(within "$o_end" "$(python3 -c "print($t1b - 1)")" "$(python3 -c "print($t1b + 1.5)")")" 1 \
		"$o_ip: end within one interval of the routes coming back ($o_end vs $t1b)"
done <<<"$outages"
# A partial event may only come from the probes' skew at a route change: it
# starts after the change began and ends within two intervals (confirm 2 of
# 1 s checks) after the last probe's routes changed.
diag "partial events: $(q "select ip, start, \"end\", probes from outages
	where kind='partial' and start >= $t1a - 2")"
is "$(q "select count(*) from outages where kind='partial' and start >= $t1a - 2
	and not ((start >= $t1a - 1 and coalesce(\"end\", 1e18) <= $t1a_done + 2.5)
	      or (start >= $t1b_from - 1 and coalesce(\"end\", 1e18) <= $t1b + 2.5))")" 0 \
	"no partial event from the late delivery (only the routes' own skew)"
is "$(q "select count(*) from probe_events where event='silent'")" 0 "no probe marked silent"
dups=$(q "select count(*) from (select target, check_name, key, probe from series
	where results > last_ts - first_ts + 2 and check_type='tcp')")
is "$dups" 0 "every result stored once (no series has more results than rounds)"

# 2: retirement. Two refusing addresses start being checked by every probe:
# C as a static address of target "st", D from DNS of target "rr"
# (keep_gone 3 s). Once both are in outage, C is removed by SIGHUP and D
# leaves DNS.
vt_dns_set rr.example.test "$D"
for p in p1 p2 p3; do
	vt_qlab_probe_cfg "$p" ",
  { name = \"st\"; host = \"www.example.test\"; ips = [ \"$C\" ];
    checks = ( { type = \"tcp\"; name = \"p81\"; port = 81; } ); },
  { name = \"rr\"; host = \"rr.example.test\"; keep_gone = 3.0;
    checks = ( { type = \"tcp\"; port = $VT_HTTP_PORT; } ); }"
	kill -HUP "${PID[$p]}"
done
open=0
for _ in $(seq 1 100); do
	open=$(q "select count(*) from outages where \"end\" is null
		and scope='address' and kind='outage' and ip in ('$C', '$D')")
	[ "$open" = 2 ] && break
	sleep 0.1
done
is "$open" 2 "outages open on the static $C and the DNS address $D"
for p in p1 p2 p3; do
	vt_qlab_probe_cfg "$p" ",
  { name = \"rr\"; host = \"rr.example.test\"; keep_gone = 3.0;
    checks = ( { type = \"tcp\"; port = $VT_HTTP_PORT; } ); }"
	kill -HUP "${PID[$p]}"
done
vt_dns_set rr.example.test "$A"
closed=0
for _ in $(seq 1 150); do
	closed=$(q "select count(*) from outages where scope='address'
		and ip in ('$C', '$D') and \"end\" is not null
		and end_reason = 'no longer checked' and kind = 'outage'")
	still=$(q "select count(*) from outages where \"end\" is null
		and ip in ('$C', '$D')")
	[ "$closed" -ge 2 ] && [ "$still" = 0 ] && break
	sleep 0.1
done
is "$closed" 2 "both outages ended, reason \"no longer checked\""
is "$(q "select count(*) from outages where \"end\" is null and ip in ('$C', '$D')")" 0 \
	"nothing open on the retired addresses"
# Each probe's view ends at its own last result there; with quorum 2 of 3
# the outage ends at the second latest of them (the probes retire the
# address a little apart; a partial event goes on to the latest).
for ip in "$C" "$D"; do
	end=$(q "select max(\"end\") from outages where ip='$ip' and kind='outage'")
	last=$(q "select last_ts from series where key='$ip'
		order by last_ts desc limit 1 offset 1")
	is "$end" "$last" "$ip: the outage ends at the last result of a quorum"
done
health=$(VT_NETNS=$VT_LAB_NS_col vt_http GET "http://$VT_LAB_IP_col:$port/healthz")
like "$health" '"outages_open":0' "/healthz: no outage open"
is "$(q "select count(*) from outages where scope='host' and \"end\" is null and target in ('st', 'rr')")" 0 \
	"no host row left ongoing"
if [ -x "${VANTAGE_GRAPH:-}" ]; then
	"$VANTAGE_GRAPH" -c "$VT_TMP/collector.cfg" report --target rr \
		--period "$(($(date +%s) - 600))..$(($(date +%s) + 60))" \
		--format json >"$VT_TMP/rr.json" 2>"$VT_TMP/rr.err"
	like "$(cat "$VT_TMP/rr.json")" '"end_reason":"no longer checked"' \
		"the report says why the outage of $D ended"
	is "$(grep -c '"open":true' "$VT_TMP/rr.json")" 0 "the report shows nothing open"
	"$VANTAGE_GRAPH" -c "$VT_TMP/collector.cfg" status-page -o "$VT_TMP/site" \
		>/dev/null 2>"$VT_TMP/site.err"
	page=$(cat "$VT_TMP/site/services/rr.html" 2>/dev/null)
	like "$page" "no longer checked" "the status page says why it ended"
	is "$(grep -c ongoing <<<"$page")" 0 "the status page no longer says ongoing"
fi

for p in p1 p2 p3; do kill -TERM "${PID[$p]}"; done
for _ in $(seq 1 50); do
	alive=0
	for p in p1 p2 p3; do _vt_alive "${PID[$p]}" && alive=1; done
	[ "$alive" = 0 ] && break
	sleep 0.2
done
is "$alive" 0 "probes exit on SIGTERM"
tap_done
