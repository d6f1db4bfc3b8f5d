#!/bin/bash
# SPDX-License-Identifier: MIT
# The collector under an operator's bad day (issue 10, collector side):
# slow clients (trickled headers and bodies from other addresses) neither
# lock a probe out nor outlive their deadlines, and their refusals are
# logged with back-off; bodies are read only from known probes and within
# max_buffered; conflicting Content-Length is refused (raw socket); a 400
# is logged with its reason; record numbers cannot overflow; control bytes
# of a stranger's probe name are escaped in the log; a corrupt RRD file
# fails only its own series; results from a clock stepped ahead inside
# the time window are set aside instead of blocking the values after them;
# /healthz reports a locked or corrupt database and an unwritable data
# directory, and answers while another process holds the database lock.
. "$top_srcdir/tests/lib/servers.sh"
vt_require python3 rrdtool
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
vt_setup
send=("$VT_PYTHON" "$top_srcdir/tests/lib/vt_send.py")
slow=("$VT_PYTHON" "$top_srcdir/tests/lib/slow_clients.py")
keya=$(vt_key a)
port=$(vt_free_port)
data=$VT_TMP/data
url=http://127.0.0.1:$port
log=$VT_TMP/collector.log
cat >"$VT_TMP/collector.cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$data";
              max_body = 65536; max_buffered = 100000;
              max_connections = 150; max_connections_per_address = 20;
              header_timeout = 2.0; body_timeout = 3.0; };
storage = { step = 10; };
quorum = { quorum = 1; confirm = 1; };
probes = ( { name = "a"; key_file = "$keya"; } );
CFG
vt_collector_start "$VT_TMP/collector.cfg" "$port" || bail "collector did not start"

now=$(date +%s)
t0=$(( (now / 10) * 10 - 200 ))
rec() { # rec TS [IP]
	printf '{"ts":%s,"probe":"a","target":"www","check":"tcp","name":"tcp","host":"www.example.test","ip":"%s","port":80,"ok":true,"ms":{"connect":0.5,"total":0.75}}\n' \
		"$1" "${2:-127.0.0.11}"
}
post() { "${send[@]}" "$url" "$@"; }
seq_no=0
# post_rec TS [IP]: one record as the next batch of probe a; reply in $r.
post_rec() {
	r=$(rec "$@" | post a "$keya" "$seq_no")
	case $r in 200*) seq_no=$((seq_no + 1)) ;; esac
}
# jget JSON KEY
jget() { "$VT_PYTHON" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# ---- slow clients -----------------------------------------------------------
# 200 sockets trickling header bytes from 4 other addresses (per address at
# most 20 get in), while probe a uploads from 127.0.0.1.
"${slow[@]}" 127.0.0.1 "$port" --count 200 --mode header --interval 0.5 \
	--duration 6 --sources 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5 \
	--ready "$VT_TMP/slow.ready" >"$VT_TMP/slow.json" &
slow_pid=$!
vt_track "$slow_pid"
for i in $(seq 1 50); do [ -f "$VT_TMP/slow.ready" ] && break; sleep 0.1; done
ok_posts=0
for i in 1 2 3 4 5; do
	post_rec $((t0 + 10 * i))
	case $r in 200*) ok_posts=$((ok_posts + 1)) ;; esac
	sleep 0.5
done
is "$ok_posts" 5 "probe uploads 5 of 5 batches while 200 slow header sockets are open"
wait "$slow_pid"
s=$(cat "$VT_TMP/slow.json")
diag "slow headers: $s"
at_once=$(jget "$s" closed_at_once)
late=$(jget "$s" closed_by_server)
max_life=$(jget "$s" max_life_s)
check "the per-address limit refuses 120 of them at the door ($at_once)" \
	test "$at_once" -ge 100
check "the others are closed at the 2 s header deadline despite the trickle ($late, longest $max_life s)" \
	"$VT_PYTHON" -c "import sys; sys.exit(not ($late >= 60 and $max_life < 3.5))"
n_lines=$(grep -c 'connection limit\|not complete within' "$log")
check "refusals logged with back-off ($n_lines lines for 200 sockets)" test "$n_lines" -le 12

# 200 slow sockets from 10 addresses pass the per-address limit and fill
# max_connections (150): each new connection past it evicts the request
# in progress longest, so the probe still gets in at once.
"${slow[@]}" 127.0.0.1 "$port" --count 200 --mode header --interval 0.5 \
	--duration 4 --sources "$(echo 127.0.1.{1..10} | tr ' ' ,)" \
	--ready "$VT_TMP/slow2.ready" >"$VT_TMP/slow2.json" &
slow_pid=$!
vt_track "$slow_pid"
for i in $(seq 1 50); do [ -f "$VT_TMP/slow2.ready" ] && break; sleep 0.1; done
ok_posts=0
for i in 6 7 8; do
	post_rec $((t0 + 10 * i))
	case $r in 200*) ok_posts=$((ok_posts + 1)) ;; esac
done
is "$ok_posts" 3 "probe uploads 3 of 3 while slow sockets fill max_connections"
wait "$slow_pid"
diag "slow headers, full house: $(cat "$VT_TMP/slow2.json")"
like "$(vt_http GET "$url/healthz")" '"evicted":([5-9][0-9]|[1-9][0-9][0-9])' \
	"the oldest requests in progress were evicted (/healthz counts them)"

# A slow body from a known probe is closed at the body deadline.
s=$("${slow[@]}" 127.0.0.1 "$port" --count 3 --mode body --length 60000 \
	--interval 0.5 --duration 6 --sources 127.0.0.10)
diag "slow bodies: $s"
check "slow bodies closed at the 3 s body deadline" \
	"$VT_PYTHON" -c "import sys; d=$s; sys.exit(not (d['closed_by_server'] == 3 and d['max_life_s'] < 5.0))"

# ---- authentication and memory before the body -------------------------------
raw() { # raw REQUEST_TEXT: send bytes on a fresh socket, print the status line
	"$VT_PYTHON" - "$port" "$1" <<'PY'
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode('unicode_escape').encode('latin-1'))
t = time.monotonic()
try:
    data = s.recv(4096)
except OSError:
    data = b''
print((data.split(b'\r\n')[0].decode() or 'closed') + ' after %.1fs' % (time.monotonic() - t))
PY
}
tnow=$(date +%s)
# The first unknown probe of the run is logged (later ones with back-off).
r=$(raw "POST /v1/results HTTP/1.1\r\nHost: x\r\nX-Vantage-Probe: evil\x1b[31m\x07X\r\nX-Vantage-Seq: 0\r\nX-Vantage-Count: 1\r\nX-Vantage-Time: $tnow\r\nX-Vantage-Signature: $(printf '%064d' 0)\r\nContent-Length: 10\r\n\r\n0123456789")
like "$r" '^HTTP/1.1 40[01] ' "a probe name with control bytes is refused ($r)"
like "$(grep 'unknown probe' "$log")" 'evil\\x1b\[31m\\x07X' "and logged escaped"
check "no raw ESC or BEL byte in the log" bash -c "! grep -q \$'[\\033\\007]' '$log'"
r=$(raw "POST /v1/results HTTP/1.1\r\nHost: x\r\nX-Vantage-Probe: nobody\r\nX-Vantage-Seq: 0\r\nX-Vantage-Count: 1\r\nX-Vantage-Time: $tnow\r\nX-Vantage-Signature: $(printf '%064d' 0)\r\nContent-Length: 60000\r\n\r\n")
like "$r" '^HTTP/1.1 401 .* after 0\.' "unknown probe refused before its body is sent ($r)"
r=$(raw "POST /v1/results HTTP/1.1\r\nHost: x\r\nX-Vantage-Probe: a\r\nX-Vantage-Seq: 0\r\nX-Vantage-Count: 1\r\nX-Vantage-Time: $tnow\r\nContent-Length: 60000\r\n\r\n")
like "$r" '^HTTP/1.1 400 .* after 0\.' "missing signature header refused before the body ($r)"
r=$(raw "POST /v1/results HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
like "$r" '^HTTP/1.1 400 ' "two different Content-Length headers refused ($r)"
r=$(raw "POST /v1/results HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello")
like "$r" '^HTTP/1.1 400 ' "a repeated Content-Length refused too ($r)"

# max_buffered = 100000: one body of 60000 held, a second declared 60000 gets 503.
"$VT_PYTHON" - "$port" "$tnow" >"$VT_TMP/mem.txt" <<'PY' &
import socket, sys, time
port, t = int(sys.argv[1]), sys.argv[2]
hdr = ('POST /v1/results HTTP/1.1\r\nHost: x\r\nX-Vantage-Probe: a\r\n'
       'X-Vantage-Seq: 0\r\nX-Vantage-Count: 1\r\nX-Vantage-Time: %s\r\n'
       'X-Vantage-Signature: %s\r\nContent-Length: 60000\r\n\r\n' % (t, '0' * 64))
a = socket.create_connection(('127.0.0.1', port))
a.sendall(hdr.encode() + b'x' * 59000)
time.sleep(0.5)
b = socket.create_connection(('127.0.0.1', port), timeout=3)
b.sendall(hdr.encode())
print(b.recv(4096).split(b'\r\n')[0].decode())
PY
mem_pid=$!
wait "$mem_pid"
like "$(cat "$VT_TMP/mem.txt")" '^HTTP/1.1 503 ' "a body past max_buffered gets 503 before it is read"

# ---- 400 logged with its reason; sequence overflow; escaped names ---------
r=$(printf '{"ts":1}\n' | post a "$keya" "$seq_no")
like "$r" '^400 .*line 1' "a bad record gets 400 naming the line"
like "$(grep 'refused (400)' "$log")" 'probe a: records [0-9]+\+[0-9]+ refused \(400\): .*line 1' \
	"the collector logs the 400 with probe, record and reason"
r=$(rec $((t0 + 100)) | post a "$keya" 18446744073709551615)
like "$r" '^400 .*past the last record number' "seq 2^64-1 refused, no wrap-around ($r)"
r=$(rec $((t0 + 100)) | post a "$keya" 9223372036854775807)
like "$r" '^400 .*past the last record number' "seq 2^63-1 + 1 refused ($r)"

# ---- corrupt RRD file --------------------------------------------------------
post_rec $((t0 + 90)) 127.0.0.12
like "$r" '^200 ' "second series stored"
f1=$data/rrd/www/tcp/127.0.0.11/a.rrd
f2=$data/rrd/www/tcp/127.0.0.12/a.rrd
head -c 3000 /dev/urandom >"$f1"
r=$( { rec $((t0 + 100)) 127.0.0.11; rec $((t0 + 100)) 127.0.0.12; } | post a "$keya" "$seq_no")
like "$r" '^200 .*"stored":2' "a batch touching a corrupt RRD file is stored ($r)"
seq_no=$((seq_no + 2))
check "the corrupt file was moved aside" bash -c "ls '$f1'.corrupt-* >/dev/null"
check "and a fresh one created" rrdtool info "$f1"
is "$(rrdtool lastupdate "$f2" | awk 'END {print $1}')" "$((t0 + 100)):" \
	"the other series of the batch got its value"
like "$(cat "$log")" "corrupt .*moved aside" "the replacement is logged"
truncate -s 100 "$f2"
post_rec $((t0 + 110)) 127.0.0.12
like "$r" '^200 ' "a truncated RRD file is replaced too ($r)"

# ---- clock step ahead inside the window -------------------------------------
tnow=$(date +%s)
ahead=$(( (tnow / 10) * 10 + 240 ))
post_rec "$ahead"
like "$r" '^200 .*"stored":0.*"ahead":1' "a result 240 s ahead is set aside, not stored ($r)"
check "it is in the collector's quarantine file with the reason" \
	grep -q "ahead of the collector's clock" "$data/quarantine/a.jsonl"
good=$(( (tnow / 10) * 10 ))
post_rec "$good"
like "$r" '^200 .*"stored":1' "the correct result after it is stored"
is "$(rrdtool lastupdate "$f1" | awk 'END {print $1}')" "$good:" \
	"the series' last update is the correct time, not the future one"

# ---- /healthz -----------------------------------------------------------------
r=$(vt_http GET "$url/healthz")
like "$r" '^200 .*"status":"ok"' "/healthz ok"
# Another process holds the database's write lock for 4 s.
"$VT_PYTHON" - "$data/events.sqlite" "$VT_TMP/locked" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute('BEGIN EXCLUSIVE')
c.execute('CREATE TABLE IF NOT EXISTS hostile_lock(x)')
open(sys.argv[2], 'w').close()
time.sleep(4)
c.execute('ROLLBACK')
PY
lock_pid=$!
vt_track "$lock_pid"
for i in $(seq 1 50); do [ -f "$VT_TMP/locked" ] && break; sleep 0.1; done
t_a=$(date +%s%N)
r=$(vt_http GET "$url/healthz")
t_b=$(date +%s%N)
like "$r" '^503 .*"status":"error".*locked' "/healthz reports the lock ($r)"
check "and answers within 1 s ($(( (t_b - t_a) / 1000000 )) ms)" test $(( (t_b - t_a) / 1000000 )) -lt 1000
t_a=$(date +%s%N)
r=$(rec $((good + 10)) | post a "$keya" "$seq_no")
t_b=$(date +%s%N)
like "$r" '^503 ' "a batch during the lock gets 503 ($r)"
check "within 1.5 s, not a 5 s stall ($(( (t_b - t_a) / 1000000 )) ms)" test $(( (t_b - t_a) / 1000000 )) -lt 1500
wait "$lock_pid"
r=$(vt_http GET "$url/healthz")
like "$r" '^200 .*"status":"ok"' "/healthz ok again after the lock"

mv "$data/rrd" "$data/rrd.moved" && touch "$data/rrd"
r=$(vt_http GET "$url/healthz")
like "$r" '^503 .*data directory .*/rrd' "/healthz reports an unusable RRD directory"
rm -f "$data/rrd" && mv "$data/rrd.moved" "$data/rrd"
cp "$data/events.sqlite" "$VT_TMP/events.backup"
printf 'garbage garbage garbage!' | dd of="$data/events.sqlite" conv=notrunc status=none
r=$(vt_http GET "$url/healthz")
like "$r" '^503 .*not an SQLite database' "/healthz reports a corrupt database"
cp "$VT_TMP/events.backup" "$data/events.sqlite"

rc=0
vt_collector_stop || rc=$?
is "$rc" 0 "collector exits 0 on SIGTERM"
tap_done
