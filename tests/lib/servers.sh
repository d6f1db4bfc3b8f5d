# SPDX-License-Identifier: MIT
# servers.sh: real nginx and dnsmasq (plus a silent DNS server) on loopback for
# the bash integration tests.  Source it from a test run by `make check`:
#
#   . "$top_srcdir/tests/lib/servers.sh"
#   vt_require nginx dnsmasq jq openssl python3   # before any TAP output
#   vt_setup                                      # VT_TMP, EXIT trap, tap.sh
#   vt_nginx_start 127.0.0.11 127.0.0.12          # VT_HTTP_PORT VT_HTTPS_PORT
#   vt_dns_start                                  # VT_DNS_PORT ...
#   vt_dns_set www.example.test 127.0.0.11 127.0.0.12
#   rc=0; vt_probe_once "$VT_TMP/probe.cfg" || rc=$?
#   is "$rc" 0 "probe exits 0"
#   tap_done
#
# Environment read: top_srcdir, top_builddir, VANTAGE_PROBE (set by
# AM_TESTS_ENVIRONMENT), VT_KEEP=1 (keep VT_TMP), VT_DNS_TTL (default 2),
# VT_HTTP_PORT / VT_HTTPS_PORT (used if already set), VT_NETNS and
# VT_DNS_LISTEN (below).
#
# Network namespaces (tests/lib/netlab.sh makes them).  When VT_NETNS names
# a network namespace, vt_nginx_start, vt_dns_start (every dnsmasq it
# starts), vt_dns_silent_start, vt_collector_start and vt_probe_once run
# their process in it (`ip netns exec "$VT_NETNS"`, which execs, so the
# tracked PID is the server's own), and the readiness checks (TCP accept,
# DNS answer, /healthz) as well as vt_dns_query and vt_http run in it too.
# "127.0.0.1" then means that namespace's loopback.  vt_dns_set and
# vt_nginx_restart_without use the namespace their server was started in
# (VT_DNS_NETNS, VT_NGINX_NETNS).  Unset or empty: everything runs in the
# test's own namespace, exactly as before.  Use it per call:
#   VT_NETNS=$VT_LAB_NS_srv vt_nginx_start 10.77.3.11 10.77.3.12
# VT_DNS_LISTEN: extra addresses (space-separated) the main dnsmasq
# resolver also listens on, e.g. a lab address other namespaces can reach
# ($VT_DNS_PORT there too); unset: 127.0.0.1 (and ::1) only, as before.
#
# Everything is written under VT_TMP=$PWD/vt-test.XXXXXX, which is the build
# directory under `make check` and `make distcheck` (the source tree is
# read-only there).  Every process started is recorded with vt_track and is
# killed by PID (TERM, then KILL) when the test exits, however it exits; a
# watchdog also kills them if the test shell itself is SIGKILLed.
#
# Functions
#   vt_setup                  make VT_TMP, install the EXIT trap
#   vt_require TOOL...        "1..0 # SKIP missing TOOL" + exit 0 if absent;
#                             TOOL may also be "probe" ($VANTAGE_PROBE) or
#                             "v6" (::1 usable)
#   vt_track PID              kill PID at exit
#   vt_at_exit 'SHELL CODE'   run code at exit, before processes are killed
#   vt_free_port              print a port free for TCP and UDP (never twice)
#   vt_certs                  CA + certs in $VT_CERTS (see below)
#   vt_nginx_start [IP...]    one nginx on every IP (default 127.0.0.1)
#   vt_nginx_stop
#   vt_nginx_restart_without IP
#   vt_dns_start              dnsmasq resolvers (see below)
#   vt_dns_set HOST [IP...]   set HOST's A/AAAA records (none: NXDOMAIN)
#   vt_dns_query NAME [TYPE] [PORT] [SERVER]
#                             print "RCODE addr..." (addresses sorted), or
#                             TIMEOUT; raw sockets, no dig or dnspython
#   vt_dns_silent_start       UDP+TCP server that never answers
#   vt_probe_once CONFIG [ARG...]
#                             $VANTAGE_PROBE -c CONFIG --once under timeout
#                             60; stdout $VT_OUT, stderr $VT_ERR
#   vt_jq FILTER              jq -c FILTER over $VT_OUT
#
# Exported variables
#   VT_TMP VT_PYTHON VT_HAVE_V6 (1 when ::1 can be bound, else 0)
#   VT_CERTS VT_CA            $VT_TMP/certs, $VT_CERTS/ca.pem
#   VT_HTTP_PORT VT_HTTPS_PORT VT_NGINX_IPS VT_NGINX_PID VT_NGINX_NETNS
#   VT_DNS_PORT VT_DNS_PID VT_DNS_HOSTS VT_DNS_TTL VT_DNS_NETNS
#   VT_DNS_NXDOMAIN_HOST VT_DNS_NODATA_HOST
#   VT_DNS_SERVFAIL_HOST VT_DNS_SERVFAIL_PORT
#   VT_DNS_REFUSED_HOST VT_DNS_REFUSED_PORT
#   VT_SILENT_DNS_PORT VT_OUT VT_ERR
#
# HTTP(S) served by vt_nginx_start on every IP, on both ports:
#   /health    200 "ok"                 /status503  503   (also 404, 500)
#   /slow      64 KiB, first 1 KiB at once, then 1 KiB/s (a 2 s timeout fires)
#   /huge      5 MiB (5242880 bytes)    /redirect   302, Location: /health
#   /          200 "hello from $server_addr" (any other path too)
# No trailing newline on the "ok"/"hello"/"vhost" bodies.  HTTPS virtual hosts
# (SNI): www.example.test (default server, CA-signed www cert),
# other.example.test (CA-signed other cert, "/" gives "vhost other"),
# self.example.test (self-signed cert).
#
# Certificates (vt_certs, EC P-256, in $VT_CERTS):
#   ca.pem ca.key         "Vantage Test CA", 10 years
#   www.pem www.key       CA-signed, SAN DNS:www.example.test, 365 days
#   other.pem other.key   CA-signed, SAN DNS:other.example.test, 365 days
#   self.pem self.key     self-signed, SAN DNS:self.example.test, valid
#                         exactly 30 days from creation
#
# DNS (vt_dns_start).  All answers below were checked against dnsmasq 2.90
# (Debian 12) with vt_dns_query:
#   main resolver 127.0.0.1:$VT_DNS_PORT (and [::1] when VT_HAVE_V6=1):
#     names set with vt_dns_set (addn-hosts file, reloaded by SIGHUP), TTL
#       $VT_DNS_TTL                       -> NOERROR + addresses
#     $VT_DNS_NXDOMAIN_HOST (any unknown name in example.test, --local)
#                                         -> NXDOMAIN
#     $VT_DNS_NODATA_HOST = nodata.example.test, only a TXT record
#       (--txt-record): A and AAAA        -> NOERROR, no answers (NODATA)
#       (a host set with only IPv6 addresses also gives NODATA for A)
#     $VT_DNS_SERVFAIL_HOST = www.servfail.test, forwarded (--server=
#       /servfail.test/) to the validating resolver below -> SERVFAIL,
#       relayed as is
#     $VT_DNS_REFUSED_HOST = www.refused.test, or any name outside
#       example.test and servfail.test: no upstream (--no-resolv)
#                                         -> REFUSED ("config error is
#       REFUSED (EDE: not ready)" in the log)
#   127.0.0.1:$VT_DNS_SERVFAIL_PORT: dnsmasq with --dnssec and the root
#     trust anchor, forwarding everything to an unsigned dnsmasq that answers
#     every A/AAAA with 127.0.0.9/::9 (--address=/#/).  The DS lookups for the
#     chain of trust get REFUSED upstream, validation is ABANDONED
#                                         -> SERVFAIL for every name, A and
#                                            AAAA, in well under a second
#   127.0.0.1:$VT_DNS_REFUSED_PORT: dnsmasq with no data and no upstream
#                                         -> REFUSED for every name
# Things that do NOT give SERVFAIL with dnsmasq 2.90, for the record:
#   --server=/d/127.0.0.1#<closed port>   no answer at all (client times out;
#                                         over TCP the connection is closed)
#   --server=/d/127.0.0.1#0 or a broadcast address: send fails -> REFUSED
#   upstream that answers REFUSED         -> REFUSED relayed
#   --server=/d/ with --dnssec: domain-specific servers are not validated
#                                         ("(no DNSSEC)"), so the answer
#                                         passes; hence a general --server.
#
# Ports: vt_free_port picks at random in 20000-32000 (below Linux's
# ephemeral range, so client sockets do not take them), checks that TCP and
# UDP can bind on 0.0.0.0 (and :: when available), and never hands out the
# same port twice in one test ($VT_TMP/ports).

_VT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$_VT_LIB_DIR/tap.sh"

case ":$PATH:" in
*:/usr/sbin:*) ;;
*) PATH=$PATH:/usr/sbin:/sbin ;;
esac
export PATH

: "${VT_DNS_TTL:=2}"
export VT_DNS_TTL
VT_DNS_NXDOMAIN_HOST=nxdomain.example.test
VT_DNS_NODATA_HOST=nodata.example.test
VT_DNS_SERVFAIL_HOST=www.servfail.test
VT_DNS_REFUSED_HOST=www.refused.test
export VT_DNS_NXDOMAIN_HOST VT_DNS_NODATA_HOST VT_DNS_SERVFAIL_HOST \
	VT_DNS_REFUSED_HOST

_VT_EXIT_HOOKS=()

# ---- process bookkeeping ----------------------------------------------------

_vt_need_setup() {
	if [ -z "${VT_TMP:-}" ] || [ ! -d "$VT_TMP" ]; then
		bail "${FUNCNAME[1]}: call vt_setup first"
	fi
}

# True while PID exists and is not a zombie.
_vt_alive() {
	local k v
	# "return $?", not a bare "return": inside an EXIT trap a bare return
	# gives the status from before the trap, and dead processes look alive.
	[ -r "/proc/$1/status" ] || { kill -0 "$1" 2>/dev/null; return $?; }
	while read -r k v _; do
		if [ "$k" = State: ]; then
			[ "$v" != Z ] && [ "$v" != X ]
			return $?
		fi
	done 2>/dev/null <"/proc/$1/status"
	return 1
}

vt_track() {
	_vt_need_setup
	echo "$1" >>"$VT_TMP/pids"
}

_vt_untrack() {
	[ -f "$VT_TMP/pids" ] || return 0
	grep -vx -- "$1" "$VT_TMP/pids" >"$VT_TMP/pids.new" || true
	mv "$VT_TMP/pids.new" "$VT_TMP/pids"
}

# Stop PIDs: TERM, wait up to ~3 s, then KILL; reap our own children.
_vt_stop_pids() {
	local p alive=
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null && alive="$alive $p"
	done
	for _ in $(seq 1 30); do
		local still=
		for p in $alive; do
			_vt_alive "$p" && still="$still $p"
		done
		alive=$still
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for p in $alive; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "$@"; do
		wait "$p" 2>/dev/null
	done
	return 0
}

vt_at_exit() {
	_VT_EXIT_HOOKS+=("$1")
}

# _vt_ns CMD...: run CMD in the namespace $VT_NETNS, or as is when VT_NETNS
# is unset or empty.  For a server started in the background, where $! must
# be the server itself, write the prefix inline instead (a backgrounded
# function would be a subshell):
#   ${VT_NETNS:+ip netns exec "$VT_NETNS"} server ARGS... &
_vt_ns() {
	if [ -n "${VT_NETNS:-}" ]; then
		ip netns exec "$VT_NETNS" "$@"
	else
		"$@"
	fi
}

_vt_dump_logs() {
	local f
	for f in "$VT_TMP"/nginx/logs/error.log "$VT_TMP"/nginx/logs/stderr.log \
		"$VT_TMP"/dns/*.log "$VT_TMP"/dns/*.stderr "$VT_TMP"/err.log; do
		[ -s "$f" ] || continue
		echo "--- tail of ${f#"$VT_TMP"/}" >&2
		tail -n 15 "$f" >&2
	done
}

_vt_cleanup() {
	local rc=$? h
	set +e
	trap - EXIT INT TERM HUP
	for h in "${_VT_EXIT_HOOKS[@]}"; do
		eval "$h"
	done
	if [ -n "${VT_TMP:-}" ] && [ -d "$VT_TMP" ]; then
		# shellcheck disable=SC2046
		_vt_stop_pids $(sort -u "$VT_TMP/pids" 2>/dev/null)
		[ "$rc" -eq 0 ] || _vt_dump_logs
		if [ -n "${_VT_WATCHDOG:-}" ]; then
			kill -TERM "$_VT_WATCHDOG" 2>/dev/null
			wait "$_VT_WATCHDOG" 2>/dev/null
		fi
		if [ "${VT_KEEP:-0}" = 1 ]; then
			echo "VT_KEEP=1: kept $VT_TMP" >&2
		else
			rm -rf "$VT_TMP"
		fi
	fi
	exit "$rc"
}

vt_setup() {
	if [ -n "${VT_TMP:-}" ] && [ -d "$VT_TMP" ]; then
		return 0
	fi
	VT_TMP=$(mktemp -d "$PWD/vt-test.XXXXXX") || bail "mktemp in $PWD failed"
	export VT_TMP
	: >"$VT_TMP/pids"
	: >"$VT_TMP/ports"
	VT_OUT=$VT_TMP/out.jsonl
	VT_ERR=$VT_TMP/err.log
	export VT_OUT VT_ERR
	VT_PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
		VT_PYTHON=python3
	export VT_PYTHON
	if "$VT_PYTHON" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
		2>/dev/null; then
		VT_HAVE_V6=1
	else
		VT_HAVE_V6=0
	fi
	export VT_HAVE_V6
	trap _vt_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	_vt_watchdog "$$" "$VT_TMP" </dev/null >/dev/null 2>&1 &
	_VT_WATCHDOG=$!
}

# Runs in the background: when the test shell is gone without cleaning up
# (SIGKILL), kill what it started and remove its directory.
_vt_watchdog() {
	trap - EXIT INT HUP
	trap 'exit 0' TERM
	local parent=$1 tmp=$2
	while kill -0 "$parent" 2>/dev/null; do
		sleep 1 &
		wait $!
	done
	[ -f "$tmp/pids" ] && xargs -r kill -KILL <"$tmp/pids" 2>/dev/null
	[ "${VT_KEEP:-0}" = 1 ] || rm -rf "$tmp"
	exit 0
}

vt_require() {
	local t missing=
	for t in "$@"; do
		case $t in
		probe)
			[ -n "${VANTAGE_PROBE:-}" ] && [ -x "$VANTAGE_PROBE" ] ||
				missing="$missing vantage-probe"
			;;
		v6)
			python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
				2>/dev/null || missing="$missing IPv6-loopback"
			;;
		*)
			command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
			;;
		esac
	done
	if [ -n "$missing" ]; then
		echo "1..0 # SKIP missing$missing"
		exit 0
	fi
}

# vt_graph_setup [TOOL...]: the start of a test of stored data and what is
# drawn from it: python3 (and each TOOL) present, the collector and
# vantage-graph built (else the test is skipped), vt_setup, and
# send=(python vt_send.py), the independent signer. In the sanitizer build,
# librrd's graph stack leaks by design (tests/lib/lsan.supp); matching those
# suppressions needs full stacks, which only the short-lived vantage-graph
# runs of these tests can afford (slow unwinding on every malloc).
vt_graph_setup() {
	vt_require python3 "$@"
	[ -x "${VANTAGE_COLLECTOR:-}" ] || { echo "1..0 # SKIP no collector"; exit 0; }
	[ -x "${VANTAGE_GRAPH:-}" ] || { echo "1..0 # SKIP no vantage-graph"; exit 0; }
	vt_setup
	if [ -n "${LSAN_OPTIONS:-}" ]; then
		export LSAN_OPTIONS="$LSAN_OPTIONS:fast_unwind_on_malloc=0"
	fi
	send=("$VT_PYTHON" "$top_srcdir/tests/lib/vt_send.py")
}

# ---- ports -------------------------------------------------------------------

vt_free_port() {
	_vt_need_setup
	"$VT_PYTHON" - "$VT_TMP/ports" "$VT_HAVE_V6" <<'EOF'
import random, socket, sys
path, v6 = sys.argv[1], sys.argv[2] == '1'
try:
    used = set(int(x) for x in open(path).read().split())
except OSError:
    used = set()
binds = [(socket.AF_INET, '0.0.0.0')] + ([(socket.AF_INET6, '::')] if v6 else [])
for _ in range(500):
    p = random.randint(20000, 32000)
    if p in used:
        continue
    socks = []
    try:
        for fam, addr in binds:
            for typ in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(fam, typ)
                socks.append(s)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((addr, p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    with open(path, 'a') as f:
        f.write('%d\n' % p)
    print(p)
    sys.exit(0)
sys.exit('vt_free_port: no free port found')
EOF
}

# ---- certificates ------------------------------------------------------------

_vt_openssl() {
	if ! openssl "$@" >>"$VT_CERTS/openssl.log" 2>&1; then
		diag "openssl $* failed:"
		diag "$(tail -n 10 "$VT_CERTS/openssl.log")"
		bail "vt_certs: openssl failed"
	fi
}

vt_certs() {
	_vt_need_setup
	VT_CERTS=$VT_TMP/certs
	VT_CA=$VT_CERTS/ca.pem
	export VT_CERTS VT_CA
	local d=$VT_CERTS f n
	local all=1
	for f in ca www other self; do
		[ -s "$d/$f.pem" ] && [ -s "$d/$f.key" ] || all=0
	done
	[ "$all" = 1 ] && return 0
	mkdir -p "$d"
	for f in ca www other self; do
		_vt_openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$d/$f.key"
		chmod 600 "$d/$f.key"
	done
	cat >"$d/req.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = Vantage Test CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_self]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:self.example.test
EOF
	_vt_openssl req -new -x509 -config "$d/req.cnf" -extensions v3_ca \
		-key "$d/ca.key" -days 3650 -set_serial 1 -out "$d/ca.pem"
	for n in www other; do
		cat >"$d/$n.ext" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:$n.example.test
EOF
		_vt_openssl req -new -config "$d/req.cnf" -subj "/CN=$n.example.test" \
			-key "$d/$n.key" -out "$d/$n.csr"
		_vt_openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
			-days 365 -extfile "$d/$n.ext" -out "$d/$n.pem"
	done
	_vt_openssl req -new -x509 -config "$d/req.cnf" -extensions v3_self \
		-subj "/CN=self.example.test" -key "$d/self.key" -days 30 \
		-set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
		-out "$d/self.pem"
}

# ---- nginx -------------------------------------------------------------------

# "127.0.0.1" -> "127.0.0.1", "::1" -> "[::1]"
_vt_hostport() {
	case $1 in
	*:*) echo "[$1]:$2" ;;
	*) echo "$1:$2" ;;
	esac
}

# True when something accepts TCP connections on IP PORT (in $VT_NETNS when
# set; bounded there, since a lab may drop packets).
_vt_tcp_open() {
	if [ -n "${VT_NETNS:-}" ]; then
		# shellcheck disable=SC2016 # expanded by the inner bash
		timeout -k 1 2 ip netns exec "$VT_NETNS" \
			bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
		return $?
	fi
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

_vt_nginx_conf() {
	local d=$VT_TMP/nginx c=$VT_CERTS ip m
	local http_l='' https_l='' https_l_def=''
	for ip in "$@"; do
		http_l="$http_l        listen $(_vt_hostport "$ip" "$VT_HTTP_PORT") default_server;
"
		https_l_def="$https_l_def        listen $(_vt_hostport "$ip" "$VT_HTTPS_PORT") ssl default_server;
"
		https_l="$https_l        listen $(_vt_hostport "$ip" "$VT_HTTPS_PORT") ssl;
"
	done
	local temps=
	for m in client_body proxy fastcgi uwsgi scgi; do
		# Skip modules a minimal nginx build leaves out.
		case $m in client_body) ;; *)
			nginx -V 2>&1 | grep -q -- "--without-http_${m}_module" && continue ;;
		esac
		temps="$temps    ${m}_temp_path $d/tmp/$m;
"
	done
	cat >"$d/locations.conf" <<EOF
root $d/html;
location = /health { return 200 "ok"; }
location = /status503 { return 503; }
location = /status500 { return 500; }
location = /status404 { return 404; }
location = /redirect { return 302 /health; }
location = /slow {
    default_type application/octet-stream;
    limit_rate_after 1k;
    limit_rate 1k;
}
location = /huge { default_type application/octet-stream; }
location / { return 200 "hello from \$server_addr"; }
EOF
	cat >"$d/nginx.conf" <<EOF
# Written by tests/lib/servers.sh; started with
#   -g 'daemon off; master_process off;'
# (one process, no privilege drop, so root and non-root behave alike).
pid $d/nginx.pid;
error_log $d/logs/error.log notice;
worker_processes 1;
events { worker_connections 512; }
http {
    access_log $d/logs/access.log;
$temps    default_type text/plain;
    sendfile on;
    server_tokens off;
    absolute_redirect off;
    keepalive_timeout 10;
    ssl_protocols TLSv1.2 TLSv1.3;

    server {
$http_l        server_name _;
        include $d/locations.conf;
    }
    server {
$https_l_def        server_name www.example.test;
        ssl_certificate $c/www.pem;
        ssl_certificate_key $c/www.key;
        include $d/locations.conf;
    }
    server {
$https_l        server_name other.example.test;
        ssl_certificate $c/other.pem;
        ssl_certificate_key $c/other.key;
        location = / { return 200 "vhost other"; }
        include $d/locations.conf;
    }
    server {
$https_l        server_name self.example.test;
        ssl_certificate $c/self.pem;
        ssl_certificate_key $c/self.key;
        include $d/locations.conf;
    }
}
EOF
}

vt_nginx_start() {
	_vt_need_setup
	[ -z "${VT_NGINX_PID:-}" ] || vt_nginx_stop
	local d=$VT_TMP/nginx m attempt pick_http=0 pick_https=0
	[ "$#" -gt 0 ] || set -- 127.0.0.1
	VT_NGINX_IPS="$*"
	VT_NGINX_NETNS=${VT_NETNS:-}
	export VT_NGINX_IPS VT_NGINX_NETNS
	vt_certs
	mkdir -p "$d/logs" "$d/html"
	for m in client_body proxy fastcgi uwsgi scgi; do
		mkdir -p "$d/tmp/$m"
	done
	if [ ! -s "$d/html/huge" ]; then
		head -c 65536 /dev/zero | tr '\0' 's' >"$d/html/slow"
		head -c 5242880 /dev/zero | tr '\0' 'h' >"$d/html/huge"
	fi
	[ -n "${VT_HTTP_PORT:-}" ] || pick_http=1
	[ -n "${VT_HTTPS_PORT:-}" ] || pick_https=1
	for attempt in 1 2 3; do
		# Ports we pick ourselves are picked again if someone else grabbed
		# them between the check and nginx's bind().
		if [ "$pick_http" = 1 ]; then
			VT_HTTP_PORT=$(vt_free_port) || bail "no port"
		fi
		if [ "$pick_https" = 1 ]; then
			VT_HTTPS_PORT=$(vt_free_port) || bail "no port"
		fi
		export VT_HTTP_PORT VT_HTTPS_PORT
		_vt_nginx_conf "$@"
		_vt_nginx_try "$@" && return 0
		if [ "$pick_http$pick_https" = 00 ] ||
			! grep -q 'Address already in use' "$d/logs/error.log"; then
			break
		fi
		diag "nginx: port in use, retrying with new ports (attempt $attempt)"
	done
	diag "nginx (pid $VT_NGINX_PID) did not come up on $* ports $VT_HTTP_PORT/$VT_HTTPS_PORT"
	diag "$(tail -n 20 "$d/logs/error.log" "$d/logs/stderr.log" 2>&1)"
	bail "vt_nginx_start failed"
}

_vt_nginx_try() {
	local d=$VT_TMP/nginx ip
	rm -f "$d/nginx.pid"
	: >"$d/logs/error.log"
	${VT_NETNS:+ip netns exec "$VT_NETNS"} \
		nginx -e "$d/logs/error.log" -p "$d/" -c "$d/nginx.conf" \
		-g 'daemon off; master_process off;' \
		</dev/null >>"$d/logs/stderr.log" 2>&1 &
	VT_NGINX_PID=$!
	export VT_NGINX_PID
	vt_track "$VT_NGINX_PID"
	# Ready when nginx has written its pid file (done after every listening
	# socket is bound; a bind() failure is retried for ~2.5 s, then fatal)
	# and every IP:port accepts.  Checking the pid file first keeps a
	# stranger's listener on one of our ports from passing for nginx.
	for _ in $(seq 1 100); do
		if ! _vt_alive "$VT_NGINX_PID"; then
			break
		fi
		if [ "$(cat "$d/nginx.pid" 2>/dev/null)" != "$VT_NGINX_PID" ]; then
			sleep 0.1
			continue
		fi
		local all=1
		for ip in "$@"; do
			if ! _vt_tcp_open "$ip" "$VT_HTTP_PORT" ||
				! _vt_tcp_open "$ip" "$VT_HTTPS_PORT"; then
				all=0
				break
			fi
		done
		[ "$all" = 1 ] && return 0
		sleep 0.1
	done
	_vt_stop_pids "$VT_NGINX_PID"
	_vt_untrack "$VT_NGINX_PID"
	return 1
}

vt_nginx_stop() {
	[ -n "${VT_NGINX_PID:-}" ] || return 0
	_vt_stop_pids "$VT_NGINX_PID"
	_vt_untrack "$VT_NGINX_PID"
	VT_NGINX_PID=
}

# Restart nginx on every IP it served except $1 (same ports): that IP then
# refuses connections.
vt_nginx_restart_without() {
	local drop=$1 ip keep=()
	for ip in ${VT_NGINX_IPS:-}; do
		[ "$ip" = "$drop" ] || keep+=("$ip")
	done
	[ "${#keep[@]}" -gt 0 ] || bail "vt_nginx_restart_without: no IP left"
	local VT_NETNS=${VT_NGINX_NETNS-${VT_NETNS:-}}
	vt_nginx_stop
	vt_nginx_start "${keep[@]}"
}

# ---- DNS ---------------------------------------------------------------------

# Raw DNS over UDP.  argv: name type port server timeout [wait]
# Prints "RCODE addr..." (A/AAAA sorted; also CNAME:x TXT:x), or TIMEOUT.
# With wait > 0, retries until any answer arrives or wait seconds pass.
_VT_DNSQ_PY='
import random, socket, struct, sys, time
RC = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
TY = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33, "ANY": 255}
def rname(d, o):
    labels, end = [], None
    while True:
        n = d[o]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = o + 2
            o = ((n & 0x3F) << 8) | d[o + 1]
            continue
        o += 1
        if n == 0:
            break
        labels.append(d[o:o + n].decode("ascii", "replace"))
        o += n
    return ".".join(labels), (o if end is None else end)
def query(name, qt, port, server, timeout):
    tid = random.randrange(65536)
    qn = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".") if l) + b"\0"
    msg = struct.pack(">HHHHHH", tid, 0x0100, 1, 0, 0, 0) + qn + struct.pack(">HH", TY.get(qt) or int(qt), 1)
    s = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(msg, (server, port))
        while True:
            d, _ = s.recvfrom(65535)
            if len(d) >= 12 and struct.unpack(">H", d[:2])[0] == tid:
                break
    except (socket.timeout, OSError):
        return None
    finally:
        s.close()
    fl, qd, an = struct.unpack(">HHH", d[2:8])
    o = 12
    for _ in range(qd):
        o = rname(d, o)[1] + 4
    addrs, other = [], []
    for _ in range(an):
        o = rname(d, o)[1]
        t, _c, _ttl, rl = struct.unpack(">HHIH", d[o:o + 10])
        o += 10
        rd = d[o:o + rl]
        if t == 1:
            addrs.append(socket.inet_ntop(socket.AF_INET, rd))
        elif t == 28:
            addrs.append(socket.inet_ntop(socket.AF_INET6, rd))
        elif t == 5:
            other.append("CNAME:" + rname(d, o)[0])
        elif t == 16:
            other.append("TXT:" + rd[1:1 + rd[0]].decode("ascii", "replace"))
        else:
            other.append("TYPE%d" % t)
        o += rl
    return " ".join([RC.get(fl & 15, "RCODE%d" % (fl & 15))] + other + sorted(addrs))
name, qt, port, server, timeout = sys.argv[1], sys.argv[2].upper(), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
wait = float(sys.argv[6]) if len(sys.argv) > 6 else 0
deadline = time.monotonic() + wait
while True:
    r = query(name, qt, port, server, timeout)
    if r is not None or time.monotonic() >= deadline:
        break
    time.sleep(0.05)
print(r or "TIMEOUT")
'

vt_dns_query() {
	local name=$1 type=${2:-A} port=${3:-${VT_DNS_PORT:-53}} server=${4:-127.0.0.1}
	_vt_ns "${VT_PYTHON:-python3}" -c "$_VT_DNSQ_PY" "$name" "$type" "$port" "$server" 2
}

# _vt_dnsmasq NAME PORT ARG...: start one dnsmasq in the foreground (-k),
# backgrounded here, and wait until it answers on UDP.
_vt_dnsmasq() {
	local name=$1 port=$2 d=$VT_TMP/dns pid r
	shift 2
	${VT_NETNS:+ip netns exec "$VT_NETNS"} \
		dnsmasq -k --conf-file=/dev/null --port="$port" \
		--listen-address=127.0.0.1 --bind-interfaces \
		--no-resolv --no-hosts --no-poll \
		--user="$(id -un)" --group="$(id -gn)" \
		--pid-file="$d/$name.pid" --log-facility="$d/$name.log" --log-queries \
		"$@" </dev/null >>"$d/$name.stderr" 2>&1 &
	pid=$!
	vt_track "$pid"
	r=$(_vt_ns "$VT_PYTHON" -c "$_VT_DNSQ_PY" ready.invalid A "$port" 127.0.0.1 0.2 10)
	if [ "$r" = TIMEOUT ] || ! _vt_alive "$pid"; then
		diag "dnsmasq $name (pid $pid, port $port) did not answer"
		diag "$(tail -n 20 "$d/$name.log" "$d/$name.stderr" 2>&1)"
		bail "vt_dns_start failed"
	fi
	_VT_LAST_PID=$pid
}

vt_dns_start() {
	_vt_need_setup
	local d=$VT_TMP/dns up_port v6=() r a
	mkdir -p "$d"
	VT_DNS_NETNS=${VT_NETNS:-}
	export VT_DNS_NETNS
	VT_DNS_HOSTS=$d/hosts
	export VT_DNS_HOSTS
	[ -f "$VT_DNS_HOSTS" ] || : >"$VT_DNS_HOSTS"
	VT_DNS_PORT=$(vt_free_port) || bail "no port"
	VT_DNS_SERVFAIL_PORT=$(vt_free_port) || bail "no port"
	VT_DNS_REFUSED_PORT=$(vt_free_port) || bail "no port"
	up_port=$(vt_free_port) || bail "no port"
	export VT_DNS_PORT VT_DNS_SERVFAIL_PORT VT_DNS_REFUSED_PORT

	# Upstream of the validating resolver: unsigned answers for everything.
	_vt_dnsmasq unsigned "$up_port" --address=/#/127.0.0.9 --address=/#/::9
	# Validating resolver: every answer fails validation -> SERVFAIL.
	_vt_dnsmasq servfail "$VT_DNS_SERVFAIL_PORT" --dnssec \
		--trust-anchor=.,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D \
		--server="127.0.0.1#$up_port"
	# No data, no upstream -> REFUSED.
	_vt_dnsmasq refused "$VT_DNS_REFUSED_PORT"
	# The main resolver.
	[ "$VT_HAVE_V6" = 1 ] && v6=(--listen-address=::1)
	for a in ${VT_DNS_LISTEN:-}; do
		v6+=(--listen-address="$a")
	done
	_vt_dnsmasq main "$VT_DNS_PORT" "${v6[@]}" \
		--addn-hosts="$VT_DNS_HOSTS" --local=/example.test/ \
		--local-ttl="$VT_DNS_TTL" --no-negcache \
		--txt-record="$VT_DNS_NODATA_HOST,no address records here" \
		--server="/servfail.test/127.0.0.1#$VT_DNS_SERVFAIL_PORT"
	VT_DNS_PID=$_VT_LAST_PID
	export VT_DNS_PID

	# Cheap self-check of the documented rcodes; warn only.
	r=$(vt_dns_query "$VT_DNS_SERVFAIL_HOST")
	[ "${r%% *}" = SERVFAIL ] || diag "warning: $VT_DNS_SERVFAIL_HOST gave '$r', not SERVFAIL"
	r=$(vt_dns_query "$VT_DNS_REFUSED_HOST")
	[ "${r%% *}" = REFUSED ] || diag "warning: $VT_DNS_REFUSED_HOST gave '$r', not REFUSED"
	return 0
}

# vt_dns_set HOST [IP...]: replace HOST's addresses in the hosts file, reload
# dnsmasq (SIGHUP) and wait until it serves exactly the new A and AAAA sets.
# With no IP, HOST disappears (NXDOMAIN under example.test).
vt_dns_set() {
	_vt_need_setup
	[ -n "${VT_DNS_PID:-}" ] || bail "vt_dns_set: call vt_dns_start first"
	local host=$1 ip v4=() v6=() want4 want6 got4 got6
	local VT_NETNS=${VT_DNS_NETNS-${VT_NETNS:-}}
	shift
	for ip in "$@"; do
		case $ip in
		*:*) v6+=("$ip") ;;
		*) v4+=("$ip") ;;
		esac
	done
	awk -v h="$host" '$2 != h' "$VT_DNS_HOSTS" >"$VT_DNS_HOSTS.new"
	for ip in "$@"; do
		echo "$ip $host"
	done >>"$VT_DNS_HOSTS.new"
	mv "$VT_DNS_HOSTS.new" "$VT_DNS_HOSTS"
	if [ "$#" -eq 0 ]; then
		case $host in
		*.example.test | example.test) want4=NXDOMAIN want6=NXDOMAIN ;;
		*) want4=REFUSED want6=REFUSED ;;
		esac
	else
		want4=$(printf '%s\n' NOERROR "${v4[@]}" | "$VT_PYTHON" -c \
			'import sys; w=sys.stdin.read().split(); print(" ".join(w[:1]+sorted(w[1:])))')
		want6=$(printf '%s\n' NOERROR "${v6[@]}" | "$VT_PYTHON" -c \
			'import sys, ipaddress; w=sys.stdin.read().split(); print(" ".join(w[:1]+sorted(str(ipaddress.ip_address(a)) for a in w[1:])))')
	fi
	kill -HUP "$VT_DNS_PID"
	for _ in $(seq 1 50); do
		got4=$(vt_dns_query "$host" A)
		got6=$(vt_dns_query "$host" AAAA)
		[ "$got4" = "$want4" ] && [ "$got6" = "$want6" ] && return 0
		sleep 0.1
	done
	diag "vt_dns_set $host: A '$got4' (want '$want4'), AAAA '$got6' (want '$want6')"
	bail "vt_dns_set failed"
}

vt_dns_silent_start() {
	_vt_need_setup
	local f=$VT_TMP/silent_dns.port pid
	rm -f "$f"
	${VT_NETNS:+ip netns exec "$VT_NETNS"} \
		"$VT_PYTHON" "$_VT_LIB_DIR/silent_dns.py" --port-file "$f" --lifetime 300 \
		</dev/null >"$VT_TMP/silent_dns.log" 2>&1 &
	pid=$!
	vt_track "$pid"
	for _ in $(seq 1 100); do
		[ -s "$f" ] && break
		_vt_alive "$pid" || break
		sleep 0.05
	done
	[ -s "$f" ] || { diag "$(cat "$VT_TMP/silent_dns.log")"; bail "silent_dns.py did not start"; }
	VT_SILENT_DNS_PORT=$(cat "$f")
	VT_SILENT_DNS_PID=$pid
	echo "$VT_SILENT_DNS_PORT" >>"$VT_TMP/ports"
	export VT_SILENT_DNS_PORT VT_SILENT_DNS_PID
}

# ---- the probe -----------------------------------------------------------------

vt_probe_once() {
	_vt_need_setup
	local cfg=$1
	shift
	timeout -k 5 60 ${VT_NETNS:+ip netns exec "$VT_NETNS"} \
		"$VANTAGE_PROBE" -c "$cfg" --once "$@" \
		</dev/null >"$VT_OUT" 2>"$VT_ERR"
}

# vt_probe_cfg FILE TIMEOUT RESOLVER TARGET...: a --once probe config
# (probe t1, interval 10 s) around the given target groups' bodies.
vt_probe_cfg() {
	local f=$1 timeout=$2 resolver=$3 sep='' t
	shift 3
	{
		echo 'probe = { name = "t1"; };'
		echo "defaults = { interval = 10.0; timeout = $timeout;"
		echo "  resolvers = [ \"$resolver\" ]; keep_gone = 600.0; };"
		echo "targets = ("
		for t in "$@"; do
			printf '%s%s\n' "$sep" "$t"
			sep=', '
		done
		echo ");"
	} >"$f"
}

vt_jq() {
	jq -c "$@" "$VT_OUT"
}

# ---- the collector -----------------------------------------------------------
#   vt_key NAME                 make $VT_TMP/keys/NAME.key (32 random bytes,
#                               base64) and print its path
#   vt_collector_start CFG PORT [HOST]
#                               start $VANTAGE_COLLECTOR -c CFG (tracked,
#                               stderr to $VT_TMP/collector.log), wait until
#                               GET /healthz on HOST:PORT (default
#                               127.0.0.1) answers; exports VT_COLLECTOR_PID
#   vt_collector_stop           SIGTERM it and wait
#   vt_http GET|POST URL        print "STATUS BODY" (python3, no curl needed)
#   vt_sql DB QUERY             print the rows, one per line, "|"-separated

vt_key() {
	_vt_need_setup
	mkdir -p "$VT_TMP/keys"
	local f="$VT_TMP/keys/$1.key"
	[ -f "$f" ] || head -c 32 /dev/urandom | base64 >"$f"
	echo "$f"
}

vt_http() {
	_vt_ns "$VT_PYTHON" - "$1" "$2" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[2], method=sys.argv[1])
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status, r.read().decode().strip())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode().strip())
except Exception as e:
    print('000', type(e).__name__)
PY
}

vt_collector_start() {
	_vt_need_setup
	local cfg=$1 port=$2 host=${3:-127.0.0.1} i
	${VT_NETNS:+ip netns exec "$VT_NETNS"} \
		"$VANTAGE_COLLECTOR" -c "$cfg" </dev/null >>"$VT_TMP/collector.log" 2>&1 &
	VT_COLLECTOR_PID=$!
	export VT_COLLECTOR_PID
	vt_track "$VT_COLLECTOR_PID"
	for i in $(seq 1 100); do
		case $(vt_http GET "http://$(_vt_hostport "$host" "$port")/healthz") in
		200*) return 0 ;;
		esac
		_vt_alive "$VT_COLLECTOR_PID" || break
		sleep 0.1
	done
	diag "collector did not start:"
	diag "$(tail -n 20 "$VT_TMP/collector.log")"
	return 1
}

vt_collector_stop() {
	[ -n "${VT_COLLECTOR_PID:-}" ] || return 0
	kill -TERM "$VT_COLLECTOR_PID" 2>/dev/null
	wait "$VT_COLLECTOR_PID" 2>/dev/null
	local rc=$?
	VT_COLLECTOR_PID=
	return $rc
}

vt_sql() {
	"$VT_PYTHON" - "$1" "$2" <<'PY'
import sqlite3, sys
con = sqlite3.connect('file:%s?mode=ro' % sys.argv[1], uri=True, timeout=10)
for row in con.execute(sys.argv[2]):
    print('|'.join('' if v is None else str(v) for v in row))
PY
}
