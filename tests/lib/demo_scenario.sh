# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2154 # VT_LAB_* come from netlab.sh
# demo_scenario.sh: the incident vantage was made for (docs: DESIGN.md),
# replayed in a private network lab with real servers, shared by demo.sh
# (full length) and tests/demo_e2e.sh (short).  Source it after servers.sh
# and netlab.sh, after vt_setup:
#
#   DEMO_DIR=/some/empty/folder
#   demo_setup                  lab, servers, collector, probe configs
#   demo_run STEADY FOLLOW PARTIAL SETTLE UPGRADE TAIL
#   demo_stop                   probes drain their spools, collector stops
#   demo_render                 report, graphs, status page into $DEMO_DIR
#   demo_analyze                $DEMO_DIR/facts.json (what was measured)
#   demo_teardown               stop what is left, delete the lab
#   demo_summary                the human summary (demo.sh prints it)
#
# The world (network namespaces, tests/lib/netlab.sh):
#   srv   nginx "old" on NET.11 NET.12 (instances of their own, so they
#         can be stopped and started alone), nginx "new" on NET.13
#         (servers.sh's) and NET.14 (its own): one instance per address,
#         so each address's stub_status counts its own requests; dnsmasq
#         answering www.example.test with the old addresses, TTL $DEMO_TTL
#   users $DEMO_USERS simulated users (tests/lib/load_clients.py): real
#         HTTP to www.example.test, each resolving through the lab's DNS
#         with a TTL-respecting cache, $DEMO_USER_RATE requests per second
#         each, for the whole run
#   col   vantage-collector (quorum 2 of 3, confirm 2, RRD step
#         $DEMO_STEP s), rebuilding the status page every
#         $DEMO_STATUS_INTERVAL s
#   p1 p2 p3
#         vantage-probe, each with its own spool and key; checks every
#         $DEMO_INTERVAL s: dns, tcp and http /health on every address,
#         a client view (TTL-respecting cache) of /, and a load check
#         (each address's nginx stub_status: the users' real traffic)
#
# The timeline (demo_run, durations in seconds):
#   probes start; STEADY s of normal traffic on the old addresses;
#   the DNS switch to the new addresses; FOLLOW s while clients follow as
#   their cached answers expire; p2 loses its route to NET.13 for PARTIAL s
#   (a partial event: only one vantage point sees it); SETTLE s; the old
#   nginx is stopped for UPGRADE s (the "upgrade": an outage of NET.11 and
#   NET.12 for the clients still using them) and started again; TAIL s.
# Every action's wall-clock times go to $DEMO_DIR/timeline.tsv
# ("NAME START END", Unix seconds): what the demo did, to compare with what
# vantage measured.  "upgrade" runs from the SIGTERM to the old nginx until
# both old addresses accept again; upgrade_stopped (nginx gone) and
# upgrade_restart (nginx started again) bracket the two moments the
# addresses really changed state.  Likewise "partial" runs from just before
# the route went to just after it came back; partial_lost and partial_back
# are the moments just after and just before.
#
# Variables (whole seconds): DEMO_DIR (required), DEMO_INTERVAL (1),
# DEMO_STEP (1), DEMO_TTL (10), DEMO_STATUS_INTERVAL (10); DEMO_SAY (a
# command that prints progress; default: echo "==> ...").  Set by
# demo_setup: DEMO_OLD DEMO_NEW (arrays: the address pairs), DEMO_CFG (the
# collector's configuration, which vantage-graph reads too), DEMO_DATA,
# DEMO_DB; by demo_render: DEMO_PERIOD (START..END, the run).

: "${DEMO_INTERVAL:=1}"
: "${DEMO_STEP:=1}"
: "${DEMO_TTL:=10}"
: "${DEMO_STATUS_INTERVAL:=10}"
: "${DEMO_USERS:=300}"
: "${DEMO_USER_RATE:=1}"
: "${DEMO_SAY:=_demo_say}"
DEMO_PROBES=(p1 p2 p3)
declare -A DEMO_PID

_demo_say() { echo "==> $*"; }
_demo_now() { date +%s.%N | cut -c1-14; }
# _demo_mark NAME START [END]: one line of the timeline.
_demo_mark() {
	printf '%s %s %s\n' "$1" "$2" "${3:-$2}" >>"$DEMO_DIR/timeline.tsv"
}
# demo_t NAME [start|end]: a time from the timeline.
demo_t() {
	awk -v n="$1" -v c="${2:-start}" '$1 == n { print (c == "end" ? $3 : $2); exit }' \
		"$DEMO_DIR/timeline.tsv"
}

# ---- nginx instances next to servers.sh's: one per address -------------------

# _demo_nginx_conf NAME IP: servers.sh's configuration (same locations, same
# ports, stub_status at /nginx_status) with its own pid file, logs and
# listen address IP, in $DEMO_DIR/nginx-NAME.
_demo_nginx_conf() {
	local d=$DEMO_DIR/nginx-$1 n=$VT_TMP/nginx
	mkdir -p "$d/logs"
	sed -e "s#$n/nginx.pid#$d/nginx.pid#" -e "s#$n/logs/#$d/logs/#g" \
		-e "s#${DEMO_NEW[0]//./\\.}:#$2:#g" \
		"$n/nginx.conf" >"$d/nginx.conf"
	grep -q "listen $2:" "$d/nginx.conf" ||
		bail "demo: cannot derive nginx.conf for $2"
}

# _demo_nginx_start NAME IP: start it and wait until IP accepts (bounded);
# sets DEMO_NGINX_PID[NAME].
declare -A DEMO_NGINX_PID
_demo_nginx_start() {
	local d=$DEMO_DIR/nginx-$1
	rm -f "$d/nginx.pid"
	vt_lab_spawn srv "$d/logs/stderr.log" \
		nginx -e "$d/logs/error.log" -p "$d/" -c "$d/nginx.conf" \
		-g 'daemon off; master_process off;' >/dev/null
	DEMO_NGINX_PID[$1]=$VT_LAB_LAST_PID
	for _ in $(seq 1 100); do
		_vt_alive "${DEMO_NGINX_PID[$1]}" || break
		VT_NETNS=$VT_LAB_NS_srv _vt_tcp_open "$2" "$VT_HTTP_PORT" && return 0
		sleep 0.05
	done
	diag "$(tail -n 20 "$d/logs/error.log" "$d/logs/stderr.log" 2>&1)"
	bail "demo: nginx $1 did not come up on $2"
}

# The old servers: one instance per old address, started and stopped
# together.
_demo_old_conf() {
	_demo_nginx_conf old-a "${DEMO_OLD[0]}"
	_demo_nginx_conf old-b "${DEMO_OLD[1]}"
}

_demo_old_start() {
	_demo_nginx_start old-a "${DEMO_OLD[0]}"
	_demo_nginx_start old-b "${DEMO_OLD[1]}"
	DEMO_OLD_PID="${DEMO_NGINX_PID[old-a]} ${DEMO_NGINX_PID[old-b]}"
}

_demo_old_stop() {
	local p
	# shellcheck disable=SC2086 # two PIDs
	_vt_stop_pids $DEMO_OLD_PID
	for p in $DEMO_OLD_PID; do _vt_untrack "$p"; done
	DEMO_OLD_PID=
}

# ---- set-up ---------------------------------------------------------------------

_demo_key() {
	mkdir -p "$DEMO_DIR/keys"
	local f=$DEMO_DIR/keys/$1.key
	[ -s "$f" ] || head -c 32 /dev/urandom | base64 >"$f"
	echo "$f"
}

demo_setup() {
	[ -n "${DEMO_DIR:-}" ] || bail "demo_setup: DEMO_DIR is not set"
	mkdir -p "$DEMO_DIR/logs" || bail "demo: cannot create $DEMO_DIR"
	: >"$DEMO_DIR/timeline.tsv"
	"$DEMO_SAY" "network lab: namespaces srv (web + DNS), col (collector), p1 p2 p3 (probes)"
	vt_lab_start srv col p1 p2 p3 users
	DEMO_OLD=("$VT_LAB_NET.11" "$VT_LAB_NET.12")
	DEMO_NEW=("$VT_LAB_NET.13" "$VT_LAB_NET.14")
	export DEMO_OLD DEMO_NEW
	vt_lab_addr srv "${DEMO_OLD[@]}" "${DEMO_NEW[@]}"

	"$DEMO_SAY" "nginx: old servers on ${DEMO_OLD[*]}, new servers on ${DEMO_NEW[*]}"
	VT_NETNS=$VT_LAB_NS_srv vt_nginx_start "${DEMO_NEW[0]}"
	_demo_nginx_conf new-b "${DEMO_NEW[1]}"
	_demo_nginx_start new-b "${DEMO_NEW[1]}"
	_demo_old_conf
	_demo_old_start
	"$DEMO_SAY" "dnsmasq: www.example.test -> ${DEMO_OLD[*]} (TTL ${DEMO_TTL} s)"
	VT_DNS_TTL=$DEMO_TTL VT_NETNS=$VT_LAB_NS_srv VT_DNS_LISTEN=$VT_LAB_IP_srv vt_dns_start
	vt_dns_set www.example.test "${DEMO_OLD[@]}"

	local port p
	port=$(vt_free_port) || bail "no port"
	DEMO_DATA=$DEMO_DIR/data
	DEMO_DB=$DEMO_DATA/events.sqlite
	DEMO_CFG=$DEMO_DIR/collector.cfg
	export DEMO_DATA DEMO_DB DEMO_CFG
	cat >"$DEMO_CFG" <<CFG
# Written by tests/lib/demo_scenario.sh. Time is compressed: RRD step
# $DEMO_STEP s, probes every $DEMO_INTERVAL s. vantage-graph reads this file too:
#   vantage-graph -c $DEMO_CFG report --period day
collector = { listen = "$VT_LAB_IP_col:$port"; data_dir = "data"; };
storage = { step = $DEMO_STEP; heartbeat = $((3 * DEMO_STEP));
  # 30 min of 1 s rows (the run), 3 h of 10 s rows and 1 day of 1 min rows
  # (the status page's graphs), 0.7 MB per file
  rra = [ "RRA:AVERAGE:0.5:1:1800", "RRA:MIN:0.5:1:1800", "RRA:MAX:0.5:1:1800",
          "RRA:AVERAGE:0.5:10:1080", "RRA:MIN:0.5:10:1080", "RRA:MAX:0.5:10:1080",
          "RRA:AVERAGE:0.5:60:1440", "RRA:MIN:0.5:60:1440", "RRA:MAX:0.5:60:1440" ]; };
quorum = { quorum = 2; confirm = 2; silence = 30.0; };
probes = ( { name = "p1"; key_file = "keys/p1.key"; },
           { name = "p2"; key_file = "keys/p2.key"; },
           { name = "p3"; key_file = "keys/p3.key"; } );
status = { output_dir = "status"; interval = $DEMO_STATUS_INTERVAL;
  title = "vantage demo: www.example.test"; };
CFG
	for p in "${DEMO_PROBES[@]}"; do
		_demo_key "$p" >/dev/null
		mkdir -p "$DEMO_DIR/$p"
		cat >"$DEMO_DIR/$p/probe.cfg" <<CFG
# Written by tests/lib/demo_scenario.sh: vantage point $p.
probe = { name = "$p"; spool_dir = "$DEMO_DIR/$p/spool"; };
collector = { url = "http://$VT_LAB_IP_col:$port"; key_file = "../keys/$p.key";
              timeout = 2.0; };
defaults = { interval = $DEMO_INTERVAL.0; timeout = 0.5;
             resolvers = [ "$VT_LAB_IP_srv:$VT_DNS_PORT" ]; keep_gone = 600.0; };
targets = (
  { name = "www"; host = "www.example.test";
    checks = (
      { type = "dns"; },
      { type = "tcp"; port = $VT_HTTP_PORT; },
      { type = "http"; url = "http://www.example.test:$VT_HTTP_PORT/health";
        body = "ok"; },
      { type = "client"; url = "http://www.example.test:$VT_HTTP_PORT/";
        body = "hello from"; },
      { type = "load"; format = "nginx";
        url = "http://www.example.test:$VT_HTTP_PORT/nginx_status"; }
    ); }
);
CFG
		"$VANTAGE_PROBE" --check -c "$DEMO_DIR/$p/probe.cfg" >"$DEMO_DIR/logs/$p.check" 2>&1 || {
			diag "$(cat "$DEMO_DIR/logs/$p.check")"
			bail "demo: probe configuration $p is invalid"
		}
	done
	"$DEMO_SAY" "collector on $VT_LAB_IP_col:$port (quorum 2 of 3 probes, RRD step ${DEMO_STEP} s)"
	VT_NETNS=$VT_LAB_NS_col vt_collector_start "$DEMO_CFG" "$port" "$VT_LAB_IP_col" ||
		bail "demo: the collector did not start"
	DEMO_COLLECTOR_PID=$VT_COLLECTOR_PID
	cp "$VT_TMP/collector.log" "$DEMO_DIR/logs/collector.log" 2>/dev/null
}

# The simulated users, bounded by the whole run's length (plus a margin)
# and a request count; demo_stop ends them (SIGTERM) and keeps their
# summary (one JSON line) at the end of $DEMO_DIR/logs/users.log.
demo_start_users() {
	local secs=$1
	[ "$DEMO_USERS" -gt 0 ] || return 0
	"$DEMO_SAY" "$DEMO_USERS simulated users: real HTTP to www.example.test, each with a TTL-respecting DNS cache, ${DEMO_USER_RATE}/s each"
	vt_lab_spawn users "$DEMO_DIR/logs/users.log" \
		"$VT_PYTHON" "$top_srcdir/tests/lib/load_clients.py" --host www.example.test \
		--port "$VT_HTTP_PORT" --dns "$VT_LAB_IP_srv:$VT_DNS_PORT" \
		--clients "$DEMO_USERS" --rate "$DEMO_USER_RATE" --timeout 1 \
		--duration "$secs" --max-requests $((DEMO_USERS * secs * 2)) >/dev/null ||
		bail "demo: the simulated users did not start"
	DEMO_USERS_PID=$VT_LAB_LAST_PID
}

demo_start_probes() {
	local p
	"$DEMO_SAY" "probes p1 p2 p3: dns, tcp, http /health on every address, client view; every ${DEMO_INTERVAL} s"
	for p in "${DEMO_PROBES[@]}"; do
		vt_lab_spawn "$p" "$DEMO_DIR/logs/$p.log" \
			"$VANTAGE_PROBE" -c "$DEMO_DIR/$p/probe.cfg" >/dev/null ||
			bail "demo: probe $p did not start"
		DEMO_PID[$p]=$VT_LAB_LAST_PID
	done
	_demo_mark probes "$(_demo_now)"
}

# _demo_wait SECONDS WHAT: sleep, saying so; fails when a probe died.
_demo_wait() {
	local p
	[ "$1" = 0 ] && return 0
	"$DEMO_SAY" "  ... ${1} s: $2"
	sleep "$1"
	for p in "${DEMO_PROBES[@]}"; do
		_vt_alive "${DEMO_PID[$p]}" || {
			diag "$(tail -n 20 "$DEMO_DIR/logs/$p.log")"
			bail "demo: probe $p exited"
		}
	done
	_vt_alive "$DEMO_COLLECTOR_PID" || bail "demo: the collector exited"
}

demo_run() {
	local steady=$1 follow=$2 partial=$3 settle=$4 upgrade=$5 tail=$6 t0 t1
	demo_start_users $((steady + follow + partial + settle + upgrade + tail + 60))
	demo_start_probes
	_demo_wait "$steady" "steady: every client on the old servers"

	"$DEMO_SAY" "DNS switch: www.example.test -> ${DEMO_NEW[*]}"
	t0=$(_demo_now)
	vt_dns_set www.example.test "${DEMO_NEW[@]}"
	_demo_mark switch "$t0" "$(_demo_now)"
	_demo_wait "$follow" "clients follow as their cached answers (TTL ${DEMO_TTL} s) expire"

	"$DEMO_SAY" "routing error: p2 loses its route to ${DEMO_NEW[0]} (only p2)"
	t0=$(_demo_now)
	vt_lab_route_loss p2 "${DEMO_NEW[0]}" drop
	_demo_mark partial_lost "$(_demo_now)"
	_demo_wait "$partial" "p2 cannot reach ${DEMO_NEW[0]}; p1 and p3 can"
	_demo_mark partial_back "$(_demo_now)"
	vt_lab_route_back p2 "${DEMO_NEW[0]}"
	t1=$(_demo_now)
	_demo_mark partial "$t0" "$t1"
	"$DEMO_SAY" "p2's route to ${DEMO_NEW[0]} is back"
	_demo_wait "$settle" "steady on the new servers"

	"$DEMO_SAY" "upgrade: old servers ${DEMO_OLD[*]} stopped"
	t0=$(_demo_now)
	_demo_old_stop
	_demo_mark upgrade_stopped "$(_demo_now)"
	_demo_wait "$upgrade" "old servers down"
	_demo_mark upgrade_restart "$(_demo_now)"
	_demo_old_start
	t1=$(_demo_now)
	_demo_mark upgrade "$t0" "$t1"
	"$DEMO_SAY" "upgrade done: old servers answer again"
	_demo_wait "$tail" "steady"
	_demo_mark end "$(_demo_now)"
}

# _demo_term PID: SIGTERM, up to 10 s to exit, then _vt_stop_pids (KILL
# only if still there); no longer tracked.
_demo_term() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 100); do
		_vt_alive "$1" || break
		sleep 0.1
	done
	_vt_stop_pids "$1"
	_vt_untrack "$1"
}

# Stop the probes (SIGTERM: they finish their checks and send what their
# spool holds), the simulated users, then the collector; every wait
# bounded.
demo_stop() {
	local p alive pids=()
	"$DEMO_SAY" "stopping the probes (they send what their spools still hold) and the collector"
	for p in "${DEMO_PROBES[@]}"; do
		[ -n "${DEMO_PID[$p]:-}" ] || continue
		kill -TERM "${DEMO_PID[$p]}" 2>/dev/null
		pids+=("${DEMO_PID[$p]}")
	done
	for _ in $(seq 1 100); do
		alive=0
		for p in "${pids[@]}"; do _vt_alive "$p" && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	_vt_stop_pids "${pids[@]}" # reaps them (KILL only if still there)
	for p in "${pids[@]}"; do _vt_untrack "$p"; done
	if [ -n "${DEMO_USERS_PID:-}" ]; then
		_demo_term "$DEMO_USERS_PID" # they print their summary
		DEMO_USERS_PID=
	fi
	if [ -n "${DEMO_COLLECTOR_PID:-}" ]; then
		_demo_term "$DEMO_COLLECTOR_PID"
		DEMO_COLLECTOR_PID=
		VT_COLLECTOR_PID=
	fi
	cp "$VT_TMP/collector.log" "$DEMO_DIR/logs/collector.log" 2>/dev/null
	return 0
}

# demo_teardown: stop every process left (servers, DNS; whatever is still
# in a lab namespace) and delete the lab; DEMO_LEFT = how many of the
# processes the scenario started are still alive (0).  Not in $(...): the
# processes are this shell's children.
demo_teardown() {
	local p
	vt_lab_stop >/dev/null
	# shellcheck disable=SC2034 # servers.sh's state: those are gone
	VT_NGINX_PID='' VT_DNS_PID='' DEMO_OLD_PID=''
	DEMO_LEFT=0
	# shellcheck disable=SC2013 # one PID per line
	for p in $(sort -u "$VT_TMP/pids" 2>/dev/null); do
		_vt_alive "$p" && DEMO_LEFT=$((DEMO_LEFT + 1))
	done
}

# ---- outputs ------------------------------------------------------------------

_demo_g() { "$VANTAGE_GRAPH" -c "$DEMO_CFG" "$@" >>"$DEMO_DIR/logs/graph.log" 2>&1; }

# demo_render: everything into $DEMO_DIR; the period is the run itself.
demo_render() {
	local start end rc=0 k f
	start=$(demo_t probes)
	end=$(demo_t end)
	start=${start%.*}
	end=$((${end%.*} + 1))
	DEMO_PERIOD=$start..$end
	export DEMO_PERIOD
	"$DEMO_SAY" "availability report, graphs and status page"
	_demo_g report --target www --period "$DEMO_PERIOD" --format json -o "$DEMO_DIR/report.json" || rc=1
	_demo_g report --target www --period "$DEMO_PERIOD" --format text -o "$DEMO_DIR/report.txt" || rc=1
	_demo_g report --target www --period "$DEMO_PERIOD" --format html -o "$DEMO_DIR/report.html" || rc=1
	mkdir -p "$DEMO_DIR/graphs"
	# (lsan: in a sanitizer build, librrd 1.7.2 leaks a few strings of the
	# traffic graph; lsan.supp's librrd.so entry needs the slow unwinder.)
	local lsan="${LSAN_OPTIONS:-}${LSAN_OPTIONS:+:}fast_unwind_on_malloc=0"
	for k in load-shift outage-gap traffic; do
		for f in png svg; do
			LSAN_OPTIONS=$lsan _demo_g graph --kind "$k" --target www \
				--start "$start" --end "$end" \
				--width 900 --height 260 -o "$DEMO_DIR/graphs/$k.$f" || rc=1
		done
	done
	_demo_g status-page -o "$DEMO_DIR/status" || rc=1
	return "$rc"
}

# demo_analyze: $DEMO_DIR/facts.json, what vantage stored and reported next
# to what the demo did (timeline.tsv):
#   timeline     {NAME: {start, end, duration}}
#   events       the address rows of the outages table (outage and partial)
#   dns_changes  when each probe saw the answer change to the new addresses
#   share        load-shift: per address, the mean `share` over the probes'
#                rows (rrdtool fetch; a probe's row without a value for an
#                address counts 0 for it; rows where nothing landed, a
#                failed client request, are left out), for dns answers and
#                client requests, before and after the switch (windows
#                given)
#   followed     per probe, seconds after the switch until its client view
#                first landed on a new address
#   report       the report's target figures and its addresses, outages
#                and partial events (report.json)
#   traffic      the users' real traffic from the load checks (each
#                address's own counter, mean over the probes): req/s on
#                the old and new addresses before the switch, moved90 (s
#                after the switch until 90 % of it was on the new ones and
#                stayed there until the upgrade; null when never), and the
#                users' own summary (logs/users.log)
demo_analyze() {
	"$VT_PYTHON" - "$DEMO_DIR" "${DEMO_OLD[*]}" "${DEMO_NEW[*]}" "$DEMO_INTERVAL" \
		"$DEMO_TTL" <<'PY'
import glob, json, math, os, sqlite3, subprocess, sys
d, old, new = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
interval, ttl = float(sys.argv[4]), float(sys.argv[5])
tl = {}
for line in open(os.path.join(d, 'timeline.tsv')):
    w = line.split()
    if len(w) == 3:
        tl[w[0]] = (float(w[1]), float(w[2]))
rep = json.load(open(os.path.join(d, 'report.json')))
db = sqlite3.connect('file:%s?mode=ro' % os.path.join(d, 'data', 'events.sqlite'), uri=True)
events = [dict(ip=r[0], start=r[1], end=r[2], probes=r[3], kind=r[4], seen_by=r[5],
               of_probes=r[6]) for r in db.execute(
    "select ip, start, end, probes, kind, seen_by, of_probes from outages "
    "where scope='address' and target='www' order by start, ip")]
host = [dict(state=r[0], start=r[1], end=r[2]) for r in db.execute(
    "select state, start, end from outages where scope='host' and target='www' order by start")]
dns_changes = {}
for ts, probe, ans in db.execute("select ts, probe, new_answers from dns_changes "
                                 "where target='www' order by ts"):
    if ts >= tl['switch'][0] - interval and all(ip in (ans or '') for ip in new):
        dns_changes.setdefault(probe, ts)

def rrd_rows(check, ds):
    """(probe, ip, ts, value) of data source ds in the www/check series of
    every address, over the whole run, known values only."""
    t0, t1 = int(tl['probes'][0]) - 1, int(tl['end'][1]) + 1
    for ip in old + new:
        for f in glob.glob(os.path.join(d, 'data', 'rrd', 'www', check, ip, '*.rrd')):
            probe = os.path.basename(f)[:-4]
            lines = subprocess.run(['rrdtool', 'fetch', f, 'AVERAGE', '-r', '1',
                                    '-s', str(t0), '-e', str(t1)],
                                   capture_output=True, text=True).stdout.splitlines()
            names = lines[0].split() if lines else []
            if ds not in names:
                continue
            k = names.index(ds)
            for line in lines[1:]:
                if ':' not in line:
                    continue
                ts, rest = line.split(':', 1)
                try:
                    v = float(rest.split()[k])
                except (ValueError, IndexError):
                    continue
                if not math.isnan(v):
                    yield probe, ip, int(ts), v

def series(check):
    """{probe: {ts: {ip: share}}} over the whole run, known values only."""
    out = {}
    for probe, ip, ts, v in rrd_rows(check, 'share'):
        out.setdefault(probe, {}).setdefault(ts, {})[ip] = v
    return out

def mean_share(s, t0, t1):
    # rows where the answer or request landed somewhere (a failed client
    # request, e.g. p2's during its route loss, lands nowhere)
    rows = [r for p in s.values() for ts, r in p.items()
            if t0 < ts <= t1 and sum(r.values()) > 0]
    res = {ip: (sum(r.get(ip, 0.0) for r in rows) / len(rows)) if rows else None
           for ip in old + new}
    res['rows'] = len(rows)
    return res

sw0, sw1 = tl['switch']
w = {'before': (tl['probes'][0] + 2 * interval, sw0 - interval),
     'after_dns': (sw1 + 2 * interval, tl['upgrade'][0] - interval),
     # clients follow once their cached answer (TTL) ran out
     'after_client': (sw1 + ttl + 2 * interval, tl['upgrade'][0] - interval)}
dns_s, cli_s = series('dns'), series('client')
share = {'windows': w,
         'dns_before': mean_share(dns_s, *w['before']),
         'dns_after': mean_share(dns_s, *w['after_dns']),
         'client_before': mean_share(cli_s, *w['before']),
         'client_after': mean_share(cli_s, *w['after_client'])}
followed = {}
for p, rows in cli_s.items():
    for ts in sorted(rows):
        if ts > sw0 and sum(rows[ts].get(ip, 0.0) for ip in new) >= 0.5:
            followed[p] = ts - sw1
            break

def load_rows():
    """{ts: {ip: req/s}}: per address the mean over the probes."""
    acc = {}
    for _probe, ip, ts, v in rrd_rows('load', 'load'):
        acc.setdefault(ts, {}).setdefault(ip, []).append(v)
    return {ts: {ip: sum(v) / len(v) for ip, v in r.items()} for ts, r in acc.items()}

lr = load_rows()
def side(r, ips): return sum(r.get(ip, 0.0) for ip in ips)
before = [r for ts, r in lr.items() if w['before'][0] < ts <= w['before'][1]]
moved90 = None
for ts in sorted(t for t in lr if sw0 < t <= tl['upgrade'][0]):
    o, n = side(lr[ts], old), side(lr[ts], new)
    if o + n <= 0:
        continue
    if o / (o + n) < 0.10:
        moved90 = moved90 if moved90 is not None else ts - sw1
    else:
        moved90 = None
users = None
try:
    for line in open(os.path.join(d, 'logs', 'users.log')):
        if line.startswith('{'):
            users = json.loads(line)
except (OSError, ValueError):
    pass
traffic = {
    'rows': len(lr),
    'before_old': sum(side(r, old) for r in before) / len(before) if before else None,
    'before_new': sum(side(r, new) for r in before) / len(before) if before else None,
    'moved90': moved90, 'users': users,
}

t = rep['targets'][0]
facts = {
    'timeline': {k: {'start': v[0], 'end': v[1], 'duration': v[1] - v[0]} for k, v in tl.items()},
    'interval': interval, 'ttl': ttl, 'old': old, 'new': new,
    'period': [rep['start'], rep['end']],
    'events': events, 'host_events': host, 'dns_changes': dns_changes,
    'share': share, 'followed': followed, 'traffic': traffic,
    'report': {'target': {k: v for k, v in t.items()
                          if k not in ('addresses', 'probes', 'outages', 'partials')},
               'addresses': {a['ip']: a for a in t.get('addresses', [])},
               'probes': t.get('probes', []),
               'outages': t.get('outages', []), 'partials': t.get('partials', [])},
}
json.dump(facts, open(os.path.join(d, 'facts.json'), 'w'), indent=1, sort_keys=True)
PY
}

# demo_summary: what the demo did next to what vantage measured, from
# facts.json (demo_analyze).
demo_summary() {
	"$VT_PYTHON" - "$DEMO_DIR/facts.json" <<'PY'
import json, sys, time
f = json.load(open(sys.argv[1]))
tl, old, new, iv = f['timeline'], f['old'], f['new'], f['interval']
t0 = tl['probes']['start']
def hms(t): return time.strftime('%H:%M:%S', time.gmtime(t))
def rel(t): return '+%.1fs' % (t - t0)
def dur(s):
    s = float(s)
    if s < 60:
        return '%.1fs' % s
    return '%dm%04.1fs' % (s // 60, s - 60 * (s // 60))
def sd(x): return '%+.1fs' % x
rep = f['report']
print()
print('What the demo did (UTC; +seconds from the start of the probes at %s)' % hms(t0))
sw, pa, up = tl['switch'], tl['partial'], tl['upgrade']
print('  %-8s %-8s DNS switch: www.example.test %s -> %s (TTL %gs)'
      % (hms(sw['start']), rel(sw['start']), ' '.join(old), ' '.join(new), f['ttl']))
print('  %-8s %-8s p2 lost its route to %s for %s' % (hms(pa['start']), rel(pa['start']),
                                                     new[0], dur(pa['duration'])))
print('  %-8s %-8s upgrade: old servers %s down for %s' % (hms(up['start']), rel(up['start']),
                                                        ' '.join(old), dur(up['duration'])))
print('  %-8s %-8s end of the run' % (hms(tl['end']['start']), rel(tl['end']['start'])))
print()
print('What vantage measured')
dc = f['dns_changes']
if dc:
    print('  DNS answer change seen by %s, %s after the switch'
          % (' '.join(sorted(dc)), ' / '.join(sd(dc[p] - sw['end']) for p in sorted(dc))))
fo = f['followed']
if fo:
    print('  client views followed to the new servers after %s (cached answers expiring; TTL %gs)'
          % (', '.join('%s %.0fs' % (p, fo[p]) for p in sorted(fo)), f['ttl']))
s = f['share']
def pct(m, ips): return ' + '.join('%.0f%%' % (100 * (m.get(ip) or 0)) for ip in ips)
print('  load shift, share of DNS answers on old / new servers: before %s / %s, after %s / %s'
      % (pct(s['dns_before'], old), pct(s['dns_before'], new),
         pct(s['dns_after'], old), pct(s['dns_after'], new)))
print('  load shift, share of client requests on old / new servers: before %s / %s, after %s / %s'
      % (pct(s['client_before'], old), pct(s['client_before'], new),
         pct(s['client_after'], old), pct(s['client_after'], new)))
tr = f.get('traffic') or {}
if tr.get('before_old') is not None:
    print('  real traffic (each server\'s own count, load checks): %.0f req/s on the old '
          'servers, %.0f on the new ones before the switch' % (tr['before_old'], tr['before_new']))
    if tr.get('moved90') is not None:
        print('  90 %% of the traffic had moved to the new servers %.0fs after the switch '
              '(TTL %gs): from then on the old ones could be upgraded' % (tr['moved90'], f['ttl']))
    else:
        print('  the traffic had not moved to 90 % by the upgrade')
    u = tr.get('users') or {}
    if u:
        print('  simulated users: %d requests sent, %d failed (%s)'
              % (u.get('sent', 0), u.get('failed', 0),
                 ', '.join('%s %d' % kv for kv in sorted(u.get('by_address', {}).items()))))
outs = sorted((o for o in rep['outages'] if o['scope'] == 'address'),
              key=lambda o: (o['start'], [int(x) for x in o['ip'].split('.')]))
print('  outages found: %d (quorum: 2 of 3 vantage points)' % len(outs))
for o in outs:
    e = o['end'] if not o['open'] else None
    print('    %-15s %s-%s  %-7s  vs the demo: start %s, end %s, duration %s'
          % (o['ip'], hms(o['start']), hms(e) if e else 'open', dur(o['duration_s']),
             sd(o['start'] - up['start']), sd(e - up['end']) if e else '?',
             sd(o['duration_s'] - up['duration'])))
for o in rep['outages']:
    if o['scope'] == 'host':
        print('    host www %-6s %s-%s  %s' % (o['state'], hms(o['start']),
                                             hms(o['end']) if not o['open'] else 'open',
                                             dur(o['duration_s'])))
parts = rep['partials']
print('  partial events (fewer vantage points than the quorum; not outages): %d' % len(parts))
for o in parts:
    print('    %-15s %s-%s  %-7s  seen by %d of %d (%s)  vs the demo: start %s, end %s'
          % (o['ip'], hms(o['start']), hms(o['end']) if not o['open'] else 'open',
             dur(o['duration_s']), o['seen_by'], o['of_probes'], ','.join(o['probes']),
             sd(o['start'] - pa['start']), sd(o['end'] - pa['end']) if not o['open'] else '?'))
print()
print('Availability over the run (%s .. %s, %s)' % (hms(f['period'][0]), hms(f['period'][1]),
                                                   dur(f['period'][1] - f['period'][0])))
tg = rep['target']
def av(x): return '-' if x is None else '%.3f %%' % (100 * x)
print('  %-15s %-10s %-8s %-9s %s' % ('', 'AVAIL', 'DOWN', 'MEASURED', ''))
for ip in old + new:
    a = rep['addresses'].get(ip)
    if not a:
        continue
    note = 'old' if ip in old else 'new'
    if ip in old:
        note += ' (by the demo\'s own clock: %.3f %%)' % (100 * (1 - up['duration'] / a['measured_s']))
    print('  %-15s %-10s %-8s %-9s %s' % (ip, av(a['availability']), dur(a['down_s']),
                                          dur(a['measured_s']), note))
print('  %-15s %-10s %-8s %-9s %s' % ('www (host)', av(tg['availability']), dur(tg['down_s']),
                                      dur(tg['measured_s']),
                                      'degraded %s: some addresses down, never all'
                                      % dur(tg['degraded_s'])))
PY
}
