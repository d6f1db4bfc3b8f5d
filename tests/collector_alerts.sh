#!/bin/bash
# SPDX-License-Identifier: MIT
# Alerts (docs/alerts.md) against real receivers: Debian's
# prometheus-alertmanager with a webhook receiver behind it (a small Python
# server, tests/lib/alert_sink.py), a signed webhook, a webhook answering
# 500 three times, and a program. Three probes (tests/lib/vt_feed.py, an
# independent signer) send tcp results of www's addresses A and B:
#   1. only p1 fails on B (a partial event): Alertmanager gets nothing;
#   2. every probe fails on A: one outage, firing once through Alertmanager,
#      then resolved when A is back;
#   3. Alertmanager down, every probe fails on B, the collector restarts
#      before delivery: after Alertmanager is back the alert arrives once,
#      and its end resolves it;
#   4. late data on C: p1 and p2 fail, p1 recovers (the outage is resolved),
#      then p3's late failures show it went on: firing again ("reopened"),
#      then resolved at its new end.
# Then: each webhook request's signature verified in Python (hmac), each
# event once per receiver, the program's stdin valid JSON, a hanging
# program killed after its timeout (--test-alert).
. "$top_srcdir/tests/lib/servers.sh"
vt_require python3
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
AM_BIN=$(command -v prometheus-alertmanager || true)
[ -n "$AM_BIN" ] || { echo "1..0 # SKIP prometheus-alertmanager not installed"; exit 0; }
vt_setup
tap_plan 39

A=127.0.0.11
B=127.0.0.12
C=127.0.0.13
now=$(date +%s)
T=$((now - 250))
sink_port=$(vt_free_port)
am_port=$(vt_free_port)
port=$(vt_free_port)
sinklog=$VT_TMP/sink.jsonl
: >"$sinklog"
"$VT_PYTHON" "$top_srcdir/tests/lib/alert_sink.py" "$sink_port" "$sinklog" \
	/flaky=3 >"$VT_TMP/sink.err" 2>&1 &
SINK_PID=$!
vt_track "$SINK_PID"

mkdir -p "$VT_TMP/am"
cat >"$VT_TMP/am/am.yml" <<YML
route:
  receiver: sink
  group_by: [alertname, target, address]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$sink_port/am
        send_resolved: true
YML
am_start() {
	"$AM_BIN" --config.file="$VT_TMP/am/am.yml" \
		--storage.path="$VT_TMP/am/data" \
		--web.listen-address="127.0.0.1:$am_port" \
		--cluster.listen-address= >>"$VT_TMP/am/am.log" 2>&1 &
	AM_PID=$!
	vt_track "$AM_PID"
	for _ in $(seq 1 100); do
		case $(vt_http GET "http://127.0.0.1:$am_port/-/ready") in
		200*) return 0 ;;
		esac
		sleep 0.1
	done
	diag "$(tail -n 20 "$VT_TMP/am/am.log")"
	return 1
}
am_stop() {
	kill -TERM "$AM_PID"
	wait "$AM_PID" 2>/dev/null
	_vt_untrack "$AM_PID"
}
am_start || bail "alertmanager did not start"

data=$VT_TMP/data
cfg=$VT_TMP/collector.cfg
hookkey=$(vt_key hook)
cat >"$cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$data"; };
storage = { step = 10; rra = [ "RRA:AVERAGE:0.5:1:360" ]; };
quorum = { quorum = 2; confirm = 2; silence = 3600.0; };
probes = ( { name = "p1"; key_file = "$(vt_key p1)"; },
           { name = "p2"; key_file = "$(vt_key p2)"; },
           { name = "p3"; key_file = "$(vt_key p3)"; } );
alerts = {
  status_url = "http://status.example.test/";
  retry_min = 0.2; retry_max = 1.0;
  receivers = (
    { name = "am"; type = "alertmanager"; url = "http://127.0.0.1:$am_port"; },
    { name = "hook"; type = "webhook"; url = "http://127.0.0.1:$sink_port/hook";
      key_file = "$hookkey";
      events = [ "outage", "partial", "host", "probe", "cert", "dns" ]; },
    { name = "flaky"; type = "webhook"; url = "http://127.0.0.1:$sink_port/flaky";
      key_file = "$hookkey"; },
    { name = "prog"; type = "program"; timeout = 5.0;
      command = "cat >>'$VT_TMP/prog.out'; echo >>'$VT_TMP/prog.out'"; }
  );
};
CFG
vt_collector_start "$cfg" "$port" || bail "collector did not start"

feedp() { # feedp PROBES IP FROM TO FAILING [MODE]
	"$VT_PYTHON" "$top_srcdir/tests/lib/vt_feed.py" "http://127.0.0.1:$port" \
		"$VT_TMP/keys" "$VT_TMP/seq.json" "$2" "$3" "$4" 10 "$1" "$5" ${6:+"$6"}
}
feed() { feedp p1,p2,p3 "$@"; } # feed IP FROM TO FAILING
# am_count STATUS ADDRESS: Alertmanager notifications with that status
# carrying an alert of that address.
am_count() {
	"$VT_PYTHON" - "$sinklog" "$1" "$2" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r['path'] != '/am':
        continue
    b = json.loads(r['body'])
    n += sum(1 for a in b['alerts'] if a['status'] == sys.argv[2]
             and a['labels'].get('address') == sys.argv[3])
print(n)
PY
}
wait_am() { # wait_am STATUS ADDRESS: up to 20 s for one notification
	for _ in $(seq 1 100); do
		[ "$(am_count "$1" "$2")" -ge 1 ] && return 0
		sleep 0.2
	done
	return 1
}
paths() { "$VT_PYTHON" -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["path"] == sys.argv[2]))' "$sinklog" "$1"; }

# 1: one probe fails on B.
check "one-probe failure fed" feed "$B" "$T" "$((T + 60))" p1
check "B back fed" feed "$B" "$((T + 60))" "$((T + 90))" -
sleep 4
is "$(paths /am)" 0 "a one-probe failure: nothing to Alertmanager"
is "$(paths /flaky)" 0 "a one-probe failure: nothing to a default receiver"
is "$(grep -c '"partial' "$sinklog")" 2 \
	"a receiver that asks for partial events gets it opened and ended"

# 2: every probe fails on A.
check "A ok fed" feed "$A" "$T" "$((T + 60))" -
check "A outage fed" feed "$A" "$((T + 60))" "$((T + 120))" p1,p2,p3
wait_am firing "$A"
is "$(am_count firing "$A")" 1 "an outage by quorum reaches Alertmanager's receiver once"
is "$(vt_sql "$data/alerts.sqlite" "select count(*) from am_firing where labels like '%$A%'")" 1 \
	"the firing alert is kept for re-sending to Alertmanager"
check "A back fed" feed "$A" "$((T + 120))" "$((T + 150))" -
wait_am resolved "$A"
is "$(am_count resolved "$A")" 1 "its end resolves it"
am_body=$(grep '"/am"' "$sinklog" | head -n 1)
like "$am_body" 'VantageAddressDown.*' "alertname VantageAddressDown"
like "$am_body" 'status.example.test' "generatorURL is the status page"

# 3: Alertmanager down during the outage, the collector restarts.
am_stop
check "B outage fed" feed "$B" "$((T + 90))" "$((T + 150))" p1,p2,p3
for _ in $(seq 1 50); do
	pending=$(vt_sql "$data/alerts.sqlite" "select count(*) from outbox
		where receiver='am' and done is null and attempts > 0
		and key like 'outage-%-open'")
	[ "$pending" = 1 ] && break
	sleep 0.2
done
is "$pending" 1 "the alert waits in the outbox while Alertmanager is down"
vt_collector_stop
vt_collector_start "$cfg" "$port" || bail "collector did not restart"
am_start || bail "alertmanager did not restart"
wait_am firing "$B"
is "$(am_count firing "$B")" 1 "delivered once after Alertmanager and the collector are back"
check "B back fed" feed "$B" "$((T + 150))" "$((T + 180))" -
wait_am resolved "$B"
is "$(am_count resolved "$B")" 1 "and resolved"
sleep 2

# 4: an outage that late results reopen.
c_events() { "$VT_PYTHON" -c '
import json, sys
ev = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])
      if json.loads(l)["path"] == "/hook" and json.loads(l)["status"] == 200]
print(" ".join("%s%s@%s" % (e["status"], "(reopened)" if e.get("reopened")
               else "", int(float(e.get("duration_s", -1))))
               for e in ev if e["event"] == "outage"
               and e.get("address") == sys.argv[2]))' "$sinklog" "$C"; }
check "C: p1, p2 fail" feedp p1,p2 "$C" "$T" "$((T + 70))" p1,p2
check "C: p3 ok meanwhile" feedp p3 "$C" "$T" "$((T + 60))" -
check "C: p1 back, p2 still failing" feedp p1,p2 "$C" "$((T + 70))" "$((T + 100))" p2
wait_for() { # wait_for WANT CMD...: up to 10 s until CMD prints WANT
	for _ in $(seq 1 50); do
		[ "$("${@:2}")" = "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
wait_for "firing@-1 resolved@70" c_events
check "C: p3's late failures" feedp p3 "$C" "$((T + 60))" "$((T + 100))" p3
check "C: all back" feedp p1,p2,p3 "$C" "$((T + 100))" "$((T + 120))" -
wait_for "firing@-1 resolved@70 firing(reopened)@-1 resolved@100" c_events
is "$(c_events)" "firing@-1 resolved@70 firing(reopened)@-1 resolved@100" \
	"an outage reopened by late results fires again, then resolves at its new end"
like "$(grep -m1 'goes on after all' "$VT_TMP/collector.log")" \
	"$C: outage from .* goes on after all \\(late results\\); it had ended at" \
	"the collector logs the reopened outage"

# Certificates and DNS `expect`, by quorum: one probe alone says nothing.
feedm() { feedp p1,p2,p3 "$2" "$3" "$4" "$5" "$1"; } # feedm MODE IP FROM TO FAILING
hook_events() { "$VT_PYTHON" -c '
import json, sys
print(" ".join(sorted(json.loads(json.loads(l)["body"])["event"] + "/" +
      json.loads(json.loads(l)["body"])["status"] for l in open(sys.argv[1])
      if json.loads(l)["path"] == "/hook" and json.loads(l)["status"] == 200
      and json.loads(json.loads(l)["body"])["event"] == sys.argv[2])))' "$sinklog" "$1"; }
feedm cert "$A" "$((T + 150))" "$((T + 170))" p1 >/dev/null
feedm dns "$A" "$((T + 150))" "$((T + 170))" p1 >/dev/null
sleep 1.5
is "$(hook_events cert) $(hook_events dns)" " " "one probe seeing a certificate expire or a wrong answer: nothing"
feedm cert "$A" "$((T + 170))" "$((T + 190))" p1,p2 >/dev/null
feedm dns "$A" "$((T + 170))" "$((T + 190))" p1,p3 >/dev/null
feedm cert "$A" "$((T + 190))" "$((T + 200))" - >/dev/null
feedm dns "$A" "$((T + 190))" "$((T + 200))" - >/dev/null
cert_dns() { echo "$(hook_events cert) $(hook_events dns)"; }
wait_for "cert/firing cert/resolved dns/firing dns/resolved" cert_dns
is "$(cert_dns)" "cert/firing cert/resolved dns/firing dns/resolved" \
	"a quorum agreeing on a certificate's expiry and a DNS answer differing from expect: fired and resolved"
like "$(grep '"/hook"' "$sinklog" | grep -m1 'days_left')" 'days_left.{1,6}3' "the event carries days_left"

# Webhooks: signatures (independently), once per event, 500 three times.
verdict=$("$VT_PYTHON" - "$sinklog" "$hookkey" "$data/alerts.sqlite" <<'PY'
import collections, hashlib, hmac, json, sqlite3, sys
key = open(sys.argv[2], 'rb').read().rstrip(b'\n')
db = sqlite3.connect(sys.argv[3])
expect = {rx: set(k for (k,) in db.execute(
    'select key from outbox where receiver = ?', (rx,)))
    for rx in ('hook', 'flaky')}
bad, ok200, fails = 0, collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r['path'] not in ('/hook', '/flaky'):
        continue
    h = {k.lower(): v for k, v in r['headers'].items()}
    name = h['x-vantage-receiver'].encode()
    body = r['body'].encode()
    msg = (b'vantage-alert-v1\n' + str(len(name)).encode() + b':' + name +
           b'\n' + h['x-vantage-seq'].encode() + b'\n1\n' +
           h['x-vantage-time'].encode() + b'\n' + str(len(body)).encode() +
           b':' + body)
    want = hmac.new(key, msg, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, h['x-vantage-signature']):
        bad += 1
    if json.loads(r['body'])['key'] != h['idempotency-key']:
        bad += 1
    if r['status'] == 200:
        ok200[(r['path'], h['idempotency-key'])] += 1
    else:
        fails[r['path']] += 1
hook = set(k for p, k in ok200 if p == '/hook')
flaky = set(k for p, k in ok200 if p == '/flaky')
print('bad=%d hook=%s flaky=%s dup=%d fails=%d partial=%d' % (
    bad, hook == expect['hook'], flaky == expect['flaky'],
    sum(1 for v in ok200.values() if v > 1), fails['/flaky'],
    sum(1 for k in flaky if k.startswith('partial'))))
PY
)
is "$verdict" "bad=0 hook=True flaky=True dup=0 fails=3 partial=0" \
	"webhook signatures verify; each event once per receiver; 500 x3 then once"

# The program: one valid JSON event per run on stdin.
progv=$("$VT_PYTHON" - "$VT_TMP/prog.out" "$data/alerts.sqlite" <<'PY'
import json, sqlite3, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
n = sqlite3.connect(sys.argv[2]).execute(
    "select count(*) from outbox where receiver = 'prog'").fetchone()[0]
print(len(ev) == n, ' '.join('%s/%s/%s' % (e['event'], e['status'],
                             e.get('address', e.get('state')))
                             for e in ev if e['event'] == 'outage'))
PY
)
is "$progv" "True outage/firing/127.0.0.11 outage/resolved/127.0.0.11 outage/firing/127.0.0.12 outage/resolved/127.0.0.12 outage/firing/127.0.0.13 outage/resolved/127.0.0.13 outage/firing/127.0.0.13 outage/resolved/127.0.0.13" \
	"the program gets each event as JSON on stdin"
is "$(vt_sql "$data/alerts.sqlite" "select count(*) from outbox where done is null")" 0 \
	"the outbox is drained"
is "$(vt_sql "$data/alerts.sqlite" "select count(*) from am_firing")" 0 \
	"nothing left firing in Alertmanager"

# /metrics counts the alerts.
m=$(vt_http GET "http://127.0.0.1:$port/metrics")
like "$m" 'vantage_alerts_delivered_total [1-9]' "/metrics counts delivered alerts"

# --test-alert: a hanging program is killed after its timeout.
cat >"$VT_TMP/test.cfg" <<CFG
probes = ( { name = "p1"; key_file = "$(vt_key p1)"; } );
alerts = { receivers = (
  { name = "hook"; type = "webhook"; url = "http://127.0.0.1:$sink_port/test"; key_file = "$hookkey"; },
  { name = "hang"; type = "program"; command = "sleep 30"; timeout = 1.0; } ); };
CFG
t0=$(date +%s.%N)
out=$("$VANTAGE_COLLECTOR" -c "$VT_TMP/test.cfg" --test-alert 2>&1) && rc=0 || rc=$?
t1=$(date +%s.%N)
is "$rc" 1 "--test-alert exits 1 when a receiver fails"
like "$out" 'hook \(webhook\): ok' "--test-alert reports the webhook ok"
like "$out" 'hang \(program\): FAILED: killed after the 1.0 s timeout' \
	"a hanging program is killed after its timeout"
is "$("$VT_PYTHON" -c "import sys; print(int(float(sys.argv[2]) - float(sys.argv[1]) < 5))" "$t0" "$t1")" 1 \
	"... within seconds"

# Logs: ISO UTC times in event lines; journald priorities when stderr is
# the journal (JOURNAL_STREAM names stderr's device and inode).
like "$(grep -m1 'outage from' "$VT_TMP/collector.log")" \
	'outage from 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z, seen by' \
	"event lines carry ISO UTC times"
printf 'probes = 1;\n' >"$VT_TMP/bad.cfg"
: >"$VT_TMP/journal.txt"
JOURNAL_STREAM=$(stat -c '%d:%i' "$VT_TMP/journal.txt") \
	"$VANTAGE_COLLECTOR" -c "$VT_TMP/bad.cfg" 2>>"$VT_TMP/journal.txt" || true
like "$(head -n 1 "$VT_TMP/journal.txt")" '^<3>err: .*bad.cfg' \
	"journald priority prefixes when stderr is the journal"
