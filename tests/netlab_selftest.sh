#!/bin/bash
# SPDX-License-Identifier: MIT
# Self-test of tests/lib/netlab.sh (network namespaces as vantage points)
# and of the VT_NETNS support in servers.sh: nginx and dnsmasq in a server
# namespace, reached from two probe namespaces; one probe loses its route to
# one server address (packets vanish: connects time out) while the other
# probe and the other address are unaffected; the route comes back; the lab
# is gone after the test, also when a test fails or is SIGKILLed.
# shellcheck disable=SC2154,SC2317 # VT_LAB_* come from vt_lab_start (printf -v); helpers run via check
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/netlab.sh"
vt_require nginx dnsmasq openssl python3 timeout
vt_lab_require
vt_setup

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# True when net namespace of PID is namespace NAME.
in_ns() {
	[ "$(readlink "/proc/$1/ns/net" 2>/dev/null)" = "net:[$(stat -L -c %i "/var/run/netns/$2")]" ]
}
get() { # NODE IP [PATH]: "STATUS BODY" of an HTTP GET from NODE
	local v="VT_LAB_NS_$1"
	VT_NETNS=${!v} vt_http GET "http://$2:$VT_HTTP_PORT${3:-/}"
}

# ---- the lab -------------------------------------------------------------------
vt_lab_start srv p1 p2
net=$VT_LAB_NET
like "$net" '^10\.([1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-4])\.([0-9]{1,3})$' \
	"lab subnet is 10.X.Y ($net)"
is "$({ ip -4 route show table all; ip -4 -o addr show; } | grep -c -E "(^|[ /])${net//./\\.}\.")" \
	0 "no host route or address in the lab subnet"
like "$VT_LAB_PREFIX" '^vt[0-9]+-[0-9a-f]{4}$' "prefix $VT_LAB_PREFIX"
check "prefix fits an interface name (<= 15)" test "${#VT_LAB_PREFIX}" -le 15
is "$VT_LAB_IP_srv $VT_LAB_IP_p1 $VT_LAB_IP_p2" "$net.2 $net.3 $net.4" \
	"node k has .(k+1)"
is "$(ip netns list | awk -v p="$VT_LAB_PREFIX" 'index($1, p) == 1 { print $1 }' | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "${VT_LAB_PREFIX}hub" "$VT_LAB_NS_srv" "$VT_LAB_NS_p1" "$VT_LAB_NS_p2" | sort | tr '\n' ' ')" \
	"one namespace per node plus the hub"
is "$(vt_lab_exec p1 ip -4 -o addr show dev eth0 | awk '{ print $4 }')" "$net.3/24" \
	"p1's eth0 has its address"
like "$(vt_lab_exec p2 ip -o link show lo)" 'state (UP|UNKNOWN)' "lo is up in p2"
vt_lab_addr srv "$net.11" "$net.12"
is "$(vt_lab_exec srv ip -4 -o addr show dev eth0 | awk '{ print $4 }' | tr '\n' ' ')" \
	"$net.2/24 $net.11/32 $net.12/32 " "service addresses on srv"

# ---- nginx in srv, reached from p1 and p2 -----------------------------------
VT_NETNS=$VT_LAB_NS_srv vt_nginx_start "$net.11" "$net.12"
check "nginx runs in srv's namespace (pid $VT_NGINX_PID)" in_ns "$VT_NGINX_PID" "$VT_LAB_NS_srv"
is "$(cat "/proc/$VT_NGINX_PID/comm")" nginx "the tracked PID is nginx itself"
for node in p1 p2; do
	for ip in "$net.11" "$net.12"; do
		is "$(get "$node" "$ip")" "200 hello from $ip" "GET from $node to $ip"
	done
done
is "$(VT_NETNS=$VT_LAB_NS_srv _vt_tcp_open 127.0.0.1 "$VT_HTTP_PORT" && echo open || echo closed)" \
	closed "nginx listens on the service addresses only"

# ---- dnsmasq in srv, queried from p1 ------------------------------------------
VT_NETNS=$VT_LAB_NS_srv VT_DNS_LISTEN=$VT_LAB_IP_srv vt_dns_start
check "dnsmasq runs in srv's namespace" in_ns "$VT_DNS_PID" "$VT_LAB_NS_srv"
vt_dns_set www.example.test "$net.11" "$net.12"
ans=$(VT_NETNS=$VT_LAB_NS_p1 vt_dns_query www.example.test A "$VT_DNS_PORT" "$VT_LAB_IP_srv")
is "$ans" "NOERROR $net.11 $net.12" "p1 resolves www.example.test through srv"
ans=$(VT_NETNS=$VT_LAB_NS_srv vt_dns_query www.example.test A)
is "$ans" "NOERROR $net.11 $net.12" "srv answers on its own loopback too"
ans=$(VT_NETNS=$VT_LAB_NS_p1 vt_dns_query "$VT_DNS_NXDOMAIN_HOST" A "$VT_DNS_PORT" "$VT_LAB_IP_srv")
is "${ans%% *}" NXDOMAIN "p1 gets NXDOMAIN for an unknown name"
is "$(_vt_tcp_open 127.0.0.1 "$VT_DNS_PORT" && echo open || echo closed)" closed \
	"the test's own namespace does not see srv's resolver"

# ---- route loss: p1 -> .12 ------------------------------------------------------
vt_lab_route_loss p1 "$net.12"
t0=$(now)
r=$(vt_lab_connect p1 "$net.12" "$VT_HTTP_PORT" 1.5)
dt=$(elapsed "$t0")
is "$r" timeout "route loss: p1 -> .12 connect times out"
check "  ... after the full timeout, within a bounded wait (${dt}s)" \
	awk -v d="$dt" 'BEGIN { exit !(d >= 1.4 && d < 5) }'
is "$(vt_lab_connect p1 "$net.11" "$VT_HTTP_PORT" 2)" ok "route loss: p1 -> .11 still connects"
is "$(get p1 "$net.11")" "200 hello from $net.11" "route loss: p1 -> .11 HTTP still works"
is "$(vt_lab_connect p2 "$net.12" "$VT_HTTP_PORT" 2)" ok "route loss: p2 -> .12 still connects"
is "$(get p2 "$net.12")" "200 hello from $net.12" "route loss: p2 -> .12 HTTP still works"
ans=$(VT_NETNS=$VT_LAB_NS_p1 vt_dns_query www.example.test A "$VT_DNS_PORT" "$VT_LAB_IP_srv")
is "$ans" "NOERROR $net.11 $net.12" "route loss: p1 still resolves through srv"

# The probe itself as two vantage points (vt_probe_once with VT_NETNS).
if [ -n "${VANTAGE_PROBE:-}" ] && [ -x "$VANTAGE_PROBE" ]; then
	cat >"$VT_TMP/probe.cfg" <<CFG
probe = { name = "lab"; spool_dir = "$VT_TMP/spool"; };
defaults = { timeout = 1.0; resolvers = [ "$VT_LAB_IP_srv:$VT_DNS_PORT" ]; };
targets = ( { name = "www"; host = "www.example.test";
  checks = ( { type = "dns"; }, { type = "tcp"; port = $VT_HTTP_PORT; } ); } );
CFG
	for node in p1 p2; do
		v="VT_LAB_NS_$node"
		rc=0
		VT_NETNS=${!v} vt_probe_once "$VT_TMP/probe.cfg" || rc=$?
		is "$rc $(vt_jq -r 'select(.check == "tcp") | "\(.ip)=\(.error // "ok")"' | sort | tr '\n' ' ')" \
			"0 $net.11=ok $net.12=$([ "$node" = p1 ] && echo connect_timeout || echo ok) " \
			"route loss: vantage-probe in $node sees what $node sees"
	done
else
	skip "route loss: vantage-probe in p1" "no vantage-probe"
	skip "route loss: vantage-probe in p2" "no vantage-probe"
fi

# The other modes fail at once, each with its own error.
for m in unreachable:unreachable prohibit:prohibited blackhole:invalid; do
	vt_lab_route_loss p1 "$net.12" "${m%%:*}"
	t0=$(now)
	r=$(vt_lab_connect p1 "$net.12" "$VT_HTTP_PORT" 3)
	dt=$(elapsed "$t0")
	is "$r" "${m#*:}" "MODE=${m%%:*}: p1 -> .12 fails with ${m#*:}"
	check "  ... at once (${dt}s)" awk -v d="$dt" 'BEGIN { exit !(d < 1.5) }'
done
is "$(vt_lab_exec p1 ip route show "$net.12/32")" "blackhole $net.12 " \
	"a second loss replaces the first route"

# ---- route back ---------------------------------------------------------------------
vt_lab_route_back p1 "$net.12"
is "$(vt_lab_exec p1 ip route show "$net.12/32")" "" "route back: the route is gone"
is "$(vt_lab_connect p1 "$net.12" "$VT_HTTP_PORT" 2)" ok "route back: p1 -> .12 connects again"
is "$(get p1 "$net.12")" "200 hello from $net.12" "route back: p1 -> .12 HTTP works again"
is "$(vt_lab_connect p2 "$net.3" 9 2)" refused "a closed port is refused, not lost"

# ---- vt_lab_spawn ---------------------------------------------------------------------
pid=$(vt_lab_spawn p2 "$VT_TMP/spawn.log" sleep 30)
like "$pid" '^[0-9]+$' "vt_lab_spawn prints a PID ($pid)"
is "$(cat "/proc/$pid/comm" 2>/dev/null)" sleep "the PID is the command itself, not ip"
check "it runs in p2's namespace" in_ns "$pid" "$VT_LAB_NS_p2"
like " $(ip netns pids "$VT_LAB_NS_p2" | tr '\n' ' ') " " $pid " "ip netns pids lists it"
kill -TERM "$pid"
for _ in $(seq 1 50); do _vt_alive "$pid" || break; sleep 0.05; done
check "killing the PID ends the command" eval "! _vt_alive $pid"
is "$(ip netns pids "$VT_LAB_NS_p2" | tr -d '\n')" "" "nothing left in p2"
vt_lab_spawn p1 "$VT_TMP/spawn.log" sleep 300 >/dev/null
left_pid=$VT_LAB_LAST_PID   # left running: the cleanup must stop it

# ---- cleanup when a test fails or is killed ---------------------------------------
# A child test builds a lab of its own with a process in it, then ends by
# exit 3, by bail, by SIGTERM, or by SIGKILL (no EXIT trap: the watchdogs
# clean up).
cat >"$VT_TMP/child.sh" <<'EOF'
. "$1/tests/lib/servers.sh"
. "$1/tests/lib/netlab.sh"
vt_setup
vt_lab_start a b
pid=$(vt_lab_spawn b "$VT_TMP/sleep.log" sleep 300) || exit 9
echo "$VT_LAB_PREFIX $pid" >"$2"
case $3 in
exit) exit 3 ;;
bail) bail "on purpose" ;;
term) kill -TERM $$ ;;
kill) kill -KILL $$ ;;
esac
EOF
for how in exit bail term kill; do
	mkdir -p "$VT_TMP/child-$how"
	# (The subshell keeps bash's "Killed" notice out of the log.)
	rc=$(cd "$VT_TMP/child-$how" && {
		env -u VT_TMP -u VT_NETNS timeout -k 2 20 \
			bash "$VT_TMP/child.sh" "$top_srcdir" "$VT_TMP/child-$how.info" "$how" \
			>"$VT_TMP/child-$how.log" 2>&1
		echo $?
	} 2>/dev/null)
	read -r cprefix cpid <"$VT_TMP/child-$how.info" 2>/dev/null ||
		{ not_ok "child ($how) started its lab"; diag "$(cat "$VT_TMP/child-$how.log")"; continue; }
	# SIGKILL: the watchdogs poll once a second.
	for _ in $(seq 1 50); do
		[ -z "$(_vt_lab_list "$cprefix")" ] && ! _vt_alive "$cpid" && break
		sleep 0.1
	done
	is "$rc:$(_vt_lab_list "$cprefix" | tr '\n' ' ')" \
		"$(case $how in exit) echo 3 ;; bail) echo 1 ;; term) echo 143 ;; kill) echo 137 ;; esac):" \
		"child test ended by $how: no namespace $cprefix* left"
	check "child test ended by $how: its lab process $cpid is gone" eval "! _vt_alive $cpid"
done

# ---- cleanup of this lab ------------------------------------------------------------
nginx_pid=$VT_NGINX_PID dns_pid=$VT_DNS_PID prefix=$VT_LAB_PREFIX
t0=$(now)
vt_lab_stop
dt=$(elapsed "$t0")
is "$(_vt_lab_list "$prefix")" "" "vt_lab_stop: no namespace $prefix* left (${dt}s)"
check "vt_lab_stop: nginx, dnsmasq and the spawned process are gone" \
	eval "! _vt_alive $nginx_pid && ! _vt_alive $dns_pid && ! _vt_alive $left_pid"
check "vt_lab_stop: they are no longer tracked" \
	eval "! grep -qx -e $nginx_pid -e $left_pid '$VT_TMP/pids'"
diag "total ${SECONDS}s"
tap_done
