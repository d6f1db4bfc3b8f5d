#!/bin/bash
# SPDX-License-Identifier: MIT
# Daemon mode: results spooled in the compact form; SIGHUP reload (a bad
# config is rejected, the old one keeps running; a good one takes effect);
# runs still going when due are skipped and counted, never stacked; SIGTERM
# lets running checks finish and exits 0.
. "$top_srcdir/tests/lib/servers.sh"
vt_require probe nginx dnsmasq jq openssl python3
vt_setup
vt_nginx_start 127.0.0.11
vt_dns_start
vt_dns_set www.example.test 127.0.0.11
vt_dns_set api.example.test 127.0.0.11

cfg=$VT_TMP/probe.cfg
write_cfg() {
	cat >"$cfg" <<CFG
probe = { name = "d1"; spool_dir = "$VT_TMP/spool"; };
defaults = { interval = 1.0; timeout = 0.8; resolvers = [ "127.0.0.1:$VT_DNS_PORT" ]; };
targets = (
  { name = "www"; host = "www.example.test";
    checks = ( { type = "http"; url = "http://www.example.test:$VT_HTTP_PORT/health"; body = "ok"; },
               { type = "http"; name = "slow"; interval = 1.0; timeout = 2.5;
                 url = "http://www.example.test:$VT_HTTP_PORT/slow"; } ); }
  $1
);
CFG
}
write_cfg ""
"$VANTAGE_PROBE" -c "$cfg" 2>"$VT_TMP/probe.log" &
pid=$!
vt_track "$pid"
sleep 3

# A bad config on SIGHUP: rejected with file:line, the old one keeps going.
cp "$cfg" "$VT_TMP/good.cfg"
printf 'probe = { name = "d1"; bogus = 1; };\n' >"$cfg"
kill -HUP "$pid"
sleep 1.5
like "$(cat "$VT_TMP/probe.log")" "$cfg:1: probe.bogus: unknown setting" \
	"bad reload names file, line and setting"
like "$(cat "$VT_TMP/probe.log")" "reload of $cfg rejected; the running configuration stays" \
	"bad reload rejected"
check "probe still running after a bad reload" kill -0 "$pid"

# A good config adds a target.
write_cfg ", { name = \"api\"; host = \"api.example.test\";
    checks = ( { type = \"tcp\"; port = $VT_HTTP_PORT; } ); }"
t_reload=$(date +%s.%N)
kill -HUP "$pid"
sleep 2.5
like "$(cat "$VT_TMP/probe.log")" "reloaded: 2 targets, 3 checks" "good reload applied"
kill -USR1 "$pid"
sleep 0.3
t_term=$(date +%s.%N)
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
t_exit=$(date +%s.%N)
is "$rc" 0 "SIGTERM: exit status 0"
took=$(python3 -c "print(round($t_exit - $t_term, 2))")
ok_took=$(python3 -c "print(int($t_exit - $t_term < 3.5))")
is "$ok_took" 1 "SIGTERM: running checks finish within their timeout (${took}s)"
like "$(cat "$VT_TMP/probe.log")" "stopping; letting [0-9]+ running checks finish" \
	"SIGTERM logged"

cat "$VT_TMP"/spool/seg-*.jsonl >"$VT_TMP/all.jsonl"
check "spool lines are JSON" jq -e . "$VT_TMP/all.jsonl"
nulls=$(grep -c null "$VT_TMP/all.jsonl" || true)
is "$nulls" 0 "spool holds the compact form (no null fields)"
api=$(jq -r 'select(.target=="api") | .ts' "$VT_TMP/all.jsonl" | wc -l)
like "$api" '^[1-9][0-9]*$' "new target checked after the reload ($api results)"
api_early=$(jq -r --argjson t "$t_reload" 'select(.target=="api" and .ts < $t - 1) | .ts' \
	"$VT_TMP/all.jsonl" | wc -l)
is "$api_early" 0 "new target not checked before the reload"
health=$(jq -r 'select(.name=="http") | .ok' "$VT_TMP/all.jsonl" | sort -u | tr '\n' ' ')
is "$health" "true " "health check ok throughout the reloads"

# The slow check takes 2.5 s at a 1 s interval: rounds are skipped, and the
# runs never overlap.
slow=$(jq -r 'select(.name=="slow") | "\(.ts) \(.error)"' "$VT_TMP/all.jsonl")
like "$slow" "timeout" "slow endpoint times out"
overlap=$(jq -r 'select(.name=="slow") | .ts' "$VT_TMP/all.jsonl" | sort -n |
	awk 'NR>1 && $1-p < 2.4 {n++} {p=$1} END {print n+0}')
is "$overlap" 0 "slow check runs never overlap"
like "$(cat "$VT_TMP/probe.log")" "previous run still going; this round is skipped" \
	"skipped rounds are logged"
like "$(cat "$VT_TMP/probe.log")" "[1-9][0-9]* skipped \\([1-9][0-9]* still running when due" \
	"skipped rounds are counted in the statistics"
like "$(cat "$VT_TMP/probe.log")" "lateness p50 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms" \
	"scheduling lateness is measured"
tap_done
