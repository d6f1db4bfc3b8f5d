#!/bin/bash
# SPDX-License-Identifier: MIT
# RRD layouts (docs/collector.md, "Series and RRD files"): the same signed
# results (3 probes, tcp and http checks of www at two addresses, A down
# from every probe over T0+600..T0+700, 30 minutes of 10 s rounds, hours in
# the past) go to a collector with storage.layout "full" (the 7-data-source
# files of the first version) and to one with the lean default. Then:
#   - lean file sizes per check type: http <= 1.5 MB, tcp and dns <= 0.8 MB,
#     and only the data sources each type measures;
#   - `vantage-collector --convert-rrd` turns a copy of the full tree into
#     lean files, and leaves lean files alone on a second run;
#   - the report (json) over full, converted and lean trees is the same, the
#     outage-gap graph (svg) of full and lean is the same, the latency graph
#     of converted and lean is the same;
#   - a lean collector keeps writing into an old full file (an upgrade
#     without conversion);
#   - retention: a series whose address was not measured for longer than
#     storage.retention is removed at the next sweep, /healthz reports the
#     disk use and the warning, and the report still lists its outage.
. "$top_srcdir/tests/lib/servers.sh"
vt_graph_setup rrdtool
export TZ=UTC LC_ALL=C

A=127.0.0.11
B=127.0.0.12
now=$(date +%s)
T0=$(((now / 10) * 10 - 3 * 3600))
SPAN=1800

# mkcfg NAME LAYOUT [EXTRA-STORAGE]: a collector configuration in $VT_TMP/NAME.
mkcfg() {
	local port=$(vt_free_port)
	cat >"$VT_TMP/$1.cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$VT_TMP/$1"; };
storage = { step = 10; layout = "$2"; create_budget = 60; ${3:-} };
quorum = { quorum = 2; confirm = 2; silence = 120.0; };
probes = ( { name = "p1"; key_file = "$(vt_key p1)"; },
           { name = "p2"; key_file = "$(vt_key p2)"; },
           { name = "p3"; key_file = "$(vt_key p3)"; } );
CFG
	echo "$port"
}

# feed PORT FROM TO IPS SEQDIR: signed batches of tcp and http results; the
# probes' sequence numbers are kept in SEQDIR across feeds.
feed() {
	"$VT_PYTHON" - "$top_srcdir/tests/lib" "http://127.0.0.1:$1" "$T0" "$2" "$3" \
		"$4" "$VT_TMP/keys" "$5" <<'PY'
import http.client, hashlib, hmac, json, os, sys, time, urllib.parse
sys.path.insert(0, sys.argv[1])
import vt_send
url, t0, t_from, t_to = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ips, keys, seqdir = sys.argv[6].split(','), sys.argv[7], sys.argv[8]
A = '127.0.0.11'

def rec(p, ip, t, check):
    r = {"ts": t, "probe": p, "target": "www", "check": check, "name": check,
         "host": "www.example.test", "ip": ip, "port": 80}
    if ip == A and 600 <= t - t0 < 700:
        r.update(ok=False, error="connect_timeout", ms={})
    elif check == 'tcp':
        r.update(ok=True, ms={"connect": 0.5 + (t % 7) / 8, "total": 0.75 + (t % 5) / 4})
    else:
        r.update(ok=True, ms={"dns": 0.25, "connect": 0.5, "tls": 1.5,
                              "ttfb": 2.0 + (t % 3) / 2, "total": 3.0 + (t % 11) / 4})
    return json.dumps(r, separators=(',', ':'))

u = urllib.parse.urlsplit(url)
seq = {}
key = {p: vt_send.key_bytes('%s/%s.key' % (keys, p)) for p in ('p1', 'p2', 'p3')}
posts = 0
for c in range(t_from, t_to, 60):
    for p in ('p1', 'p2', 'p3'):
        lines = [rec(p, ip, t, ch) for t in range(c, min(c + 60, t_to), 10)
                 for ip in ips for ch in ('tcp', 'http')]
        s = seq.get(p)
        if s is None:
            f = '%s/%s.seq' % (seqdir, p)
            s = int(open(f).read()) if os.path.exists(f) else 0
        body = ''.join(l + '\n' for l in lines).encode()
        now = int(time.time())
        sig = hmac.new(key[p], vt_send.canonical('results', p, s, len(lines),
                       now, body), hashlib.sha256).hexdigest()
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.request('POST', '/v1/results', body=body, headers={
            'Content-Type': 'application/x-ndjson', 'X-Vantage-Probe': p,
            'X-Vantage-Seq': str(s), 'X-Vantage-Count': str(len(lines)),
            'X-Vantage-Time': str(now), 'X-Vantage-Signature': sig})
        r = conn.getresponse()
        reply = r.read().decode()
        conn.close()
        if r.status != 200 or '"stored":%d' % len(lines) not in reply:
            print('batch %s@%d: %d %s' % (p, s, r.status, reply))
            sys.exit(1)
        seq[p] = s + len(lines)
        posts += 1
for p, s in seq.items():
    open('%s/%s.seq' % (seqdir, p), 'w').write(str(s))
print('ok %d batches' % posts)
PY
}

# run NAME LAYOUT: a collector fed the whole scenario, then stopped.
run() {
	local port rc=0 out
	port=$(mkcfg "$1" "$2")
	mkdir -p "$VT_TMP/seq-$1"
	vt_collector_start "$VT_TMP/$1.cfg" "$port" || bail "collector $1 did not start"
	out=$(feed "$port" "$T0" $((T0 + SPAN)) "$A,$B" "$VT_TMP/seq-$1") || true
	like "$out" '^ok [0-9]+ batches$' "$1: every batch stored ($out)"
	vt_collector_stop || rc=$?
	is "$rc" 0 "$1: collector exits 0"
}
run full full
run lean lean

size() { stat -c %s "$1"; }
dsnames() { rrdtool info "$1" | sed -n 's/^ds\[\([a-z]*\)\]\.type.*/\1/p' | tr '\n' ' '; }
f=$VT_TMP/full/rrd/www
l=$VT_TMP/lean/rrd/www
diag "full: tcp $(size "$f/tcp/$A/p1.rrd") http $(size "$f/http/$A/p1.rrd") bytes"
diag "lean: tcp $(size "$l/tcp/$A/p1.rrd") http $(size "$l/http/$A/p1.rrd") bytes"
is "$(dsnames "$f/tcp/$A/p1.rrd")" "up total dns connect tls ttfb share " \
	"full: every data source in a tcp file"
is "$(dsnames "$l/tcp/$A/p1.rrd")" "up total connect tls " "lean tcp: up total connect tls"
is "$(dsnames "$l/http/$A/p1.rrd")" "up total dns connect tls ttfb " \
	"lean http: no share"
check "lean http file <= 1.5 MB" test "$(size "$l/http/$A/p1.rrd")" -le 1500000
check "lean tcp file <= 0.8 MB" test "$(size "$l/tcp/$A/p1.rrd")" -le 800000

# Conversion of a copy of the full tree.
cp -a "$VT_TMP/full" "$VT_TMP/conv"
sed "s|$VT_TMP/full|$VT_TMP/conv|" "$VT_TMP/full.cfg" >"$VT_TMP/conv.cfg"
rc=0
t_conv=$(date +%s.%N)
"$VANTAGE_COLLECTOR" --convert-rrd "$VT_TMP/conv/rrd" >"$VT_OUT" 2>"$VT_ERR" || rc=$?
diag "--convert-rrd of 12 files: $("$VT_PYTHON" -c "import sys,time; print(round(time.time() - float(sys.argv[1]), 2))" "$t_conv") s"
is "$rc" 0 "--convert-rrd exits 0"
like "$(tail -n 1 "$VT_OUT")" '^12 file\(s\) converted, 0 failed$' \
	"--convert-rrd: the 12 files converted ($(tail -n 1 "$VT_OUT"))"
like "$(cat "$VT_OUT")" "tcp/$A/p1.rrd: tcp" "--convert-rrd names each file and its type"
c=$VT_TMP/conv/rrd/www
is "$(dsnames "$c/tcp/$A/p1.rrd") $(dsnames "$c/http/$A/p1.rrd")" \
	"up total connect tls  up total dns connect tls ttfb " \
	"converted: tcp and http data sources as a lean collector makes them"
is "$(size "$c/tcp/$A/p1.rrd") $(size "$c/http/$A/p1.rrd")" \
	"$(size "$l/tcp/$A/p1.rrd") $(size "$l/http/$A/p1.rrd")" "converted files as big as lean ones"
is "$(rrdtool info "$c/tcp/$A/p1.rrd" | grep -c 'minimal_heartbeat = 30$')" 4 \
	"converted: the heartbeat of the configuration (30 s) on every data source"
rc=0
"$VANTAGE_COLLECTOR" --convert-rrd "$VT_TMP/conv/rrd" >"$VT_OUT" 2>&1 || rc=$?
is "$rc:$(tail -n 1 "$VT_OUT")" "0:0 file(s) converted, 0 failed" "a second run converts nothing"
rc=0
"$VANTAGE_COLLECTOR" --convert-rrd "$VT_TMP/nowhere" >"$VT_OUT" 2>&1 || rc=$?
is "$rc" 2 "--convert-rrd of a missing directory: exit 2"

# The same figures from every layout.
period="$T0..$((T0 + SPAN))"
for t in full conv lean; do
	"$VANTAGE_GRAPH" -c "$VT_TMP/$t.cfg" report --target www --period "$period" \
		--format json >"$VT_TMP/$t.json" 2>"$VT_TMP/$t.err" || diag "$t: $(cat "$VT_TMP/$t.err")"
	for k in outage-gap latency; do
		"$VANTAGE_GRAPH" -c "$VT_TMP/$t.cfg" graph --kind "$k" --target www \
			--start "$T0" --end $((T0 + SPAN)) -o "$VT_TMP/$t-$k.svg" 2>>"$VT_TMP/$t.err" ||
			diag "$t $k: $(cat "$VT_TMP/$t.err")"
	done
done
j() { "$VT_PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); t=r["targets"][0]
print(json.dumps([[(a["ip"], a["availability"], a["down_s"], a["nodata_s"]) for a in t["addresses"]],
 [(p["probe"], p["availability"]) for p in t["probes"]], [(o["ip"], o["start"], o["end"]) for o in t["outages"]]]))' "$1"; }
diag "lean report: $(j "$VT_TMP/lean.json")"
like "$(j "$VT_TMP/lean.json")" '"127\.0\.0\.11", 0\.9' "lean report: A lost availability"
is "$(cat "$VT_TMP/full.json")" "$(cat "$VT_TMP/lean.json")" "report: full and lean give the same figures"
is "$(cat "$VT_TMP/conv.json")" "$(cat "$VT_TMP/lean.json")" "report: converted and lean give the same figures"
is "$(md5sum <"$VT_TMP/full-outage-gap.svg")" "$(md5sum <"$VT_TMP/lean-outage-gap.svg")" \
	"outage-gap graph: full and lean draw the same"
is "$(md5sum <"$VT_TMP/conv-outage-gap.svg")" "$(md5sum <"$VT_TMP/lean-outage-gap.svg")" \
	"outage-gap graph: converted and lean draw the same"
is "$(md5sum <"$VT_TMP/conv-latency.svg")" "$(md5sum <"$VT_TMP/lean-latency.svg")" \
	"latency graph: converted and lean draw the same"

# An upgrade without conversion: a lean collector writes into full files.
port=$(mkcfg full lean)
vt_collector_start "$VT_TMP/full.cfg" "$port" || bail "collector did not start"
out=$(feed "$port" $((T0 + SPAN)) $((T0 + SPAN + 60)) "$A" "$VT_TMP/seq-full") || true
like "$out" '^ok [0-9]+ batches$' "lean collector stores into full files ($out)"
vt_collector_stop || true
is "$(rrdtool lastupdate "$f/tcp/$A/p1.rrd" | tail -n 1 | cut -d: -f1)" \
	"$((T0 + SPAN + 50))" "the full file got the new values"
is "$(dsnames "$f/tcp/$A/p1.rrd")" "up total dns connect tls ttfb share " \
	"and keeps its layout"

# Retention: A and B measured over T0..T0+SPAN (hours ago), then B alone
# over the last 10 minutes; restarted with retention = 1 h, the collector
# removes A's series at its first sweep and keeps B's.
port=$(mkcfg ret lean)
mkdir -p "$VT_TMP/seq-ret"
vt_collector_start "$VT_TMP/ret.cfg" "$port" || bail "collector ret did not start"
out=$(feed "$port" "$T0" $((T0 + SPAN)) "$A,$B" "$VT_TMP/seq-ret") || true
recent=$(((now / 10) * 10 - 600))
out2=$(feed "$port" "$recent" $((recent + 300)) "$B" "$VT_TMP/seq-ret") || true
like "$out $out2" '^ok [0-9]+ batches ok [0-9]+ batches$' "retention: every batch stored"
vt_collector_stop || true
r=$VT_TMP/ret/rrd/www
is "$(ls "$r/tcp" "$r/http" | grep -c "^127")" 4 "before the sweep: A and B in tcp and http"
port=$(mkcfg ret lean "retention = 3600; disk_warn = 1;")
vt_collector_start "$VT_TMP/ret.cfg" "$port" || bail "collector ret did not start"
hz=
for i in $(seq 1 50); do
	hz=$(vt_http GET "http://127.0.0.1:$port/healthz")
	case $hz in *'"series_removed":6,'*) break ;; esac
	sleep 0.1
done
diag "healthz: $hz"
like "$hz" '"series_removed":6,' "healthz: 6 series removed (A: 3 probes x tcp, http)"
like "$hz" '"disk":\{"rrd_bytes":[1-9][0-9]*,"events_bytes":[1-9][0-9]*,"series":6,' \
	"healthz: disk use of the RRD tree and the events, 6 series left"
like "$hz" '"warning":true' "healthz: warning past disk_warn (1 %)"
like "$(cat "$VT_TMP/collector.log")" 'disk: .* full \(warning at 1 %\)' "the warning is logged"
is "$(ls "$r/tcp/$A" "$r/http/$A" 2>&1 | grep -c 'No such file')" 2 "A's series are gone"
is "$(ls "$r/tcp/$B"/*.rrd "$r/http/$B"/*.rrd | wc -l)" 6 "B's series stay"
vt_collector_stop || true
"$VANTAGE_GRAPH" -c "$VT_TMP/ret.cfg" report --target www --period "$period" \
	--format json >"$VT_TMP/ret.json" 2>"$VT_TMP/ret.err" || diag "$(cat "$VT_TMP/ret.err")"
is "$("$VT_PYTHON" -c 'import json,sys; t=json.load(open(sys.argv[1]))["targets"][0]
print(json.dumps([(o["ip"], o["start"] - int(sys.argv[2]), o["end"] - int(sys.argv[2])) for o in t["outages"] if o["ip"]]))' "$VT_TMP/ret.json" "$T0")" \
	'[["127.0.0.11", 600, 700]]' "the report still lists A's outage"
rc=0
sed 's/retention = 3600;/retention = 60;/' "$VT_TMP/ret.cfg" >"$VT_TMP/bad.cfg"
"$VANTAGE_COLLECTOR" -c "$VT_TMP/bad.cfg" --check >"$VT_OUT" 2>&1 || rc=$?
is "$rc" 2 "retention below an hour: configuration error"
like "$(cat "$VT_OUT")" 'storage.retention' "the error names storage.retention"

tap_done
