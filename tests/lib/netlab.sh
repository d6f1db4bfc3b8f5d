# SPDX-License-Identifier: MIT
# netlab.sh: a private network lab of Linux network namespaces, so that a
# test has several "vantage points" that see the network differently (probe
# p1 loses its route to one server address while p2 and p3 still reach it).
# Needs root and iproute2.  Source it after servers.sh:
#
#   . "$top_srcdir/tests/lib/servers.sh"
#   . "$top_srcdir/tests/lib/netlab.sh"
#   vt_require nginx dnsmasq openssl python3
#   vt_lab_require                  # "1..0 # SKIP ..." unless root + netns
#   vt_setup
#   vt_lab_start srv col p1 p2 p3   # VT_LAB_NET=10.X.Y, VT_LAB_NS_p1, ...
#   vt_lab_addr srv "$VT_LAB_NET.11" "$VT_LAB_NET.12"
#   VT_NETNS=$VT_LAB_NS_srv vt_nginx_start "$VT_LAB_NET.11" "$VT_LAB_NET.12"
#   VT_NETNS=$VT_LAB_NS_srv VT_DNS_LISTEN=$VT_LAB_IP_srv vt_dns_start
#   vt_dns_set www.example.test "$VT_LAB_NET.11" "$VT_LAB_NET.12"
#   vt_lab_route_loss p1 "$VT_LAB_NET.12"   # p1's packets to .12 vanish
#   vt_lab_connect p1 "$VT_LAB_NET.12" "$VT_HTTP_PORT" 1   # -> timeout
#   vt_lab_route_back p1 "$VT_LAB_NET.12"
#
# Topology.  A hub namespace holds a Linux bridge br0; every NODE has its own
# namespace whose eth0 is a veth pair plugged into br0.  NODE number k (in
# the order given) has 10.X.Y.(k+1)/24 on eth0; the subnet 10.X.Y.0/24 is
# picked at random among those no host route or address overlaps.  br0 has
# the "sink" address 10.X.Y.254 ($VT_LAB_SINK): a router with forwarding
# off, which silently drops whatever is sent to it for someone else.  Every
# namespace has lo up and IPv4 forwarding off.  Nothing joins the lab to the
# host or to any other network: lab traffic stays in the lab.  The host side
# of each veth lives in the hub namespace, so no interface is ever created
# in the host's namespace (no name clash with anything there).
#
# Functions
#   vt_lab_require            "1..0 # SKIP network lab: ..." + exit 0 unless
#                             root, `ip`, and a scratch namespace with a
#                             bridge and a veth can be made; call it before
#                             any TAP output
#   vt_lab_start NODE...      build the lab (NODE: [A-Za-z][A-Za-z0-9_]*, not
#                             "hub"); one lab per test
#   vt_lab_addr NODE IP...    add IP/32 to NODE's eth0 (the other nodes
#                             reach it over the bridge, by ARP)
#   vt_lab_exec NODE CMD...   run CMD in NODE's namespace (ip netns exec),
#                             in the foreground; its exit status
#   vt_lab_spawn NODE LOG CMD...
#                             start CMD in NODE's namespace in the
#                             background (stdin /dev/null, stdout+stderr
#                             appended to LOG), tracked (stopped at exit);
#                             prints its PID, also left in VT_LAB_LAST_PID
#                             (unless called in $(...): then check its exit
#                             status, a bail there only leaves the
#                             subshell).  `ip netns exec` execs CMD, so the
#                             PID is CMD's own: signals reach it directly
#   vt_lab_connect NODE IP PORT [SECONDS]
#                             one TCP connect from NODE (default timeout 2 s);
#                             prints ok, refused, timeout, unreachable
#                             (EHOSTUNREACH/ENETUNREACH), invalid (EINVAL),
#                             prohibited (EACCES/EPERM) or error:ERRNO; exit
#                             status 0 only for ok
#   vt_lab_route_loss NODE IP[/LEN] [MODE]
#                             NODE loses its route to IP (replaces an earlier
#                             loss of the same IP; IP must not be NODE's own
#                             address: the local table wins).  MODE (default
#                             $VT_LAB_ROUTE_MODE, else drop):
#       drop         route IP via the sink: packets leave NODE and vanish,
#                    as behind a real routing error upstream; TCP connects
#                    and DNS queries time out
#       unreachable  `ip route add unreachable`: fails at once with
#                    EHOSTUNREACH ("No route to host"), like an ICMP
#                    host-unreachable
#       prohibit     `ip route add prohibit`: fails at once, EACCES
#       blackhole    `ip route add blackhole`: NOTE on the node itself this
#                    does NOT time out: Linux fails local connect()/sendto()
#                    at once with EINVAL.  Use drop for a timeout.
#   vt_lab_route_back NODE IP[/LEN]
#                             remove that route: NODE reaches IP again
#   vt_lab_stop               tear the lab down now (else done at exit)
#
# Variables (exported)
#   VT_LAB_PREFIX             vt<PID>-<4 hex>: every namespace of the lab is
#                             named PREFIX<node>, the hub PREFIXhub
#   VT_LAB_NET                10.X.Y
#   VT_LAB_SINK               10.X.Y.254
#   VT_LAB_NODES              the nodes, space-separated, in order
#   VT_LAB_NS_<NODE>          NODE's namespace (also VT_LAB_NS_hub); pass it
#                             as VT_NETNS to the servers.sh helpers
#   VT_LAB_IP_<NODE>          NODE's eth0 address
#   VT_LAB_ROUTE_MODE         read: default MODE of vt_lab_route_loss
#
# Cleanup.  vt_lab_start registers _vt_lab_cleanup with vt_at_exit before it
# creates anything, so the lab goes whenever the test exits (success,
# failure, bail, INT/TERM/HUP): every tracked process (vt_track, so also
# nginx/dnsmasq/collector started with VT_NETNS) whose network namespace is
# a lab namespace gets TERM, then KILL after ~3 s; anything else still in a
# lab namespace (only the test can have put it there) gets KILL; then each
# namespace this lab created is deleted (its veths and bridge go with it).
# A watchdog process does the same if the test shell dies without running
# its EXIT trap (SIGKILL).  Only namespaces this lab created are touched.

if [ -z "${_VT_LIB_DIR:-}" ]; then
	echo "Bail out! netlab.sh: source servers.sh first"
	exit 1
fi

# Sourcing this file twice is harmless: the state is only set up once.
if [ -z "${_VT_NETLAB_LOADED:-}" ]; then
	_VT_NETLAB_LOADED=1
	_VT_LAB_RUNNING=0
	_VT_LAB_HOOKED=0
	_VT_LAB_CREATED=()
	_VT_LAB_WATCHDOG=
fi
_VT_LAB_NETNS_DIR=/var/run/netns

# ---- helpers -------------------------------------------------------------------

# _vt_lab_ip ARG...: ip ARG..., bail with its message on failure.
_vt_lab_ip() {
	local err
	if ! err=$(ip "$@" 2>&1); then
		diag "ip $*: $err"
		bail "netlab: ip $* failed"
	fi
}

# _vt_lab_node NODE: set _VT_LAB_N to NODE's namespace, or bail.  (A variable,
# not output: a bail inside $(...) would only leave the subshell.)
_vt_lab_node() {
	[ "$_VT_LAB_RUNNING" = 1 ] || bail "${FUNCNAME[1]}: no lab (vt_lab_start first)"
	case " $VT_LAB_NODES hub " in
	*" $1 "*) ;;
	*) bail "${FUNCNAME[1]}: no node '$1' in the lab ($VT_LAB_NODES)" ;;
	esac
	local v="VT_LAB_NS_$1"
	_VT_LAB_N=${!v}
}

# _vt_lab_list PREFIX: the names of the existing namespaces that start with
# PREFIX, one per line.
_vt_lab_list() {
	ip netns list 2>/dev/null | awk -v p="$1" 'index($1, p) == 1 { print $1 }'
}

# The inode of namespace NAME's nsfs file (what /proc/PID/ns/net names).
_vt_lab_ns_inode() {
	stat -L -c %i "$_VT_LAB_NETNS_DIR/$1" 2>/dev/null
}

# Print a random 10.X.Y (X 1-254) whose /24 overlaps no IPv4 route (any
# table) and no IPv4 address of the host.
_vt_lab_pick_net() {
	{
		ip -4 route show table all 2>/dev/null
		ip -4 -o addr show 2>/dev/null | awk '{ print $4 }'
	} | "$VT_PYTHON" -c '
import ipaddress, random, sys
types = {"unicast", "local", "broadcast", "multicast", "blackhole",
         "unreachable", "prohibit", "throw", "nat", "anycast"}
used = []
for line in sys.stdin:
    w = line.split()
    if not w:
        continue
    dst = w[1] if w[0] in types and len(w) > 1 else w[0]
    if dst == "default":
        continue
    try:
        used.append(ipaddress.ip_network(dst, strict=False))
    except ValueError:
        pass
for _ in range(2000):
    x, y = random.randint(1, 254), random.randint(0, 255)
    net = ipaddress.ip_network("10.%d.%d.0/24" % (x, y))
    if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
        print("10.%d.%d" % (x, y))
        sys.exit(0)
sys.exit("no free 10.X.Y.0/24")
'
}

# _vt_lab_nsadd NAME: create namespace NAME (recorded for cleanup), lo up,
# IPv4 forwarding off (a new namespace may inherit it from the host's).
_vt_lab_nsadd() {
	_vt_lab_ip netns add "$1"
	_VT_LAB_CREATED+=("$1")
	_vt_lab_ip -n "$1" link set lo up
	ip netns exec "$1" sh -c 'echo 0 >/proc/sys/net/ipv4/ip_forward' ||
		bail "netlab: cannot turn IPv4 forwarding off in $1"
}

# Runs in the background: when the test shell is gone without its EXIT trap
# (SIGKILL), kill what is left in the lab namespaces and delete them.
_vt_lab_watchdog() {
	trap - EXIT INT HUP
	trap 'exit 0' TERM
	local parent=$1 ns pids
	shift
	while kill -0 "$parent" 2>/dev/null; do
		sleep 1 &
		wait $!
	done
	for _ in $(seq 1 30); do
		pids=
		for ns in "$@"; do
			[ -e "$_VT_LAB_NETNS_DIR/$ns" ] || continue
			pids="$pids $(ip netns pids "$ns" 2>/dev/null)"
		done
		[ -n "${pids// /}" ] || break
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
		sleep 0.1
	done
	for ns in "$@"; do
		[ -e "$_VT_LAB_NETNS_DIR/$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	exit 0
}

# ---- the public functions --------------------------------------------------------

vt_lab_require() {
	local why=
	if [ "$(id -u)" != 0 ]; then
		why="needs root"
	elif ! command -v ip >/dev/null 2>&1; then
		why="needs ip (iproute2)"
	else
		# A scratch namespace, removed by its own subshell's trap.
		why=$(
			t="vtchk$$-$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"
			ip netns add "$t" 2>/dev/null || { echo "cannot create network namespaces"; exit 0; }
			trap 'ip netns del "$t" 2>/dev/null' EXIT
			ip -n "$t" link add br0 type bridge 2>/dev/null || { echo "no bridge support"; exit 0; }
			ip -n "$t" link add v0 type veth peer name v1 2>/dev/null || { echo "no veth support"; exit 0; }
			ip netns exec "$t" true 2>/dev/null || { echo "ip netns exec fails"; exit 0; }
		)
	fi
	if [ -n "$why" ]; then
		echo "1..0 # SKIP network lab: $why"
		exit 0
	fi
}

vt_lab_start() {
	_vt_need_setup
	[ "$_VT_LAB_RUNNING" = 0 ] || bail "vt_lab_start: a lab is already running ($VT_LAB_PREFIX)"
	[ "$#" -ge 1 ] || bail "usage: vt_lab_start NODE..."
	[ "$#" -le 200 ] || bail "vt_lab_start: at most 200 nodes"
	local n k ns hub seen=" " try port_ok
	for n in "$@"; do
		[[ $n =~ ^[A-Za-z][A-Za-z0-9_]{0,31}$ ]] ||
			bail "vt_lab_start: bad node name '$n' ([A-Za-z][A-Za-z0-9_]*, at most 32)"
		[ "$n" != hub ] || bail "vt_lab_start: node name 'hub' is reserved"
		case $seen in *" $n "*) bail "vt_lab_start: node '$n' given twice" ;; esac
		seen="$seen$n "
	done
	# vt<PID>-<4 hex>: at most 14 characters (PIDs have at most 7 digits),
	# never the prefix of an existing namespace.
	for try in 1 2 3 4 5 6 7 8 9 10; do
		VT_LAB_PREFIX="vt$$-$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"
		[ -z "$(_vt_lab_list "$VT_LAB_PREFIX")" ] && break
		[ "$try" -lt 10 ] || bail "vt_lab_start: no unused prefix"
	done
	VT_LAB_NET=$(_vt_lab_pick_net) || bail "vt_lab_start: no free 10.X.Y.0/24"
	VT_LAB_SINK=$VT_LAB_NET.254
	VT_LAB_NODES="$*"
	hub=${VT_LAB_PREFIX}hub
	VT_LAB_NS_hub=$hub
	export VT_LAB_PREFIX VT_LAB_NET VT_LAB_SINK VT_LAB_NODES VT_LAB_NS_hub
	mkdir -p "$VT_TMP/netlab"
	: >"$VT_TMP/netlab/pids"
	: >"$VT_TMP/netlab/routes"

	# Cleanup first, then create.
	_VT_LAB_RUNNING=1
	_VT_LAB_CREATED=()
	if [ "$_VT_LAB_HOOKED" = 0 ]; then
		vt_at_exit _vt_lab_cleanup
		_VT_LAB_HOOKED=1
	fi
	local planned=("$hub")
	for n in "$@"; do
		planned+=("$VT_LAB_PREFIX$n")
	done
	_vt_lab_watchdog "$$" "${planned[@]}" </dev/null >/dev/null 2>&1 &
	_VT_LAB_WATCHDOG=$!

	_vt_lab_nsadd "$hub"
	_vt_lab_ip -n "$hub" link add br0 type bridge forward_delay 0
	_vt_lab_ip -n "$hub" addr add "$VT_LAB_SINK/24" dev br0
	_vt_lab_ip -n "$hub" link set br0 up
	k=0
	for n in "$@"; do
		k=$((k + 1))
		ns=$VT_LAB_PREFIX$n
		_vt_lab_nsadd "$ns"
		_vt_lab_ip -n "$hub" link add "v$k" type veth peer name eth0 netns "$ns"
		_vt_lab_ip -n "$hub" link set "v$k" master br0 up
		_vt_lab_ip -n "$ns" addr add "$VT_LAB_NET.$((k + 1))/24" dev eth0
		_vt_lab_ip -n "$ns" link set eth0 up
		printf -v "VT_LAB_NS_$n" %s "$ns"
		printf -v "VT_LAB_IP_$n" %s "$VT_LAB_NET.$((k + 1))"
		export "VT_LAB_NS_$n" "VT_LAB_IP_$n"
	done
	# Ready when every bridge port forwards (at once with forward_delay 0,
	# but check rather than assume).
	for try in $(seq 1 50); do
		port_ok=$(ip -n "$hub" -o -d link show master br0 2>/dev/null |
			grep -c 'bridge_slave state forwarding')
		[ "$port_ok" = "$#" ] && return 0
		sleep 0.1
	done
	diag "$(ip -n "$hub" -d link show master br0 2>&1)"
	bail "vt_lab_start: bridge ports not forwarding ($port_ok of $#)"
}

vt_lab_addr() {
	_vt_lab_node "$1"
	local ns=$_VT_LAB_N node=$1 ip n v
	shift
	for ip in "$@"; do
		[[ $ip =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
			bail "vt_lab_addr: '$ip' is not an IPv4 address"
		[ "$ip" != "$VT_LAB_SINK" ] || bail "vt_lab_addr: $ip is the lab's sink"
		for n in $VT_LAB_NODES; do
			v="VT_LAB_IP_$n"
			[ "$ip" != "${!v}" ] || bail "vt_lab_addr: $ip is node $n's address"
		done
		[ "$node" != hub ] || bail "vt_lab_addr: not on the hub"
		_vt_lab_ip -n "$ns" addr add "$ip/32" dev eth0
	done
}

vt_lab_exec() {
	_vt_lab_node "$1"
	shift
	ip netns exec "$_VT_LAB_N" "$@"
}

vt_lab_spawn() {
	_vt_need_setup
	_vt_lab_node "$1"
	local ns=$_VT_LAB_N log=$2 pid want
	shift 2
	[ "$#" -ge 1 ] || bail "usage: vt_lab_spawn NODE LOGFILE CMD..."
	ip netns exec "$ns" "$@" </dev/null >>"$log" 2>&1 &
	pid=$!
	VT_LAB_LAST_PID=$pid
	export VT_LAB_LAST_PID
	vt_track "$pid"
	echo "$pid" >>"$VT_TMP/netlab/pids"
	# Bounded wait until the process is in the namespace (ip has done
	# setns(); exec follows), so the caller's next step sees it there.
	want="net:[$(_vt_lab_ns_inode "$ns")]"
	for _ in $(seq 1 100); do
		[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$want" ] && break
		_vt_alive "$pid" || break
		sleep 0.02
	done
	echo "$pid"
}

vt_lab_connect() {
	_vt_lab_node "$1"
	local ns=$_VT_LAB_N ip=$2 port=$3 t=${4:-2} out
	out=$(timeout -k 1 "$(awk -v t="$t" 'BEGIN { print t + 3 }')" \
		ip netns exec "$ns" "$VT_PYTHON" -c '
import errno, socket, sys
ip, port, t = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(t)
try:
    s.connect((ip, port))
    r = "ok"
except socket.timeout:
    r = "timeout"
except OSError as e:
    r = {errno.ECONNREFUSED: "refused", errno.EHOSTUNREACH: "unreachable",
         errno.ENETUNREACH: "unreachable", errno.EINVAL: "invalid",
         errno.EACCES: "prohibited", errno.EPERM: "prohibited",
         errno.ETIMEDOUT: "timeout"}.get(e.errno, "error:" + errno.errorcode.get(e.errno, str(e.errno)))
finally:
    s.close()
print(r)
' "$ip" "$port" "$t" 2>&1)
	[ -n "$out" ] || out="error:killed"
	echo "$out"
	[ "$out" = ok ]
}

vt_lab_route_loss() {
	_vt_lab_node "$1"
	local ns=$_VT_LAB_N node=$1 dst=$2 mode=${3:-${VT_LAB_ROUTE_MODE:-drop}}
	[[ $dst =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(/[0-9]+)?$ ]] ||
		bail "vt_lab_route_loss: '$dst' is not IPv4[/LEN]"
	case $dst in */*) ;; *) dst=$dst/32 ;; esac
	[ "$node" != hub ] || bail "vt_lab_route_loss: not on the hub"
	case $mode in
	drop)
		[ "${dst%/*}" != "$VT_LAB_SINK" ] || bail "vt_lab_route_loss: $dst is the sink"
		_vt_lab_ip -n "$ns" route replace "$dst" via "$VT_LAB_SINK" dev eth0
		;;
	unreachable | prohibit | blackhole)
		_vt_lab_ip -n "$ns" route replace "$mode" "$dst"
		;;
	*) bail "vt_lab_route_loss: MODE '$mode' is not drop, unreachable, prohibit or blackhole" ;;
	esac
	echo "$node $dst $mode" >>"$VT_TMP/netlab/routes"
}

vt_lab_route_back() {
	_vt_lab_node "$1"
	local ns=$_VT_LAB_N node=$1 dst=$2
	case $dst in */*) ;; *) dst=$dst/32 ;; esac
	# Any type: unicast via the sink, unreachable, prohibit or blackhole.
	_vt_lab_ip -n "$ns" route del "$dst"
	# Under a lock: route changes may run in parallel (one job per node).
	if [ -f "$VT_TMP/netlab/routes" ]; then
		(
			flock 9
			awk -v n="$node" -v d="$dst" '!($1 == n && $2 == d)' \
				"$VT_TMP/netlab/routes" >"$VT_TMP/netlab/routes.new"
			mv "$VT_TMP/netlab/routes.new" "$VT_TMP/netlab/routes"
		) 9>"$VT_TMP/netlab/routes.lock"
	fi
}

vt_lab_stop() {
	_vt_lab_cleanup
}

_vt_lab_cleanup() {
	local ns p ino inos=" " mine=() left
	if [ -n "$_VT_LAB_WATCHDOG" ]; then
		kill -TERM "$_VT_LAB_WATCHDOG" 2>/dev/null
		wait "$_VT_LAB_WATCHDOG" 2>/dev/null
		_VT_LAB_WATCHDOG=
	fi
	[ "${#_VT_LAB_CREATED[@]}" -gt 0 ] || { _VT_LAB_RUNNING=0; return 0; }
	for ns in "${_VT_LAB_CREATED[@]}"; do
		ino=$(_vt_lab_ns_inode "$ns") && inos="$inos$ino "
	done
	# Our tracked processes in the lab: TERM, then KILL.
	if [ -n "${VT_TMP:-}" ]; then
		# shellcheck disable=SC2013 # one PID per line
		for p in $(sort -u "$VT_TMP/pids" "$VT_TMP/netlab/pids" 2>/dev/null); do
			ino=$(readlink "/proc/$p/ns/net" 2>/dev/null) || continue
			ino=${ino#net:[}
			ino=${ino%]}
			case $inos in *" $ino "*) mine+=("$p") ;; esac
		done
		if [ "${#mine[@]}" -gt 0 ]; then
			_vt_stop_pids "${mine[@]}"
			for p in "${mine[@]}"; do
				_vt_untrack "$p"
			done
		fi
	fi
	# Whatever else is still in a lab namespace got there through this test
	# (the namespaces are its own): KILL, bounded wait.
	for _ in $(seq 1 30); do
		left=
		for ns in "${_VT_LAB_CREATED[@]}"; do
			[ -e "$_VT_LAB_NETNS_DIR/$ns" ] || continue
			left="$left $(ip netns pids "$ns" 2>/dev/null)"
		done
		[ -n "${left// /}" ] || break
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null
		sleep 0.1
	done
	[ -z "${left// /}" ] || diag "netlab: processes still in the lab after KILL:$left"
	for ns in "${_VT_LAB_CREATED[@]}"; do
		[ -e "$_VT_LAB_NETNS_DIR/$ns" ] || continue
		ip netns del "$ns" || diag "netlab: ip netns del $ns failed"
	done
	_VT_LAB_CREATED=()
	_VT_LAB_RUNNING=0
	left=$(_vt_lab_list "$VT_LAB_PREFIX")
	[ -z "$left" ] || diag "netlab: namespaces left: $left"
	return 0
}
