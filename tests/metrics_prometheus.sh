#!/bin/bash
# SPDX-License-Identifier: MIT
# /metrics on both daemons (docs/metrics.md): two real probes check nginx's
# port on www's two fixed addresses, A (nginx listens) and B (nothing does:
# connection refused), and upload to a collector. `promtool check metrics`
# (Debian's prometheus) accepts the collector's and the probes' pages, the
# probe answers /healthz, and a real Prometheus scraping all three every
# second answers a PromQL query with vantage_up per address and probe:
# 1 for A, 0 for B, from both probes. The histograms (batch stages, RRD,
# SQLite, the probes' lateness) carry what happened, Prometheus reads them,
# and a SIGHUP moves the probe's listener (a bad address keeps the old one).
# The collector writes through a real rrdcached, whose queue it reports.
. "$top_srcdir/tests/lib/servers.sh"
PATH=$PATH:/usr/sbin:/sbin
vt_require probe nginx python3 rrdcached
[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
command -v prometheus >/dev/null && command -v promtool >/dev/null ||
	{ echo "1..0 # SKIP prometheus not installed"; exit 0; }
vt_setup
tap_plan 22

A=127.0.0.11
B=127.0.0.12
vt_nginx_start "$A"
mkdir -p "$VT_TMP/data"
rrdcached -g -l "unix:$VT_TMP/rrdcached.sock" -p "$VT_TMP/rrdcached.pid" \
	-b "$VT_TMP/data" -B </dev/null >"$VT_TMP/rrdcached.log" 2>&1 &
vt_track $!
for _ in $(seq 1 50); do [ -S "$VT_TMP/rrdcached.sock" ] && break; sleep 0.1; done
port=$(vt_free_port)
cat >"$VT_TMP/collector.cfg" <<CFG
collector = { listen = "127.0.0.1:$port"; data_dir = "$VT_TMP/data";
              rrdcached = "unix:$VT_TMP/rrdcached.sock"; };
storage = { step = 1; heartbeat = 3; rra = [ "RRA:AVERAGE:0.5:1:600" ]; };
probes = ( { name = "p1"; key_file = "$(vt_key p1)"; },
           { name = "p2"; key_file = "$(vt_key p2)"; } );
CFG
vt_collector_start "$VT_TMP/collector.cfg" "$port" || bail "collector did not start"
declare -A MPORT PID
for p in p1 p2; do
	MPORT[$p]=$(vt_free_port)
	cat >"$VT_TMP/$p.cfg" <<CFG
probe = { name = "$p"; spool_dir = "$VT_TMP/spool-$p";
          metrics_listen = "127.0.0.1:${MPORT[$p]}"; };
collector = { url = "http://127.0.0.1:$port"; key_file = "$(vt_key "$p")"; timeout = 2.0; };
defaults = { interval = 1.0; timeout = 0.5; };
targets = ( { name = "www"; host = "www.example.test"; ips = [ "$A", "$B" ];
  checks = ( { type = "tcp"; port = $VT_HTTP_PORT; } ); } );
CFG
	"$VANTAGE_PROBE" -c "$VT_TMP/$p.cfg" 2>"$VT_TMP/$p.log" &
	vt_track $!
	PID[$p]=$!
done
for _ in $(seq 1 50); do
	case $(vt_http GET "http://127.0.0.1:${MPORT[p2]}/healthz") in 200*) break ;; esac
	sleep 0.1
done
like "$(vt_http GET "http://127.0.0.1:${MPORT[p2]}/healthz")" '^200 .*"status":"ok"' \
	"the probe answers /healthz"
sleep 3

fetch() { "$VT_PYTHON" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"; }
fetch "http://127.0.0.1:$port/metrics" >"$VT_TMP/collector.prom"
fetch "http://127.0.0.1:${MPORT[p1]}/metrics" >"$VT_TMP/probe.prom"
check "promtool check metrics: the collector's /metrics" \
	sh -c "promtool check metrics <'$VT_TMP/collector.prom'"
check "promtool check metrics: the probe's /metrics" \
	sh -c "promtool check metrics <'$VT_TMP/probe.prom'"
like "$(grep "vantage_up{" "$VT_TMP/collector.prom" | sort | tr '\n' ' ')" \
	"address=\"$A\",probe=\"p1\"} 1 .*address=\"$B\",probe=\"p2\"} 0" \
	"the collector's vantage_up per address and probe"

rules="$top_srcdir/etc/prometheus-rules.yml"
check "promtool check rules: etc/prometheus-rules.yml" promtool check rules "$rules"
check "promtool test rules: each rule quiet, then firing with its labels and texts" \
	promtool test rules "$top_srcdir/tests/conf/prometheus-rules.test.yml"

pport=$(vt_free_port)
cat >"$VT_TMP/prometheus.yml" <<YML
global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }
rule_files: [ "$rules" ]
scrape_configs:
  - job_name: collector
    static_configs: [ { targets: [ "127.0.0.1:$port" ] } ]
  - job_name: probe
    static_configs: [ { targets: [ "127.0.0.1:${MPORT[p1]}", "127.0.0.1:${MPORT[p2]}" ] } ]
YML
prometheus --config.file="$VT_TMP/prometheus.yml" \
	--storage.tsdb.path="$VT_TMP/prom" \
	--web.listen-address="127.0.0.1:$pport" >"$VT_TMP/prometheus.log" 2>&1 &
vt_track $!
query() { "$VT_PYTHON" - "http://127.0.0.1:$pport" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
u = sys.argv[1] + '/api/v1/query?' + urllib.parse.urlencode({'query': sys.argv[2]})
try:
    r = json.load(urllib.request.urlopen(u, timeout=5))
except Exception as e:
    print('error', type(e).__name__)
    sys.exit(0)
print(' '.join(sorted('%s/%s=%s' % (x['metric'].get('address', x['metric'].get('instance')),
                                    x['metric'].get('probe', x['metric'].get('job')),
                                    x['value'][1]) for x in r['data']['result'])))
PY
}
for _ in $(seq 1 150); do
	got=$(query 'vantage_up{job="collector"}')
	up=$(query 'up')
	[ "$got" = "$A/p1=1 $A/p2=1 $B/p1=0 $B/p2=0" ] &&
		[ "$(echo "$up" | grep -o '=1' | wc -l)" = 3 ] && break
	sleep 0.2
done
is "$got" "$A/p1=1 $A/p2=1 $B/p1=0 $B/p2=0" \
	"PromQL: vantage_up per address and probe, as the probes produced it"
like "$up" "^([^ ]*=1 ){2}[^ ]*=1$" "Prometheus scrapes the collector and both probes"
got=$(query 'vantage_probe_checks_total{result="failed"} > 0')
like "$got" "p1.*p2|probe.*probe" "the probes' failed checks (B) reach Prometheus"

# The collector's histograms count what it did: one "store" observation per
# stored batch, RRD flushes and SQLite transactions.
fetch "http://127.0.0.1:$port/metrics" >"$VT_TMP/collector.prom"
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
batches=$(val vantage_ingest_batches_total "$VT_TMP/collector.prom")
stored=$(val 'vantage_ingest_batch_seconds_count{stage="store"}' "$VT_TMP/collector.prom")
is "$([ "${batches:-0}" -gt 0 ] && [ "$batches" = "$stored" ] && echo 1)" 1 \
	"store stage: one observation per stored batch ($stored of $batches)"
flushes=$(val 'vantage_rrd_flush_seconds_count{backend="rrdcached"}' "$VT_TMP/collector.prom")
queued=$(val 'vantage_rrd_flush_queue_values_sum{backend="rrdcached"}' "$VT_TMP/collector.prom")
txn=$(val vantage_sqlite_transaction_seconds_count "$VT_TMP/collector.prom")
results=$(val vantage_ingest_results_total "$VT_TMP/collector.prom")
is "$([ "$flushes" = "$batches" ] && [ "${txn:-0}" -ge "$batches" ] &&
	[ "${queued:-0}" -ge "$results" ] && echo 1)" 1 \
	"rrdcached flushes ($flushes for $batches batches, $queued values for $results results) and SQLite transactions ($txn)"
received=$(val vantage_rrdcached_updates_received_total "$VT_TMP/collector.prom")
is "$([ "${received:-0}" -gt 0 ] &&
	grep -q '^vantage_rrdcached_queue_length [0-9]' "$VT_TMP/collector.prom" && echo 1)" 1 \
	"rrdcached's own counters: $received values received, its queue length"
free=$(val vantage_disk_fs_free_bytes "$VT_TMP/collector.prom")
evb=$(val vantage_disk_events_bytes "$VT_TMP/collector.prom")
is "$([ "${free:-0}" -gt 0 ] && [ "${evb:-0}" -gt 0 ] &&
	grep -q '^vantage_disk_rrd_bytes [0-9]' "$VT_TMP/collector.prom" &&
	grep -q '^vantage_disk_warning [01]$' "$VT_TMP/collector.prom" && echo 1)" 1 \
	"disk use on /metrics as on /healthz: file system free $free bytes, events.sqlite $evb bytes"
fetch "http://127.0.0.1:${MPORT[p1]}/metrics" >"$VT_TMP/probe.prom"
late=$(val 'vantage_probe_round_lateness_seconds_bucket{le="+Inf"}' "$VT_TMP/probe.prom")
runs=$(val vantage_probe_runs_total "$VT_TMP/probe.prom")
bytes=$(val vantage_probe_spool_bytes "$VT_TMP/probe.prom")
is "$([ "${late:-0}" -gt 0 ] && [ "$late" -le "$runs" ] && [ "${bytes:-0}" -gt 0 ] &&
	grep -q '^vantage_probe_queued 0$' "$VT_TMP/probe.prom" &&
	grep -q 'vantage_probe_upload_state{collector=.*state="idle"}' "$VT_TMP/probe.prom" && echo 1)" 1 \
	"the probe's lateness histogram ($late of $runs runs), spool bytes ($bytes), queue, upload state"
rules_health() { "$VT_PYTHON" - "http://127.0.0.1:$pport" <<'PY'
import json, sys, urllib.request
try:
    r = json.load(urllib.request.urlopen(sys.argv[1] + '/api/v1/rules', timeout=5))
    print(' '.join(sorted('%s=%s' % (x['name'], x['health'])
                          for g in r['data']['groups'] for x in g['rules'])))
except Exception as e:
    print('error', type(e).__name__)
PY
}
for _ in $(seq 1 30); do
	got=$(rules_health)
	[ "$(echo "$got" | grep -o '=ok' | wc -l)" = 7 ] && break
	sleep 0.2
done
like "$got" "^([A-Za-z]+=ok ){6}[A-Za-z]+=ok$" \
	"the live Prometheus evaluates the 7 rules on the scraped series"
got=$(query 'vantage_ingest_batch_seconds_count{stage="ack"} > 0')
like "$got" "collector=" "PromQL: the collector's ack stage histogram"
got=$(query 'histogram_quantile(0.99, vantage_probe_round_lateness_seconds_bucket) < 105')
like "$got" "probe=.* .*probe=" "PromQL: the 99th percentile of both probes' lateness"

# SIGHUP moves p1's listener; an address in use keeps the one it has.
new=$(vt_free_port)
sed -i "s/127.0.0.1:${MPORT[p1]}/127.0.0.1:$new/" "$VT_TMP/p1.cfg"
kill -HUP "${PID[p1]}"
for _ in $(seq 1 50); do
	case $(vt_http GET "http://127.0.0.1:$new/healthz") in 200*) break ;; esac
	sleep 0.1
done
like "$(vt_http GET "http://127.0.0.1:$new/healthz")" '^200 .*"probe":"p1"' \
	"after SIGHUP the probe answers on its new metrics_listen"
is "$(vt_http GET "http://127.0.0.1:${MPORT[p1]}/healthz" | grep -q '^200' || echo 1)" 1 \
	"and no longer on the old one"
# reload_p1 SED_EXPR LOG_TEXT: edits p1's file, SIGHUP, waits for the line.
reload_p1() {
	sed -i "$1" "$VT_TMP/p1.cfg"
	kill -HUP "${PID[p1]}"
	for _ in $(seq 1 50); do
		grep -q "$2" "$VT_TMP/p1.log" && break
		sleep 0.1
	done
}
reload_p1 "s/127.0.0.1:$new/127.0.0.1:$port/" "cannot listen on 127.0.0.1:$port"
like "$(grep "cannot listen on 127.0.0.1:$port" "$VT_TMP/p1.log")" \
	"still listening on 127.0.0.1:$new" "an address in use is refused, and the log says why"
like "$(vt_http GET "http://127.0.0.1:$new/healthz")" '^200 ' \
	"the old listener stays after a bad address"
reload_p1 's/metrics_listen = "[^"]*";//' \
	"metrics_listen removed: no longer listening on 127.0.0.1:$new"
is "$(grep -c "metrics_listen removed: no longer listening on 127.0.0.1:$new" "$VT_TMP/p1.log")/$(
	vt_http GET "http://127.0.0.1:$new/healthz" | cut -c1-3)" "1/000" \
	"metrics_listen removed by SIGHUP: the listener closes"
