#!/bin/bash
# SPDX-License-Identifier: MIT
# probe_tcp.sh: tcp checks of vantage-probe (--once) against real nginx and
# dnsmasq on loopback: one result per address, refused and timed-out
# connects, TLS with SNI, chain and name verification, certificate expiry,
# and a TLS port that never answers. Run by `make check`.
set -u

. "${top_srcdir:?run me from make check}/tests/lib/servers.sh"
vt_require probe nginx dnsmasq jq openssl python3 timeout
vt_setup

tap_plan 28

# ---- servers -----------------------------------------------------------------

# Nothing listens on .13: it is in the answer, so it must be checked, and
# refuse. ::1 joins when the host has IPv6 loopback.
NGINX_IPS=(127.0.0.11 127.0.0.12)
[ "$VT_HAVE_V6" = 1 ] && NGINX_IPS+=(::1)
DEAD_IP=127.0.0.13
vt_nginx_start "${NGINX_IPS[@]}"
vt_dns_start
vt_dns_set www.example.test "${NGINX_IPS[@]}" "$DEAD_IP"
for h in other self wrong blackhole silent; do
	vt_dns_set "$h.example.test" 127.0.0.11
done

# Two misbehaving TCP servers on 127.0.0.11, written in Python because nginx
# cannot play them:
#   full    listen(0) and one queued connection that is never accepted: the
#           accept queue is full, so Linux drops further SYNs and a connect()
#           neither succeeds nor fails. Before it reports its port, it checks
#           that a connect of its own really hangs; otherwise it says so.
#   silent  accepts and never sends a byte, so a TLS handshake waits forever.
# Each prints its port (or "unreliable") to a file and lives at most 120 s.
FAKE_PY='
import os, select, socket, sys, time
mode, path = sys.argv[1], sys.argv[2]
ls = socket.socket()
ls.bind(("127.0.0.11", 0))
held = []
if mode == "full":
    ls.listen(0)
    held.append(socket.create_connection(ls.getsockname(), timeout=2))
    probe = socket.socket()
    probe.setblocking(False)
    probe.connect_ex(ls.getsockname())
    _, w, _ = select.select([], [probe], [], 0.5)
    probe.close()
    msg = "unreliable" if w else str(ls.getsockname()[1])
else:
    ls.listen(16)
    msg = str(ls.getsockname()[1])
with open(path + ".tmp", "w") as f:
    f.write(msg + "\n")
os.rename(path + ".tmp", path)
end = time.monotonic() + 120
while time.monotonic() < end:
    if mode == "silent" and select.select([ls], [], [], 1)[0]:
        held.append(ls.accept()[0])
    else:
        time.sleep(1)
'

# fake_start MODE: starts a fake server and prints what it reported.
fake_start() {
	local f=$VT_TMP/fake-$1.port
	"$VT_PYTHON" -c "$FAKE_PY" "$1" "$f" </dev/null >"$VT_TMP/fake-$1.log" 2>&1 &
	vt_track $!
	for _ in $(seq 1 100); do
		[ -s "$f" ] && break
		sleep 0.05
	done
	[ -s "$f" ] || { diag "$(cat "$VT_TMP/fake-$1.log")"; bail "fake $1 server did not start"; }
	cat "$f"
}

FULL_PORT=$(fake_start full)
SILENT_PORT=$(fake_start silent)

# ---- config helpers ----------------------------------------------------------

# tcp_target NAME HOST CHECKS: one target block; CHECKS is a list of check
# groups without the surrounding parentheses.
tcp_target() {
	printf '{ name = "%s"; host = "%s"; ips = [ ];\n  checks = ( %s ); }' \
		"$1" "$2" "$3"
}

# write_cfg FILE TARGET...: the probe config around the given targets.
write_cfg() {
	local f=$1
	shift
	vt_probe_cfg "$f" 2.0 "127.0.0.1:$VT_DNS_PORT" "$@"
}

TLS="type = \"tcp\"; port = $VT_HTTPS_PORT; tls = true"

# r TARGET CHECK [IP] JQ: JQ applied to the matching result(s), one line each.
r() {
	local sel
	if [ "$#" -eq 4 ]; then
		sel="select(.target == \"$1\" and .name == \"$2\" and .ip == \"$3\")"
		shift 3
	else
		sel="select(.target == \"$1\" and .name == \"$2\")"
		shift 2
	fi
	jq -r "$sel | $1" "$VT_OUT"
}

# ---- 1: the main pass: every address, TLS variants ---------------------------

CFG=$VT_TMP/tcp.cfg
write_cfg "$CFG" \
	"$(tcp_target www www.example.test \
		"{ name = \"tls\"; $TLS; verify = true; ca_file = \"$VT_CA\"; },
		 { name = \"plain\"; type = \"tcp\"; port = $VT_HTTP_PORT; },
		 { name = \"sysstore\"; $TLS; verify = true; },
		 { name = \"notls\"; type = \"tcp\"; port = $VT_HTTP_PORT; tls = true; verify = false; }")" \
	"$(tcp_target other other.example.test \
		"{ name = \"tls\"; $TLS; verify = true; ca_file = \"$VT_CA\"; }")" \
	"$(tcp_target wrong wrong.example.test \
		"{ name = \"tls\"; $TLS; verify = true; ca_file = \"$VT_CA\"; }")" \
	"$(tcp_target self self.example.test \
		"{ name = \"verify\"; $TLS; verify = true; ca_file = \"$VT_CA\"; },
		 { name = \"noverify\"; $TLS; verify = false; }")"

rc=0
vt_probe_once "$CFG" || rc=$?
is "$rc" 0 "probe --once exits 0"
[ "$rc" = 0 ] || diag "$(tail -n 20 "$VT_ERR")"

want_ips=$(printf '%s\n' "${NGINX_IPS[@]}" "$DEAD_IP" | sort | paste -sd' ')
got_ips=$(r www tls '.ip' | sort | paste -sd' ')
is "$got_ips" "$want_ips" "tls: one result per address ($want_ips)"
is "$(r www plain '.ip' | sort | paste -sd' ')" "$want_ips" \
	"plain: one result per address"

is "$(r www tls '[.probe, .check, .host, (.port|tostring)] | join(" ")' | sort -u)" \
	"t1 tcp www.example.test $VT_HTTPS_PORT" \
	"results carry probe, check type, host and port"

bad=
for ip in "${NGINX_IPS[@]}"; do
	v=$(r www tls "$ip" '[.ok, .error, (.ms.connect|type), (.ms.tls|type),
		(.ms.total >= .ms.connect + .ms.tls)] | map(tostring) | join(" ")')
	[ "$v" = "true null number number true" ] || bad="$bad $ip:($v)"
done
is "${bad:-none}" none "tls: live addresses ok with ms.connect, ms.tls, ms.total"

is "$(r www tls "$DEAD_IP" '[.ok, .error, (.ms.connect|type)] | map(tostring) | join(" ")')" \
	"false connect_refused null" "tls: $DEAD_IP refuses (connect_refused)"
like "$(r www tls "$DEAD_IP" '.detail')" "refused" "refused detail names it"

days=$(r www tls 127.0.0.11 '.cert_days_left')
like "$days" '^36[45]$' "tls: cert_days_left of the 365-day www cert ($days)"

bad=
for ip in "${NGINX_IPS[@]}"; do
	v=$(r www plain "$ip" '[.ok, (.ms.connect|type), (.ms.tls|type),
		(.cert_days_left|type)] | map(tostring) | join(" ")')
	[ "$v" = "true number null null" ] || bad="$bad $ip:($v)"
done
is "${bad:-none}" none "plain: ok with ms.connect, no tls phase, no cert"
is "$(r www plain "$DEAD_IP" '.error')" connect_refused \
	"plain: $DEAD_IP refuses too"

is "$(r other tls '[.ok, .error] | map(tostring) | join(" ")')" "true null" \
	"SNI: other.example.test gets its own vhost and verifies"
is "$(r wrong tls '.error')" tls "wrong name: tls error under verify"
like "$(r wrong tls '.detail')" "hostname mismatch" \
	"wrong name: detail says hostname mismatch"
like "$(r wrong tls '.cert_days_left')" '^36[45]$' \
	"wrong name: cert_days_left still read"

is "$(r self verify '.error')" tls "self-signed: tls error under verify"
like "$(r self verify '.detail')" "self-signed certificate" \
	"self-signed: detail names the verify error"
days=$(r self verify '.cert_days_left')
like "$days" '^(29|30)$' "self-signed, verify: cert_days_left ($days)"
is "$(r self noverify '[.ok, .error] | map(tostring) | join(" ")')" "true null" \
	"self-signed: ok with verify = false"
days=$(r self noverify '.cert_days_left')
like "$days" '^(29|30)$' "self-signed, no verify: cert_days_left ($days)"

is "$(r www sysstore 127.0.0.11 '.error')" tls \
	"system store only: the private CA is not trusted"
like "$(r www sysstore 127.0.0.11 '.detail')" "local issuer" \
	"system store only: detail says why"

v=$(r www notls 127.0.0.11 '[.error, (.ms.connect|type)] | join(" ")')
is "$v" "tls number" "TLS to a plain HTTP port: tls error after connecting"

# ---- 2: timeouts ---------------------------------------------------------------

CFG2=$VT_TMP/timeouts.cfg
TARGETS=()
if [ "$FULL_PORT" != unreliable ]; then
	TARGETS+=("$(tcp_target blackhole blackhole.example.test \
		"{ type = \"tcp\"; port = $FULL_PORT; timeout = 1.0; }")")
fi
TARGETS+=("$(tcp_target silent silent.example.test \
	"{ type = \"tcp\"; port = $SILENT_PORT; tls = true; verify = false;
	   timeout = 1.5; }")")
write_cfg "$CFG2" "${TARGETS[@]}"

t0=$(date +%s.%N)
rc=0
vt_probe_once "$CFG2" || rc=$?
t1=$(date +%s.%N)
wall_ms=$(jq -n "($t1 - $t0) * 1000 | floor")
is "$rc" 0 "timeouts: probe --once exits 0"
diag "timeouts pass took $wall_ms ms of wall time"

if [ "$FULL_PORT" = unreliable ]; then
	skip "connect timeout" "a full listen queue did not drop SYNs here"
	skip "connect timeout after about 1.0 s" "see above"
else
	is "$(r blackhole tcp '[.error, (.ms.connect|type)] | join(" ")')" \
		"connect_timeout null" "dropped SYNs: connect_timeout"
	ms=$(r blackhole tcp '.ms.total')
	like "$(jq -n "$ms >= 1000 and $ms < 1400")" true \
		"connect timeout after about 1.0 s (ms.total $ms)"
fi

is "$(r silent tcp '[.error, (.ms.connect|type), (.ms.tls|type)] | join(" ")')" \
	"timeout number null" "silent TLS server: timeout after connecting"
ms=$(r silent tcp '.ms.total')
like "$(jq -n "$ms >= 1500 and $ms < 1900")" true \
	"silent TLS server: times out after about 1.5 s (ms.total $ms)"
like "$(jq -n "$wall_ms < 4000")" true \
	"the pass ends soon after the timeout, not later"

tap_done
