#!/bin/bash
# SPDX-License-Identifier: MIT
# Availability reports against the real collector: three probes (an
# independent signer, tests/lib/vt_send.py) send tcp results for www's two
# addresses A and B every 10 s over one hour T0..T0+3600 (hours in the past;
# only the batch time must be fresh), with
#   - A down from every probe from T0+600 until the results at T0+708;
#   - B failing from p1 only over T0+1200..T0+1500 (a partial event);
#   - A down again from T0+1900 to T0+2000, inside the maintenance window
#     T0+1800..T0+2100 of the collector's configuration;
#   - every probe silent over T0+3000..T0+3300 (no data at all).
# Then `vantage-graph report` must give, exactly (docs/collector.md,
# "Quorum"; report.h for the definitions):
#   - outage A: start = the quorum-th earliest failure-streak start =
#     T0+600 (confirm 2 makes a probe see it at T0+610, dated from T0+600);
#     end = the ts of the first ok result that leaves fewer than 2 probes
#     seeing it down = T0+708: 108 s, "1m48s".
#   - A: down 108, maintenance 300, no data 300 (the RRD heartbeat of 30 s
#     makes the whole gap (T0+3000, T0+3300] unknown, including the value
#     at T0+3300), measured 3600 - 300 - 300 = 3000, availability
#     1 - 108/3000 = 0.964000, one outage (the one in maintenance is listed
#     but not counted). B: the same, with no down time: availability 1.
#   - www: no host row in state "down" (B stayed up), so availability 1;
#     degraded 108 s; MTTR = longest = 108 s.
#   - per probe (mean of `up` over its known 10 s rows outside
#     maintenance, A and B together: 2 x 300 rows): A's RRD rows ending
#     T0+600..T0+700 hold 0 (11 rows: the value at T0+600 covers
#     (T0+590, T0+600]); B's rows ending T0+1200..T0+1490 hold 0 for p1
#     (30 rows). p1 = (289 + 270) / 600 = 0.931666 (truncated),
#     p2 = p3 = (289 + 300) / 600 = 0.981666.
# Batches go in 60 s slices, p1, p2, p3 in turn, so the engine sees the
# probes' results roughly in time order as it would from live probes.
. "$top_srcdir/tests/lib/servers.sh"
vt_graph_setup
export TZ=UTC LC_ALL=C

A=127.0.0.11
B=127.0.0.12
now=$(date +%s)
T0=$(((now / 10) * 10 - 3 * 3600))
utc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
port=$(vt_free_port)
data=$VT_TMP/data
cfg=$VT_TMP/collector.cfg
cat >"$cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$data"; };
storage = { step = 10; rra = [ "RRA:AVERAGE:0.5:1:4320", "RRA:MIN:0.5:1:4320" ]; };
quorum = { quorum = 2; confirm = 2; silence = 120.0; };
probes = ( { name = "p1"; key_file = "$(vt_key p1)"; },
           { name = "p2"; key_file = "$(vt_key p2)"; },
           { name = "p3"; key_file = "$(vt_key p3)"; } );
maintenance = ( { target = "www"; start = "$(utc $((T0 + 1800)))";
                  end = "$(utc $((T0 + 2100)))"; reason = "kernel upgrade"; } );
CFG
vt_collector_start "$cfg" "$port" || bail "collector did not start"

feed=$("$VT_PYTHON" - "$top_srcdir/tests/lib" "http://127.0.0.1:$port" \
	"$T0" "$A" "$B" "$VT_TMP/keys" <<'PY'
import http.client, hashlib, hmac, json, sys, time, urllib.parse
sys.path.insert(0, sys.argv[1])
import vt_send
url, t0, A, B, keys = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]

def ok(p, ip, t):
    r = t - t0
    if ip == A and (600 <= r < 708 or 1900 <= r < 2000):
        return False
    if ip == B and p == 'p1' and 1200 <= r < 1500:
        return False
    return True

def rec(p, ip, t):
    r = {"ts": t, "probe": p, "target": "www", "check": "tcp", "name": "tcp",
         "host": "www.example.test", "ip": ip, "port": 80}
    if ok(p, ip, t):
        r.update(ok=True, ms={"connect": 0.5, "total": 0.75})
    else:
        r.update(ok=False, error="connect_timeout", ms={})
    return json.dumps(r, separators=(',', ':'))

times = {ip: [t0 + 10 * k for k in range(361)] for ip in (A, B)}
times[A].append(t0 + 708)  # the round that sees A back
for ip in times:  # the probes are silent over (T0+3000, T0+3300)
    times[ip] = sorted(t for t in times[ip] if not t0 + 3000 < t < t0 + 3300)
u = urllib.parse.urlsplit(url)
seq = {p: 0 for p in ('p1', 'p2', 'p3')}
key = {p: vt_send.key_bytes('%s/%s.key' % (keys, p)) for p in seq}
posts = 0
for c in range(t0, t0 + 3601, 60):
    for p in ('p1', 'p2', 'p3'):
        lines = sorted((t, ip) for ip in (A, B) for t in times[ip]
                       if c <= t < c + 60)
        if not lines:
            continue
        body = ''.join(rec(p, ip, t) + '\n' for t, ip in lines).encode()
        now = int(time.time())
        sig = hmac.new(key[p], vt_send.canonical('results', p, seq[p],
                       len(lines), now, body), hashlib.sha256).hexdigest()
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.request('POST', '/v1/results', body=body, headers={
            'Content-Type': 'application/x-ndjson', 'X-Vantage-Probe': p,
            'X-Vantage-Seq': str(seq[p]), 'X-Vantage-Count': str(len(lines)),
            'X-Vantage-Time': str(now), 'X-Vantage-Signature': sig})
        r = conn.getresponse()
        reply = r.read().decode()
        conn.close()
        if r.status != 200 or '"stored":%d' % len(lines) not in reply:
            print('batch %s@%d: %d %s' % (p, seq[p], r.status, reply))
            sys.exit(1)
        seq[p] += len(lines)
        posts += 1
print('ok %d batches' % posts)
PY
) || true
like "$feed" '^ok [0-9]+ batches$' "every batch stored ($feed)"
rc=0
vt_collector_stop || rc=$?
is "$rc" 0 "collector exits 0"

db=$data/events.sqlite
diag "outage rows: $(vt_sql "$db" "select scope, kind, ip, state, start - $T0,
	\"end\" - $T0, probes, seen_by, of_probes, maintenance from outages
	order by start, id")"

graph() { "$VANTAGE_GRAPH" -c "$cfg" "$@"; }
period="$T0..$((T0 + 3600))"
rc=0
graph report --target www --period "$period" --format json \
	>"$VT_TMP/r.json" 2>"$VT_TMP/r.err" || rc=$?
is "$rc" 0 "json report exits 0"
[ -s "$VT_TMP/r.err" ] && diag "stderr: $(cat "$VT_TMP/r.err")"
j() { # j EXPR: a Python expression over the report r and T0
	"$VT_PYTHON" - "$VT_TMP/r.json" "$T0" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
T0 = int(sys.argv[2])
t = r["targets"][0]
a = {x["ip"]: x for x in t["addresses"]}
p = {x["probe"]: x for x in t["probes"]}
v = eval(sys.argv[3])
print(json.dumps(v, sort_keys=True, separators=(',', ':')))
PY
}
is "$(j '[r["start"] - T0, r["end"] - T0, r["period_s"], len(r["targets"])]')" \
	"[0,3600,3600,1]" "period and one target"
is "$(j "{k: a['$A'][k] for k in ('down_s', 'maint_s', 'nodata_s', 'measured_s', 'n_outages')}")" \
	'{"down_s":108,"maint_s":300,"measured_s":3000,"n_outages":1,"nodata_s":300}' \
	"A: down 108 s, maintenance 300 s, no data 300 s, measured 3000 s, 1 outage"
is "$(j "'%.6f' % a['$A']['availability']")" '"0.964000"' "A: availability 1 - 108/3000"
like "$(cat "$VT_TMP/r.json")" '"ip":"127\.0\.0\.11","availability":0\.964000,' \
	"availability written with 6 decimals"
is "$(j "{k: a['$B'][k] for k in ('availability', 'down_s', 'maint_s', 'nodata_s', 'measured_s', 'n_outages')}")" \
	'{"availability":1.0,"down_s":0,"maint_s":300,"measured_s":3000,"n_outages":0,"nodata_s":300}' \
	"B: availability 1, nothing down"
is "$(j "{k: t[k] for k in ('availability', 'down_s', 'degraded_s', 'maint_s', 'nodata_s', 'measured_s', 'mttr_s', 'longest_s')}")" \
	'{"availability":1.0,"degraded_s":108,"down_s":0,"longest_s":108,"maint_s":300,"measured_s":3000,"mttr_s":108,"nodata_s":300}' \
	"www: never down as a whole, degraded 108 s, MTTR and longest 108 s"
is "$(j "[(x['probe'], '%.6f' % x['availability'], x['measured_s'], x['nodata_s']) for x in t['probes']]")" \
	'[["p1","0.931666",3000,300],["p2","0.981666",3000,300],["p3","0.981666",3000,300]]' \
	"per probe: mean of up over its rows outside maintenance"
is "$(j "[(o['scope'], o['ip'], o['state'], o['start'] - T0, o['end'] - T0, o['duration_s'], o['counted_s'], o['maintenance']) for o in t['outages']]")" \
	"[[\"address\",\"$A\",null,600,708,108,108,false],[\"host\",null,\"degraded\",600,708,108,108,false],[\"address\",\"$A\",null,1900,2000,100,0,true],[\"host\",null,\"degraded\",1900,2000,100,0,true]]" \
	"outages: A 600..708 and its host row; the one in maintenance counted 0"
is "$(j "[t['outages'][0][k] for k in ('probes', 'seen_by', 'of_probes', 'open', 'start_utc', 'end_utc')]")" \
	"[[\"p1\",\"p2\",\"p3\"],3,3,false,\"$(utc $((T0 + 600)))\",\"$(utc $((T0 + 708)))\"]" \
	"outage A seen by 3 of 3, times in UTC"
is "$(j "[(o['ip'], o['start'] - T0, o['end'] - T0, o['probes'], o['seen_by'], o['of_probes']) for o in t['partials']]")" \
	"[[\"$B\",1200,1500,[\"p1\"],1,3]]" "B: one partial event, seen by 1 of 3"
is "$(j "[(m['start'] - T0, m['end'] - T0, m['reason']) for m in t['maintenance']]")" \
	'[[1800,2100,"kernel upgrade"]]' "maintenance window listed"

# Text: what a human reads.
rc=0
graph report --target www --period "$period" >"$VT_TMP/r.txt" 2>&1 || rc=$?
is "$rc" 0 "text report exits 0"
txt=$(cat "$VT_TMP/r.txt")
diag "$txt"
like "$txt" "$A +96\\.400 % +1m48s \\(108 s\\) +5m00s \\(300 s\\) +5m00s \\(300 s\\)" \
	"text: A's row with the percentage and the down time"
like "$txt" "$(utc $((T0 + 600))) +$(utc $((T0 + 708))) +1m48s +1m48s +$A +p1,p2,p3 \\(seen by 3 of 3\\)" \
	"text: the outage with start, end, duration, time counted and probes"
like "$txt" "$(utc $((T0 + 1900))) +$(utc $((T0 + 2000))) +1m40s +0s +$A \\(maintenance\\)" \
	"text: the outage in maintenance, not counted"
like "$txt" "Outages: 1 counted, MTTR 1m48s, longest 1m48s" "text: MTTR and longest"
like "$txt" "$B +p1 \\(seen by 1 of 3\\)" "text: the partial event seen by 1 of 3"
like "$txt" "5m00s +kernel upgrade" "text: the maintenance window"

# CSV: parses, and says what the JSON says.
rc=0
graph report --target www --period "$period" --format csv >"$VT_TMP/r.csv" || rc=$?
is "$rc" 0 "csv report exits 0"
csvcheck=$("$VT_PYTHON" - "$VT_TMP/r.csv" "$VT_TMP/r.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
t = json.load(open(sys.argv[2]))["targets"][0]
def num(v):
    return '' if v is None else ('%.6f' % v if isinstance(v, float) and v != int(v) else str(int(v)))
want = [('target', t['target'], '', '', t)] + \
       [('address', t['target'], a['ip'], '', a) for a in t['addresses']] + \
       [('probe', t['target'], '', p['probe'], p) for p in t['probes']]
if len(rows) != len(want):
    sys.exit('%d rows, want %d' % (len(rows), len(want)))
for row, (scope, target, ip, probe, obj) in zip(rows, want):
    if (row['scope'], row['target'], row['address'], row['probe']) != (scope, target, ip, probe):
        sys.exit('row %r' % row)
    for k in ('down_s', 'maint_s', 'nodata_s', 'measured_s', 'n_outages'):
        if k in obj and row[k] != num(obj[k]):
            sys.exit('%s %s: %r != %r' % (scope, k, row[k], obj[k]))
    av = obj['availability']
    if row['availability'] != ('' if av is None else '%.6f' % av):
        sys.exit('%s availability %r != %r' % (scope, row['availability'], av))
print('ok')
PY
)
is "$csvcheck" ok "csv: one row per target, address and probe, matching the json"
like "$(head -n 1 "$VT_TMP/r.csv")" $'^scope,target,address,probe,.*\r$' "csv: one header row, CRLF"

# HTML: a standalone page that parses, with accessible tables.
rc=0
graph report --period "$period" --format html -o "$VT_TMP/r.html" || rc=$?
is "$rc" 0 "html report to a file exits 0"
htmlcheck=$("$VT_PYTHON" - "$VT_TMP/r.html" <<'PY'
import sys
from html.parser import HTMLParser
VOID = {'meta', 'br', 'link', 'img', 'hr', 'input'}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.seen = [], [], {}
    def handle_starttag(self, tag, attrs):
        self.seen[tag] = self.seen.get(tag, 0) + 1
        if tag == 'th' and 'scope' not in dict(attrs):
            self.errors.append('th without scope')
        if tag not in VOID:
            self.stack.append(tag)
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append('</%s> closes %s' % (tag, self.stack[-1:] or 'nothing'))
        else:
            self.stack.pop()
p = P()
p.feed(open(sys.argv[1]).read())
p.close()
if p.stack:
    p.errors.append('unclosed: %s' % p.stack)
for tag in ('html', 'table', 'caption', 'th'):
    if not p.seen.get(tag):
        p.errors.append('no <%s>' % tag)
if p.seen.get('script'):
    p.errors.append('script')
if p.seen.get('table') != p.seen.get('caption'):
    p.errors.append('a table without caption')
print('; '.join(p.errors) or 'ok')
PY
)
is "$htmlcheck" ok "html: well-formed, every table captioned, th scoped, no script"
like "$(cat "$VT_TMP/r.html")" "<td class=\"num\">96\\.400 %</td>" "html: A's availability"

# No data in the range: a report that says so, exit 0.
rc=0
graph report --target www --period "$((T0 - 7200))..$((T0 - 3600))" \
	--format json >"$VT_TMP/empty.json" 2>&1 || rc=$?
is "$rc" 0 "a period without data still gives a report (exit 0)"
is "$("$VT_PYTHON" -c 'import json,sys; t=json.load(open(sys.argv[1]))["targets"][0]; print(t["availability"], t["nodata_s"], t["addresses"])' "$VT_TMP/empty.json")" \
	"None 3600 []" "no data: availability null, the whole period is no data"
like "$(graph report --target www --period "$((T0 - 7200))..$((T0 - 3600))")" \
	"www +no data" "text says no data"

# Errors.
rc=0
out=$(graph report --target nope --period "$period" 2>&1) || rc=$?
is "$rc" 1 "unknown target: exit 1"
like "$out" 'unknown target "nope" \(known: www\)' "unknown target: names the known ones"
rc=0
out=$(graph report --period yesterday 2>&1) || rc=$?
is "$rc" 2 "bad period: exit 2"
like "$out" '"yesterday" is not a period' "bad period: the reason"
rc=0
out=$(graph report --period "$((T0 + 3600))..$T0" 2>&1) || rc=$?
is "$rc" 2 "period ending before it starts: exit 2"
like "$out" 'the end is not after the start' "reversed period: the reason"
rc=0
out=$(graph report --period "$period" --format xml 2>&1) || rc=$?
is "$rc" 2 "unknown format: exit 2"
mkdir -p "$VT_TMP/fresh"
sed "s|data_dir = \"$data\"|data_dir = \"$VT_TMP/fresh\"|" "$cfg" >"$VT_TMP/fresh.cfg"
rc=0
out=$("$VANTAGE_GRAPH" -c "$VT_TMP/fresh.cfg" report --period day 2>&1) || rc=$?
is "$rc" 1 "empty data directory: exit 1"
like "$out" "fresh/events\\.sqlite: no data yet \\(the collector has stored nothing\\)" \
	"empty data directory: says there is no data yet"
printf 'garbage, not a database%.0s' $(seq 1 200) >"$VT_TMP/fresh/events.sqlite"
rc=0
out=$("$VANTAGE_GRAPH" -c "$VT_TMP/fresh.cfg" report --period day 2>&1) || rc=$?
is "$rc" 1 "corrupt events.sqlite: exit 1"
like "$out" "events\\.sqlite: .*not a database" "corrupt events.sqlite: sqlite's reason"
rc=0
out=$(graph report --help) || rc=$?
is "$rc" 0 "report --help exits 0 without data"
like "$out" "--period" "report --help describes --period"

# rrdcached: values the daemon holds (written to the files only after -w
# 3600 s) are flushed before the fetch; an unreachable daemon is no error.
if command -v rrdcached >/dev/null 2>&1; then
	d2=$VT_TMP/data2
	sock=$VT_TMP/rrdcached.sock
	mkdir -p "$d2/rrd" "$VT_TMP/journal"
	rrdcached -g -w 3600 -f 7200 -m 0660 -l "unix:$sock" -p "$VT_TMP/rrdcached.pid" \
		-j "$VT_TMP/journal" -b "$d2" -B </dev/null >>"$VT_TMP/rrdcached.log" 2>&1 &
	vt_track $!
	for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
	port2=$(vt_free_port)
	sed -e "s|data_dir = \"$data\"|data_dir = \"$d2\"; rrdcached = \"unix:$sock\"|" \
		-e "s|127.0.0.1:$port|127.0.0.1:$port2|" "$cfg" >"$VT_TMP/rrdc.cfg"
	vt_collector_start "$VT_TMP/rrdc.cfg" "$port2" || bail "collector (rrdcached) did not start"
	r=$(for k in $(seq 0 30); do
		printf '{"ts":%s,"probe":"p1","target":"www","check":"tcp","name":"tcp","host":"www.example.test","ip":"%s","port":80,"ok":true,"ms":{"connect":0.5,"total":0.75}}\n' \
			$((T0 + 10 * k)) "$A"
	done | "$VT_PYTHON" "$top_srcdir/tests/lib/vt_send.py" "http://127.0.0.1:$port2" p1 "$(vt_key p1)" 0)
	like "$r" '^200 .*"stored":31' "rrdcached: batch stored through the daemon"
	vt_collector_stop
	f2=$d2/rrd/www/tcp/$A/p1.rrd
	known=$(rrdtool fetch "$f2" AVERAGE -s "$T0" -e $((T0 + 300)) | grep -c ': [0-9]')
	is "$known" 0 "rrdcached: the values are still in the daemon, not in the file"
	rc=0
	out=$("$VANTAGE_GRAPH" -c "$VT_TMP/rrdc.cfg" report --period "$T0..$((T0 + 300))" \
		--format csv 2>&1) || rc=$?
	is "$rc" 0 "rrdcached: report exits 0"
	like "$out" "address,www,$A,,[^,]*,[^,]*,1\\.000000,0,,0,0,300," \
		"rrdcached: flushed before the fetch, the 300 s are measured"
	sed "s|data_dir = \"$data\"|&; rrdcached = \"unix:$VT_TMP/nothing.sock\"|" \
		"$cfg" >"$VT_TMP/norrdc.cfg"
	rc=0
	"$VANTAGE_GRAPH" -c "$VT_TMP/norrdc.cfg" report --target www --period "$period" \
		--format json >"$VT_TMP/norrdc.json" 2>"$VT_TMP/norrdc.err" || rc=$?
	is "$rc" 0 "unreachable rrdcached: report exits 0"
	check "unreachable rrdcached: the same report from the files" \
		cmp "$VT_TMP/norrdc.json" "$VT_TMP/r.json"
else
	skip "rrdcached: flushed before the fetch" "rrdcached not installed"
fi

# The same report under valgrind, when it is installed.
if command -v valgrind >/dev/null 2>&1 && [ "${VT_VALGRIND:-1}" != 0 ]; then
	for fmt in json text csv html; do
		rc=0
		valgrind --quiet --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite,indirect \
			--log-file="$VT_TMP/vg.$fmt.log" "$VANTAGE_GRAPH" -c "$cfg" \
			report --period "$period" --format "$fmt" >"$VT_TMP/vg.$fmt" 2>&1 || rc=$?
		is "$rc" 0 "valgrind: $fmt report clean"
		[ "$rc" = 0 ] || diag "$(tail -n 30 "$VT_TMP/vg.$fmt.log")"
	done
	check "valgrind: same json as without" cmp "$VT_TMP/vg.json" "$VT_TMP/r.json"
else
	skip "valgrind: reports clean" "valgrind not installed"
fi
tap_done
