#!/bin/bash
# SPDX-License-Identifier: MIT
# The demo's scenario, short (tests/lib/demo_scenario.sh; demo.sh runs the
# full one): in a network-namespace lab, real nginx ("old" servers on two
# addresses, "new" on two others), a real dnsmasq (TTL 3 s), a collector
# and three probes checking every second. Steady 5 s; the DNS switch; 6 s
# for the clients to follow; p2 loses its route to one new address for
# 6 s; the old servers are down for 10 s and come back. Then:
#   - the load-shift series (the `share` data source in the RRD files,
#     rrdtool fetch) move from the old addresses to the new ones, for the
#     DNS answers and for the client requests;
#   - each old address has exactly one outage, whose start, end and
#     duration are within one interval (plus 0.5 s for the process start)
#     of when the demo stopped and restarted nginx;
#   - the route loss is one partial event "seen by 1 of 3" (p2), never an
#     outage, and the host is never down;
#   - the report's availability of each address equals 1 - down / measured
#     from its listed outages (truncated to 6 digits), and is within one
#     interval of what the demo did;
#   - the report (json, text), the graphs (PNG, SVG) and the status page
#     (index.html, status.json, its graphs) exist and are valid;
#   - every process the scenario started is stopped.
# shellcheck disable=SC2154 # top_srcdir: from AM_TESTS_ENVIRONMENT
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/netlab.sh"
. "$top_srcdir/tests/lib/demo_scenario.sh"
vt_require probe nginx dnsmasq python3 rrdtool
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
[ -x "${VANTAGE_GRAPH:-}" ] || { echo "1..0 # SKIP no vantage-graph"; exit 0; }
vt_lab_require
vt_setup
# Sanitizer build: librrd's graph stack leaks by design (tests/lib/lsan.supp);
# matching those suppressions needs full stacks (slow unwinding on every
# malloc), affordable for the short vantage-graph runs only.
if [ -n "${LSAN_OPTIONS:-}" ]; then
	VANTAGE_GRAPH_LSAN="$LSAN_OPTIONS:fast_unwind_on_malloc=0"
	_demo_g() {
		LSAN_OPTIONS=$VANTAGE_GRAPH_LSAN "$VANTAGE_GRAPH" -c "$DEMO_CFG" "$@" \
			>>"$DEMO_DIR/logs/graph.log" 2>&1
	}
fi

DEMO_SAY=diag
DEMO_DIR=$VT_TMP/demo
DEMO_TTL=3
DEMO_USERS=100 # simulated users (issue 16), 2 requests per second each: the
# probes' own requests (about 12/s on the old servers) stay under 10 %
DEMO_USER_RATE=2
DEMO_INTERVAL=1
DEMO_STEP=1
demo_setup
demo_run 5 6 6 2 10 3 # steady, follow, partial, settle, upgrade, tail
demo_stop
for p in p1 p2 p3; do
	like "$(tail -n 3 "$DEMO_DIR/logs/$p.log")" "probe: exiting: " "$p exits on SIGTERM after sending its spool"
done
rc=0
demo_render || rc=$?
is "$rc" 0 "report, graphs and status page rendered"
[ "$rc" = 0 ] || diag "$(tail -n 20 "$DEMO_DIR/logs/graph.log")"
rc=0
demo_analyze || rc=$?
is "$rc" 0 "results read back (facts.json)"
demo_summary | while IFS= read -r line; do diag "$line"; done

# fact EXPR: a Python expression over f (facts.json); prints its value.
fact() {
	"$VT_PYTHON" - "$DEMO_DIR/facts.json" "$1" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
old, new, iv, tl = f['old'], f['new'], f['interval'], f['timeline']
rep = f['report']
def r2(x): return '%.2f' % x
print(eval(sys.argv[2]))
PY
}

# ---- load shift ----------------------------------------------------------------
is "$(fact "' '.join(r2(f['share']['dns_before'][ip]) for ip in old + new)")" \
	"0.50 0.50 0.00 0.00" "DNS answers before the switch: half on each old address"
is "$(fact "' '.join(r2(f['share']['dns_after'][ip]) for ip in old + new)")" \
	"0.00 0.00 0.50 0.50" "DNS answers after the switch: half on each new address, none on the old"
is "$(fact "r2(sum(f['share']['client_before'][ip] for ip in old)) + ' ' + r2(sum(f['share']['client_before'][ip] for ip in new))")" \
	"1.00 0.00" "client requests before the switch: all on the old addresses"
is "$(fact "r2(sum(f['share']['client_after'][ip] for ip in old)) + ' ' + r2(sum(f['share']['client_after'][ip] for ip in new))")" \
	"0.00 1.00" "client requests once the TTL ran out: all on the new addresses"
# (followed counts from the end of the switch, when dnsmasq served the new
# answer for sure; a client whose cache ran out during the reload may land
# on the new servers from its start on)
is "$(fact "sorted(p for p, t in f['followed'].items() if tl['switch']['start'] - tl['switch']['end'] <= t <= f['ttl'] + 2 * iv)")" \
	"['p1', 'p2', 'p3']" "every client view followed within the TTL (+2 intervals): $(fact "', '.join('%s %.1f s' % (p, t) for p, t in sorted(f['followed'].items()))")"
is "$(fact "len(f['dns_changes'])")" 3 "every probe logged the DNS answer change"
# The users' real traffic (load checks on each nginx's stub_status).
is "$(fact "f['traffic']['before_old'] > 40 and f['traffic']['before_new'] < 10")" True \
	"real traffic before the switch on the old servers: $(fact "'%.0f req/s old, %.0f new' % (f['traffic']['before_old'], f['traffic']['before_new'])")"
is "$(fact "f['traffic']['moved90'] is not None and f['traffic']['moved90'] <= f['ttl'] + 3 * iv")" True \
	"90 % of the real traffic moved within the TTL + 3 intervals ($(fact "'%.1f' % f['traffic']['moved90']") s)"

# ---- the outage of the old addresses ---------------------------------------------
# The demo's moments, bracketed: the SIGTERM to the old nginx (up0) and the
# moment it was gone (up0b); its new start (up1a) and the moment both
# addresses accepted again (up1). An outage starts with the first failed
# round and ends with the first good one: within one interval (plus
# $slack s for the processes) after the moment.
up0=$(demo_t upgrade start)
up0b=$(demo_t upgrade_stopped)
up1a=$(demo_t upgrade_restart)
up1=$(demo_t upgrade end)
slack=0.5
dmin=$(fact "$up1a - $up0b - iv - $slack")
dmax=$(fact "$up1 - $up0 + iv + $slack")
diag "the demo: old nginx stopped $up0..$up0b, started again $up1a..$up1 (down $(fact "'%.2f' % tl['upgrade']['duration']") s)"
# within X LO HI -> 1 when LO <= X <= HI
within() { "$VT_PYTHON" -c "import sys; x,lo,hi=map(float,sys.argv[1:]); print(int(lo<=x<=hi))" "$@"; }
for ip in "${DEMO_OLD[@]}"; do
	rows=$(fact "[(e['start'], e['end']) for e in f['events'] if e['ip'] == '$ip' and e['kind'] == 'outage']")
	is "$(fact "len([e for e in f['events'] if e['ip'] == '$ip' and e['kind'] == 'outage'])")" 1 \
		"$ip: exactly one outage ($rows)"
	read -r o_start o_end o_dur o_probes <<<"$(fact "' '.join(str(x) for x in next(([o['start'], o['end'], o['duration_s'], ','.join(o['probes'])] for o in rep['outages'] if o['ip'] == '$ip'), ['-', '-', '-', '-']))")"
	is "$(within "$o_start" "$(fact "$up0 - $slack")" "$(fact "$up0b + iv + $slack")")" 1 \
		"$ip: outage start within one interval of the stop ($(fact "'%+.2f' % ($o_start - $up0)") s)"
	is "$(within "$o_end" "$(fact "$up1a - $slack")" "$(fact "$up1 + iv + $slack")")" 1 \
		"$ip: outage end within one interval of the restart ($(fact "'%+.2f' % ($o_end - $up1)") s)"
	is "$(within "$o_dur" "$dmin" "$dmax")" 1 \
		"$ip: outage duration ${o_dur} s matches the demo's $(fact "'%.2f' % tl['upgrade']['duration']") s"
	is "$o_probes" "p1,p2,p3" "$ip: the outage was seen by all three probes"
done

# ---- the partial route loss ---------------------------------------------------------
N0=${DEMO_NEW[0]}
pa0=$(demo_t partial start)
pa0b=$(demo_t partial_lost)
pa1a=$(demo_t partial_back)
pa1=$(demo_t partial end)
is "$(fact "[(e['kind'], e['probes'], e['seen_by'], e['of_probes']) for e in f['events'] if e['ip'] == '$N0']")" \
	"[('partial', 'p2', 1, 3)]" "the route loss of p2 is one partial event, seen by 1 of 3 (p2)"
read -r q_start q_end <<<"$(fact "' '.join(str(x) for x in next(([o['start'], o['end']] for o in rep['partials'] if o['ip'] == '$N0'), ['-', '-']))")"
is "$(within "$q_start" "$(fact "$pa0 - $slack")" "$(fact "$pa0b + iv + $slack")")" 1 \
	"partial start within one interval of the route loss ($(fact "'%+.2f' % ($q_start - $pa0)") s)"
is "$(within "$q_end" "$(fact "$pa1a - $slack")" "$(fact "$pa1 + iv + $slack")")" 1 \
	"partial end within one interval of the route coming back ($(fact "'%+.2f' % ($q_end - $pa1)") s)"
is "$(fact "[o['ip'] for o in rep['outages'] if o['ip'] in new]")" "[]" "no outage of a new address in the report"
is "$(fact "[(ip, rep['addresses'][ip]['n_outages'], rep['addresses'][ip]['availability']) for ip in new]")" \
	"[('${DEMO_NEW[0]}', 0, 1.0), ('${DEMO_NEW[1]}', 0, 1.0)]" "the new addresses: no outage, 100 % available"
is "$(fact "sorted(set(h['state'] for h in f['host_events']))")" "['degraded']" \
	"the host was degraded during the upgrade, never down"

# ---- availability ----------------------------------------------------------------------
for ip in "${DEMO_OLD[@]}"; do
	m="rep['addresses']['$ip']['measured_s']"
	is "$(fact "'%.6f' % rep['addresses']['$ip']['availability']")" \
		"$(fact "'%.6f' % (int((1 - sum(o['counted_s'] for o in rep['outages'] if o['ip'] == '$ip') / $m) * 1e6) / 1e6)")" \
		"$ip: availability = 1 - down / measured of its listed outages"
	is "$(within "$(fact "rep['addresses']['$ip']['availability']")" \
		"$(fact "1 - $dmax / $m")" "$(fact "1 - $dmin / $m")")" 1 \
		"$ip: availability $(fact "rep['addresses']['$ip']['availability']") matches what the demo did ($(fact "'%.6f' % (1 - tl['upgrade']['duration'] / $m)"))"
done
like "$(cat "$DEMO_DIR/report.txt")" "${DEMO_OLD[0]//./\\.} +[0-9]+\\.[0-9]+ %" "the text report lists the old addresses"

# ---- the outputs ---------------------------------------------------------------------
files=$("$VT_PYTHON" - "$DEMO_DIR" <<'PY'
import glob, json, os, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
bad = []
def png(p):
    b = open(p, 'rb').read(24)
    return b[:8] == b'\x89PNG\r\n\x1a\n' and b[12:16] == b'IHDR'
for k in ('load-shift', 'outage-gap'):
    p = os.path.join(d, 'graphs', k + '.png')
    if not os.path.isfile(p) or not png(p):
        bad.append(p + ': not a PNG')
    p = os.path.join(d, 'graphs', k + '.svg')
    try:
        if not ET.parse(p).getroot().tag.endswith('svg'):
            bad.append(p + ': not an SVG')
    except Exception as e:
        bad.append('%s: %s' % (p, e))
st = os.path.join(d, 'status')
for f in ('index.html', 'style.css', 'services/www.html'):
    if not os.path.getsize(os.path.join(st, f)):
        bad.append(f + ' empty')
try:
    j = json.load(open(os.path.join(st, 'status.json')))
    if [s['name'] for s in j['services']] != ['www']:
        bad.append('status.json: services %r' % j['services'])
except Exception as e:
    bad.append('status.json: %s' % e)
pngs = glob.glob(os.path.join(st, 'graphs', '*.png'))
if not pngs:
    bad.append('status page: no graph')
bad += [p + ': not a PNG' for p in pngs if not png(p)]
try:
    json.load(open(os.path.join(d, 'report.json')))
except Exception as e:
    bad.append('report.json: %s' % e)
print('\n'.join(bad) or 'ok %d status page graphs' % len(pngs))
PY
)
like "$files" "^ok [0-9]+ status page graphs$" \
	"graphs (PNG, SVG), report.json, status page (index.html, status.json, graphs) valid"

demo_teardown
is "$DEMO_LEFT" 0 "every process the scenario started is stopped"
tap_done
