#!/bin/bash
# SPDX-License-Identifier: MIT
# First sight of many series: creating RRD files is the slow part of
# ingest, so a request stops creating after storage.create_budget seconds
# and acknowledges the records stored so far (a prefix by record number,
# docs/wire.md); the sender goes on from `next`. Every request is answered
# quickly, and in the end every record is stored exactly once.
. "$top_srcdir/tests/lib/servers.sh"
vt_require python3
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
vt_setup
send=("$VT_PYTHON" "$top_srcdir/tests/lib/vt_send.py")
key=$(vt_key a)
port=$(vt_free_port)
data=$VT_TMP/data
url=http://127.0.0.1:$port
cat >"$VT_TMP/collector.cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$data"; };
storage = { step = 10; create_budget = 0.05;
            rra = [ "RRA:AVERAGE:0.5:1:8640", "RRA:MIN:0.5:6:1440" ]; };
probes = ( { name = "a"; key_file = "$key"; } );
CFG
vt_collector_start "$VT_TMP/collector.cfg" "$port" || bail "collector did not start"

t0=$(( ($(date +%s) / 10) * 10 - 600 ))
N=300
# batch ROUND: N tcp results, one per new series (distinct addresses).
batch() {
	local i
	for i in $(seq 0 $((N - 1))); do
		printf '{"ts":%s,"probe":"a","target":"t%d","check":"tcp","name":"tcp","host":"h.example.test","ip":"10.9.%d.%d","port":80,"ok":true,"ms":{"connect":0.5,"total":0.7}}\n' \
			$((t0 + 10 * $1)) $((i % 10)) $((i / 250)) $((i % 250 + 1))
	done
}
batch 0 >"$VT_TMP/round0"
batch 1 >"$VT_TMP/round1"

# Send round 0 from `next` until the collector has it all (bounded).
next=0 requests=0 slow=0
while [ "$next" -lt "$N" ] && [ "$requests" -lt 100 ]; do
	t=$(date +%s.%N)
	r=$(tail -n +$((next + 1)) "$VT_TMP/round0" | "${send[@]}" "$url" a "$key" "$next")
	took=$(python3 -c "print(round($(date +%s.%N) - $t, 3))")
	requests=$((requests + 1))
	case $r in
	200*) ;;
	*) diag "request $requests: $r"; break ;;
	esac
	[ "$(python3 -c "print(int($took > 1.0))")" = 1 ] && slow=$((slow + 1))
	next=$(sed -n 's/.*"next":\([0-9]*\).*/\1/p' <<<"$r")
done
is "$next" "$N" "every record of the first-sight batch stored ($requests requests)"
like "$requests" '^([2-9]|[1-9][0-9])$' "the batch was acknowledged in parts"
is "$slow" 0 "no request took more than 1 s"
like "$(cat "$VT_TMP/collector.log")" "storing [0-9]+ of [0-9]+ records now, the rest with the next request" \
	"the collector says why it stored a part"
r=$("${send[@]}" "$url" a "$key" "$N" <"$VT_TMP/round1")
like "$r" "^200 .*\"stored\":$N,.*\"next\":$((2 * N))" "the next round of the same series: one request"
is "$(vt_sql "$data/events.sqlite" "select count(*), sum(results) from series")" "$N|$((2 * N))" \
	"$N series, each result stored exactly once"
is "$(find "$data/rrd" -name '*.rrd' | wc -l)" "$N" "one RRD file per series"
rc=0
vt_collector_stop || rc=$?
is "$rc" 0 "collector exits 0 on SIGTERM"
tap_done
