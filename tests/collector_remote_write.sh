#!/bin/bash
# SPDX-License-Identifier: MIT
# Remote write end to end (docs/collector.md, "Remote write"): a collector
# with two receivers from Debian, victoria-metrics and prometheus
# --web.enable-remote-write-receiver. Probes p1 and p2 send tcp results of
# www at A and B every 10 s over 40 rounds (A down on rounds 10..14); both
# receivers are stopped after round 19 and started again after round 39.
# Each receiver must then hold exactly the samples the probes produced:
# per address and probe, vantage_up at every round's time with the right
# value, no gap and no duplicate; and vantage_latency_ms{phase="connect"}
# for the rounds that succeeded.
. "$top_srcdir/tests/lib/servers.sh"
vt_require python3
vt_require victoria-metrics
vt_require prometheus
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
vt_setup
export TZ=UTC LC_ALL=C

A=127.0.0.11
B=127.0.0.12
now=$(date +%s)
T=$(((now / 10) * 10 - 400))
ROUNDS=40

vmport=$(vt_free_port)
prport=$(vt_free_port)
vm_start() {
	victoria-metrics -storageDataPath="$VT_TMP/vm" -httpListenAddr="127.0.0.1:$vmport" \
		-retentionPeriod=1y -search.latencyOffset=0s \
		</dev/null >>"$VT_TMP/vm.log" 2>&1 &
	VM_PID=$!
	vt_track "$VM_PID"
}
pr_start() {
	printf 'global:\n  scrape_interval: 1h\n' >"$VT_TMP/prometheus.yml"
	prometheus --config.file="$VT_TMP/prometheus.yml" \
		--storage.tsdb.path="$VT_TMP/prom" --web.listen-address="127.0.0.1:$prport" \
		--web.enable-remote-write-receiver </dev/null >>"$VT_TMP/prom.log" 2>&1 &
	PR_PID=$!
	vt_track "$PR_PID"
}
wait_http() { # URL: up to 20 s for a 200
	local i
	for i in $(seq 1 200); do
		case $(vt_http GET "$1") in 200*) return 0 ;; esac
		sleep 0.1
	done
	return 1
}
stop_pid() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null || true; }

vm_start
pr_start
wait_http "http://127.0.0.1:$vmport/health" || bail "victoria-metrics did not start: $(tail -n 5 "$VT_TMP/vm.log")"
wait_http "http://127.0.0.1:$prport/-/ready" || bail "prometheus did not start: $(tail -n 5 "$VT_TMP/prom.log")"

port=$(vt_free_port)
cfg=$VT_TMP/collector.cfg
cat >"$cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$VT_TMP/data"; };
probes = ( { name = "p1"; key_file = "$(vt_key p1)"; },
           { name = "p2"; key_file = "$(vt_key p2)"; } );
remote_write = ( { name = "vm"; url = "http://127.0.0.1:$vmport/api/v1/write"; },
                 { name = "prom"; url = "http://127.0.0.1:$prport/api/v1/write"; } );
CFG
vt_collector_start "$cfg" "$port" || bail "collector did not start"

echo 0 >"$VT_TMP/seq.p1"
echo 0 >"$VT_TMP/seq.p2"
# send FIRST LAST: rounds FIRST..LAST, one batch per probe and round (the
# probes' sequence numbers in files: check runs this in a subshell).
send() {
	local k p ip t body out s
	for k in $(seq "$1" "$2"); do
		t=$((T + 10 * k))
		for p in p1 p2; do
			body=
			for ip in $A $B; do
				if [ "$ip" = "$A" ] && [ "$k" -ge 10 ] && [ "$k" -le 14 ]; then
					body+="{\"ts\":$t,\"probe\":\"$p\",\"target\":\"www\",\"check\":\"tcp\",\"name\":\"tcp\",\"host\":\"www.example.test\",\"ip\":\"$ip\",\"port\":80,\"ok\":false,\"error\":\"connect_timeout\",\"ms\":{}}"$'\n'
				else
					body+="{\"ts\":$t,\"probe\":\"$p\",\"target\":\"www\",\"check\":\"tcp\",\"name\":\"tcp\",\"host\":\"www.example.test\",\"ip\":\"$ip\",\"port\":80,\"ok\":true,\"ms\":{\"connect\":0.$k,\"total\":1.$k}}"$'\n'
				fi
			done
			s=$(cat "$VT_TMP/seq.$p")
			out=$(printf '%s' "$body" | "$VT_PYTHON" "$top_srcdir/tests/lib/vt_send.py" \
				"http://127.0.0.1:$port" "$p" "$(vt_key "$p")" "$s")
			case $out in 200*'"stored":2'*) ;; *) echo "round $k $p: $out"; return 1 ;; esac
			echo $((s + 2)) >"$VT_TMP/seq.$p"
		done
	done
}
pending() { vt_http GET "http://127.0.0.1:$port/healthz" | sed -n 's/.*"remote_write":\(.*\)}$/\1/p'; }
wait_sent() { # up to 30 s until nothing is pending
	local i
	for i in $(seq 1 300); do
		[ "$(pending)" = '{"vm":0,"prom":0}' ] && return 0
		sleep 0.1
	done
	return 1
}

check "rounds 0..19 stored" send 0 19
check "both receivers caught up" wait_sent

stop_pid "$VM_PID"
stop_pid "$PR_PID"
check "rounds 20..39 stored, receivers down" send 20 $((ROUNDS - 1))
sleep 1
like "$(pending)" '^\{"vm":[1-9][0-9]*,"prom":[1-9][0-9]*\}$' \
	"the journal holds them for both ($(pending))"
like "$(cat "$VT_TMP/collector.log")" 'remote write: vm: .*retrying' "the outage of vm is logged"
vm_start
pr_start
wait_http "http://127.0.0.1:$vmport/health" || bail "victoria-metrics did not restart"
wait_http "http://127.0.0.1:$prport/-/ready" || bail "prometheus did not restart"
check "both receivers caught up after the restart" wait_sent
like "$(cat "$VT_TMP/collector.log")" 'remote write: vm: sending again' "the recovery is logged"

# expected METRIC: "address probe ts value" lines the probes produced.
expected() {
	local k ip p
	for ip in $A $B; do for p in p1 p2; do for k in $(seq 0 $((ROUNDS - 1))); do
		if [ "$ip" = "$A" ] && [ "$k" -ge 10 ] && [ "$k" -le 14 ]; then
			[ "$1" = up ] && echo "$ip $p $((T + 10 * k)) 0"
		else
			[ "$1" = up ] && echo "$ip $p $((T + 10 * k)) 1" || echo "$ip $p $((T + 10 * k)) $(printf %g "0.$k")"
		fi
	done; done; done | sort
}
vm_query() { # METRIC-SELECTOR: victoria-metrics export, raw samples
	vt_http GET "http://127.0.0.1:$vmport/internal/force_flush" >/dev/null
	curl -s "http://127.0.0.1:$vmport/api/v1/export" --data-urlencode "match[]=$1" \
		-d "start=$((T - 60))" -d "end=$((now + 600))" |
		"$VT_PYTHON" -c 'import json, sys
for line in sys.stdin:
    s = json.loads(line); m = s["metric"]
    for t, v in zip(s["timestamps"], s["values"]):
        print(m["address"], m["probe"], t // 1000 if t % 1000 == 0 else t / 1000, "%g" % v)' | sort
}
pr_query() { # METRIC-SELECTOR: prometheus range vector over the whole span
	curl -s "http://127.0.0.1:$prport/api/v1/query" --data-urlencode "query=$1[15m]" \
		-d "time=$((now + 60))" |
		"$VT_PYTHON" -c 'import json, sys
r = json.load(sys.stdin)
for s in r["data"]["result"]:
    m = s["metric"]
    for t, v in s["values"]:
        print(m["address"], m["probe"], int(t) if t == int(t) else t, "%g" % float(v))' | sort
}
exp_up=$(expected up)
exp_conn=$(expected connect)
is "$(echo "$exp_up" | wc -l)" 160 "160 up samples produced (2 addresses x 2 probes x 40)"
got=$(vm_query 'vantage_up{target="www",check="tcp",host="www.example.test"}')
is "$got" "$exp_up" "victoria-metrics: vantage_up exactly as produced, per address and probe"
got=$(vm_query 'vantage_latency_ms{phase="connect"}')
is "$got" "$exp_conn" "victoria-metrics: connect latency of every successful round"
got=$(pr_query 'vantage_up{target="www",check="tcp",host="www.example.test"}')
is "$got" "$exp_up" "prometheus: vantage_up exactly as produced, per address and probe"
got=$(pr_query 'vantage_latency_ms{phase="connect"}')
is "$got" "$exp_conn" "prometheus: connect latency of every successful round"
jsize=$(stat -c %s "$VT_TMP/data/remote_write/journal")
check "the journal starts empty again once every receiver has it (its head record: $jsize bytes)" \
	test "$jsize" -lt 100

rc=0
vt_collector_stop || rc=$?
is "$rc" 0 "collector exits 0"
cat >"$VT_TMP/bad.cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$VT_TMP/data"; };
probes = ( { name = "p1"; key_file = "$(vt_key p1)"; } );
remote_write = ( { name = "vm"; url = "ftp://127.0.0.1/"; } );
CFG
rc=0
"$VANTAGE_COLLECTOR" -c "$VT_TMP/bad.cfg" --check >"$VT_OUT" 2>&1 || rc=$?
is "$rc" 2 "a remote_write url that is not http: configuration error"
like "$(cat "$VT_OUT")" 'remote_write\[0\]\.url' "the error names remote_write[0].url"
stop_pid "$VM_PID"
stop_pid "$PR_PID"
tap_done
