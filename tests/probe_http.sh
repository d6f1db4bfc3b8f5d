#!/bin/bash
# SPDX-License-Identifier: MIT
# probe_http.sh: http and client checks of `vantage-probe --once` against a
# real nginx on several loopback addresses and dnsmasq: one result per
# address, the error classes (connect_refused, http_status, timeout,
# body_mismatch, too_large, tls), certificate expiry, SNI and the address a
# client check used.
set -u

: "${top_srcdir:?run me from make check}"
# shellcheck source=tests/lib/servers.sh
. "$top_srcdir/tests/lib/servers.sh"
vt_require probe nginx dnsmasq jq openssl python3
vt_setup

tap_plan 39

A=127.0.0.11 B=127.0.0.12 DEAD=127.0.0.13 # nothing listens on DEAD
V6=
[ "$VT_HAVE_V6" = 1 ] && V6=::1
# shellcheck disable=SC2086
vt_nginx_start $A $B $V6
vt_dns_start
# shellcheck disable=SC2086
vt_dns_set www.example.test $A $B $DEAD $V6
vt_dns_set other.example.test $A $B
vt_dns_set self.example.test $A
vt_dns_set cl.example.test $B $A
vt_dns_set one.example.test $B

H=$VT_HTTP_PORT S=$VT_HTTPS_PORT
CA=$VT_CA

# config NAME TIMEOUT TARGETS: writes $VT_TMP/NAME.cfg.
config() {
	cat >"$VT_TMP/$1.cfg" <<EOF
probe = { name = "t1"; };
defaults = { interval = 10.0; timeout = $2; keep_gone = 600.0;
  resolvers = [ "127.0.0.1:$VT_DNS_PORT" ]; };
targets = ( $3 );
EOF
}

config main 2.0 "
  { name = \"www\"; host = \"www.example.test\";
    checks = (
      { type = \"http\"; name = \"health\";
        url = \"http://www.example.test:$H/health\";
        status = [ 200 ]; body = \"ok\"; },
      { type = \"http\"; name = \"tls\";
        url = \"https://www.example.test:$S/health\"; body = \"ok\";
        verify = true; ca_file = \"$CA\"; },
      { type = \"http\"; name = \"down\";
        url = \"http://www.example.test:$H/status503\"; },
      { type = \"http\"; name = \"mismatch\";
        url = \"http://www.example.test:$H/health\"; body = \"nope\"; },
      { type = \"http\"; name = \"huge\";
        url = \"http://www.example.test:$H/huge\"; max_body = 65536; },
      { type = \"http\"; name = \"redir\";
        url = \"http://www.example.test:$H/redirect\"; body = \"ok\";
        follow_redirects = true; },
      { type = \"http\"; name = \"noredir\";
        url = \"http://www.example.test:$H/redirect\"; } ); },
  { name = \"other\"; host = \"other.example.test\";
    checks = (
      { type = \"http\"; name = \"sni\";
        url = \"https://other.example.test:$S/\"; body = \"vhost other\";
        ca_file = \"$CA\"; } ); },
  { name = \"self\"; host = \"self.example.test\";
    checks = (
      { type = \"http\"; name = \"verify\";
        url = \"https://self.example.test:$S/\"; ca_file = \"$CA\"; },
      { type = \"http\"; name = \"noverify\";
        url = \"https://self.example.test:$S/\"; verify = false; } ); },
  { name = \"cl\"; host = \"cl.example.test\";
    checks = (
      { type = \"client\"; name = \"browser\";
        url = \"http://cl.example.test:$H/\";
        body = \"hello from 127.0.0.1\"; },
      { type = \"client\"; name = \"huge\";
        url = \"http://cl.example.test:$H/huge\"; max_body = 65536; } ); },
  { name = \"one\"; host = \"one.example.test\";
    checks = (
      { type = \"client\"; name = \"pinned\";
        url = \"http://one.example.test:$H/\";
        body = \"hello from $B\"; } ); }"

rc=0
vt_probe_once "$VT_TMP/main.cfg" || rc=$?
is "$rc" 0 "probe --once exits 0"
[ "$rc" = 0 ] || diag "$(tail -n 20 "$VT_ERR")"

# r TARGET CHECK IP FILTER: FILTER over the matching result(s), raw output
# (IP "" matches any).
r() {
	local t=$1 c=$2 ip=$3 f=$4
	vt_jq -r "select(.target == \"$t\" and .name == \"$c\" and
		(\"$ip\" == \"\" or .ip == \"$ip\")) | $f" | tr '\n' ' ' |
		sed 's/ $//'
}

# -- one result per address, each pinned ------------------------------------
want_ips=$(printf '%s\n' $A $B $DEAD $V6 | sort | tr '\n' ' ' | sed 's/ $//')
got_ips=$(vt_jq 'select(.target == "www" and .name == "health") | .ip' |
	tr -d '"' | sort | tr '\n' ' ' | sed 's/ $//')
is "$got_ips" "$want_ips" "http: one result per address of www.example.test"
is "$(r www health $A '[.ok, .http_status, .port, .check] | @csv')" \
	"true,200,$H,\"http\"" "http: $A ok, 200, port from the URL"
is "$(r www health $B '.ok')" true "http: $B ok"
is "$(r www health $DEAD '[.ok, .error] | @csv')" 'false,"connect_refused"' \
	"http: nothing listening on $DEAD -> connect_refused"
like "$(r www health $A '[.ms.dns, .ms.connect, .ms.ttfb, .ms.total] | @csv')" \
	'^,[0-9.]+,[0-9.]+,[0-9.]+$' \
	"http: dns not measured (pinned), connect/ttfb/total measured"
if [ -n "$V6" ]; then
	is "$(r www health ::1 '[.ok, .http_status] | @csv')" "true,200" \
		"http: IPv6 address ::1 pinned and ok"
else
	skip "http: IPv6 address ::1 pinned and ok" "no IPv6 loopback"
fi

# -- TLS with the test CA, on every address ---------------------------------
is "$(r www tls $A '.ok')" true "https: $A ok with ca_file"
is "$(r www tls $B '.ok')" true "https: $B ok with ca_file"
like "$(r www tls $A '.cert_days_left')" '^36[45]$' \
	"https: cert_days_left of the 365-day www cert"
like "$(r www tls $A '[.ms.connect, .ms.tls] | @csv')" '^[0-9.]+,[0-9.]+$' \
	"https: tls handshake time measured"
is "$(r www tls $DEAD '.error')" connect_refused \
	"https: $DEAD -> connect_refused"

# -- HTTP-level classes -------------------------------------------------------
is "$(r www down $A '[.ok, .error, .http_status] | @csv')" \
	'false,"http_status",503' "503 -> http_status"
is "$(r www down $A '.detail')" 'got 503, expected 200' \
	"http_status detail names got and expected"
is "$(r www mismatch $A '[.ok, .error, .http_status] | @csv')" \
	'false,"body_mismatch",200' "missing substring -> body_mismatch"
is "$(r www huge $A '[.ok, .error] | @csv')" 'false,"too_large"' \
	"5 MiB body over max_body 65536 -> too_large"
is "$(r www huge $A '.ms.total < 1900')" true \
	"too_large: transfer aborted, not run into the 2 s timeout"
is "$(r www redir $A '[.ok, .http_status] | @csv')" "true,200" \
	"follow_redirects: 302 followed to /health"
is "$(r www noredir $A '[.error, .http_status] | @csv')" '"http_status",302' \
	"without follow_redirects: 302 -> http_status"

# -- SNI and certificates -----------------------------------------------------
is "$(r other sni $A '[.ok, .host] | @csv')" 'true,"other.example.test"' \
	"SNI: other.example.test vhost on $A (body, cert verified)"
is "$(r other sni $B '.ok')" true "SNI: other.example.test vhost on $B"
is "$(r self verify $A '[.ok, .error] | @csv')" 'false,"tls"' \
	"self-signed with verify = true -> tls"
like "$(r self verify $A '.detail')" 'self.signed|certificate' \
	"tls detail carries curl's message"
is "$(r self noverify $A '[.ok, .http_status] | @csv')" 'true,200' \
	"self-signed with verify = false -> ok"
like "$(r self noverify $A '.cert_days_left')" '^(29|30)$' \
	"verify = false still reports cert_days_left of the 30-day cert"

# -- client checks ------------------------------------------------------------
is "$(vt_jq 'select(.target == "cl" and .name == "browser")' | wc -l)" 1 \
	"client: one result per check, not per address"
like "$(r cl browser '' '.ip')" "^($A|$B)\$" \
	"client: records the address it used"
is "$(r cl browser '' '[.ok, .check, .http_status] | @csv')" \
	'true,"client",200' "client: ok"
like "$(r cl browser '' '.ms.dns')" '^[0-9.]+$' "client: DNS time measured"
is "$(r one pinned '' '[.ok, .ip] | @csv')" "true,\"$B\"" \
	"client: body names $B, the address recorded"
is "$(r cl huge '' '.error')" too_large "client: huge body -> too_large"
bytes=$(r cl huge '' '.body_bytes')
if [ -n "$bytes" ] && [ "$bytes" -gt 65536 ] && [ "$bytes" -lt 1048576 ]; then
	ok "too_large: stopped after $bytes of 5242880 bytes"
else
	not_ok "too_large: stopped early (body_bytes '$bytes')"
fi
diag "nginx sent for /huge: $(awk '$7 == "/huge" {print $10}' \
	"$VT_TMP/nginx/logs/access.log" | tr '\n' ' ')"

# -- one pooled handle for every run ----------------------------------------
# With one check in flight, every run takes the same pooled easy handle in
# turn, which keeps the last run's options: each change of verify, ca_file
# and follow_redirects between checks must still give the same verdicts.
verdicts() {
	jq -r '[.target, .name, (if .check == "client" then "" else .ip end),
		.ok, .error, .http_status, .cert_days_left] | @csv' "$1" | sort
}
cp "$VT_OUT" "$VT_TMP/main.out"
sed 's/^probe = { name = "t1"; };/probe = { name = "t1"; max_in_flight = 1; };/' \
	"$VT_TMP/main.cfg" >"$VT_TMP/one.cfg"
rc=0
vt_probe_once "$VT_TMP/one.cfg" || rc=$?
is "$rc" 0 "one handle: probe --once exits 0 (max_in_flight = 1)"
is "$(verdicts "$VT_OUT")" "$(verdicts "$VT_TMP/main.out")" \
	"one handle: the same verdicts as with every run in flight at once"

# -- a slow body runs into the timeout ----------------------------------------
config slow 2.0 "
  { name = \"slow\"; host = \"one.example.test\";
    checks = (
      { type = \"http\"; name = \"slow\";
        url = \"http://one.example.test:$H/slow\"; } ); }"
t0=$(date +%s.%N)
rc=0
vt_probe_once "$VT_TMP/slow.cfg" || rc=$?
t1=$(date +%s.%N)
is "$rc" 0 "slow: probe --once exits 0"
is "$(r slow slow $B '[.ok, .error, .http_status] | @csv')" \
	'false,"timeout",200' "slow body -> timeout (connected, status seen)"
like "$(r slow slow $B '.ms.total')" \
	'^(19[5-9][0-9]|20[0-9][0-9])(\.[0-9]+)?$' \
	"slow: ms.total is the 2 s timeout"
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
if awk -v e="$elapsed" 'BEGIN { exit !(e >= 1.9 && e < 4.0) }'; then
	ok "slow: the run took ${elapsed}s (timeout 2 s)"
else
	not_ok "slow: the run took ${elapsed}s, want about 2 s"
fi

# -- the probe must not leave its checks running -----------------------------
like "$(grep -c 'overran its timeout' "$VT_ERR" || true)" '^0$' \
	"no run overran its timeout"

tap_done
