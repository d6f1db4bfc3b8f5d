#!/bin/bash
# SPDX-License-Identifier: MIT
# Fan-out over time (daemon mode, results read from the spool): every
# address in the answer is checked; after a DNS switch the addresses that
# left the answer are still checked until keep_gone, then dropped; a static
# address is always checked; new addresses are picked up at once.
. "$top_srcdir/tests/lib/servers.sh"
vt_require probe nginx dnsmasq jq openssl python3
vt_setup
export VT_DNS_TTL=1
vt_nginx_start 127.0.0.11 127.0.0.12 127.0.0.13
vt_dns_start
vt_dns_set www.example.test 127.0.0.11 127.0.0.12

keep_gone=4
cat >"$VT_TMP/probe.cfg" <<CFG
probe = { name = "fan1"; spool_dir = "$VT_TMP/spool"; fsync = "always"; };
defaults = { interval = 1.0; timeout = 0.8; keep_gone = $keep_gone.0;
             resolvers = [ "127.0.0.1:$VT_DNS_PORT" ]; };
targets = ( { name = "www"; host = "www.example.test"; ips = [ "127.0.0.15" ];
  checks = ( { type = "dns"; },
             { type = "tcp"; port = $VT_HTTP_PORT; } ); } );
CFG
"$VANTAGE_PROBE" -c "$VT_TMP/probe.cfg" 2>"$VT_TMP/probe.log" &
pid=$!
vt_track "$pid"
sleep 3.5
t_switch=$(date +%s.%N)
vt_dns_set www.example.test 127.0.0.12 127.0.0.13
sleep $((keep_gone + 4))
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
is "$rc" 0 "probe exits 0 on SIGTERM"

cat "$VT_TMP"/spool/seg-*.jsonl >"$VT_TMP/all.jsonl"
check "every spooled line is JSON" jq -e . "$VT_TMP/all.jsonl"
tcp() { jq -r --arg ip "$1" "select(.check==\"tcp\" and .ip==\$ip) | .ts" \
	"$VT_TMP/all.jsonl"; }
count() { tcp "$1" | awk -v a="$2" -v b="$3" '$1>=a && $1<b' | wc -l; }
end=$(python3 -c "import time; print(time.time())")

n11_before=$(count 127.0.0.11 0 "$t_switch")
like "$n11_before" '^[2-9]$' "old address checked before the switch ($n11_before)"
n13_before=$(count 127.0.0.13 0 "$t_switch")
is "$n13_before" 0 "new address not checked before the switch"
n13_after=$(count 127.0.0.13 "$t_switch" "$end")
like "$n13_after" '^([4-9]|1[0-9])$' "new address checked after the switch ($n13_after)"

# Kept for keep_gone after it left the answer (allow one interval plus the
# DNS reload either side), then dropped.
last11=$(tcp 127.0.0.11 | sort -n | tail -n 1)
kept=$(python3 -c "print(round($last11 - $t_switch, 1))")
ok_kept=$(python3 -c "print(int($keep_gone - 2 <= $last11 - $t_switch <= $keep_gone + 2))")
is "$ok_kept" 1 "old address checked until keep_gone (${kept}s after the switch, keep_gone ${keep_gone}s)"
n11_late=$(count 127.0.0.11 "$(python3 -c "print($t_switch + $keep_gone + 2.5)")" "$end")
is "$n11_late" 0 "old address no longer checked after keep_gone"
n11_ok=$(jq -r 'select(.check=="tcp" and .ip=="127.0.0.11" and .ok) | .ip' \
	"$VT_TMP/all.jsonl" | wc -l)
like "$n11_ok" '^[1-9][0-9]*$' "old address results are real checks (ok while nginx serves it)"

n15=$(count 127.0.0.15 0 "$end")
like "$n15" '^([8-9]|1[0-9])$' "static address checked throughout ($n15)"
err15=$(jq -r 'select(.check=="tcp" and .ip=="127.0.0.15") | .error' \
	"$VT_TMP/all.jsonl" | sort -u)
is "$err15" "connect_refused" "static address with nothing listening: connect_refused"

# Rounds are on a 1 s grid with a stable phase: one result per address and
# round, never two.
dups=$(jq -r 'select(.check=="tcp") | "\(.ip) \(.ts)"' "$VT_TMP/all.jsonl" |
	sort | uniq -d | wc -l)
is "$dups" 0 "no address checked twice in one round"
frac=$(jq -r 'select(.check=="tcp") | .ts' "$VT_TMP/all.jsonl" |
	python3 -c "import sys; print(len({round(float(l)%1.0,2) for l in sys.stdin}))")
is "$frac" 1 "every round starts at the same phase within the interval"

like "$(cat "$VT_TMP/probe.log")" "answer changed: \\+127.0.0.13 -127.0.0.11" \
	"log names the DNS answer change"
like "$(cat "$VT_TMP/probe.log")" "no longer checking 127.0.0.11" \
	"log says when an address is dropped"
dnsn=$(jq -r 'select(.check=="dns") | .answers | sort | join(",")' \
	"$VT_TMP/all.jsonl" | uniq | tr '\n' ' ')
like "$dnsn" "127.0.0.11,127.0.0.12 127.0.0.12,127.0.0.13" \
	"dns results show the switch ($dnsn)"
tap_done
