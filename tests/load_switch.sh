#!/bin/bash
# SPDX-License-Identifier: MIT
# The load check (issue 16) against real servers, end to end: two nginx
# (old and new, each its own instance with stub_status, so each address has
# its own counter) behind a real dnsmasq (TTL 2 s), and a Prometheus text
# endpoint that counts the requests it serves; simulated users
# (tests/lib/load_clients.py: real HTTP, each client with a TTL-respecting
# DNS cache) and a fixed-rate client send the traffic; one probe runs a
# load check on every address and uploads to a real collector.
#   - the stored rates add up to the requests the clients sent (within 5 %)
#   - restarts (prometheus endpoint under load, old nginx) are not spikes
#   - after the DNS switch the stored traffic on the old address falls under
#     10 % within the time the clients' TTL implies (TTL + probe interval +
#     RRD step, plus 1 s of slack)
#   - a status page that does not parse is an error naming the line
#   - vantage-graph draws the traffic view; the service page shows it and
#     says how much traffic is still on the old servers
. "$top_srcdir/tests/lib/servers.sh"
vt_require probe nginx dnsmasq jq python3 rrdtool
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
[ -x "${VANTAGE_GRAPH:-}" ] || { echo "1..0 # SKIP no vantage-graph"; exit 0; }
unset RRDCACHED_ADDRESS
vt_setup
tap_plan 16

TTL=2
OLD=127.0.0.21 NEW=127.0.0.22 PROM=127.0.0.23
# One dnsmasq (vt_dns_start's main resolver alone: the others answer
# names this test does not ask), www's first answer in its hosts file.
mkdir -p "$VT_TMP/dns"
VT_DNS_HOSTS=$VT_TMP/dns/hosts
echo "$OLD www.example.test" >"$VT_DNS_HOSTS"
VT_DNS_PORT=$(vt_free_port) || bail "no port"
_vt_dnsmasq main "$VT_DNS_PORT" --addn-hosts="$VT_DNS_HOSTS" \
	--local=/example.test/ --local-ttl="$TTL" --no-negcache
VT_DNS_PID=$_VT_LAST_PID
export VT_DNS_HOSTS VT_DNS_PORT VT_DNS_PID
nport=$(vt_free_port) || bail "no port"
cport=$(vt_free_port) || bail "no port"

# load_nginx NAME IP: one nginx for one address, stub_status at
# /nginx_status, "hi" everywhere else.
declare -A NGPID
load_nginx() {
	local n=$1 ip=$2 d=$VT_TMP/ng-$1 m temps=
	mkdir -p "$d/logs" "$d/tmp"
	for m in client_body proxy fastcgi uwsgi scgi; do
		case $m in client_body) ;; *)
			nginx -V 2>&1 | grep -q -- "--without-http_${m}_module" && continue ;;
		esac
		temps="$temps ${m}_temp_path $d/tmp/$m;"
	done
	cat >"$d/nginx.conf" <<EOF
pid $d/nginx.pid;
error_log $d/logs/error.log notice;
worker_processes 1;
events { worker_connections 1024; }
http { access_log off; $temps
  server { listen $ip:$nport; server_name _;
    location = /nginx_status { stub_status; }
    location / { return 200 "hi"; } } }
EOF
	nginx -e "$d/logs/error.log" -p "$d/" -c "$d/nginx.conf" \
		-g 'daemon off; master_process off;' </dev/null >>"$d/logs/stderr.log" 2>&1 &
	NGPID[$n]=$!
	vt_track "${NGPID[$n]}"
	for _ in $(seq 1 100); do
		_vt_tcp_open "$ip" "$nport" && return 0
		sleep 0.05
	done
	bail "nginx $n did not come up on $ip:$nport"
}
load_nginx_stop() {
	_vt_stop_pids "${NGPID[$1]}"
	_vt_untrack "${NGPID[$1]}"
}

prom_start() {
	rm -f "$VT_TMP/prom.port"
	"$VT_PYTHON" "$top_srcdir/tests/lib/prom_counter.py" --listen "$PROM" \
		--port "${pport:-0}" --port-file "$VT_TMP/prom.port" --lifetime 60 \
		</dev/null >>"$VT_TMP/prom.log" 2>&1 &
	PROM_PID=$!
	vt_track "$PROM_PID"
	for _ in $(seq 1 100); do
		[ -s "$VT_TMP/prom.port" ] && pport=$(cat "$VT_TMP/prom.port") && return 0
		sleep 0.05
	done
	bail "prom_counter did not start"
}

load_nginx old "$OLD"
load_nginx new "$NEW"
prom_start

# ---- the run -------------------------------------------------------------------
data=$VT_TMP/data
cat >"$VT_TMP/collector.cfg" <<CFG
collector = { listen = "127.0.0.1:$cport"; data_dir = "$data"; };
storage = { step = 1; heartbeat = 3; rra = [ "RRA:AVERAGE:0.5:1:3600" ]; };
quorum = { quorum = 1; confirm = 2; silence = 30.0; };
probes = ( { name = "p1"; key_file = "$(vt_key p1)"; } );
status = { output_dir = "$VT_TMP/status"; interval = 3600; title = "load"; };
CFG
cat >"$VT_TMP/p1.cfg" <<CFG
probe = { name = "p1"; spool_dir = "$VT_TMP/spool"; fsync = "never"; };
collector = { url = "http://127.0.0.1:$cport"; key_file = "$(vt_key p1)"; timeout = 2.0; };
defaults = { interval = 1.0; timeout = 0.8; resolvers = [ "127.0.0.1:$VT_DNS_PORT" ];
             keep_gone = 600.0; };
targets = (
  { name = "www"; host = "www.example.test";
    # both servers' counters read from the start: an address's first read
    # gives no rate, and the new servers' traffic must count from its first
    # request
    ips = [ "$OLD", "$NEW" ];
    checks = ( { type = "dns"; },
               { type = "load"; format = "nginx";
                 url = "http://www.example.test:$nport/nginx_status"; } ); },
  { name = "prom"; host = "prom.example.test"; ips = [ "$PROM" ];
    checks = ( { type = "load"; format = "prometheus"; field = "vt_requests_total";
                 labels = [ "code=200" ]; url = "http://prom.example.test:$pport/metrics"; } ); }
);
CFG
vt_collector_start "$VT_TMP/collector.cfg" "$cport" || bail "collector did not start"
"$VANTAGE_PROBE" -c "$VT_TMP/p1.cfg" </dev/null >>"$VT_TMP/p1.log" 2>&1 &
PROBE_PID=$!
vt_track "$PROBE_PID"
t_warm=$(date +%s.%N)
# ---- a status page that does not parse: an error naming the line ----------------
vt_probe_cfg "$VT_TMP/once.cfg" 2.0 "127.0.0.1:$VT_DNS_PORT" \
	"{ name = \"prom\"; host = \"prom.example.test\"; ips = [ \"$PROM\" ]; checks = (
	  { type = \"load\"; name = \"html\"; format = \"prometheus\"; field = \"vt_requests_total\";
	    url = \"http://prom.example.test:$pport/garbage\"; },
	  { type = \"load\"; name = \"nan\"; format = \"prometheus\"; field = \"vt_requests_total\";
	    labels = [ \"code=200\" ]; url = \"http://prom.example.test:$pport/badvalue\"; },
	  { type = \"load\"; name = \"stub\"; format = \"nginx\";
	    url = \"http://prom.example.test:$pport/metrics\"; } ); }"
vt_probe_once "$VT_TMP/once.cfg" || diag "$(cat "$VT_ERR")"
is "$(vt_jq 'select(.name == "html") | .error + " " + .detail')" \
	'"body_mismatch line 1: not a Prometheus text sample: \"<!DOCTYPE html>\""' \
	"an HTML page instead of the text format: body_mismatch naming line 1"
is "$(vt_jq 'select(.name == "nan") | .detail')" '"line 3: vt_requests_total is NaN"' \
	"a NaN sample: the error names line 3"
is "$(vt_jq 'select(.name == "stub") | .detail')" \
	'"line 1: not nginx stub_status: \"# HELP vt_requests_total Requests served...\""' \
	"Prometheus text read as stub_status: the error names line 1"

# the first samples: a counter's first read has no rate, and the first
# rounds start anywhere within the first interval
sleep "$("$VT_PYTHON" -c 'import sys, time; print(max(0.0, 2.2 - (time.time() - float(sys.argv[1]))))' "$t_warm")"

t_start=$(date +%s)
"$VT_PYTHON" "$top_srcdir/tests/lib/load_clients.py" --host www.example.test \
	--port "$nport" --dns "127.0.0.1:$VT_DNS_PORT" --clients 20 --rate 10 \
	--duration 4.5 --max-requests 4000 --log "$VT_TMP/clients.log" \
	>"$VT_TMP/clients.json" 2>"$VT_TMP/clients.err" &
CLIENTS_PID=$!
vt_track "$CLIENTS_PID"
"$VT_PYTHON" "$top_srcdir/tests/lib/load_clients.py" \
	--url "http://$PROM:$pport/count" --rate 50 --duration 4 \
	>"$VT_TMP/prom_clients.json" 2>"$VT_TMP/prom_clients.err" &
PCLIENTS_PID=$!
vt_track "$PCLIENTS_PID"
# 1.5 s of traffic on the old server from the clients' first request
# (a loaded machine may take a while to start them).
for _ in $(seq 1 100); do [ -s "$VT_TMP/clients.log" ] && break; sleep 0.05; done
sleep 1.5
t_switch=$(date +%s.%N)
vt_dns_set www.example.test "$NEW"
sleep 0.8
# The Prometheus endpoint restarts under load: its counter starts at 0.
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null; _vt_untrack "$PROM_PID"
prom_start
t_prom_restart=$(date +%s)
sleep 0.8
wait "$CLIENTS_PID" "$PCLIENTS_PID"
_vt_untrack "$CLIENTS_PID"
_vt_untrack "$PCLIENTS_PID"
# The old nginx restarts (its counter starts again at 0) once the clients
# are done: a restart loses what it counted after the probe's last read,
# which the sum above could not account for on a slow machine (the
# Prometheus endpoint's restart under load is accounted exactly).
t_old_restart=$(date +%s)
load_nginx_stop old
load_nginx old "$OLD"
sleep 1.3 # the last samples
t_end=$(date +%s)
kill -TERM "$PROBE_PID"; wait "$PROBE_PID" 2>/dev/null; _vt_untrack "$PROBE_PID"
diag "clients: $(cat "$VT_TMP/clients.json"); prometheus client: $(cat "$VT_TMP/prom_clients.json")"

# rows FILE: "TS LOAD" per known row of the load data source.
rows() {
	rrdtool fetch "$1" AVERAGE -r 1 -s "$((t_start - 2))" -e "$t_end" |
		awk 'NR > 2 && $0 ~ /^[0-9]+:/ { sub(":", "", $1); if (tolower($3) !~ /nan/) printf "%d %.6f\n", $1, $3 }'
}
old_rrd=$data/rrd/www/load/$OLD/p1.rrd
new_rrd=$data/rrd/www/load/$NEW/p1.rrd
prom_rrd=$data/rrd/prom/load/$PROM/p1.rrd
for f in "$old_rrd" "$new_rrd" "$prom_rrd"; do
	[ -f "$f" ] || { diag "no $f"; diag "$(find "$data" -name '*.rrd')"; diag "$(tail -n 20 "$VT_TMP/collector.log")"; }
done
rows "$old_rrd" >"$VT_TMP/old.rows"
rows "$new_rrd" >"$VT_TMP/new.rows"
rows "$prom_rrd" >"$VT_TMP/prom.rows"

sent=$(jq '.sent' "$VT_TMP/clients.json")
psent=$(jq '.sent' "$VT_TMP/prom_clients.json")
stored=$(cat "$VT_TMP/old.rows" "$VT_TMP/new.rows" | awk '{ s += $2 } END { printf "%.0f", s }')
pstored=$(awk '{ s += $2 } END { printf "%.0f", s }' "$VT_TMP/prom.rows")
# nginx also counts the probe's own reads (one per second per address) and
# the clients' requests still in flight at the restart.
probe_reads=$(( (t_end - t_start + 2) * 2 ))
check "stored nginx traffic $stored req ~ $sent sent by the clients (+ <= $probe_reads probe reads), within 5 %" \
	"$VT_PYTHON" -c "import sys; s, n, p = map(float, sys.argv[1:]); sys.exit(0 if abs(s - n) <= 0.05 * n + p else 1)" \
	"$stored" "$sent" "$probe_reads"
# The restart lost what the first server counted after the probe's last
# read (it logged both).
# When a read failed during the restart, the probe starts afresh: the new
# server's count at its first read (B) has no rate either; when none
# failed, the decrease shows the restart and B is counted. Either is right.
lost=$(awk '$1 == "read" && !d { r = $2 } $1 == "final" { f = $2 - r; d = 1; next }
	d && $1 == "read" { print f; exit }' "$VT_TMP/prom.log")
first=$(awk '$1 == "final" { d = 1; next } d && $1 == "read" { print $2; exit }' "$VT_TMP/prom.log")
check "stored Prometheus traffic $pstored ~ $psent sent - $lost counted after the last read before the restart (within 5 %)" \
	"$VT_PYTHON" -c "import sys; s, n, l, b = map(float, sys.argv[1:]); sys.exit(0 if min(abs(s - (n - l)), abs(s - (n - l - b))) <= 0.05 * (n - l) else 1)" \
	"$pstored" "$psent" "${lost:-0}" "${first:-0}"

pmax=$(awk '{ if ($2 > m) m = $2 } END { printf "%.1f", m }' "$VT_TMP/prom.rows")
pmin=$(awk 'BEGIN { m = 1e9 } { if ($2 < m) m = $2 } END { printf "%.1f", m }' "$VT_TMP/prom.rows")
check "Prometheus restart under 50 req/s: no spike (max $pmax/s) and nothing negative (min $pmin/s)" \
	awk -v a="$pmax" -v b="$pmin" 'BEGIN { exit !(a <= 50 * 1.3 && b >= 0) }'
like "$(cat "$VT_TMP/p1.log")" "load: prom/load \\[$PROM\\]: counter went down|prom/load load prom.example.test \\[$PROM\\]:[0-9]+: connect_refused" \
	"the probe saw the Prometheus restart (a decrease, or a failed read)"
before=$(awk -v t="$t_old_restart" '$1 < t { if ($2 > m) m = $2 } END { printf "%.1f", m }' "$VT_TMP/old.rows")
after=$(awk -v t="$t_old_restart" '$1 > t { if ($2 > m) m = $2 } END { printf "%.1f", m + 0 }' "$VT_TMP/old.rows")
check "old nginx restarted: no spike (max $after/s after, $before/s before)" \
	awk -v a="$after" -v b="$before" 'BEGIN { exit !(a <= b && b > 50) }'
like "$(cat "$VT_TMP/p1.log")" "load: www/load \\[$OLD\\]: counter went down|www/load load www.example.test \\[$OLD\\]:[0-9]+: connect_refused" \
	"the probe saw the nginx restart (a decrease, or a failed read)"

# ---- the switch: old traffic under 10 % within TTL + interval + step + 1 s --------
moved=$("$VT_PYTHON" - "$VT_TMP/old.rows" "$VT_TMP/new.rows" "$t_switch" <<'PY'
import sys
old = dict((int(a), float(b)) for a, b in (l.split() for l in open(sys.argv[1])))
new = dict((int(a), float(b)) for a, b in (l.split() for l in open(sys.argv[2])))
t_sw = float(sys.argv[3])
ts = sorted(t for t in set(old) | set(new) if t > t_sw)
# the first row from which on the old share stays under 10 %
# (rows with almost no traffic at all, the clients' end, are left out)
moved = None
for t in ts:
    o, n = old.get(t, 0.0), new.get(t, 0.0)
    if o + n < 20:
        continue
    share = o / (o + n)
    if share < 0.10:
        moved = moved or t
    else:
        moved = None
print('%.1f' % (moved - t_sw) if moved else 'never')
PY
)
diag "old share under 10 % from $moved s after the switch (TTL $TTL s)"
check "stored traffic on the old address under 10 % within $((TTL + 3)) s of the switch ($moved s)" \
	awk -v m="$moved" -v lim="$((TTL + 3))" 'BEGIN { exit !(m != "never" && m + 0 <= lim) }'
share_before=$("$VT_PYTHON" - "$VT_TMP/old.rows" "$VT_TMP/new.rows" "$t_switch" <<'PY'
import sys
old = dict((int(a), float(b)) for a, b in (l.split() for l in open(sys.argv[1])))
new = dict((int(a), float(b)) for a, b in (l.split() for l in open(sys.argv[2])))
t_sw = float(sys.argv[3])
# rows before the switch with the clients' traffic (not only probe reads)
rows = [(old.get(t, 0.0), new.get(t, 0.0)) for t in set(old) | set(new) if t <= t_sw]
rows = [(o, n) for o, n in rows if o + n >= 20]
o = sum(r[0] for r in rows)
n = sum(r[1] for r in rows)
print('%.0f' % (100 * o / (o + n)) if rows else 0)
PY
)
check "before the switch the traffic was on the old address ($share_before %)" test "$share_before" -ge 95

# ---- graphs and the service page -----------------------------------------------
vt_collector_stop
# In the sanitizer build: librrd 1.7.2's rrd_graph_v leaks a few vasprintf
# strings of this graph; lsan.supp suppresses librrd.so, which LSan sees
# only with the slow unwinder (librrd has no frame pointers).
LSAN_OPTIONS="${LSAN_OPTIONS:-}${LSAN_OPTIONS:+:}fast_unwind_on_malloc=0" \
	"$VANTAGE_GRAPH" -c "$VT_TMP/collector.cfg" graph --kind traffic --target www \
	--start "$((t_start - 2))" --end "$t_end" -o "$VT_TMP/traffic.svg" >"$VT_TMP/graph.out" 2>&1
rc=$?
is "$rc" 0 "vantage-graph draws the traffic view"
like "$(cat "$VT_TMP/traffic.svg" 2>/dev/null)" "DNS answer changed" \
	"the traffic view marks the DNS switch"
"$VANTAGE_GRAPH" -c "$VT_TMP/collector.cfg" status-page -o "$VT_TMP/status" \
	>"$VT_TMP/status.out" 2>&1 || diag "$(tail -n 5 "$VT_TMP/status.out")"
like "$(cat "$VT_TMP/status/services/www.html" 2>/dev/null)" \
	'Still on old servers: <strong>[0-9]+ %</strong>' \
	"the service page says how much traffic is still on the old servers"
like "$(cat "$VT_TMP/status/services/www.html" 2>/dev/null)" \
	'<img src="\.\./graphs/www-traffic-3h\.png"[^>]* alt="Traffic graph of www' \
	"the service page shows the traffic graph (3 hours)"
check "the traffic graph was drawn: graphs/www-traffic-3h.png" \
	test -s "$VT_TMP/status/graphs/www-traffic-3h.png"
tap_done
