#!/bin/bash
# SPDX-License-Identifier: MIT
# Targets fetched from the collector: a probe whose file has only probe,
# collector and defaults gets its targets from GET /v1/targets (signed),
# checks them and uploads the results; picks up a changed targets_file; keeps
# checking the old targets when a broken text is served (reported once,
# with the fetched file and line); restarts from the saved targets while the
# collector is down; --once fetches them too. A forged request gets 401.
. "$top_srcdir/tests/lib/servers.sh"
vt_require probe nginx dnsmasq jq python3
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
vt_setup
vt_nginx_start 127.0.0.11
vt_dns_start
vt_dns_set www.example.test 127.0.0.11
vt_dns_set api.example.test 127.0.0.11

port=$(vt_free_port)
data=$VT_TMP/data
served=$VT_TMP/served-targets.cfg
db=$data/events.sqlite
url=http://127.0.0.1:$port
key=$(vt_key f1)
cat >"$VT_TMP/collector.cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$data";
              targets_file = "$served"; };
storage = { step = 1; heartbeat = 3; rra = [ "RRA:AVERAGE:0.5:1:600" ]; };
quorum = { quorum = 1; confirm = 1; silence = 30.0; };
probes = ( { name = "f1"; key_file = "$key"; } );
CFG
tcp_target() {
	echo "{ name = \"$1\"; host = \"$1.example.test\";
    checks = ( { type = \"tcp\"; port = $VT_HTTP_PORT; } ); }"
}
echo "targets = ( $(tcp_target www) );" >"$served"

cfg=$VT_TMP/probe.cfg
cat >"$cfg" <<CFG
probe = { name = "f1"; spool_dir = "$VT_TMP/spool"; };
collector = { url = "$url"; key_file = "$key"; timeout = 2.0;
              targets_interval = 2.0; };
defaults = { interval = 1.0; timeout = 0.8;
             resolvers = [ "127.0.0.1:$VT_DNS_PORT" ]; };
CFG

log=$VT_TMP/probe.log
# wait_for SECONDS CMD...: true as soon as CMD succeeds, polled 5 times a
# second.
wait_for() {
	local n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}
in_log() { grep -qE -- "$1" "$log"; }
# Results the collector stored for a target of probe f1.
results() {
	vt_sql "$db" "select coalesce(sum(results), 0) from series
		where probe = 'f1' and target = '$1'" 2>/dev/null || echo 0
}
has_results() { [ "$(results "$1")" -gt "${2:-0}" ]; }
start_probe() {
	"$VANTAGE_PROBE" -c "$cfg" </dev/null >>"$log" 2>&1 &
	probe_pid=$!
	vt_track "$probe_pid"
}
stop_probe() {
	kill -TERM "$probe_pid"
	wait "$probe_pid"
}

# --check validates the file alone.
rc=0
out=$("$VANTAGE_PROBE" --check -c "$cfg" 2>&1) || rc=$?
is "$rc" 0 "--check without targets: exit 0"
like "$out" "no targets of its own: they are fetched from $url" \
	"--check says the targets come from the collector"

vt_collector_start "$VT_TMP/collector.cfg" "$port" || bail "collector did not start"
start_probe
check "the daemon fetches its targets" wait_for 5 in_log "got targets: 1 target: www"
like "$(cat "$log")" "waiting for targets from $url" \
	"without saved targets it waits for the collector"
check "results for the fetched target reach the collector" \
	wait_for 8 has_results www

# The collector's end: a forged or unknown signer is refused.
forged=$VT_TMP/keys/forged.key
head -c 32 /dev/urandom | base64 >"$forged"
out=$("$VT_PYTHON" "$top_srcdir/tests/lib/vt_send.py" "$url" f1 "$forged" 0 --get)
like "$out" '^401 .*bad signature' "a fetch signed with a wrong key: 401"
out=$("$VT_PYTHON" "$top_srcdir/tests/lib/vt_send.py" "$url" nobody "$key" 0 --get)
like "$out" '^401 .*unknown probe' "a fetch by an unknown probe: 401"

# --once fetches synchronously, then checks (the daemon holds the spool:
# --once does not touch it).
rc=0
vt_probe_once "$cfg" || rc=$?
is "$rc" 0 "--once without local targets: exit 0"
is "$(vt_jq -r 'select(.check == "tcp" and .ok) | .target' | sort -u)" www \
	"--once checked the fetched target"

# The collector's targets change: the probe follows within its interval.
echo "targets = ( $(tcp_target www), $(tcp_target api) );" >"$served"
kill -HUP "$VT_COLLECTOR_PID"
check "the probe picks up changed targets" \
	wait_for 6 in_log "targets changed: 2 targets: www, api"
check "results for the new target arrive" wait_for 8 has_results api
like "$(cat "$log")" "reloaded: 2 targets, 2 checks" "applied like a SIGHUP reload"
# SIGHUP reloads the file with the saved targets (and asks again at once).
kill -HUP "$probe_pid"
reloaded_twice() { [ "$(grep -c "reloaded: 2 targets, 2 checks" "$log")" -ge 2 ]; }
check "SIGHUP keeps the fetched targets" wait_for 3 reloaded_twice

# A broken text: reported once with the saved file and line; the running
# targets stay.
printf 'targets = (\n  { name = "www"; host = ; }\n);\n' >"$served"
kill -HUP "$VT_COLLECTOR_PID"
check "a broken text is rejected naming the fetched file and line" \
	wait_for 6 in_log "$VT_TMP/spool/targets.cfg.new:2: syntax error"
before=$(results api)
sleep 4.5
n=$(grep -c "new targets rejected" "$log")
is "$n" 1 "the broken text is reported once, not at every fetch"
check "the previous targets keep being checked" has_results api "$before"
check "the probe is still running" kill -0 "$probe_pid"

# The collector must not redirect the probe.
printf 'collector = { url = "http://127.0.0.1:1"; key_file = "x"; };\n%s\n' \
	"targets = ( $(tcp_target www) );" >"$served"
kill -HUP "$VT_COLLECTOR_PID"
sleep 0.3
rc=0
vt_probe_once "$cfg" || rc=$?
is "$rc" 1 "--once with a collector group served: exit 1"
like "$(cat "$VT_ERR")" "$url/v1/targets:1: collector: not allowed in targets fetched" \
	"a collector group in the fetched text is an error"
# Nor make the probe read its own files.
printf '# served\n  @include "%s"\n' "$cfg" >"$served"
kill -HUP "$VT_COLLECTOR_PID"
sleep 0.3
rc=0
vt_probe_once "$cfg" || rc=$?
is "$rc" 1 "--once with @include served: exit 1"
like "$(cat "$VT_ERR")" "$url/v1/targets:2: @include is not allowed" \
	"@include in the fetched text is refused"

# The collector goes away; a restarted probe checks its saved targets at
# once.
vt_collector_stop
rc=0
vt_probe_once "$cfg" || rc=$?
is "$rc" 1 "--once without targets and without the collector: exit 1"
like "$(cat "$VT_ERR")" "has no targets and none could be fetched from $url" \
	"--once says why"
rc=0
stop_probe || rc=$?
is "$rc" 0 "the probe exits 0 on SIGTERM"
log=$VT_TMP/probe2.log
t0=$(date +%s)
start_probe
check "restarted from the saved targets" \
	wait_for 3 in_log "checking the targets last fetched from $url"
spooled_since() {
	cat "$VT_TMP"/spool/seg-*.jsonl |
		jq -e --argjson t "$t0" -s "[.[] | select(.ts >= \$t and .target == \"$1\")] | length > 0"
}
check "checks run at once while the collector is down" \
	wait_for 3 spooled_since api
like "$(cat "$log")" "targets: $url/v1/targets: .*(refused|connect)" \
	"the failed fetch is logged"
rc=0
stop_probe || rc=$?
is "$rc" 0 "the restarted probe exits 0 on SIGTERM"
tap_done
