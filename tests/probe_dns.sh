#!/bin/bash
# SPDX-License-Identifier: MIT
# probe_dns.sh: dns checks of vantage-probe (--once) against real dnsmasq
# resolvers on loopback: answers and TTLs, NXDOMAIN, SERVFAIL, REFUSED,
# NOERROR without records, a closed and a silent resolver, `expect`
# mismatches, several resolvers per check and an IPv6 resolver. Run by
# `make check`.
set -u

# shellcheck source=tests/lib/servers.sh disable=SC2154
. "$top_srcdir/tests/lib/servers.sh"
vt_require probe dnsmasq jq python3 timeout
vt_setup

tap_plan 35

# ---- servers -----------------------------------------------------------------

vt_dns_start
vt_dns_silent_start
vt_dns_set www.example.test 127.0.0.11 127.0.0.12 2001:db8::11
vt_dns_set v6only.example.test 2001:db8::12
# Nothing listens here: the resolver's port is closed (ICMP unreachable).
CLOSED_PORT=$(vt_free_port) || bail "no port"

MAIN=127.0.0.1:$VT_DNS_PORT
REFUSER=127.0.0.1:$VT_DNS_REFUSED_PORT

# ---- config helpers ----------------------------------------------------------

# dns_target NAME HOST [CHECK SETTINGS]: a target with one dns check.
dns_target() {
	printf '{ name = "%s"; host = "%s";\n  checks = ( { type = "dns"; %s } ); }' \
		"$1" "$2" "${3:-}"
}

# write_cfg FILE TIMEOUT TARGET...: the probe config around the targets.
write_cfg() {
	local f=$1 timeout=$2
	shift 2
	vt_probe_cfg "$f" "$timeout" "$MAIN" "$@"
}

# r TARGET JQ [RESOLVER]: JQ applied to the target's result(s), one line each.
r() {
	local sel="select(.target == \"$1\")"
	[ -z "${3:-}" ] || sel="select(.target == \"$1\" and .resolver == \"$3\")"
	jq -r "$sel | $2" "$VT_OUT"
}

# vals TARGET 'JQ, JQ...' [RESOLVER]: the values joined by spaces.
vals() {
	r "$1" "[$2] | map(tostring) | join(\" \")" "${3:-}"
}

# fields TARGET [RESOLVER]: "ok error rcode" of the target's result.
fields() {
	vals "$1" '.ok, .error, .rcode' "${2:-}"
}

# ---- 1: one pass over every kind of answer -----------------------------------

V6_TARGET=
if [ "$VT_HAVE_V6" = 1 ]; then
	V6_TARGET=$(dns_target v6res www.example.test \
		"resolvers = [ \"[::1]:$VT_DNS_PORT\" ];")
fi

CFG=$VT_TMP/dns.cfg
write_cfg "$CFG" 2.0 \
	"$(dns_target www www.example.test \
		'expect = [ "127.0.0.12", "2001:DB8:0::11", "127.0.0.11" ];')" \
	"$(dns_target mismatch www.example.test \
		'expect = [ "127.0.0.11", "127.0.0.13" ];')" \
	"$(dns_target nx "$VT_DNS_NXDOMAIN_HOST")" \
	"$(dns_target servfail "$VT_DNS_SERVFAIL_HOST")" \
	"$(dns_target refused "$VT_DNS_REFUSED_HOST")" \
	"$(dns_target nodata "$VT_DNS_NODATA_HOST")" \
	"$(dns_target v6only v6only.example.test)" \
	"$(dns_target closed www.example.test \
		"resolvers = [ \"127.0.0.1:$CLOSED_PORT\" ];")" \
	"$(dns_target two www.example.test \
		"resolvers = [ \"$MAIN\", \"$REFUSER\" ];")" \
	${V6_TARGET:+"$V6_TARGET"}

rc=0
vt_probe_once "$CFG" || rc=$?
is "$rc" 0 "probe --once exits 0"
[ "$rc" = 0 ] || diag "$(tail -n 20 "$VT_ERR")"

# A multi-address name: every address, A before AAAA, the TTL dnsmasq gave.
is "$(fields www)" "true null NOERROR" "www: ok, NOERROR"
is "$(r www '.answers[:2] | sort | join(",")')" "127.0.0.11,127.0.0.12" \
	"www: both A records"
is "$(r www '.answers[2:] | join(",")')" "2001:db8::11" \
	"www: then the AAAA record"
is "$(r www '.ttl')" "$VT_DNS_TTL" "www: ttl $VT_DNS_TTL"
is "$(vals www '.probe, .check, .name, .host, .resolver, .ip, .port')" \
	"t1 dns dns www.example.test $MAIN null null" \
	"www: probe, check, name, host, resolver; no ip or port"
is "$(r www '(.ms.dns|type) + " " + (.ms.dns == .ms.total|tostring)')" \
	"number true" "www: ms.dns measured and equal to ms.total"
is "$(r www '.ms.dns < 1000')" true "www: answered in under a second"
is "$(r www '.detail')" null "www: no detail when ok"

is "$(fields mismatch)" "false dns_unexpected NOERROR" \
	"expect mismatch: dns_unexpected"
is "$(r mismatch '.detail')" \
	"got 127.0.0.11,127.0.0.12,2001:db8::11 expected 127.0.0.11,127.0.0.13" \
	"expect mismatch: detail lists both sets"
is "$(r mismatch '.answers | length')" 3 "expect mismatch: answers still kept"

is "$(fields nx)" "false nxdomain NXDOMAIN" "unknown name: nxdomain, NXDOMAIN"
is "$(vals nx '(.answers|length), .ttl')" "0 null" \
	"unknown name: no answers, no ttl"

is "$(fields servfail)" "false servfail SERVFAIL" "SERVFAIL: servfail"
is "$(fields refused)" "false refused REFUSED" "REFUSED: refused"

is "$(fields nodata)" "false no_answer NOERROR" \
	"name without A/AAAA records: no_answer, NOERROR"
is "$(r nodata '.answers | length')" 0 "no records: no answers"

is "$(fields v6only)" "true null NOERROR" \
	"AAAA only: ok although A is NODATA"
is "$(r v6only '[.answers[], (.ttl|tostring)] | join(" ")')" \
	"2001:db8::12 $VT_DNS_TTL" "AAAA only: the address and its ttl"

is "$(fields closed)" "false dns_error null" \
	"closed resolver port: dns_error, no rcode"
like "$(r closed '.detail')" "." "closed resolver port: detail from c-ares"
is "$(r closed '.ms.dns < 1000')" true \
	"closed resolver port: reported at once, not after the timeout"

is "$(r two '.resolver' | sort | paste -sd' ')" \
	"$(printf '%s\n' "$MAIN" "$REFUSER" | sort | paste -sd' ')" \
	"two resolvers: one result each"
is "$(vals two '.ok, .error, (.answers|length)' "$MAIN")" "true null 3" \
	"two resolvers: the main one answers"
is "$(fields two "$REFUSER")" "false refused REFUSED" \
	"two resolvers: the other one refuses"

if [ "$VT_HAVE_V6" = 1 ]; then
	is "$(vals v6res '.ok, .resolver, (.answers|length)')" \
		"true [::1]:$VT_DNS_PORT 3" "IPv6 resolver [::1]: answers"
else
	skip "IPv6 resolver [::1]: answers" "no IPv6 loopback"
fi

is "$(jq -s 'length' "$VT_OUT")" "$((10 + VT_HAVE_V6))" \
	"one result per target and resolver, nothing else"

# ---- 2: a resolver that never answers ----------------------------------------

CFG=$VT_TMP/silent.cfg
write_cfg "$CFG" 1.5 "$(dns_target silent www.example.test \
	"resolvers = [ \"127.0.0.1:$VT_SILENT_DNS_PORT\" ];")"
t0=$(date +%s.%N)
rc=0
vt_probe_once "$CFG" || rc=$?
t1=$(date +%s.%N)
is "$rc" 0 "silent resolver: probe --once exits 0"
is "$(fields silent)" "false dns_timeout null" "silent resolver: dns_timeout"
ms=$(r silent '.ms.dns')
is "$(jq -n "$ms >= 1400 and $ms < 2100")" true \
	"silent resolver: gave up after the 1.5 s timeout (ms.dns $ms)"
took=$(jq -n "$t1 - $t0 | . * 100 | round / 100")
is "$(jq -n "$took >= 1.4 and $took < 3.0")" true \
	"silent resolver: the run took about the timeout (${took} s)"

# ---- 3: answers change with the records --------------------------------------

vt_dns_set www.example.test 127.0.0.13
CFG=$VT_TMP/change.cfg
write_cfg "$CFG" 2.0 "$(dns_target www www.example.test \
	'expect = [ "127.0.0.13" ];')"
rc=0
vt_probe_once "$CFG" || rc=$?
is "$rc" 0 "after a change: probe --once exits 0"
is "$(vals www '.ok, .error, (.answers|join(","))')" "true null 127.0.0.13" \
	"after a change: the new answer matches expect"

vt_dns_set www.example.test
rc=0
vt_probe_once "$CFG" || rc=$?
is "$(fields www)" "false nxdomain NXDOMAIN" \
	"after removal: the name is gone (nxdomain)"

tap_done
