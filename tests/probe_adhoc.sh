#!/bin/bash
# SPDX-License-Identifier: MIT
# probe_adhoc.sh: `vantage-probe check URL|HOST:PORT` against real nginx
# (HTTP and HTTPS with the test CA) and dnsmasq on several loopback
# addresses: one healthy, one answering 503 (a second nginx), one refusing;
# the table and the JSON name each; exit status 1; --ip checks an address
# that is not in DNS under the name; --wait passes once a stopped server is
# started; usage errors exit 2. Also the deploy gate `--once --fail`.
set -u

: "${top_srcdir:?run me from make check}"
# shellcheck source=tests/lib/servers.sh
. "$top_srcdir/tests/lib/servers.sh"
vt_require probe nginx dnsmasq jq openssl python3
vt_setup

tap_plan 46

OK=127.0.0.31 BAD=127.0.0.32 DEAD=127.0.0.33 # DEAD: nothing listens
NEW=127.0.0.34 # healthy, not in DNS
LATE=127.0.0.35 # its server starts while --wait waits
vt_nginx_start $OK $NEW
vt_dns_start
vt_dns_set www.example.test $OK $BAD $DEAD
vt_dns_set late.example.test $LATE
H=$VT_HTTP_PORT S=$VT_HTTPS_PORT
R=127.0.0.1:$VT_DNS_PORT

# A second nginx on BAD, same ports, the same certificate: 503 for all.
d=$VT_TMP/nginx503
mkdir -p "$d/logs" "$d/tmp"
cat >"$d/nginx.conf" <<EOF
pid $d/nginx.pid;
error_log $d/logs/error.log notice;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $d/tmp;
    server { listen $BAD:$H; return 503; }
    server {
        listen $BAD:$S ssl;
        server_name www.example.test;
        ssl_certificate $VT_CERTS/www.pem;
        ssl_certificate_key $VT_CERTS/www.key;
        return 503;
    }
}
EOF
nginx -e "$d/logs/error.log" -p "$d/" -c "$d/nginx.conf" \
	-g 'daemon off; master_process off;' </dev/null >"$d/logs/stderr.log" 2>&1 &
vt_track $!
for _ in $(seq 1 50); do
	(exec 3<>"/dev/tcp/$BAD/$S") 2>/dev/null && break
	sleep 0.1
done

P=$VANTAGE_PROBE
# chk ARG...: runs `vantage-probe check`; stdout $VT_OUT, stderr $VT_ERR,
# exit status in $rc.
chk() {
	rc=0
	timeout 60 "$P" check "$@" >"$VT_OUT" 2>"$VT_ERR" || rc=$?
}
# row IP: the table line of IP.
row() { grep -E "^  $1 " "$VT_OUT"; }

# ---- HTTP, table -----------------------------------------------------------
chk --resolver "$R" "http://www.example.test:$H/health"
is "$rc" 1 "http: exit status 1 when one address fails"
like "$(row $OK)" "^  $OK +ok +200 " "http: the healthy address passes"
like "$(row $BAD)" "^  $BAD +http_status +503 " "http: the 503 is named"
like "$(row $DEAD)" "^  $DEAD +connect_refused +- " \
	"http: the refused address is named"
dnsline=$(grep "^  dns " "$VT_OUT")
like "$dnsline" "^  dns www.example.test @$R: NOERROR( $OK| $BAD| $DEAD){3} \\(ttl" \
	"http: the DNS answer is shown"
like "$(tail -n 1 "$VT_OUT")" "^2 of 4 results failed" "http: summary line"

# ---- HTTPS, table and JSON ---------------------------------------------------
chk --resolver "$R" --ca-file "$VT_CA" "https://www.example.test:$S/health"
is "$rc" 1 "https: exit status 1"
like "$(row $OK)" "^  $OK +ok +200 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +36[45] " \
	"https: phases and certificate days of the healthy address"
like "$(row $BAD)" "^  $BAD +http_status +503 .* 36[45] " \
	"https: the 503 is named, with its certificate"
like "$(row $DEAD)" "^  $DEAD +connect_refused " "https: refused"

chk --resolver "$R" --ca-file "$VT_CA" --json \
	"https://www.example.test:$S/health"
is "$rc" 1 "json: exit status 1"
is "$(jq -c '[.ok, .failed, .targets[0].host, .targets[0].port]' "$VT_OUT")" \
	"[false,2,\"www.example.test\",$S]" "json: summary fields"
is "$(jq -r '.targets[0].results[] | select(.check == "http") |
	"\(.ip) \(.ok) \(.error) \(.http_status)"' "$VT_OUT" | tr '\n' ' ')" \
	"$OK true null 200 $BAD false http_status 503 $DEAD false connect_refused null " \
	"json: one result per address, named"
is "$(jq -r ".targets[0].results[] | select(.ip == \"$OK\") |
	\"\(.host) \(.cert_days_left >= 364) \(.ms.total > 0)\"" "$VT_OUT")" \
	"www.example.test true true" "json: host pinned, certificate days, phases"
is "$(jq -r '.targets[0].results[] | select(.check == "dns") | .answers | length' \
	"$VT_OUT")" 3 "json: the DNS answer (A and AAAA) is a result"

# Without the test CA the certificate is not trusted: a tls failure, not ok.
chk --resolver "$R" "https://www.example.test:$S/health"
like "$(row $OK)" "^  $OK +tls " "https: an untrusted certificate fails"
chk --resolver "$R" -k "https://www.example.test:$S/health"
like "$(row $OK)" "^  $OK +ok " "https: --insecure skips verification"

# ---- --ip: an address not in DNS, under the production name -----------------
chk --resolver "$R" --ca-file "$VT_CA" --ip "$NEW" \
	"https://www.example.test:$S/health"
is "$rc" 0 "--ip: exit status 0 when the given address passes"
like "$(row $NEW)" "^  $NEW +ok +200 .* 36[45] " \
	"--ip: checked with the name's certificate (SNI and verification)"
is "$(grep -cE "^  ($OK|$BAD|$DEAD) " "$VT_OUT")" 0 \
	"--ip: the addresses in DNS are not checked"
chk --resolver "$R" --ip "$NEW" --ip "$DEAD" --json \
	"http://new.example.test:$H/health"
is "$rc" 1 "--ip: NXDOMAIN name, one given address refuses: exit 1"
is "$(jq -r '.targets[0].results[] | "\(.ip) \(.error)"' "$VT_OUT" |
	tr '\n' ' ')" "$DEAD connect_refused $NEW null " \
	"--ip: every given address, no DNS result"
vt_dns_silent_start
t0=$(date +%s.%N)
chk --resolver "127.0.0.1:$VT_SILENT_DNS_PORT" --timeout 3 --ip "$NEW" \
	"http://www.example.test:$H/health"
t1=$(date +%s.%N)
is "$rc" 0 "--ip: a resolver that never answers does not matter"
check "--ip: DNS is not asked (no wait for the silent resolver)" \
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 2) }'

# ---- HOST:PORT (tcp) ----------------------------------------------------------
chk --resolver "$R" "www.example.test:$H"
is "$rc" 1 "tcp: exit 1 (one address refuses)"
like "$(row $BAD)" "^  $BAD +ok " "tcp: the 503 server accepts connections"
like "$(row $DEAD)" "^  $DEAD +connect_refused " "tcp: refused"
chk --resolver "$R" --tls --ca-file "$VT_CA" --ip "$OK" "www.example.test:$S"
is "$rc" 0 "tcp --tls: exit 0"
like "$(row $OK)" "^  $OK +ok +- .* 36[45] " "tcp --tls: certificate days"
chk "$OK:$H"
is "$rc" 0 "an address as the host: checked without DNS"

# ---- --wait -------------------------------------------------------------------
t0=$(date +%s.%N)
chk --resolver "$R" --wait 2 "http://www.example.test:$H/health"
t1=$(date +%s.%N)
is "$rc" 1 "--wait: still failing when the time is up: exit 1"
like "$(tail -n 1 "$VT_OUT")" "after [0-9]+ tries" "--wait: tries counted"
like "$(cat "$VT_ERR")" "try 1: t1/http http www.example.test \\[$DEAD\\]:$H: connect_refused" \
	"--wait: each failed try is logged on stderr"
check "--wait 2 gives up after about 2 s" \
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 1.9 && b - a < 8) }'

# The server behind late.example.test starts while check waits.
( timeout 60 "$P" check --resolver "$R" --wait 20 \
	"http://late.example.test:$H/health" >"$VT_TMP/late.out" \
	2>"$VT_TMP/late.err"; echo $? >"$VT_TMP/late.rc" ) &
late=$!
sleep 2.5
vt_nginx_start $OK $NEW $LATE
wait "$late"
is "$(cat "$VT_TMP/late.rc")" 0 "--wait: passes once the server is started"
like "$(grep -E "^  $LATE " "$VT_TMP/late.out")" "^  $LATE +ok +200 " \
	"--wait: the late address is ok in the table"
like "$(cat "$VT_TMP/late.err")" "connect_refused" \
	"--wait: the tries before it failed"

# ---- usage errors ---------------------------------------------------------------
chk
is "$rc" 2 "no argument: exit 2"
chk "ftp://www.example.test/"
is "$rc" 2 "an ftp URL: exit 2"
chk --ip 300.1.1.1 "http://www.example.test/"
is "$rc" 2 "--ip with no address: exit 2"
chk --status 99 "http://www.example.test/"
like "$rc $(cat "$VT_ERR")" "^2 .*--status" "--status out of range: exit 2"

# ---- the deploy gate: --once --fail ---------------------------------------------
cat >"$VT_TMP/gate.cfg" <<EOF
probe = { name = "gate"; };
defaults = { timeout = 3.0; resolvers = [ "$R" ]; };
targets = (
  { name = "www"; host = "www.example.test";
    checks = ( { type = "http"; name = "health";
                 url = "http://www.example.test:$H/health"; } ); }
);
EOF
rc=0
timeout 60 "$P" -c "$VT_TMP/gate.cfg" --once >"$VT_OUT" 2>"$VT_ERR" || rc=$?
is "$rc" 0 "--once alone exits 0 whatever the targets did"
rc=0
timeout 60 "$P" -c "$VT_TMP/gate.cfg" --once --fail >"$VT_OUT" 2>"$VT_ERR" ||
	rc=$?
is "$rc" 1 "--once --fail exits 1 when a check failed"
is "$(grep -c '^vantage-probe: failed: ' "$VT_ERR")" 2 \
	"--once --fail: one line per failure on stderr"
like "$(cat "$VT_ERR")" "failed: www/health http www.example.test \\[$BAD\\]:$H: http_status \\(HTTP 503\\)" \
	"--once --fail: the line names target, check, address and reason"
like "$(tail -n 1 "$VT_ERR")" "^vantage-probe: 2 of 3 results failed" \
	"--once --fail: a count at the end"
