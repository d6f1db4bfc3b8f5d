#!/bin/bash
# SPDX-License-Identifier: MIT
# Quorum, on a real (namespaced) network: three probes in their own network
# namespaces check two server addresses and upload to a collector in a
# fourth. First one probe loses its route to one address (a routing error
# seen from one vantage point): a partial event "seen by 1 of 3", no outage.
# Then all three lose it: one outage of that address, with start and end
# within one interval of when the routes went and came back.
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
vt_qlab_start "$A" "$B"
vt_qlab_probes_start
now() { date +%s.%N; }
sleep 3

# 1: only p1 loses its route to B.
t1a=$(now)
vt_lab_route_loss p1 "$B"
sleep 5
vt_lab_route_back p1 "$B"
t1b=$(now)
sleep 3
# 2: every vantage point loses B.
t2a=$(now)
for p in p1 p2 p3; do vt_lab_route_loss "$p" "$B"; done
sleep 6
for p in p1 p2 p3; do vt_lab_route_back "$p" "$B"; done
t2b=$(now)
sleep 4
for p in p1 p2 p3; do kill -TERM "${PID[$p]}"; done
for _ in $(seq 1 50); do
	alive=0
	for p in p1 p2 p3; do _vt_alive "${PID[$p]}" && alive=1; done
	[ "$alive" = 0 ] && break
	sleep 0.2
done
is "$alive" 0 "probes exit on SIGTERM"

db=$data/events.sqlite
q() { vt_sql "$db" "$1"; }
within() { # within X LO HI -> 1 when LO <= X <= HI
	python3 -c "import sys; x,lo,hi=map(float,sys.argv[1:]); print(int(lo<=x<=hi))" "$@"
}

outages=$(q "select ip, start, end, probes from outages
	where scope='address' and kind='outage' order by start")
diag "outages: $outages"
is "$(q "select count(*) from outages where scope='address' and kind='outage'")" 1 \
	"exactly one address outage"
IFS='|' read -r o_ip o_start o_end o_probes <<<"$outages"
is "$o_ip" "$B" "the outage is on the address all probes lost"
is "$o_probes" "p1,p2,p3" "the outage lists the probes that saw it"
# Start: the moment the second probe's failure streak began (confirm 2
# makes it visible one interval later, but it is dated from the first
# failure); allow one interval either side for the route change itself.
is "$(within "$o_start" "$(python3 -c "print($t2a - 1)")" "$(python3 -c "print($t2a + 1.5)")")" 1 \
	"outage start within one interval of the route loss ($o_start vs $t2a)"
# The round that sees the route back may start a few ms before the script
# reads the clock after `ip route` returns: one interval either side.
is "$(within "$o_end" "$(python3 -c "print($t2b - 1)")" "$(python3 -c "print($t2b + 1.5)")")" 1 \
	"outage end within one interval of the routes coming back ($o_end vs $t2b)"
dur=$(python3 -c "print(round($o_end - $o_start, 1))")
real=$(python3 -c "print(round($t2b - $t2a, 1))")
is "$(within "$dur" "$(python3 -c "print($real - 2)")" "$(python3 -c "print($real + 2)")")" 1 \
	"measured duration ${dur}s matches the ${real}s the routes were gone"

partial=$(q "select ip, start, end, probes, seen_by, of_probes from outages
	where scope='address' and kind='partial' and start < $t2a - 0.5 order by start")
diag "partial events before phase 2: $partial"
is "$(wc -l <<<"$partial")" 1 "one partial event for the one-probe route loss"
IFS='|' read -r p_ip p_start p_end p_probes p_seen p_of <<<"$partial"
is "$p_ip" "$B" "partial event on the lost address"
is "$p_probes" "p1" "partial event seen by p1 only"
is "$p_seen/$p_of" "1/3" "recorded as seen by 1 of 3"
is "$(within "$p_start" "$(python3 -c "print($t1a - 1)")" "$(python3 -c "print($t1a + 1.5)")")" 1 \
	"partial start within one interval ($p_start vs $t1a)"
is "$(within "$p_end" "$(python3 -c "print($t1b - 1)")" "$(python3 -c "print($t1b + 1.5)")")" 1 \
	"partial end within one interval ($p_end vs $t1b)"
is "$(q "select count(*) from outages where ip='$A'")" 0 "nothing recorded for the healthy address"
host=$(q "select state from outages where scope='host' order by start")
like "$host" "degraded" "the host was degraded while one of its addresses was out"
errs=$(jq -r 'select(.ip=="'"$B"'" and .ok==false) | .error' "$VT_TMP"/spool-p1/*.jsonl 2>/dev/null | sort -u | tr '\n' ' ')
diag "p1's failures on $B (spool not yet deleted): ${errs:-none left}"
tap_done
