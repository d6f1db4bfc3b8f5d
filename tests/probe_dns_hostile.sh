#!/bin/bash
# SPDX-License-Identifier: MIT
# probe_dns_hostile.sh: dns checks of vantage-probe (--once) against a
# resolver that misbehaves on purpose (tests/lib/hostile_dns.py): garbage,
# truncated and mismatched replies, compression loops, bad RDLENGTH, too many
# records, TC and the fall-back to TCP, a TTL of 2^32-1, FORMERR, NOTIMP, a
# late answer, and an A query that goes unanswered while AAAA says NODATA.
# The probe must neither crash nor report garbage; the same run is repeated
# under valgrind when it is installed. Run by `make check`.
#
# What c-ares 1.18.1 does with these (and so what is asserted): a reply
# whose ID or question does not match a query in flight, or that is shorter
# than a header, is dropped as if it never came (RFC 5452 9.1: such replies
# must be discarded, anything else invites spoofing), so the query times
# out -> dns_timeout, after the 1 s timeout. A reply that matches but
# cannot be parsed is ARES_EBADRESP -> dns_error with the packet's rcode. A
# UDP reply with TC set, or larger than 512 bytes, is asked again over TCP.
# A TTL with the top bit set is read as a negative int; RFC 2181 section 8
# says to treat it as 0.
set -u

# shellcheck source=tests/lib/servers.sh disable=SC2154
. "$top_srcdir/tests/lib/servers.sh"
vt_require probe jq python3 timeout
vt_setup

CASES=(garbage short wrongid wrongname many loop badrdlen tc hugettl formerr
	notimp slow ok dropa dropaaaa)
TIMEOUT_CASES=(garbage short wrongid wrongname slow)

tap_plan 66

# ---- the hostile resolver ---------------------------------------------------

PORT=$(vt_free_port) || bail "no port"
mkdir -p "$VT_TMP/dns"
SRV_LOG=$VT_TMP/dns/hostile.log # dumped by servers.sh when the test fails
"$VT_PYTHON" "$top_srcdir/tests/lib/hostile_dns.py" "$PORT" --lifetime 300 \
	</dev/null >"$VT_TMP/hostile.out" 2>"$SRV_LOG" &
SRV_PID=$!
vt_track "$SRV_PID"
for _ in $(seq 1 100); do
	grep -q '^ready' "$VT_TMP/hostile.out" 2>/dev/null && break
	_vt_alive "$SRV_PID" || break
	sleep 0.05
done
grep -q '^ready' "$VT_TMP/hostile.out" ||
	{ diag "$(cat "$SRV_LOG")"; bail "hostile_dns.py did not start"; }

# ---- one target per case ----------------------------------------------------

CFG=$VT_TMP/hostile.cfg
{
	echo 'probe = { name = "t1"; };'
	echo 'defaults = { interval = 10.0; timeout = 1.0;'
	echo "  resolvers = [ \"127.0.0.1:$PORT\" ]; keep_gone = 600.0; };"
	echo 'targets = ('
	sep=''
	for c in "${CASES[@]}"; do
		printf '%s{ name = "%s"; host = "%s.hostile.test";\n' "$sep" "$c" "$c"
		echo '  checks = ( { type = "dns"; } ); }'
		sep=', '
	done
	echo ');'
} >"$CFG"

# r TARGET JQ: JQ applied to the target's dns result(s), one line each.
r() {
	jq -r "select(.target == \"$1\" and .check == \"dns\") | $2" "$VT_OUT"
}

# fields TARGET: "ok error rcode" of the target's result.
fields() {
	r "$1" '[.ok, .error, .rcode] | map(tostring) | join(" ")'
}

# no_crash DESC: nothing in $VT_ERR says the probe crashed.
CRASH_RE='Segmentation|AddressSanitizer|Aborted|runtime error'
no_crash() {
	if grep -qE "$CRASH_RE" "$VT_ERR"; then
		not_ok "$1"
		diag "$(grep -E -m5 "$CRASH_RE" "$VT_ERR")"
	else
		ok "$1"
	fi
}

# ---- 1: one run -------------------------------------------------------------

rc=0
vt_probe_once "$CFG" || rc=$?
is "$rc" 0 "probe --once exits 0"
[ "$rc" = 0 ] || diag "$(tail -n 20 "$VT_ERR")"
no_crash "no crash reported on stderr"

for c in "${CASES[@]}"; do
	is "$(r "$c" '.target' | wc -l)" 1 "$c: exactly one dns result"
done

# Replies c-ares must drop: the query times out after the 1 s timeout, no
# address from the bogus reply leaks into the result.
for c in "${TIMEOUT_CASES[@]}"; do
	is "$(fields "$c")" "false dns_timeout null" "$c: dns_timeout, no rcode"
	is "$(r "$c" '.answers | length')" 0 "$c: no answers"
	is "$(r "$c" '.ms.dns >= 700 and .ms.dns <= 1300')" true \
		"$c: reported at the timeout (ms.dns $(r "$c" '.ms.dns'))"
done

# Replies that match the query but cannot be parsed.
for c in loop badrdlen; do
	is "$(fields "$c")" "false dns_error NOERROR" "$c: dns_error, NOERROR"
	is "$(r "$c" '.answers | length')" 0 "$c: no answers"
	like "$(r "$c" '.detail')" "." "$c: detail from c-ares"
	is "$(r "$c" '.ms.dns < 500')" true "$c: reported at once"
done

for c in formerr:FORMERR notimp:NOTIMP; do
	is "$(fields "${c%%:*}")" "false dns_error ${c#*:}" \
		"${c%%:*}: dns_error, rcode ${c#*:}"
	is "$(r "${c%%:*}" '.answers | length')" 0 "${c%%:*}: no answers"
done

# 200 A records: the first 32 in the server's order, nothing more.
is "$(fields many)" "true null NOERROR" "many: ok"
is "$(r many '.answers | length')" 32 "many: capped at 32 answers"
is "$(r many '.answers | join(",")')" \
	"$(seq -f '10.0.0.%g' 0 31 | paste -sd,)" "many: the first 32, in order"
is "$(r many '.ttl')" 60 "many: ttl 60"

# TC over UDP, then the real answer over TCP.
is "$(fields tc)" "true null NOERROR" "tc: ok"
is "$(r tc '.answers | join(",")')" "192.0.2.31,192.0.2.32" \
	"tc: the 2 addresses of the TCP answer"
is "$(r tc '.ttl')" 60 "tc: ttl 60"
check "tc: the resolver saw the A query again over TCP" \
	grep -q '^tcp A tc\.hostile\.test' "$SRV_LOG"

# TTL 2^32-1.
HUGE_TTL=$(r hugettl '.ttl')
diag "hugettl: the probe reports ttl $HUGE_TTL for a TTL of 4294967295"
is "$(fields hugettl)" "true null NOERROR" "hugettl: ok"
is "$(r hugettl '.answers | join(",")')" 192.0.2.41 "hugettl: the address"
is "$(r hugettl '.ttl | type == "number" and . >= 0 and . == floor
	and . <= 2147483647')" true \
	"hugettl: ttl is a sane non-negative integer ($HUGE_TTL)"

# The control case.
is "$(fields ok)" "true null NOERROR" "ok: ok"
is "$(r ok '.answers | join(",")')" "192.0.2.1,192.0.2.2" "ok: both addresses"
is "$(r ok '.ttl')" 60 "ok: ttl 60"
is "$(r ok '.ms.dns < 500')" true "ok: answered at once"

# A lost, AAAA NODATA: nothing is known about A, so this is a timeout, not
# an empty answer (which would empty the target's address set).
is "$(fields dropa)" "false dns_timeout null" \
	"dropa: A unanswered + AAAA NODATA is dns_timeout, not no_answer"
# A answered, AAAA lost: ok with the A addresses, marked incomplete so the
# probe does not take the missing family's addresses as gone.
is "$(fields dropaaaa)" "true null NOERROR" "dropaaaa: ok with the A answer"
is "$(r dropaaaa '.incomplete')" true "dropaaaa: marked incomplete"
like "$(r dropaaaa '.detail')" "AAAA lookup" "dropaaaa: detail names the family"

# ---- 2: the same run under valgrind -----------------------------------------

N_RESULTS=$(wc -l <"$VT_OUT")
if [ "${VT_VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
	WRAP=$VT_TMP/probe-valgrind.sh
	cat >"$WRAP" <<EOF
#!/bin/sh
exec valgrind --error-exitcode=99 --leak-check=full \\
	--log-file="$VT_TMP/valgrind.%p.log" "$VANTAGE_PROBE" "\$@"
EOF
	chmod +x "$WRAP"
	rc=0
	VANTAGE_PROBE=$WRAP vt_probe_once "$CFG" || rc=$?
	is "$rc" 0 "under valgrind: exits 0 (99 = memory errors or leaks)"
	if [ "$rc" != 0 ]; then
		for f in "$VT_TMP"/valgrind.*.log; do
			[ -f "$f" ] && diag "$(tail -n 40 "$f")"
		done
		diag "$(tail -n 10 "$VT_ERR")"
	fi
	no_crash "under valgrind: no crash reported on stderr"
	is "$(jq -s 'map(select(.check == "dns")) | length' "$VT_OUT")" \
		"$N_RESULTS" "under valgrind: one dns result per target again"
else
	for d in "under valgrind: exits 0" "under valgrind: no crash" \
		"under valgrind: one dns result per target again"; do
		skip "$d" "valgrind not installed, or off (VT_VALGRIND=0: sanitizer build)"
	done
fi

tap_done
