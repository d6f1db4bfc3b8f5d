#!/bin/bash
# SPDX-License-Identifier: MIT
# The collector's front door, driven by an independent signer
# (tests/lib/vt_send.py, written from docs/wire.md): a valid batch is
# stored once; a replay is acknowledged and not stored again; overlapping
# re-sends store only the new records; forged signatures, unknown probes,
# stale times, oversize and garbage bodies and path-like names are rejected
# with the right status and leave no trace in the RRD tree or the database.
. "$top_srcdir/tests/lib/servers.sh"
vt_require python3 rrdtool
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
vt_setup
send=("$VT_PYTHON" "$top_srcdir/tests/lib/vt_send.py")
keya=$(vt_key a)
keyb=$(vt_key b)
port=$(vt_free_port)
data=$VT_TMP/data
url=http://127.0.0.1:$port
cat >"$VT_TMP/collector.cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$data";
              max_body = 65536; time_window = 300.0; };
storage = { step = 10; };
quorum = { quorum = 1; confirm = 1; };
probes = ( { name = "a"; key_file = "$keya"; }, { name = "b"; key_file = "$keyb"; } );
CFG
vt_collector_start "$VT_TMP/collector.cfg" "$port" || bail "collector did not start"

now=$(date +%s)
t0=$(( (now / 10) * 10 - 300 ))
# rec TS [TARGET] [IP] [NAME] [PROBE]: one compact tcp result record.
rec() {
	printf '{"ts":%s,"probe":"%s","target":"%s","check":"tcp","name":"%s","host":"www.example.test","ip":"%s","port":80,"ok":true,"ms":{"connect":0.5,"total":0.75}}\n' \
		"$1" "${5:-a}" "${2:-www}" "${4:-tcp}" "${3:-127.0.0.11}"
}
post() { "${send[@]}" "$url" "$@"; }
body() { rec $((t0)); rec $((t0 + 10)); }

r=$(body | post a "$keya" 0)
like "$r" '^200 .*"stored":2,"duplicate":false,"next":2' "valid batch stored ($r)"
r=$(body | post a "$keya" 0)
like "$r" '^200 .*"stored":0,"duplicate":true' "replayed batch acknowledged, not stored again"
# A re-send cut differently: records 1..3, of which 1 is stored already.
r=$( { rec $((t0 + 10)); rec $((t0 + 20)); rec $((t0 + 30)); } | post a "$keya" 1)
like "$r" '^200 .*"stored":2,.*"next":4' "overlapping re-send stores only the new records"

find "$data/rrd" -type f | sort >"$VT_TMP/files.before"
results_before=$(vt_sql "$data/events.sqlite" "select sum(results) from series")
is "$results_before" 4 "four results counted"

reject() { # reject WANT_RE DESC [vt_send args...] < body
	local want=$1 desc=$2
	shift 2
	r=$(post "$@")
	like "$r" "$want" "$desc ($r)"
}
reject '^401 .*bad signature' "forged signature" a "$keya" 4 \
	--sig "$(printf '%064d' 0)" < <(body)
reject '^401 .*bad signature' "signed with another probe's key" a "$keyb" 4 < <(body)
reject '^401 .*bad signature' "body changed after signing" a "$keya" 4 \
	--sign-body /dev/null --count 2 < <(body)
reject '^401 .*unknown probe' "unknown probe" zz "$keya" 4 < <(body)
reject '^401 .*stale time' "stale timestamp" a "$keya" 4 --time $((now - 1000)) < <(body)
reject '^401 .*stale time' "timestamp from the future" a "$keya" 4 --time $((now + 1000)) < <(body)
reject '^400 .*X-Vantage-Signature' "missing signature header" a "$keya" 4 \
	--omit X-Vantage-Signature < <(body)
reject '^400 .*X-Vantage-Signature' "malformed signature" a "$keya" 4 --sig abc < <(body)
reject '^400 ' "count does not match the lines" a "$keya" 4 --count 3 < <(body)
big=$(head -c 70000 /dev/zero | tr '\0' 'x')
reject '^(413|000) ' "oversize body refused" a "$keya" 4 < <(printf '%s\n' "$big")
reject '^(413|000) ' "oversize chunked body refused" a "$keya" 4 --chunked < <(printf '%s\n' "$big")
reject '^400 .*line 1' "garbage body" a "$keya" 4 < <(printf 'hello\n')
reject '^400 .*line 1' "record without fields" a "$keya" 4 < <(printf '{"ts":1}\n')
reject '^400 .*target' "target ../etc" a "$keya" 4 < <(rec $((t0 + 40)) '../etc')
reject '^400 .*target' "target with a slash" a "$keya" 4 < <(rec $((t0 + 40)) 'a/b')
reject '^400 ' "target with a NUL" a "$keya" 4 < <(rec $((t0 + 40)) 'www\u0000x')
reject '^400 .*ip' "ip ../../x" a "$keya" 4 < <(rec $((t0 + 40)) www '../../x')
reject '^400 .*ip' "ip with a path" a "$keya" 4 < <(rec $((t0 + 40)) www '127.0.0.1/../x')
reject '^400 .*name' "check name .." a "$keya" 4 < <(rec $((t0 + 40)) www 127.0.0.11 '..')
reject '^400 .*probe' \
	"record of another probe" a "$keya" 4 < <(rec $((t0 + 40)) www 127.0.0.11 tcp b)
reject '^400 .*line 2' \
	"one bad line rejects the whole batch" a "$keya" 4 < <({ rec $((t0 + 40)); rec $((t0 + 50)) '../x'; })

find "$data/rrd" -type f | sort >"$VT_TMP/files.after"
check "rejected batches left no file in the RRD tree" \
	diff "$VT_TMP/files.before" "$VT_TMP/files.after"
n_outside=$(find "$VT_TMP" -name '*.rrd' -not -path "$data/rrd/*" | wc -l)
is "$n_outside" 0 "no RRD file outside the RRD tree"
is "$(vt_sql "$data/events.sqlite" "select sum(results) from series")" 4 \
	"rejected batches left nothing in the database"
is "$(vt_sql "$data/events.sqlite" "select next_record from probes where name='a'")" 4 \
	"probe a's record number unchanged by rejections"

# The stored values: rows at t0..t0+30 with up=1 and the connect time.
f=$data/rrd/www/tcp/127.0.0.11/a.rrd
check "RRD file at the documented path" test -f "$f"
vals=$(rrdtool fetch "$f" AVERAGE -r 10 -s $((t0 - 10)) -e $((t0 + 30)) |
	awk -F'[: ]+' '$1 ~ /^[0-9]+$/ && $2 !~ /nan/ {print $1, $2}' | head -n 4)
like "$vals" "^$t0 1\\.0+e\\+00" "RRD holds up=1 at the first timestamp"
n_rows=$(rrdtool fetch "$f" AVERAGE -r 10 -s $((t0 - 10)) -e $((t0 + 30)) |
	awk -F'[: ]+' '$1 ~ /^[0-9]+$/ && $2 ~ /^1/ {n++} END {print n+0}')
is "$n_rows" 4 "four rows stored, one per result"

# A gap in the numbering (a spool lost) is logged and the batch stored.
r=$(rec $((t0 + 60)) | post a "$keya" 10)
like "$r" '^200 .*"stored":1,.*"next":11' "batch after a gap stored"
# (Records 4 and 5 were refused above with a 400 naming their line.)
like "$(cat "$VT_TMP/collector.log")" \
	"of records 4\\.\\.9, 2 set aside by the probe \\(refused here with 400\\) and 4 never arrived" \
	"gap logged: what the probe set aside, what never arrived"
# A record refused with 400 naming its line is set aside by the probe,
# which sends the next ones: the gap it leaves is said to be that.
r=$( { rec $((t0 + 70)); printf '{"ts":%s,"probe":"a","tarxet":1}\n' $((t0 + 80)); } |
	post a "$keya" 11)
like "$r" '^400 .*line 2' "a bad record is refused, naming its line"
r=$(rec $((t0 + 70)) | post a "$keya" 11)
like "$r" '^200 .*"next":12' "the records before it are stored"
r=$(rec $((t0 + 90)) | post a "$keya" 13)
like "$r" '^200 .*"next":14' "the records after it are stored"
like "$(cat "$VT_TMP/collector.log")" "records 12\\.\\.12 set aside by the probe" \
	"the gap of a refused record is logged as set aside, not lost"

r=$(vt_http GET "$url/healthz")
like "$r" '^200 .*"status":"ok"' "/healthz answers"
r=$(vt_http GET "$url/nope")
like "$r" '^404 ' "unknown path: 404"
r=$(vt_http GET "$url/v1/results")
like "$r" '^405 ' "GET /v1/results: 405"
rc=0
vt_collector_stop || rc=$?
is "$rc" 0 "collector exits 0 on SIGTERM"
tap_done
