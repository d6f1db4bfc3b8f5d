#!/bin/bash
# SPDX-License-Identifier: MIT
# vantage-graph's graphs over data the real collector stored: three probes
# (tests/lib/vt_send.py signs their batches) report one target at fixed,
# 10 s aligned times three hours ago. Its DNS answer switches from A,B to
# C,D halfway (probe by probe, a minute apart), A is down from every probe
# for exactly 108 s, and nothing at all is heard about B for 5 minutes.
# Checked: PNG and SVG images of the asked size, outage and no-data labels
# in the SVG text, the four addresses in the load-shift legend, an address
# keeping its colour from one graph to another, and the failures (unknown
# target, empty range, empty data dir, corrupt RRD file, bad arguments).
# Graph tests compare text and sizes, never image bytes (STYLE.md, Tests).
. "$top_srcdir/tests/lib/servers.sh"
vt_graph_setup
export TZ=UTC LC_ALL=C
port=$(vt_free_port)
data=$VT_TMP/data
cfg=$VT_TMP/collector.cfg
cat >"$cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$data"; };
storage = { step = 10; heartbeat = 30;
            rra = [ "RRA:AVERAGE:0.5:1:2160", "RRA:MIN:0.5:6:400",
                    "RRA:MAX:0.5:6:400" ]; };
quorum = { quorum = 2; confirm = 1; silence = 60.0; };
probes = ( { name = "p1"; key_file = "$(vt_key p1)"; },
           { name = "p2"; key_file = "$(vt_key p2)"; },
           { name = "p3"; key_file = "$(vt_key p3)"; } );
CFG
vt_collector_start "$cfg" "$port" || bail "collector did not start"

A=192.0.2.10 B=192.0.2.20 C=198.51.100.30 D=2001:db8::40
now=$(date +%s)
t0=$(( (now - 3 * 3600) / 60 * 60 ))
# Span labels carry the date on graphs across midnight: stay within a day.
[ $(( (t0 - 60) / 86400 )) = $(( (t0 + 2460) / 86400 )) ] || t0=$((t0 - 3600))
start=$((t0 - 60)) end=$((t0 + 2460))

# The scenario as batches, in the order the collector should apply them
# (it applies results in arrival order, so probes are interleaved: one
# round at a time around the outage, 30 rounds elsewhere). Probe offsets
# 0, 2 and 4 s. A fails from round 30 (p1, p3) and 31 (p2); all recover in
# round 41: with quorum 2 the outage runs from p3's first failure (t0+304)
# to p2's recovery (t0+412), 108 s. B: no result from round 60 to 89.
"$VT_PYTHON" - "$VT_TMP/batches" "$t0" "$A" "$B" "$C" "$D" <<'PY'
import json, os, sys
out, t0 = sys.argv[1], int(sys.argv[2])
A, B, C, D = sys.argv[3:7]
os.makedirs(out)
off = {'p1': 0, 'p2': 2, 'p3': 4}
switch = {'p1': 120, 'p2': 126, 'p3': 132}
fail_from = {'p1': 30, 'p2': 31, 'p3': 30}
def records(p, k):
    ts = t0 + 10 * k + off[p]
    ans = [A, B] if k < switch[p] else [C, D]
    base = {'ts': ts, 'probe': p, 'target': 'www', 'host': 'www.example.test'}
    yield dict(base, check='dns', name='dns', ok=True,
               ms={'dns': 2.0 + k % 3}, resolver='127.0.0.1:53',
               rcode='NOERROR', answers=ans, ttl=60)
    for ip in ans:
        if ip == B and 60 <= k < 90:
            continue
        r = dict(base, check='tcp', name='tcp', ip=ip, port=443)
        if ip == A and fail_from[p] <= k < 41:
            r.update(ok=False, error='connect_timeout', detail='timed out')
        else:
            c = 10.0 + (k % 5) + (5 if ip in (C, D) else 0)
            r.update(ok=True, ms={'connect': c, 'total': c})
        yield r
    yield dict(base, check='client', name='client', port=443, ok=True,
               ip=ans[(k + off[p]) % 3 // 2], http_status=200,
               ms={'dns': 2.0, 'connect': 10.0, 'tls': 20.0, 'ttfb': 40.0,
                   'total': 45.0})
cuts = list(range(0, 30, 30)) + list(range(28, 44)) + list(range(44, 241, 30))
cuts = sorted(set(cuts + [240]))
n = 0
with open(os.path.join(out, 'manifest'), 'w') as m:
    for a, b in zip(cuts, cuts[1:]):
        for p in ('p1', 'p2', 'p3'):
            f = os.path.join(out, '%03d-%s.ndjson' % (n, p))
            with open(f, 'w') as fh:
                for k in range(a, b):
                    for r in records(p, k):
                        fh.write(json.dumps(r, separators=(',', ':')) + '\n')
            m.write('%s %s\n' % (p, f))
        n += 1
PY
declare -A seq=([p1]=0 [p2]=0 [p3]=0)
# send_all MANIFEST: sends each "PROBE FILE" batch in order; sent_ok=0 when
# one was not stored.
send_all() {
	local p f r
	sent_ok=1
	while read -r p f; do
		r=$("${send[@]}" "http://127.0.0.1:$port" "$p" "$VT_TMP/keys/$p.key" \
			"${seq[$p]}" <"$f")
		case $r in
		200*) ;;
		*) sent_ok=0; diag "batch $f: $r" ;;
		esac
		seq[$p]=$(( ${seq[$p]} + $(wc -l <"$f") ))
	done <"$1"
}
send_all "$VT_TMP/batches/manifest"
is "$sent_ok" 1 "the collector stored every batch"
out=$(vt_sql "$data/events.sqlite" "select ip, start - $t0, \"end\" - start
	from outages where scope = 'address' and kind = 'outage'")
is "$out" "$A|304.0|108.0" "the collector recorded A's outage: t0+304, 108 s"

G=("$VANTAGE_GRAPH" -c "$cfg" graph --target www --start "$start" --end "$end")
img=$VT_TMP/img
mkdir -p "$img"
# graph NAME KIND [ARGS...]: one render, timed; stdout $VT_OUT, stderr $VT_ERR.
graph() {
	local name=$1 kind=$2 t1 t2 rc=0
	shift 2
	t1=$(date +%s%N)
	"${G[@]}" --kind "$kind" -o "$img/$name" "$@" >"$VT_OUT" 2>"$VT_ERR" || rc=$?
	t2=$(date +%s%N)
	diag "render $kind $name: $(( (t2 - t1) / 1000000 )) ms (exit $rc)"
	return "$rc"
}

# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk, or "not a PNG".
png_size() {
	"$VT_PYTHON" - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read(33)
if d[:8] != b'\x89PNG\r\n\x1a\n' or d[12:16] != b'IHDR':
    print('not a PNG')
else:
    print('%dx%d' % struct.unpack('>II', d[16:24]))
PY
}
# The size librrd reported, as vantage-graph prints it ("..., 881x305 (plot").
reported() {
	sed -n 's/.*, \([0-9]*x[0-9]*\) (plot.*/\1/p' "$VT_OUT" | head -n 1
}

# SVG helper: svg.py FILE texts | color TEXT. The text layer gives each
# legend entry's position; its colour is that of the swatch librrd drew
# there (a small filled square just left of the text's baseline).
cat >"$VT_TMP/svg.py" <<'PY'
import re, sys
import xml.etree.ElementTree as ET
NS = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
texts = [(t.text or '', float(t.get('x')), float(t.get('y')))
         for t in root.iter(NS + 'text')]
if sys.argv[2] == 'texts':
    for t in texts:
        print(t[0])
    sys.exit(0)
want = sys.argv[3]
for text, x, y in texts:
    if text.split(' ')[0] != want:
        continue
    # librrd paints a white square, then the colour over it: the last one.
    fills = []
    for p in root.iter(NS + 'path'):
        m = re.search(r'fill:(rgb\([^)]*\))', p.get('style') or '')
        d = re.match(r'M ([-\d.]+) ([-\d.]+)', p.get('d') or '')
        if m and d and abs(float(d.group(1)) - x) <= 3 and \
                y - 14 <= float(d.group(2)) <= y + 2:
            fills.append(m.group(1))
    if fills:
        print(fills[-1])
        sys.exit(0)
print('no swatch for ' + want)
PY
svg() { "$VT_PYTHON" "$VT_TMP/svg.py" "$@" 2>&1; }
# has_line TEXT ERE DESC: some line of TEXT matches ERE as a whole.
has_line() {
	if grep -Eqx -- "$2" <<<"$1"; then
		ok "$3"
	else
		not_ok "$3"
		diag "no line matching: $2"
		diag "in: $1"
	fi
}

# --- outage-gap ---------------------------------------------------------------
rc=0
graph og.png outage-gap || rc=$?
is "$rc" 0 "outage-gap PNG: exit 0"
is "$(png_size "$img/og.png")" "$(reported)" \
	"PNG size (IHDR) is the image size librrd reported"
like "$(cat "$VT_OUT")" "plot 800x250\\)" "default plot area 800x250"
rc=0
graph og600.png outage-gap --width 600 --height 150 || rc=$?
w800=$(png_size "$img/og.png") w600=$(png_size "$img/og600.png")
# Width and height name the plot area: axes and legend add the same
# margins to both images, so the images differ exactly as the plots do.
is "$(( ${w800%x*} - ${w600%x*} ))x$(( ${w800#*x} - ${w600#*x} ))" "200x100" \
	"--width/--height size the plot area (images $w800, $w600)"
no_tmp() { ! ls "$img" | grep -q 'tmp'; }
check "no temporary file left" no_tmp

rc=0
graph og.svg outage-gap || rc=$?
is "$rc" 0 "outage-gap SVG: exit 0"
texts=$(svg "$img/og.svg" texts)
has_line "$texts" "(\[[0-9]+\] )?$A down [0-9:]+-[0-9:]+, 1m48s" \
	"SVG text: A's outage labelled with its duration, 1m48s"
has_line "$texts" "$B no data [0-9:]+-[0-9:]+, 5m00s" \
	"SVG text: B's no-data span labelled"
has_line "$texts" "$A" "SVG text: address A in the legend"
like "$(cat "$VT_OUT")" "$A down [0-9:]+-[0-9:]+, 1m48s" "spans printed: A down"
like "$(cat "$VT_OUT")" "$B no data" "spans printed: B no data"
is "$(grep -c 'no data' "$VT_OUT")" 1 \
	"one no-data span: B's gap (not before C, D came or after A, B left)"
hms() { date -u -d "@$1" +%H:%M:%S; }
like "$(cat "$VT_OUT")" \
	"$A down $(hms $((t0 + 304)))-$(hms $((t0 + 412))), 1m48s" \
	"outage span at the measured start and end"
# B's last result before the gap is at t0+594 (p3), the next at t0+900 (p1):
# librrd leaves the rows from t0+600 to t0+900 unknown.
like "$(cat "$VT_OUT")" \
	"$B no data $(hms $((t0 + 600)))-$(hms $((t0 + 900))), 5m00s" \
	"no-data span: the five minutes nothing was heard about B"

# --- load-shift ---------------------------------------------------------------
rc=0
graph ls.svg load-shift || rc=$?
is "$rc" 0 "load-shift SVG: exit 0"
texts=$(svg "$img/ls.svg" texts)
n=0
for ip in "$A" "$B" "$C" "$D"; do
	grep -qx "$ip" <<<"$texts" && n=$((n + 1))
done
is "$n" 4 "load-shift legend names the four addresses"
like "$texts" "share of DNS answers" "load-shift legend explains the views"
rc=0
graph ls.png load-shift --probe p2 || rc=$?
is "$rc:$(png_size "$img/ls.png")" "0:$(reported)" "load-shift PNG of one probe"

# --- colours ------------------------------------------------------------------
ca1=$(svg "$img/og.svg" color "$A") ca2=$(svg "$img/ls.svg" color "$A")
cc2=$(svg "$img/ls.svg" color "$C")
like "$ca1" '^rgb\(' "A's colour found in the outage-gap legend ($ca1)"
is "$ca2" "$ca1" "A has the same colour in load-shift and outage-gap"
isnt_c() { [ "$1" != "$2" ]; }
check "C's colour differs from A's ($cc2)" isnt_c "$cc2" "$ca2"
cd1=$(svg "$img/og.svg" color "$D") cd2=$(svg "$img/ls.svg" color "$D")
like "$cd1" '^rgb\(' "D (IPv6) found in the outage-gap legend ($cd1)"
is "$cd2" "$cd1" "D has the same colour in load-shift and outage-gap"

# --- latency ------------------------------------------------------------------
rc=0
graph lat.svg latency --ip "$A" --probe p1 || rc=$?
is "$rc" 0 "latency SVG of one address and probe: exit 0"
texts=$(svg "$img/lat.svg" texts)
has_line "$texts" \
	"line: mean total time over the probe; band: minimum to maximum" \
	"latency: the band is the MIN/MAX archives' range"
has_line "$texts" "connect" "latency: connect phase"
rc=0
graph lat.png latency || rc=$?
is "$rc:$(png_size "$img/lat.png")" "0:$(reported)" \
	"latency PNG of every address"

# --- failures -----------------------------------------------------------------
rc=0
"$VANTAGE_GRAPH" -c "$cfg" graph --help >"$VT_OUT" 2>"$VT_ERR" || rc=$?
is "$rc" 0 "graph --help: exit 0"
like "$(cat "$VT_OUT")" "load-shift.*outage-gap.*latency" \
	"graph --help lists the kinds"

rc=0
graph nope.png outage-gap --target nope || rc=$?
is "$rc" 1 "unknown target: exit 1"
like "$(cat "$VT_ERR")" 'unknown target "nope" \(known targets: www\)' \
	"unknown target: the known ones are listed"
check "unknown target: no file" test ! -e "$img/nope.png"

rc=0
graph empty.png outage-gap --start $((t0 - 7200)) --end $((t0 - 3600)) || rc=$?
is "$rc" 1 "range without data: exit 1"
like "$(cat "$VT_ERR")" "no data for www between .*: no graph written" \
	"range without data: says so"
check "range without data: no file" test ! -e "$img/empty.png"

rc=0
graph unk.png latency --ip 203.0.113.99 || rc=$?
is "$rc" 1 "address without series: exit 1"

mkdir -p "$VT_TMP/nodata"
sed "s|data_dir = \"$data\"|data_dir = \"$VT_TMP/nodata\"|" "$cfg" \
	>"$VT_TMP/nodata.cfg"
rc=0
"$VANTAGE_GRAPH" -c "$VT_TMP/nodata.cfg" graph --kind outage-gap --target www \
	-o "$img/nd.png" >"$VT_OUT" 2>"$VT_ERR" || rc=$?
is "$rc" 1 "empty data dir: exit 1"
like "$(cat "$VT_ERR")" "no data yet" "empty data dir: a clear message"
check "empty data dir: no file" test ! -e "$img/nd.png"

rc=0
graph bad.png bar-chart || rc=$?
is "$rc" 2 "unknown --kind: exit 2"
like "$(cat "$VT_ERR")" 'unknown kind "bar-chart"' "unknown --kind: named"
rc=0
graph bad.png outage-gap --start yesterday-ish || rc=$?
is "$rc" 2 "bad --start: exit 2"
rc=0
graph bad.png outage-gap --width 50 || rc=$?
is "$rc" 2 "--width out of bounds: exit 2"
check "bad arguments: no file" test ! -e "$img/bad.png"

# --- a month: a 47-minute outage and a partial event ----------------------------
# Target "month", one address M from three probes over an hour: p1 and p2
# lose it for 47 minutes (a quorum: an outage); before that p2 alone loses
# it for 20 s (a partial event, "p2 only"). On a 30-day graph 800 pixels
# wide the outage is 0.9 pixel: it must still be drawn at least
# MARKS_MIN_SPAN_PX (4) wide, and the partial event hatched and labelled.
M=192.0.2.77
"$VT_PYTHON" - "$VT_TMP/month" "$t0" "$M" <<'PY'
import json, os, sys
out, t0, M = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(out)
off = {'p1': 1, 'p2': 3, 'p3': 5}
def rec(p, k):
    r = {'ts': t0 + 10 * k + off[p], 'probe': p, 'target': 'month',
         'check': 'tcp', 'name': 'tcp', 'host': 'month.example.test',
         'ip': M, 'port': 443}
    down = (p in ('p1', 'p2') and 60 <= k < 342) or (p == 'p2' and 20 <= k < 22)
    if down:
        r.update(ok=False, error='connect_timeout', detail='timed out')
    else:
        r.update(ok=True, ms={'connect': 8.0 + k % 4, 'total': 8.0 + k % 4})
    return r
with open(os.path.join(out, 'manifest'), 'w') as m:
    for c in range(0, 360, 20):
        for p in ('p1', 'p2', 'p3'):
            f = os.path.join(out, '%03d-%s.ndjson' % (c, p))
            with open(f, 'w') as fh:
                for k in range(c, c + 20):
                    fh.write(json.dumps(rec(p, k), separators=(',', ':')) + '\n')
            m.write('%s %s\n' % (p, f))
PY
send_all "$VT_TMP/month/manifest"
out=$(vt_sql "$data/events.sqlite" "select kind, start - $t0, \"end\" - start, probes
	from outages where scope = 'address' and target = 'month' order by start")
like "$out" "partial\|20[0-9.]*\|[0-9.]+\|p2.*outage\|60[0-9.]*\|28[0-9][0-9.]*\|" \
	"month: a partial event (p2) and a 47-minute outage stored ($(tr '\n' ' ' <<<"$out"))"
rc=0
"$VANTAGE_GRAPH" -c "$cfg" graph --kind outage-gap --target month \
	--start -30d --end now -o "$img/month.svg" >"$VT_OUT" 2>"$VT_ERR" || rc=$?
is "$rc" 0 "30-day outage-gap SVG of month: exit 0"
cat >"$VT_TMP/marks.py" <<'PY'
import sys
import xml.etree.ElementTree as ET
NS = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
marks = [g for g in root.iter(NS + 'g') if g.get('id') == 'vantage-marks']
layer = [g for g in root.iter(NS + 'g') if g.get('id') == 'vantage-text']
out = []
for g in (marks[0] if marks else []):
    if not (g.get('class') or '').startswith('span '):
        continue
    area = [r for r in g.iter(NS + 'rect') if r.get('class') == 'area'][0]
    text = ' '.join(t.text or '' for t in g.iter(NS + 'text'))
    out.append('%s %s width>=4:%s hatched:%s label:%s' % (
        g.get('class').split()[1], g.get('data-ip'),
        float(area.get('width')) >= 4, 'url(#vt-hatch' in area.get('fill'), text))
texts = [t.text or '' for t in (layer[0] if layer else []).iter(NS + 'text')]
out.append('layer: ' + ' | '.join(t for t in texts if 'partial' in t or 'down' in t))
print('\n'.join(out))
PY
marks=$("$VT_PYTHON" "$VT_TMP/marks.py" "$img/month.svg" 2>&1)
has_line "$marks" "partial $M width>=4:True hatched:True label:[0-9]+ p2 only, 20s" \
	"partial event: a hatched span on M with its label \"p2 only\" (SVG marks)"
has_line "$marks" "outage $M width>=4:True hatched:False label:[0-9]+ 4[67]m[0-9]+s" \
	"the 47-minute outage: at least 4 px wide on a 30-day graph, duration in the plot"
like "$marks" "layer: .*partial, seen by p2 only.*down" \
	"the text layer lists the partial event and the outage with their numbers"
rc=0
"$VANTAGE_GRAPH" -c "$cfg" graph --kind outage-gap --target month \
	--start -30d --end now -o "$img/month.png" >"$VT_OUT" 2>"$VT_ERR" || rc=$?
is "$rc:$(png_size "$img/month.png")" "0:$(reported)" "the same as PNG (marks drawn with cairo)"
rc=0
"$VANTAGE_GRAPH" -c "$cfg" graph --kind probes --target month --ip "$M" \
	--start "$((t0))" --end "$((t0 + 3600))" -o "$img/probes.svg" >"$VT_OUT" 2>"$VT_ERR" || rc=$?
is "$rc" 0 "probes view of M: exit 0"
texts=$(svg "$img/probes.svg" texts)
n=0
for p in p1 p2 p3; do grep -qx "$p" <<<"$texts" && n=$((n + 1)); done
is "$n" 3 "probes view: a line per probe in the legend"
rc=0
"$VANTAGE_GRAPH" -c "$cfg" graph --kind probes --target month -o "$img/x.png" \
	>"$VT_OUT" 2>"$VT_ERR" || rc=$?
is "$rc" 2 "probes view without --ip: exit 2"

# Last, as it breaks the data: one RRD file cut to 100 bytes.
bad=$data/rrd/www/tcp/$A/p2.rrd
truncate -s 100 "$bad"
rc=0
graph corrupt.png outage-gap || rc=$?
is "$rc" 1 "corrupt RRD file: exit 1 (no crash)"
like "$(cat "$VT_ERR")" "$bad" "corrupt RRD file: named in the message"
check "corrupt RRD file: no image" test ! -e "$img/corrupt.png"

# Many targets: the "known targets" hint in an error is cut at some length,
# but the lookup must still see every target (the status page asks for
# each of 100 services).
"$VT_PYTHON" - "$VT_TMP/many.ndjson" "$t0" <<'PY'
import json, sys
out, t0 = sys.argv[1], int(sys.argv[2])
with open(out, 'w') as fh:
    for k in range(3):
        for i in range(1, 61):
            r = {'ts': t0 + 10 * k, 'probe': 'p1', 'target': 'svc%03d' % i,
                 'check': 'tcp', 'name': 'tcp', 'host': 'svc.example.test',
                 'ip': '192.0.2.%d' % i, 'port': 443, 'ok': True,
                 'ms': {'connect': 5.0, 'total': 5.0}}
            fh.write(json.dumps(r, separators=(',', ':')) + '\n')
PY
# 180 new series: the collector may store a prefix only (its create
# budget, slow under a sanitizer) and says how many; the rest goes again.
left=$(wc -l <"$VT_TMP/many.ndjson") r=
for _ in $(seq 1 60); do
	r=$(tail -n "$left" "$VT_TMP/many.ndjson" |
		"${send[@]}" "http://127.0.0.1:$port" p1 "$VT_TMP/keys/p1.key" "${seq[p1]}")
	stored=$(sed -n 's/^200 .*"stored":\([0-9]*\).*/\1/p' <<<"$r")
	[ -n "$stored" ] && [ "$stored" -gt 0 ] || break
	seq[p1]=$((seq[p1] + stored)) left=$((left - stored))
	[ "$left" -gt 0 ] || break
done
is "$left:${r%% *}" "0:200" "60 more targets stored"
rc=0
"$VANTAGE_GRAPH" -c "$cfg" graph --kind outage-gap --target svc055 \
	--start "$start" --end "$end" -o "$img/svc055.png" >"$VT_OUT" 2>"$VT_ERR" || rc=$?
is "$rc" 0 "the 55th of 61 targets is found (the hint's length does not matter)"
check "a graph for it" test -s "$img/svc055.png"
rc=0
vt_collector_stop || rc=$?
is "$rc" 0 "collector exits 0 on SIGTERM"
tap_done
